// libvips for Agora's image pipeline. libvips's API takes its options as NULL-terminated varargs, which Swift cannot
// call, so the few calls we make are wrapped here in fixed-argument inline functions. Nothing else is exposed.
#ifndef AGORA_CVIPS_SHIM_H
#define AGORA_CVIPS_SHIM_H

#include <vips/vips.h>

/// The formats Agora accepts, in the order of `ImageFormat`'s cases we map to.
enum { AGORA_VIPS_JPEG = 0, AGORA_VIPS_PNG = 1, AGORA_VIPS_WEBP = 2 };

/// One encoded image: `data` is g_malloc'ed (free with `agora_vips_free`).
typedef struct {
    void *data;
    size_t size;
    int width;
    int height;
} agora_vips_output;

/// Starts libvips once per process: no operation cache (every upload is different, and the cache would hold
/// decoded pixels), one worker thread per operation (the caller's thread pool is the concurrency), and only the
/// loaders libvips marks as fuzzed and safe for untrusted input.
static inline int agora_vips_start(void) {
    if (VIPS_INIT("agora")) return -1;
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    vips_concurrency_set(1);
    vips_block_untrusted_set(TRUE);
    return 0;
}

/// Decodes `buffer` with the loader of `format` alone (never by guessing), failing on any decoding error or
/// truncation, and only the first page or frame. The pixels are then turned upright by the EXIF orientation, and
/// converted to sRGB through the embedded ICC profile if there is one, since the metadata that says either is about
/// to be stripped. The result is decoded into memory, so it no longer needs the buffer.
static inline VipsImage *agora_vips_load(const void *buffer, size_t length, int format) {
    VipsImage *loaded = NULL;
    int failed;
    switch (format) {
    case AGORA_VIPS_JPEG:
        failed = vips_jpegload_buffer((void *)buffer, length, &loaded, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
        break;
    case AGORA_VIPS_PNG:
        failed = vips_pngload_buffer((void *)buffer, length, &loaded, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
        break;
    case AGORA_VIPS_WEBP:
        failed = vips_webpload_buffer((void *)buffer, length, &loaded, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
        break;
    default:
        return NULL;
    }
    if (failed) return NULL;
    VipsImage *upright = NULL;
    failed = vips_autorot(loaded, &upright, NULL);
    g_object_unref(loaded);
    if (failed) return NULL;
    if (vips_image_get_typeof(upright, VIPS_META_ICC_NAME)) {
        VipsImage *srgb = NULL;
        if (vips_icc_transform(upright, &srgb, "srgb", "embedded", TRUE, NULL) == 0) {
            g_object_unref(upright);
            upright = srgb;
        } else {
            // An unusable profile: keep the pixels as they are rather than refuse the photo.
            vips_error_clear();
        }
    }
    // Decode once: the image is saved and shrunk several times, and libvips, lazy and with its cache off, would
    // otherwise decode and rotate it again for each. Bounded by the pixel limit checked before decoding.
    VipsImage *memory = vips_image_copy_memory(upright);
    g_object_unref(upright);
    return memory;
}

/// `image` scaled down to `width` pixels wide (never up), keeping its aspect ratio, computed into memory (so the
/// next, smaller thumbnail can be made from it rather than from the full image).
static inline VipsImage *agora_vips_shrink(VipsImage *image, int width) {
    VipsImage *out = NULL;
    if (vips_thumbnail_image(image, &out, width, "height", VIPS_MAX_COORD, "size", VIPS_SIZE_DOWN, NULL)) return NULL;
    VipsImage *memory = vips_image_copy_memory(out);
    g_object_unref(out);
    return memory;
}

/// Whether `field` is metadata a saver could write into the file (rather than a property of the pixels).
static inline int agora_vips_is_metadata(const char *field) {
    static const char *prefixes[] = {"exif", "xmp", "iptc", "icc", "png-comment", "jpeg-comment", "gif-comment", "comment",
                                     "orientation", "heif-", "jpeg-thumbnail", "photoshop", "magick-", "gps", NULL};
    for (int i = 0; prefixes[i]; i++) {
        if (vips_isprefix(prefixes[i], field)) return 1;
    }
    return 0;
}

/// Encodes `image` as `format` with every piece of metadata removed (EXIF, GPS, XMP, IPTC, ICC, comments). Savers'
/// own `strip` is not enough: libvips 8.14's WebP and PNG savers still wrote the EXIF block (our tests caught it),
/// so the fields are removed from a copy of the image first and `strip` is asked for as well.
static inline int agora_vips_save(VipsImage *image, int format, int quality, agora_vips_output *out) {
    int failed;
    out->data = NULL;
    out->size = 0;
    VipsImage *bare = NULL;
    if (vips_copy(image, &bare, NULL)) return -1;
    gchar **fields = vips_image_get_fields(bare);
    for (int i = 0; fields && fields[i]; i++) {
        if (agora_vips_is_metadata(fields[i])) vips_image_remove(bare, fields[i]);
    }
    g_strfreev(fields);
    image = bare;
    switch (format) {
    case AGORA_VIPS_JPEG:
        failed = vips_jpegsave_buffer(image, &out->data, &out->size, "Q", quality, "strip", TRUE, "optimize_coding", TRUE, NULL);
        break;
    case AGORA_VIPS_PNG:
        failed = vips_pngsave_buffer(image, &out->data, &out->size, "strip", TRUE, "compression", 6, NULL);
        break;
    case AGORA_VIPS_WEBP:
        failed = vips_webpsave_buffer(image, &out->data, &out->size, "Q", quality, "strip", TRUE, NULL);
        break;
    default:
        failed = -1;
    }
    out->width = vips_image_get_width(image);
    out->height = vips_image_get_height(image);
    g_object_unref(bare);
    return failed;
}

static inline void agora_vips_free(void *data) { g_free(data); }
static inline void agora_vips_release(VipsImage *image) { if (image) g_object_unref(image); }
static inline int agora_vips_width(VipsImage *image) { return vips_image_get_width(image); }
static inline int agora_vips_height(VipsImage *image) { return vips_image_get_height(image); }

/// The last error libvips recorded on this thread's calls (its buffer is process-wide), then cleared.
static inline void agora_vips_take_error(char *out, size_t size) {
    const char *message = vips_error_buffer();
    if (size > 0) {
        size_t i = 0;
        for (; message && message[i] && i + 1 < size; i++) out[i] = message[i];
        out[i] = 0;
    }
    vips_error_clear();
}

#endif

-- Issue 21, part 2: product images are cleaned by libvips at upload and get WebP thumbnails, stored beside the image
-- as `<key without extension>-<width>.webp`. The widths made are recorded so the API can offer them (srcset) and a
-- delete can remove them. Images uploaded before have none: the empty array, and the API offers the original only.
ALTER TABLE product_images ADD COLUMN thumbnail_widths integer[] NOT NULL DEFAULT '{}'
    CHECK (array_position(thumbnail_widths, NULL) IS NULL AND 0 < ALL (thumbnail_widths) AND cardinality(thumbnail_widths) <= 8);

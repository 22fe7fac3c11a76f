"""Image fixtures and an independent inspection of what the image pipeline stored, with Pillow (PyPI `Pillow`).

    python3 image_check.py make FOLDER     # writes the fixtures below into FOLDER
    python3 image_check.py inspect FILE    # prints one JSON line about FILE

Fixtures, each carrying the kind of metadata a phone or an editor leaves in a file:
- `gps.jpg`: 1200x800 pixels stored, EXIF orientation 6 (shown rotated: 800x1200), camera make and model, GPS
  latitude and longitude (Cape Town), a JPEG comment.
- `text.png`: 400x300, a tEXt chunk with a location and an eXIf chunk with GPS.
- `gps.webp`: 600x400, EXIF with GPS.
- `cut.jpg`: `gps.jpg` cut off in the middle of its pixel data (a valid header: only decoding finds out).

`inspect` answers what Pillow finds: format, size, the EXIF tags (and whether a GPS block is there), the text
chunks and comments, and whether the bytes still contain any of the fixtures' tell-tale strings.
"""
import io
import json
import sys

from PIL import Image, ImageDraw

TELLTALES = [b"AgoraTestPhone", b"Cape Town", b"Exif\x00\x00", b"GPS"]


def picture(width, height):
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for x in range(0, width, 8):
        draw.rectangle([x, 0, x + 7, height], fill=(x * 255 // width, 120, 255 - x * 255 // width))
    draw.ellipse([width // 4, height // 4, width * 3 // 4, height * 3 // 4], fill=(250, 250, 250))
    return image


def exif_with_gps(orientation=None):
    exif = Image.Exif()
    exif[0x010F] = "AgoraTestPhone"  # Make
    exif[0x0110] = "AgoraTestPhone Pro"  # Model
    if orientation:
        exif[0x0112] = orientation
    exif[0x8825] = {1: "S", 2: (33.0, 55.0, 30.0), 3: "E", 4: (18.0, 25.0, 26.0)}  # GPSInfo: Cape Town
    return exif


def make(folder):
    jpeg = io.BytesIO()
    picture(1200, 800).save(jpeg, "JPEG", quality=90, exif=exif_with_gps(orientation=6), comment=b"shot in Cape Town")
    with open(f"{folder}/gps.jpg", "wb") as out:
        out.write(jpeg.getvalue())
    data = jpeg.getvalue()
    with open(f"{folder}/cut.jpg", "wb") as out:
        out.write(data[: len(data) // 2])

    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Location", "Cape Town, -33.9258, 18.4232")
    picture(400, 300).save(f"{folder}/text.png", "PNG", pnginfo=info, exif=exif_with_gps())
    picture(600, 400).save(f"{folder}/gps.webp", "WEBP", quality=90, exif=exif_with_gps())


def inspect(path):
    with open(path, "rb") as f:
        data = f.read()
    image = Image.open(io.BytesIO(data))
    image.load()
    exif = image.getexif()
    gps = exif.get_ifd(0x8825) if 0x8825 in exif else {}
    text = {k: str(v) for k, v in getattr(image, "text", {}).items()}
    found = [t.decode("latin-1") for t in TELLTALES if t in data]
    return {
        "format": image.format,
        "width": image.width,
        "height": image.height,
        "exifTags": len(exif),
        "gps": bool(gps),
        "text": text,
        "comment": (image.info.get("comment") or b"").decode("latin-1"),
        "icc": "icc_profile" in image.info,
        "telltales": found,
    }


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        print(json.dumps(inspect(sys.argv[2])))

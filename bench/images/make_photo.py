"""A phone-sized test photo for scripts/bench-images.sh: 4000x3000 (12 MP) JPEG at quality 90, with natural-looking
detail (gradients, shapes and sensor-like noise, so it compresses like a photo rather than a flat picture) and the
EXIF a phone writes: make, model, orientation and GPS.

    python3 make_photo.py OUT.jpg
"""
import random
import sys

from PIL import Image, ImageDraw, ImageFilter

width, height = 4000, 3000
random.seed(21)
image = Image.new("RGB", (width, height))
draw = ImageDraw.Draw(image)
for y in range(0, height, 4):
    draw.rectangle([0, y, width, y + 3], fill=(40 + y * 150 // height, 90 + y * 60 // height, 160 - y * 90 // height))
for _ in range(400):
    x, y, r = random.randrange(width), random.randrange(height), random.randrange(20, 300)
    draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(random.randrange(256) for _ in range(3)))
image = image.filter(ImageFilter.GaussianBlur(3))
noise = Image.effect_noise((width, height), 24).convert("RGB")
image = Image.blend(image, noise, 0.12)
exif = Image.Exif()
exif[0x010F] = "AgoraBenchPhone"
exif[0x0110] = "AgoraBenchPhone 12"
exif[0x0112] = 6
exif[0x8825] = {1: "S", 2: (33.0, 55.0, 30.0), 3: "E", 4: (18.0, 25.0, 26.0)}
image.save(sys.argv[1], "JPEG", quality=90, exif=exif)

"""Draw the app icons into app/static/icons/ (run from anywhere: `python scripts/make_icons.py`).

The mark: a white shield with a gold rim on the deep blue of the top bar (#0b3d91),
carrying the character 阡 (the north-south field path of 阡陌) in the same blue.

- icon-192.png, icon-512.png: purpose "any", a rounded square with transparent corners.
- icon-64.png: the same, for the top bar and the favicon (32 CSS px at 2x), 64 colours.
- icon-maskable-192.png, icon-maskable-512.png: purpose "maskable", full-bleed blue; the
  whole shield lies inside a circle of radius 0.37 x size, within the 0.40 x size safe zone,
  so no launcher mask (circle, squircle, teardrop) can clip it.

Deterministic: the same Pillow and font give byte-identical files (no timestamps or text
chunks are written). The glyph comes from Noto Sans CJK SC Bold (Debian: fonts-noto-cjk).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent.parent / "app" / "static" / "icons"

BLUE = (11, 61, 145, 255)  # #0b3d91, the theme colour
WHITE = (255, 255, 255, 255)
GOLD = (245, 183, 0, 255)  # #f5b700, the focus colour of app.css
GLYPH = "阡"
SUPERSAMPLE = 4  # draw at 4x, then downscale: smooth edges without relying on anti-aliased primitives

FONT_NAMES = ("NotoSansCJK-Bold.ttc", "NotoSansCJKsc-Bold.otf", "NotoSansSC-Bold.otf")
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")


def find_font(size: int) -> ImageFont.FreeTypeFont:
    """Noto Sans CJK SC Bold; in the .ttc collection pick the face whose family is the SC one."""
    for folder in FONT_DIRS:
        if not folder.is_dir():
            continue
        for name in FONT_NAMES:
            for path in sorted(folder.rglob(name)):
                for index in range(12):
                    try:
                        font = ImageFont.truetype(str(path), size, index=index)
                    except OSError:
                        break
                    family, _style = font.getname()
                    if family.endswith(" SC") or not path.name.endswith(".ttc"):
                        return font
    sys.exit("make_icons: Noto Sans CJK SC Bold not found (Debian/Ubuntu: apt-get install fonts-noto-cjk)")


def quad(
    p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float], steps: int = 96
) -> list[tuple[float, float]]:
    """Points along a quadratic Bezier curve, both ends included."""
    out = []
    for i in range(steps + 1):
        t = i / steps
        a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t * t
        out.append((a * p0[0] + b * p1[0] + c * p2[0], a * p0[1] + b * p1[1] + c * p2[1]))
    return out


def shield(cx: float, cy: float, h: float) -> list[tuple[float, float]]:
    """A heater shield of height h centred on (cx, cy): straight sides, curved to a point, a dipped top."""
    w = 0.84 * h
    top, bottom = cy - 0.5 * h, cy + 0.5 * h
    x0, x1 = cx - w / 2, cx + w / 2
    shoulder = top + 0.04 * h  # the top corners
    waist = top + 0.42 * h  # where the sides start to curve in
    return [
        (x0, shoulder),
        *quad((x0, waist), (x0, top + 0.82 * h), (cx, bottom)),
        *quad((cx, bottom), (x1, top + 0.82 * h), (x1, waist))[1:],
        (x1, shoulder),
        *quad((x1, shoulder), (cx, top + 0.10 * h), (x0, shoulder))[1:-1],
    ]


def draw(size: int, maskable: bool) -> Image.Image:
    n = size * SUPERSAMPLE
    img = Image.new("RGBA", (n, n), (0, 0, 0, 0))
    pen = ImageDraw.Draw(img)
    if maskable:
        pen.rectangle((0, 0, n, n), fill=BLUE)
        # Scale the shield so that its farthest point is 0.37 n from the centre (safe zone: 0.40 n).
        reach = max(math.hypot(x, y) for x, y in shield(0.0, 0.0, 1.0))
        h = 0.37 * n / reach
    else:
        pen.rounded_rectangle((0, 0, n - 1, n - 1), radius=0.22 * n, fill=BLUE)
        h = 0.80 * n
    cx = cy = n / 2
    pen.polygon(shield(cx, cy, h), fill=GOLD)
    inner = 0.90 * h  # the gold rim is what is left of the outer shield
    pen.polygon(shield(cx, cy + 0.01 * h, inner), fill=WHITE)

    font = find_font(round(0.60 * inner))
    left, upper, right, lower = pen.textbbox((0, 0), GLYPH, font=font)
    # Centred on the optical centre of the shield, a little above its geometric centre.
    x = cx - (right - left) / 2 - left
    y = cy - 0.05 * inner - (lower - upper) / 2 - upper
    pen.text((x, y), GLYPH, font=font, fill=BLUE)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        for maskable, name in ((False, f"icon-{size}.png"), (True, f"icon-maskable-{size}.png")):
            image = draw(size, maskable)
            if maskable:
                image = image.convert("RGB")  # full bleed: no alpha needed
            image.save(OUT / name, format="PNG", optimize=True)
            print(f"wrote {OUT / name}")
    # The page's own mark (32 CSS px in the top bar, the favicon) at 2x: a 192 px icon there
    # cost 14 KB of every cold page load; this one is a few hundred bytes after quantising.
    small = draw(64, maskable=False).quantize(colors=64, method=Image.Quantize.FASTOCTREE)
    small.save(OUT / "icon-64.png", format="PNG", optimize=True)
    print(f"wrote {OUT / 'icon-64.png'}")


if __name__ == "__main__":
    main()

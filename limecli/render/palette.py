"""The colours every output draws with: blue supports, orange opposes.

Okabe-Ito's blue and vermillion stay distinguishable with every common
colour-vision deficiency; the HTML report, the terminal and the pictures use
the same ones. Also the contrast arithmetic the pictures use to stay readable
on any image (WCAG 2 relative luminance and contrast ratio).
"""

from __future__ import annotations

#: Supporting weight: Okabe-Ito blue, #0072B2.
SUPPORT = (0, 114, 178)
#: Opposing weight: Okabe-Ito vermillion, #D55E00.
OPPOSE = (213, 94, 0)
#: The light and the dark stroke of an outline: one of the two contrasts with any colour
#: by a ratio of at least 4.58 (WCAG asks 3 for graphics). Also text and frames.
LIGHT = (255, 255, 255)
DARK = (0, 0, 0)


def hex_colour(rgb: tuple[int, int, int]) -> str:
    """``(0, 114, 178)`` -> ``"#0072B2"``."""
    return "#{:02X}{:02X}{:02X}".format(*rgb)


SUPPORT_HEX = hex_colour(SUPPORT)
OPPOSE_HEX = hex_colour(OPPOSE)


def relative_luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0-255 channels): 0 black, 1 white."""
    linear = []
    for channel in rgb:
        c = float(channel) / 255.0
        linear.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """WCAG 2 contrast ratio of two colours, 1 (same luminance) to 21 (black on white)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(background: tuple[float, float, float]) -> tuple[int, int, int]:
    """Black or white, whichever contrasts more with ``background`` (text on a filled box)."""
    return max((DARK, LIGHT), key=lambda c: contrast_ratio(c, background))

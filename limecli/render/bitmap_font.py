"""A 5x7 pixel font for the numbers drawn on pictures (segment ids, colour-scale ends).

Drawn with numpy alone, so a picture is the same bytes on every machine (no
font files, no anti-aliasing that varies with FreeType's version).
"""

from __future__ import annotations

import numpy as np

_GLYPHS = {
    "0": (".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": ("####.", "....#", "....#", ".###.", "....#", "....#", "####."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
    "+": (".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."),
    "-": (".....", ".....", ".....", "#####", ".....", ".....", "....."),
    ".": (".....", ".....", ".....", ".....", ".....", ".##..", ".##.."),
    "e": (".....", ".....", ".###.", "#...#", "#####", "#....", ".###."),
    " ": (".....",) * 7,
}
GLYPH_WIDTH, GLYPH_HEIGHT = 5, 7
#: Columns between two glyphs.
SPACING = 1
CHARACTERS = frozenset(_GLYPHS)
_BITMAPS = {
    ch: np.array([[c == "#" for c in row] for row in rows], dtype=bool)
    for ch, rows in _GLYPHS.items()
}


def text_size(text: str, scale: int = 1) -> tuple[int, int]:
    """(width, height) in pixels of ``text`` drawn at ``scale`` (whole pixels per font pixel)."""
    if not text:
        return 0, 0
    width = len(text) * GLYPH_WIDTH + (len(text) - 1) * SPACING
    return width * scale, GLYPH_HEIGHT * scale


def text_mask(text: str, scale: int = 1) -> np.ndarray:
    """(height, width) bool: the pixels of ``text``; characters outside :data:`CHARACTERS`
    raise ValueError."""
    unknown = sorted(set(text) - CHARACTERS)
    if unknown:
        raise ValueError(f"the picture font has no glyph for {unknown}")
    width, height = text_size(text, 1)
    mask = np.zeros((height, width), dtype=bool)
    for i, ch in enumerate(text):
        x = i * (GLYPH_WIDTH + SPACING)
        mask[:, x : x + GLYPH_WIDTH] = _BITMAPS[ch]
    return np.kron(mask, np.ones((scale, scale), dtype=bool)).astype(bool)


def draw_text(
    canvas: np.ndarray, text: str, x: int, y: int, colour: tuple[int, int, int], scale: int = 1
) -> None:
    """Paint ``text`` on ``canvas`` (H, W, 3) with its top-left corner at (x, y), clipped to
    the canvas."""
    mask = text_mask(text, scale)
    height, width = canvas.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + mask.shape[1], width), min(y + mask.shape[0], height)
    if x0 >= x1 or y0 >= y1:
        return
    part = mask[y0 - y : y1 - y, x0 - x : x1 - x]
    canvas[y0:y1, x0:x1][part] = colour

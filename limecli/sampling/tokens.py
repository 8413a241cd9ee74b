"""The default tokeniser's patterns: words, emoji and emoticons.

For a sentiment model an emoji or an emoticon is often the strongest cue in a
text, so the default tokeniser keeps them as tokens of their own instead of
dropping them with the punctuation. A token is, tried in this order at each
place in the text:

1. an **emoji**: one user-perceived emoji, however many code points build it
   (Unicode TS #51's sequences): a pictograph with its variation selector
   (``❤️``) and skin-tone modifier (``👍🏽``), several of those joined by
   zero-width joiners (``👩‍💻``, ``👨‍👩‍👧``), a flag of two regional
   indicators (``🇫🇷``; a lone indicator is a token too), a keycap
   (``1️⃣``, ``#️⃣``), a tag sequence (the flag of England), or a lone
   skin-tone modifier. Adjacent emoji are separate tokens (``😀😀`` is two).
2. an **emoticon** (``:)`` ``:-(`` ``;)`` ``:D`` ``:P`` ``:/`` ``:'(`` ``>:(``
   ``<3`` ``</3`` ``^_^`` ``^^`` ``-_-`` ``>_<`` ``(:`` ...) that stands apart:
   never followed by a Latin letter, a digit, an underscore, ``/`` or ``\\``;
   an eyes-first face never right after a digit or underscore, the others
   never touching a word character. So ``http://x``, ``file:///``, ``10:30``,
   ``2:3``, ``C:\\dir``, ``:Price``, ``x<3`` and ``(see above): x`` hold no
   emoticon, while ``great :)``, ``(fun :P)``, ``thanks:)``, ``好看:)真的`` and
   ``:))`` (one token, the repeated mouth included) do. ``XD``, ``xD``,
   ``T_T`` and ``o_O`` are made of word characters: they were words already.
3. a **word**: a maximal run of word characters (letters and digits of any
   script, underscore) with the combining marks and zero-width joiners that
   belong to them, so Korean, accented Latin, Cyrillic and Devanagari words
   stay whole; ``char_level`` makes each word character (with its marks) a
   token instead, emoji and emoticons staying whole.

Python's :mod:`re` has no ``\\p{Extended_Pictographic}``, so the pictographs
are that property's code point ranges, written out below. Symbols with the
property that also occur in plain text (``©``, ``®``, ``™``, ``↔``, ``♥``,
``☺``) are therefore tokens of their own, as in any emoji-aware tokeniser.
"""

from __future__ import annotations

import re
import unicodedata

#: Extended_Pictographic in hexadecimal code points and first-last ranges: Unicode's
#: emoji-data.txt as the ``regex`` package (2026.5) reports it, written out because
#: :mod:`re` cannot; tests/test_tokens.py compares the two wherever ``regex`` is
#: installed. The emoji blocks' unassigned code points are in it, as in the property.
_PICTOGRAPHIC = """
00A9 00AE 203C 2049 2122 2139 2194-2199 21A9-21AA 231A-231B 2328 23CF 23E9-23F3 23F8-23FA
24C2 25AA-25AB 25B6 25C0 25FB-25FE 2600-2604 260E 2611 2614-2615 2618 261D 2620 2622-2623
2626 262A 262E-262F 2638-263A 2640 2642 2648-2653 265F-2660 2663 2665-2666 2668 267B
267E-267F 2692-2697 2699 269B-269C 26A0-26A1 26A7 26AA-26AB 26B0-26B1 26BD-26BE 26C4-26C5
26C8 26CE-26CF 26D1 26D3-26D4 26E9-26EA 26F0-26F5 26F7-26FA 26FD 2702 2705 2708-270D 270F
2712 2714 2716 271D 2721 2728 2733-2734 2744 2747 274C 274E 2753-2755 2757 2763-2764
2795-2797 27A1 27B0 27BF 2934-2935 2B05-2B07 2B1B-2B1C 2B50 2B55 3030 303D 3297 3299 1F004
1F02C-1F02F 1F094-1F09F 1F0AF-1F0B0 1F0C0 1F0CF-1F0D0 1F0F6-1F0FF 1F170-1F171 1F17E-1F17F
1F18E 1F191-1F19A 1F1AE-1F1E5 1F201-1F20F 1F21A 1F22F 1F232-1F23A 1F23C-1F23F 1F249-1F25F
1F266-1F321 1F324-1F393 1F396-1F397 1F399-1F39B 1F39E-1F3F0 1F3F3-1F3F5 1F3F7-1F3FA
1F400-1F4FD 1F4FF-1F53D 1F549-1F54E 1F550-1F567 1F56F-1F570 1F573-1F57A 1F587 1F58A-1F58D
1F590 1F595-1F596 1F5A4-1F5A5 1F5A8 1F5B1-1F5B2 1F5BC 1F5C2-1F5C4 1F5D1-1F5D3 1F5DC-1F5DE
1F5E1 1F5E3 1F5E8 1F5EF 1F5F3 1F5FA-1F64F 1F680-1F6C5 1F6CB-1F6D2 1F6D5-1F6E5 1F6E9
1F6EB-1F6F0 1F6F3-1F6FF 1F7DA-1F7FF 1F80C-1F80F 1F848-1F84F 1F85A-1F85F 1F888-1F88F
1F8AE-1F8AF 1F8BC-1F8BF 1F8C2-1F8CF 1F8D9-1F8FF 1F90C-1F93A 1F93C-1F945 1F947-1F9FF
1FA58-1FA5F 1FA6E-1FAFF 1FC00-1FFFD
"""
PICTOGRAPHIC_RANGES: tuple[tuple[int, int], ...] = tuple(
    (int(a, 16), int(b or a, 16))
    for a, _, b in (item.partition("-") for item in _PICTOGRAPHIC.split())
)


def _char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in ranges) + "]"


# Two classes, not one: re looks a class of the Basic Multilingual Plane up in a bitmap,
# but tries a class with any other code point range by range, at every character.
_BMP = _char_class(tuple(r for r in PICTOGRAPHIC_RANGES if r[1] <= 0xFFFF))
_ASTRAL = _char_class(tuple(r for r in PICTOGRAPHIC_RANGES if r[0] > 0xFFFF))
_PICTOGRAPH = f"(?:{_BMP}|(?=[\U00010000-\U0010ffff]){_ASTRAL})"
_SKIN_TONE = "[\U0001f3fb-\U0001f3ff]"
_REGIONAL = "[\U0001f1e6-\U0001f1ff]"
_KEYCAP = "[0-9#*]\ufe0f?\u20e3"
_TAGS = "[\U000e0020-\U000e007e]+\U000e007f"  # subdivision flags: 🏴 + tag letters + cancel tag
#: One pictograph with what may follow it: a variation selector, a skin tone, tags.
_ELEMENT = f"{_PICTOGRAPH}[\ufe0e\ufe0f]?{_SKIN_TONE}?(?:{_TAGS})?"
#: Every emoji but keycaps starts outside ASCII (the guard skips ASCII quickly).
EMOJI = (
    f"(?=[^\x00-\x7f])(?:{_ELEMENT}(?:\u200d{_ELEMENT})*|{_REGIONAL}{{1,2}}|{_SKIN_TONE}\ufe0f?)"
)

#: Eyes-first faces: optional angry brow, eyes, optional nose or tear, a mouth (may repeat).
_FACE = r"(?:>?[:;=][-'^o]?(?:\)+|\(+|\]+|\[+|D+|[PpOo/\\|*3]))"
#: Mouth-first faces (the mirrored smile and frown): (:  (-:  ):  )-:
_MIRRORED = r"(?:[()][-'^]?[:;=])"
_OTHER = r"(?:</?3+|\^_*\^|-_+-|>_+<|\^\.\^)"
#: What may not follow an emoticon: a Latin letter, a digit, an underscore (:Price, 10:30),
#: a slash or backslash (http://, C:\\). Other scripts may: 好看:)真的.
_NOT_AFTER = r"(?![0-9A-Za-z_\u00c0-\u024f/\\])"
#: Eyes-first faces may follow a word (thanks:), 好看:)) but not a digit (2:3, 10:30);
#: the others may not touch a word at all ("(see above): x", "x<3").
EMOTICON = (
    rf"(?=[-:;=()<>^])"  # the characters an emoticon starts with: a quick first check
    rf"(?:(?<![0-9_]){_FACE}|(?<!\w)(?:{_MIRRORED}|{_OTHER})(?!\w)){_NOT_AFTER}"
)

_JOINERS = "\u200c\u200d"  # zero-width non-joiner / joiner: inside words in Persian, Indic scripts
#: Emoji parts that are combining marks for Unicode; never part of a word (see _word).
_EMOJI_MARKS = "\ufe0e\ufe0f\u20e3"


def mark_class(text: str) -> str:
    """Escaped combining marks (and joiners) that occur in ``text``, for a character class."""
    extra = {c for c in set(text) if unicodedata.category(c)[0] == "M"}
    extra.update(c for c in _JOINERS if c in text)
    extra.difference_update(_EMOJI_MARKS)
    return "".join(re.escape(c) for c in sorted(extra))


def _word(text: str, char_level: bool) -> str:
    marks = mark_class(text)
    # A keycap's digit (the 1 of 1️⃣) starts an emoji, so it does not continue a word.
    char = rf"(?!{_KEYCAP})\w" if "\u20e3" in text else r"\w"
    if not marks:
        return char if char_level else rf"(?:{char})+"
    pattern = rf"{char}[{marks}]*" if char_level else rf"{char}(?:{char}|[{marks}])*"
    # A stray mark with no word character before it still forms a token.
    return rf"(?:{pattern}|[{marks}]+)"


def default_token_pattern(text: str, *, char_level: bool = False) -> re.Pattern[str]:
    """The default tokens of ``text`` (emoji, emoticons, words; module docstring).

    Only the alternatives ``text`` can hold are in the pattern: no emoji in ASCII
    text, no keycap without U+20E3 (the result is the same, sooner).
    """
    alternatives = [EMOTICON, _word(text, char_level)]
    if not text.isascii():
        alternatives.insert(0, EMOJI)
    if "\u20e3" in text:
        alternatives.insert(0, _KEYCAP)
    return re.compile("|".join(alternatives))

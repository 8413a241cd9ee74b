"""Settings of text explanations: how texts are read, cut into words and masked."""

from __future__ import annotations

from dataclasses import dataclass, field

from limecli.config import opt


@dataclass(frozen=True, kw_only=True)
class TextSettings:
    """Reading texts (tables, encodings, caps) and turning them into word features."""

    column: str | None = field(
        default=None,
        metadata=opt(
            "--column",
            metavar="COL",
            help="Inputs are CSV/TSV/JSONL tables: explain the texts in this column, one per row.",
        ),
    )
    rows: tuple[int, ...] = field(
        default=(),
        metadata=opt(
            "--row",
            kind="int",
            min=0,
            multiple=True,
            help="With --column: only this row, 0-based, not counting a header (repeatable).",
        ),
    )
    encoding: str | None = field(
        default=None,
        metadata=opt(
            "--encoding",
            metavar="CODEC",
            help="Encoding of the inputs (default UTF-8; a byte-order mark always wins).",
        ),
    )
    split_expression: str | None = field(
        default=None,
        metadata=opt(
            "--split-expression",
            metavar="REGEX",
            help="Regex matching the separators between words "
            "(default: words are runs of Unicode word characters).",
        ),
    )
    char_level: bool = field(
        default=False,
        metadata=opt(
            "--char-level",
            kind="flag",
            help="Every character is a feature "
            "(for Chinese, Japanese and other unsegmented scripts).",
        ),
    )
    bow: bool = field(
        default=True,
        metadata=opt(
            "--bow",
            kind="toggle",
            secondary="--no-bow",
            show_default=True,
            help="Bag of words (all occurrences of a word are one feature) "
            "or one feature per position.",
        ),
    )
    mask_token: str = field(
        default="UNKWORDZ",
        metadata=opt(
            "--mask-token",
            show_default=True,
            help="With --no-bow: what replaces a switched-off word.",
        ),
    )
    max_chars: int = field(
        default=100_000,
        metadata=opt(
            "--max-chars",
            kind="int",
            min=1,
            show_default=True,
            help="Explain at most this many characters of a text "
            "(longer texts are cut, with a note).",
        ),
    )
    max_words: int = field(
        default=2_000,
        metadata=opt(
            "--max-words",
            kind="int",
            min=1,
            show_default=True,
            help="Explain at most this many distinct words: "
            "the text is cut before the next new one.",
        ),
    )

"""What every command does with results and notes: one output path, notes on stderr."""

from __future__ import annotations

import glob
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from limecli.cli.color import stdout_table_style
from limecli.cli.options import current_flags, spell_flags
from limecli.render.terminal import printable

if TYPE_CHECKING:
    from limecli.config.image import Pictures


def make_notes(quiet: bool) -> Any:
    """The ``notes`` callback a pipeline gets: ``Note: ...`` lines on stderr unless ``quiet``,
    with the parameters a note names spelled as this command's flags."""
    flags = current_flags()

    def notes(message: str, *parameters: str) -> None:
        if not quiet:
            click.echo(f"Note: {printable(spell_flags(message, parameters, flags))}", err=True)

    return notes


def note(quiet: bool, message: str) -> None:
    """An informational line on stderr, silenced by --quiet."""
    if not quiet:
        click.echo(f"Note: {printable(message)}", err=True)


def resolve_format(fmt: str | None, output: Path | None) -> str:
    """The format asked for, else -o's suffix, else a table on a terminal and JSON elsewhere."""
    from limecli.render import SUFFIX_FORMATS

    if fmt is not None:
        return fmt
    if output is not None:
        return SUFFIX_FORMATS.get(output.suffix.lower(), "json")
    return "table" if sys.stdout.isatty() else "json"


def emit(explanations: Sequence[Any], fmt: str | None, output: Path | None) -> None:
    """Render and write to stdout or, atomically, to ``output``."""
    from limecli.render import render

    fmt = resolve_format(fmt, output)
    color, width = stdout_table_style() if output is None else (False, None)
    color = color and fmt == "table"
    text = render(explanations, fmt, color=color, width=width)
    if output is None:
        # click strips escapes on a pipe unless told otherwise: --color always means them.
        click.echo(text, nl=False, color=color)
    else:
        write_atomic(output, text)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (checked before any work by -o's callback): atomically for a
    file, directly for a device; OutputWriteError (exit 7) if it cannot be written."""
    from limecli.atomic import write_atomic as atomic

    atomic(path, text)


def check_pictures(pictures: Pictures, force: bool) -> None:
    """Before any work: every picture path (--out, --mask-out, --heatmap-out) can be written and
    replaces no file limecli did not write; a path with {label} is checked against every
    existing file it could become; --out-dir (or the nearest folder that exists) takes files."""
    from limecli.atomic import check_folder_writable, check_overwrite, check_writable

    for path in pictures.single:
        if path is None:
            continue
        if "{label}" not in str(path):
            check_overwrite(path, force=force)
            check_writable(path)
            continue
        for existing in label_expansions(path):
            check_overwrite(existing, force=force)
        if "{label}" not in str(path.parent):
            check_writable(path.parent / path.name.replace("{label}", "label"))
    if pictures.out_dir is not None and not pictures.out_dir.is_file():  # a file: the batch says
        check_folder_writable(pictures.out_dir)


def check_batch_pictures(pictures: Pictures, files: Sequence[Any], force: bool) -> None:
    """Before any image is explained: no picture a batch draws in --out-dir replaces a file
    limecli did not write (exit 2, unless --force)."""
    from limecli.atomic import check_overwrite
    from limecli.batch.tasks_image import PICTURES
    from limecli.inputs.discover import output_names

    if pictures.out_dir is None or not pictures.batch_kinds:
        return
    for stem in output_names(files):
        for kind in pictures.batch_kinds:
            check_overwrite(pictures.out_dir / f"{stem}{PICTURES[kind]}", force=force)


def label_expansions(path: Path) -> list[Path]:
    """The existing files ``path`` could name once ``{label}`` is a label's file-name-safe form
    (letters, digits, ``-``, ``_``, ``.``; see :func:`limecli.pipelines.image.label_path`)."""
    text = str(path)
    pattern = re.compile(
        "".join(
            re.escape(part) if i % 2 == 0 else (r"([\w.-]*)" if i == 1 else r"\1")
            for i, part in enumerate(_split_label(text))
        )
    )
    found = glob.glob(glob.escape(text).replace(glob.escape("{label}"), "*"))
    return sorted(Path(p) for p in found if pattern.fullmatch(p))


def _split_label(text: str) -> list[str]:
    # "a{label}b{label}c" -> ["a", "{label}", "b", "{label}", "c"]: literal parts at even indexes.
    parts: list[str] = []
    for piece in text.split("{label}"):
        parts.extend([piece, "{label}"])
    return parts[:-1]

"""What every command does with results and notes: one output path, notes on stderr."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from limecli.cli.options import current_flags, spell_flags


def make_notes(quiet: bool) -> Any:
    """The ``notes`` callback a pipeline gets: ``Note: ...`` lines on stderr unless ``quiet``,
    with the parameters a note names spelled as this command's flags."""
    flags = current_flags()

    def notes(message: str, *parameters: str) -> None:
        if not quiet:
            click.echo(f"Note: {spell_flags(message, parameters, flags)}", err=True)

    return notes


def note(quiet: bool, message: str) -> None:
    """An informational line on stderr, silenced by --quiet."""
    if not quiet:
        click.echo(f"Note: {message}", err=True)


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
    to_terminal = output is None and sys.stdout.isatty()
    width = shutil.get_terminal_size().columns if to_terminal else None
    text = render(explanations, fmt, color=to_terminal and fmt == "table", width=width)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text)


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, then rename: never a half-written file."""
    from limecli.atomic import write_atomic as atomic

    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise click.BadParameter(f"folder {folder} does not exist", param_hint="'-o'")
    atomic(path, text)

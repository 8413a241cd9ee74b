"""Whether what limecli writes is coloured, and how wide its tables are.

``--color always`` and ``--color never`` decide alone. ``auto`` (the default)
follows the conventions other tools follow, in this order: ``NO_COLOR`` set to
anything non-empty means no colour (https://no-color.org), ``FORCE_COLOR``
non-empty means colour even through a pipe, ``TERM=dumb`` means no colour, and
otherwise colour goes to a terminal only.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from typing import IO, Any

from limecli.cli.global_flags import color_choice


def use_color(
    stream: IO[Any], choice: str | None = None, environ: Mapping[str, str] | None = None
) -> bool:
    """Whether to colour what goes to ``stream`` (``choice``: default the command's --color)."""
    choice = color_choice() if choice is None else choice
    if choice == "always":
        return True
    if choice == "never":
        return False
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def is_terminal(stream: IO[Any]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def live_terminal(stream: IO[Any]) -> bool:
    """Whether ``stream`` can show a live bar (a terminal that can move its cursor)."""
    return is_terminal(stream) and os.environ.get("TERM") != "dumb"


def stdout_table_style() -> tuple[bool, int | None]:
    """(colour, width) of a table written to stdout: the terminal's width on a terminal,
    else None (the renderer's default: ``$COLUMNS``, else 120)."""
    width = shutil.get_terminal_size().columns if is_terminal(sys.stdout) else None
    return use_color(sys.stdout), width


def stderr_console() -> Any:
    """A rich console on stderr that colours as --color and the environment say."""
    from rich.console import Console

    color = use_color(sys.stderr)
    return Console(
        file=sys.stderr,
        force_terminal=color if color else None,
        no_color=not color,
        highlight=False,
        emoji=False,
    )

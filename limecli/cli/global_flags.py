"""``--debug``, ``-q/--quiet`` and ``--color``: accepted on every command, before or after it.

``limecli --debug tabular ...`` and ``limecli tabular ... --debug`` are the same
thing: the group and every command carry the three options, and both store what
they were given in the context's ``meta`` (one dict shared by the group's context
and the command's). A command that has its own ``quiet`` parameter (``Output.quiet``,
``audit -q``) keeps it; its value becomes the group's flag or its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

DEBUG = "limecli.debug"
QUIET = "limecli.quiet"
COLOR = "limecli.color"
COLOR_CHOICES = ("auto", "always", "never")
#: The --help section they are listed under on each command.
SECTION = "Global options (also before the command)"
#: The parameter names of the options every command gets (not settings fields).
GLOBAL_NAMES = ("debug", "color")

DEBUG_HELP = "Show Python tracebacks instead of one-line errors."
QUIET_HELP = "No notes or progress on stderr."
COLOR_HELP = (
    "Colour the table and progress: auto (a terminal, unless NO_COLOR is set or TERM=dumb; "
    "FORCE_COLOR forces it), always or never."
)


def remember_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value and not ctx.meta.get(DEBUG):
        ctx.meta[DEBUG] = True
        from limecli.cli.signals import debug_crashes

        debug_crashes()
    return value


def share_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    """The group's -q or the command's: either silences notes and progress."""
    quiet = bool(value) or bool(ctx.meta.get(QUIET))
    ctx.meta[QUIET] = quiet
    return quiet


def remember_color(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:  # not given after the command: the group's choice stands
        ctx.meta[COLOR] = value
    return value


def debug_option(cls: type[click.Option] = click.Option, **extra: Any) -> click.Option:
    return cls(
        ["--debug"],
        is_flag=True,
        expose_value=False,
        callback=remember_debug,
        help=DEBUG_HELP,
        **extra,
    )


def quiet_option(cls: type[click.Option] = click.Option, **extra: Any) -> click.Option:
    return cls(
        ["-q", "--quiet"],
        is_flag=True,
        expose_value=False,
        callback=share_quiet,
        help=QUIET_HELP,
        **extra,
    )


def color_option(cls: type[click.Option] = click.Option, **extra: Any) -> click.Option:
    return cls(
        ["--color"],
        type=click.Choice(COLOR_CHOICES),
        default=None,
        expose_value=False,
        callback=remember_color,
        metavar="[auto|always|never]",
        help=COLOR_HELP,
        **extra,
    )


def add_global_options(command: click.Command) -> click.Command:
    """Give ``command`` the options it lacks of ``--debug``, ``-q`` and ``--color`` (once), and
    make its own ``quiet`` parameter, if any, the group's flag too."""
    if getattr(command, "_limecli_global_options", False):
        return command
    from limecli.cli.options import SectionedOption

    names = {p.name: p for p in command.params}
    for name, make in (("debug", debug_option), ("quiet", quiet_option), ("color", color_option)):
        own = names.get(name)
        if own is None:
            command.params.append(make(SectionedOption, section=SECTION))
        elif name == "quiet":
            own.callback = _chained(own.callback, share_quiet)
    command._limecli_global_options = True  # type: ignore[attr-defined]
    return command


def _chained(
    first: Callable[..., Any] | None, then: Callable[..., Any]
) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        return then(ctx, param, first(ctx, param, value) if first is not None else value)

    return callback


def is_debug(ctx: click.Context | None = None) -> bool:
    ctx = ctx or click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(DEBUG))


def is_quiet(ctx: click.Context | None = None) -> bool:
    ctx = ctx or click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(QUIET))


def color_choice(ctx: click.Context | None = None) -> str:
    """``--color`` as given (after the command wins over before it), else ``auto``."""
    ctx = ctx or click.get_current_context(silent=True)
    return "auto" if ctx is None else str(ctx.meta.get(COLOR, "auto"))

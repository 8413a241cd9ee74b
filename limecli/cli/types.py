"""The click types and callbacks the generated options use (values checked while parsing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


class IntOrAuto(click.ParamType):
    """An int >= ``minimum``, or "auto" (the library decides per input)."""

    name = "N|auto"

    def __init__(self, minimum: int) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: Any, ctx: Any) -> int | str:
        if value != "auto" and not isinstance(value, int):
            try:
                value = int(value)
            except ValueError:
                self.fail(f"{value!r} is neither an integer nor 'auto'.", param, ctx)
        if isinstance(value, int) and value < self.minimum:
            self.fail(f"{value} is smaller than the minimum of {self.minimum}.", param, ctx)
        return value


class ClassNames(click.ParamType):
    """``a,b,c`` or a file with one name per line, as a tuple of names."""

    name = "LIST|FILE"

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        path = Path(value)
        if path.is_file():
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            names = [n for n in lines if n]
        else:
            names = [n.strip() for n in value.split(",")]
        if not names or any(not n for n in names):
            self.fail(f"empty class name in {value!r}", param, ctx)
        return tuple(names)


def remember_force(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    ctx.meta["limecli.force"] = value
    return value


def check_output_path(
    ctx: click.Context, param: click.Parameter, value: Path | None
) -> Path | None:
    """Before any work: refuse an existing file limecli did not write, unless --force (exit 2),
    and a path that cannot be written (exit 7). ``-`` or ``/dev/stdout``: stdout (None).

    With --resume the file is left to the batch, which checks it record by record.
    """
    from limecli.atomic import check_overwrite, check_writable, means_stdout

    if value is None or means_stdout(value):
        return None
    resume = bool(ctx.params.get("resume"))
    if not resume:
        check_overwrite(value, force=bool(ctx.meta.get("limecli.force")))
    check_writable(value, append=resume)
    return value


#: --force, read before every other option (eager) by the output paths' checks.
force_option = click.option(
    "--force",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=remember_force,
    help="Replace existing output files even if limecli did not write them.",
)

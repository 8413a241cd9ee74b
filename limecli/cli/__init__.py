"""The ``limecli`` command group: a thin layer over the library.

Subcommands are imported only when used, so ``limecli --help`` does not pay
for numpy, pandas or scikit-learn.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys
import warnings
from typing import Any

import click

from limecli import __version__
from limecli.cli.global_flags import color_option, debug_option, quiet_option
from limecli.errors import EXIT_BROKEN_PIPE, LimeCliError

#: command name -> "module:attribute"; each module defines one click command.
COMMANDS = {
    "tabular": "limecli.cli.tabular:tabular",
    "image": "limecli.cli.image:image",
    "text": "limecli.cli.text:text",
    "summary": "limecli.cli.summary:summary",
    "audit": "limecli.cli.audit:audit",
}


class CommandError(click.ClickException):
    """A LimeCliError on its way out: one ``Error: ...`` line and the error's exit code."""


def command_error(message: str, exit_code: int) -> click.ClickException:
    """A ClickException that exits with ``exit_code`` (click reads it from the class)."""
    from limecli.render.terminal import printable

    error_type = type(f"CommandError{exit_code}", (CommandError,), {"exit_code": exit_code})
    # Names from the user's files reach this line: no escape sequence reaches the terminal.
    return error_type(printable(message))


class LimeGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module, _, attr = spec.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        from limecli.cli.global_flags import add_global_options

        # --debug, -q and --color after the command too, whatever the command declares.
        return add_global_options(command)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            from limecli.cli.options import flag_names

            # Before the command parses anything; ctx.meta is shared with its context, so
            # library messages can be spelled with this command's flags.
            ctx.meta["limecli.flags"] = flag_names(command)
        return name, command, rest

    def invoke(self, ctx: click.Context) -> Any:
        from limecli.cli.global_flags import is_debug

        with warnings.catch_warnings():
            warnings.simplefilter("once")
            warnings.showwarning = _show_warning  # type: ignore[assignment]
            try:
                return super().invoke(ctx)
            except LimeCliError as e:
                if is_debug(ctx):  # given before or after the command
                    raise
                flags = ctx.meta.get("limecli.flags", {})
                raise command_error(cli_message(e, flags), e.exit_code) from e
            except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
                raise
            except BrokenPipeError:
                # The reader went away (`limecli ... | head`): stop quietly, like other tools.
                _silence_stdout()
                ctx.exit(EXIT_BROKEN_PIPE)
            except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (limecli.cli.signals)
                from limecli.cli.signals import stop_error

                raise command_error(*stop_error()) from None
            except Exception as e:
                if is_debug(ctx):
                    raise
                raise command_error(
                    f"unexpected {type(e).__name__}: {e} (run with --debug for the traceback)", 1
                ) from e


def cli_message(error: LimeCliError, flags: dict[str, str]) -> str:
    """The library's message with the parameters it names spelled as the user's flags."""
    from limecli.cli.options import spell_flags

    return spell_flags(str(error), getattr(error, "parameters", ()), flags)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    # Not a real file descriptor under a test runner: nothing to silence then.
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        os.dup2(devnull, sys.stdout.fileno())


def _show_warning(message: Any, category: Any, filename: str, lineno: int, *args: Any) -> None:
    from limecli.cli.options import current_flags, spell_flags

    # A library warning names parameters as errors do ('mode'): spell them as flags.
    parameters = getattr(message, "parameters", ())
    from limecli.render.terminal import printable

    text = printable(spell_flags(str(message), parameters, current_flags()))
    click.echo(f"Warning: {text}", err=True)


@click.group(cls=LimeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="limecli")
def cli() -> None:
    """Explain any model's predictions with LIME.

    \b
    Example:
      limecli tabular sample_models/breast_cancer_rf.joblib \\
          sample_data/breast_cancer_test.csv --row 12

    Results go to stdout (a table on a terminal, JSON otherwise); progress,
    notes, warnings and errors go to stderr. Exit codes: 0 ok, 1 unexpected
    failure, 2 bad option, 3 bad input data, 4 model cannot be loaded,
    5 model failed when called, 6 some inputs of a batch failed, 7 output
    cannot be written, 130 interrupted, 143 terminated (SIGTERM).

    --debug, -q/--quiet and --color work before or after the command.

    Pickled models run code when loaded: only load models you trust.
    """


# The group's own --debug, -q and --color: the same flags every command takes after its name.
cli.params.extend([debug_option(), quiet_option(), color_option()])


def main() -> None:
    from limecli.allocator import keep_freed_memory
    from limecli.cli import signals

    signals.install()
    if not _only_help(sys.argv[1:]):
        keep_freed_memory()  # this process is the command's own (see limecli.allocator)
    try:
        cli.main(prog_name="limecli")
    finally:
        signals.finishing()


def _only_help(args: list[str]) -> bool:
    """Whether these arguments can only print help or the version (nothing to explain:
    the allocator's setting, 4 ms of importing ctypes, is not worth it)."""
    return not args or any(a in ("-h", "--help", "--version") for a in args)


__all__ = ["cli", "main"]

if __name__ == "__main__":  # pragma: no cover
    main()

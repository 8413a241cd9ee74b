"""Options and helpers shared by every explain command (one definition each)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

FORMAT_CHOICES = ("table", "json", "jsonl", "csv", "html")


def model_argument(f: F) -> F:
    return click.argument("model", metavar="MODEL")(f)


class NumSamples(click.ParamType):
    """An int >= 2, or "auto" (grow the sample until the explanation is settled)."""

    name = "N|auto"

    def convert(self, value: Any, param: Any, ctx: Any) -> int | str:
        if value == "auto" or isinstance(value, int):
            return self._checked(value, param, ctx)
        try:
            return self._checked(int(value), param, ctx)
        except ValueError:
            self.fail(f"{value!r} is neither an integer nor 'auto'.", param, ctx)

    def _checked(self, value: int | str, param: Any, ctx: Any) -> int | str:
        if isinstance(value, int) and value < 2:
            self.fail(f"{value} is smaller than the minimum of 2.", param, ctx)
        return value


def explain_options(*, num_samples: int | str, allow_auto: bool = False) -> Callable[[F], F]:
    """--num-samples, --num-features, --seed, --label, --top-labels, --mode, --class-names."""

    def decorate(f: F) -> F:
        auto_help = (
            " 'auto': 5000, doubled to 10000 unless the selected features are already "
            "settled under resampling."
            if allow_auto
            else ""
        )
        options = [
            click.option(
                "--num-samples",
                type=NumSamples() if allow_auto else click.IntRange(min=2),
                default=num_samples,
                show_default=True,
                help="Perturbed samples to draw around the input." + auto_help,
            ),
            click.option(
                "--num-features",
                type=click.IntRange(min=1),
                default=10,
                show_default=True,
                help="Features in the explanation.",
            ),
            click.option(
                "--seed",
                type=int,
                default=0,
                show_default=True,
                help="Random seed: the same seed gives the same output, byte for byte.",
            ),
            click.option(
                "--label",
                "labels",
                multiple=True,
                metavar="NAME",
                help="Class to explain, by name or index (repeatable). Default: the predicted class.",
            ),
            click.option(
                "--top-labels",
                type=click.IntRange(min=1),
                default=None,
                help="Also explain the K most probable classes.",
            ),
            click.option(
                "--mode",
                type=click.Choice(["classification", "regression"]),
                default=None,
                help="Force the mode (default: predict_proba means classification).",
            ),
            click.option(
                "--class-names",
                default=None,
                metavar="LIST|FILE",
                help="Class names, comma-separated or a file with one per line.",
            ),
            click.option(
                "--feature-selection",
                type=click.Choice(["auto", "forward", "highest_weights", "lasso_path", "none"]),
                default="auto",
                show_default=True,
                help="How the surrogate picks features (auto: forward up to 6, else highest weights).",
            ),
            click.option(
                "--batch-size",
                type=click.IntRange(min=1),
                default=None,
                help="Rows per model call (default 1000).",
            ),
        ]
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def output_options(f: F) -> F:
    """--format, -o/--output, --quiet."""
    options = [
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMAT_CHOICES),
            default=None,
            help="Output format. Default: table on a terminal, else from -o's suffix, else json.",
        ),
        click.option(
            "-o",
            "--output",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            callback=check_output_path,
            help="Write the result to this file instead of stdout (written atomically). "
            "An existing file is replaced only if limecli wrote it (or with --force).",
        ),
        click.option("-q", "--quiet", is_flag=True, help="No notes or progress on stderr."),
        force_option,
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _remember_force(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    ctx.meta["limecli.force"] = value
    return value


#: --force, read before every other option (eager) by the output paths' checks.
force_option = click.option(
    "--force",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_remember_force,
    help="Replace existing output files even if limecli did not write them.",
)


def check_output_path(
    ctx: click.Context, param: click.Parameter, value: Path | None
) -> Path | None:
    """Option callback: refuse an existing file limecli did not write, unless --force (exit 2).

    With --resume the file is left to the batch, which checks it record by record.
    """
    from limecli.atomic import check_overwrite

    if value is not None and not ctx.params.get("resume"):
        check_overwrite(value, force=bool(ctx.meta.get("limecli.force")))
    return value


def model_options(f: F) -> F:
    """--timeout and --trust: how the model is loaded and called."""
    options = [
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            default=None,
            metavar="SECONDS",
            help="Give up (exit 5) when one model call takes longer than this. "
            "A hung call cannot be stopped, so the command exits.",
        ),
        click.option(
            "--trust",
            multiple=True,
            metavar="TYPE",
            help="A type a .skops model may hold beyond those skops trusts (repeatable). "
            "skops and ONNX models load without running code; pickles run code.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def parse_class_names(value: str | None) -> list[str] | None:
    """``a,b,c`` or a file with one name per line."""
    if value is None:
        return None
    path = Path(value)
    if path.is_file():
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        names = [n for n in names if n]
    else:
        names = [n.strip() for n in value.split(",")]
    if not names or any(not n for n in names):
        raise click.BadParameter(f"empty class name in {value!r}", param_hint="'--class-names'")
    return names


def resolve_format(fmt: str | None, output: Path | None) -> str:
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


def note(quiet: bool, message: str) -> None:
    """An informational line on stderr, silenced by --quiet."""
    if not quiet:
        click.echo(f"Note: {message}", err=True)


def batch_options(f: F) -> F:
    """--jobs, --resume, --backend, --scheduler: how a batch of inputs runs (see limecli.batch)."""
    options = [
        click.option(
            "--jobs",
            "-j",
            type=int,
            default=1,
            show_default=True,
            help="Parallel processes for a batch (-1: all cores). Output is the same for any N.",
        ),
        click.option(
            "--resume",
            is_flag=True,
            is_eager=True,  # read before -o, whose check leaves a file to resume alone
            help="Keep the inputs already in the -o JSONL/CSV file and append the rest.",
        ),
        click.option(
            "--backend",
            type=click.Choice(["local", "dask"]),
            default="local",
            show_default=True,
            help="Where a batch runs: local processes, or a Dask cluster (needs --scheduler).",
        ),
        click.option(
            "--scheduler",
            default=None,
            metavar="ADDRESS",
            help="Dask scheduler address for --backend dask, e.g. tcp://10.0.0.5:8786.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f

"""A batch from the command line: the output (-o, --format, --resume), progress and notes on
stderr, and exit code 6 when inputs failed. The work itself is :mod:`limecli.batch`."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from limecli.batch import (
    DEFAULT_CHUNK_SIZE,
    RESUMABLE_FORMATS,
    BatchInput,
    BatchReport,
    ChunkTask,
    batch_settings,
    check_executor_options,
    check_sink,
    key_function,
    open_sink,
    run_batch,
)
from limecli.batch.executors import release_early, start_early
from limecli.cli.options import current_flags, spell_flags
from limecli.cli.output import note, resolve_format
from limecli.cli.progress import progress_bar
from limecli.cli.signals import note_stop
from limecli.errors import BatchInputsFailed

if TYPE_CHECKING:
    from limecli.config.common import Batch, Output
    from limecli.pipelines import BatchJob


def run_cli_batch(
    *,
    kind: str,
    inputs: Iterable[BatchInput],
    total: int | None,
    task: ChunkTask,
    fmt: str,
    output: Path | None,
    resume: bool,
    jobs: int,
    backend: str,
    scheduler: str | None,
    seed: int | None,
    quiet: bool,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    settings: dict[str, Any] | None = None,
) -> BatchReport:
    """A batch from the command line; raises :class:`BatchInputsFailed` (exit 6) if inputs failed.

    ``fmt`` is already resolved (``jsonl``, ``csv``, ``json`` or ``table``;
    anything else is refused before any work).
    """
    notes = functools.partial(note, quiet)
    sink, done = open_sink(fmt, output, resume=resume, kind=kind, settings=settings, notes=notes)
    if resume:
        note(quiet, f"resuming {output}: {len(done)} input(s) already there are skipped")
    remaining = None if total is None else max(total - len(done), 0)
    complete = False
    progress = progress_bar(remaining, kind, enabled=not quiet)
    written = len(done)

    def advance(n: int) -> None:
        nonlocal written
        written += n
        progress.advance(bar, n)

    try:
        with progress:
            bar = progress.add_task(kind, total=remaining)
            report = run_batch(
                inputs,
                task,
                sink,
                kind=kind,
                seed=seed,
                jobs=jobs,
                chunk_size=chunk_size,
                backend=backend,
                scheduler=scheduler,
                done=done,
                key=key_function(fmt),
                on_record=advance,
                spell=functools.partial(spell_flags, flags=current_flags()),
            )
        complete = True
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: say what is kept, and how to go on
        if output is not None and fmt in RESUMABLE_FORMATS and written:
            note_stop(f"{output} keeps {written} whole record(s): rerun with --resume to go on")
        raise
    finally:
        sink.close(complete)
    if report.failed:
        where = output if output is not None else "the output"
        raise BatchInputsFailed(
            f"{report.failed} of {report.written} input(s) failed; "
            f"each has an error record in {where}"
        )
    return report


def check_batch(output: Output, batch: Batch) -> str:
    """Refuse, before any work, a batch that cannot run or cannot be written (html, --resume
    without a JSONL/CSV file, --jobs 0, ...); the format the batch will write.

    Then the workers start getting ready (their imports, or the Dask connection) while the
    command reads its data and loads the model; whatever the batch does not take over is
    ended with the command."""
    import click

    fmt = resolve_format(output.fmt, output.output)
    check_executor_options(batch.jobs, batch.backend, batch.scheduler)
    check_sink(fmt, output.output, resume=batch.resume, settings=run_settings(output.output))
    ctx = click.get_current_context(silent=True)
    if ctx is not None and (batch.jobs != 1 or batch.backend == "dask"):
        ctx.call_on_close(release_early)
        start_early(batch.jobs, batch.backend, batch.scheduler, ctx.command.name)
    return fmt


def run_settings(output: Path | None) -> dict[str, Any] | None:
    """What the running command's records depend on, kept beside its -o file and checked
    by --resume (limecli.batch.fingerprint); None without an output file."""
    import click

    ctx = click.get_current_context(silent=True)
    if output is None or ctx is None or ctx.command.name is None:
        return None
    return batch_settings(ctx.command.name, ctx.params)


def run_job(
    job: BatchJob, output: Output, batch: Batch, *, seed: int | None, fmt: str | None = None
) -> BatchReport:
    """:func:`run_cli_batch` for a pipeline's batch job, with the command's output and
    batch settings (``fmt``: default the one ``output`` asks for or its suffix implies)."""
    return run_cli_batch(
        kind=job.kind,
        inputs=job.inputs,
        total=job.total,
        task=job.task,
        fmt=fmt if fmt is not None else resolve_format(output.fmt, output.output),
        output=output.output,
        resume=batch.resume,
        jobs=batch.jobs,
        backend=batch.backend,
        scheduler=batch.scheduler,
        seed=seed,
        quiet=output.quiet,
        chunk_size=job.chunk_size,
        settings=run_settings(output.output),
    )

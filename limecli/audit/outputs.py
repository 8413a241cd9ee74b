"""Where an audit writes its reports and baseline: limecli's one output path.

Every file is checked before any work starts, then written atomically
(:mod:`limecli.atomic`). An existing file is replaced only if limecli wrote it
(a previous run's report or baseline), or with ``force``; the policy file is
never written over, ``force`` or not.

A Markdown report may instead be appended (:func:`markdown_appends`): when asked,
and always when it goes to GitHub's step summary (``$GITHUB_STEP_SUMMARY``), a file
every step of a job adds to, so replacing it would erase what earlier steps wrote.
Appending loses nothing, so it needs no ``force``; it is one write (see
:func:`limecli.atomic.append_once`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from limecli.atomic import append_once, check_overwrite, check_writable, write_atomic
from limecli.errors import ParameterError

#: The environment variable naming the file GitHub Actions shows as a step's summary.
STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


def check_outputs(
    policy: str | Path,
    targets: Iterable[str | Path],
    *,
    force: bool = False,
    append: Iterable[str | Path] = (),
) -> None:
    """ParameterError (exit 2) unless every target can be written: a file (not a folder) in a
    folder that exists, not the ``policy`` file, named once, and not a file limecli did not
    write (unless ``force``; a target also in ``append`` is added to, never replaced, so any
    file will do). OutputWriteError (exit 7) when it cannot be created or opened."""
    seen: list[Path] = []
    appended = [Path(a) for a in append]
    for target in map(Path, targets):
        if _same_file(target, Path(policy)):
            raise ParameterError(f"{target} is the policy file: an audit never writes over it")
        folder = target.parent if str(target.parent) else Path(".")
        if not folder.is_dir():
            raise ParameterError(f"folder {folder} (for {target}) does not exist")
        if target.is_dir():
            raise ParameterError(f"{target} is a folder, not a file to write")
        if any(_same_file(target, other) for other in seen):
            raise ParameterError(f"{target} is named for two outputs: give each its own file")
        adds = any(_same_file(target, other) for other in appended)
        if not adds:
            check_overwrite(target, force=force)
        # OutputWriteError (exit 7): no permission, name too long, a file that will not open...
        check_writable(target, append=adds)
        seen.append(target)


def is_step_summary(path: str | Path, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``path`` is the file ``$GITHUB_STEP_SUMMARY`` names (the same file however
    spelled: paths compared resolved)."""
    env = os.environ if environ is None else environ
    summary = env.get(STEP_SUMMARY)
    return summary is not None and summary != "" and _same_file(Path(path), Path(summary))


def markdown_appends(
    path: str | Path, *, asked: bool, environ: Mapping[str, str] | None = None
) -> bool:
    """Whether the Markdown report is appended to ``path`` rather than replacing it."""
    return asked or is_step_summary(path, environ)


def write_report(path: str | Path, text: str, *, append: bool = False) -> None:
    """Write one report: appended in one write, or replaced atomically (exit 7 if it cannot)."""
    if append:
        append_once(path, text)
    else:
        write_atomic(path, text)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare the resolved names
        return os.path.realpath(a) == os.path.realpath(b)

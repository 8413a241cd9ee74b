"""Where an audit writes its reports and baseline: limecli's one output path.

Every file is checked before any work starts, then written atomically
(:mod:`limecli.atomic`). An existing file is replaced only if limecli wrote it
(a previous run's report or baseline), or with ``force``; the policy file is
never written over, ``force`` or not.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from limecli.atomic import check_overwrite, check_writable
from limecli.errors import ParameterError


def check_outputs(
    policy: str | Path, targets: Iterable[str | Path], *, force: bool = False
) -> None:
    """ParameterError (exit 2) unless every target can be written: a file (not a folder) in a
    folder that exists, not the ``policy`` file, named once, and not a file limecli did not
    write (unless ``force``)."""
    seen: list[Path] = []
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
        check_overwrite(target, force=force)
        check_writable(target)  # OutputWriteError (exit 7): no permission, name too long...
        seen.append(target)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare the names
        return os.path.abspath(a) == os.path.abspath(b)

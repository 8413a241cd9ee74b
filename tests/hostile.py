"""The hostile-input catalogue's shared pieces: a case, and what "rejected cleanly" means.

Every family (``test_hostile_*.py``) lists its cases in a module-level
``CASES`` list; ``test_hostile_readme.py`` counts them against the README's
"N bad inputs tried" line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from limecli.errors import EXIT_CODES


@dataclass(frozen=True)
class Case:
    """One bad input: ``make(tmp_path)`` writes its files and returns the CLI arguments.

    ``code`` is the documented exit code and ``fragment`` a piece of the one
    ``Error:`` line; or, for input limecli accepts on purpose (documented in
    the README), ``code`` 0 and ``fragment`` a piece of the note on stderr
    (empty: no note expected).
    """

    id: str
    make: Callable[[Path], Sequence[Any]]
    code: int
    fragment: str
    extra: dict[str, Any] = field(default_factory=dict)


def params(cases: Sequence[Case]) -> list[Any]:
    return [pytest.param(case, id=case.id) for case in cases]


def assert_rejected(result: Any, code: int, fragment: str, output: Path) -> None:
    """Exit ``code``, one ``Error:`` line naming ``fragment``, nothing on stdout, no file."""
    assert code in EXIT_CODES
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.rstrip().splitlines()[-1] == errors[0]
    assert fragment in errors[0], errors[0]
    assert not output.exists(), f"{output} was written by a failed run"
    leftovers = [p.name for p in output.parent.iterdir() if p.name.startswith(f".{output.name}.")]
    assert not leftovers, leftovers


def assert_handled(result: Any, fragment: str, output: Path) -> None:
    """Exit 0, the result in ``output`` (stdout empty), a note with ``fragment``, no traceback."""
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr
    assert output.exists() and output.stat().st_size > 0
    if fragment:
        assert fragment in result.stderr, result.stderr


def check(result: Any, case: Case, output: Path) -> None:
    if case.code == 0:
        assert_handled(result, case.fragment, output)
    else:
        assert_rejected(result, case.code, case.fragment, output)

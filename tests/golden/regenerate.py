"""Record the golden corpus into ``tests/golden/<case>/`` from the limecli that Python imports.

The expectations came from the pre-refactor code (commit d10ff03); issue 16 changed the
output on purpose (intervals, stability figures, flat labels) and re-recorded them with the
code of its time. Record from a checkout of the code that defines them::

    PYTHONPATH=/path/to/checkout python tests/golden/regenerate.py [--check-modes] [CASE ...]

It prints which ``limecli`` it records. The corpus is recorded twice and both runs must
give the same bytes (a case that varies between runs cannot be golden). With
``--check-modes`` it is recorded a third time with every command as its own
``python -m limecli`` process (several minutes), which must give the same bytes too:
the check that the runner's forked children behave as fresh processes. Without CASE
names, folders of cases no longer in ``corpus.py`` are removed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "runner.py"


def record(out: Path, cases: list[str], *extra: str) -> None:
    subprocess.run(
        [sys.executable, str(RUNNER), str(out), *extra, *cases],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )


def main(argv: list[str]) -> int:
    check_modes = "--check-modes" in argv
    cases = [a for a in argv if a != "--check-modes"]
    where = subprocess.run(
        [sys.executable, "-c", "import limecli; print(limecli.__file__)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"recording the golden corpus from {where}", file=sys.stderr)
    sys.path.insert(0, str(HERE))
    import runner  # this folder's runner.py

    names = cases or [c.name for c in runner.corpus.CASES]
    with tempfile.TemporaryDirectory() as tmp:
        runs = [Path(tmp, "first"), Path(tmp, "second")]
        for out in runs:
            record(out, cases)
        if check_modes:
            runs.append(Path(tmp, "no-fork"))
            record(runs[-1], cases, "--no-fork")
        problems = [
            f"{name} ({other.name} run):\n" + "\n".join(diffs)
            for other in runs[1:]
            for name in names
            if (diffs := runner.compare(runs[0] / name, other / name))
        ]
        if problems:
            print("\n".join(problems), file=sys.stderr)
            print("not recorded: the runs differ", file=sys.stderr)
            return 1
        if not cases:
            for stale in HERE.iterdir():
                if (stale / "case.json").is_file() and stale.name not in names:
                    shutil.rmtree(stale)
        for name in names:
            shutil.rmtree(HERE / name, ignore_errors=True)
            shutil.copytree(runs[0] / name, HERE / name)
    size = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"recorded {len(names)} case(s); tests/golden holds {size / 1e6:.2f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

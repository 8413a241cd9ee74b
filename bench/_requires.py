"""What a benchmark script needs beyond limecli, checked before it imports anything heavy.

A missing package is one line on stderr naming the extra that installs it, and exit 2,
instead of a ``ModuleNotFoundError`` traceback halfway through a run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

#: module -> what installs it (all in the ``bench`` extra of pyproject.toml)
PROVIDERS = {
    "lime": "lime 0.2.0.1, the reference implementation",
    "pyarrow": "pyarrow, for the Parquet tables",
    "palmerpenguins": "palmerpenguins, for the penguins model",
}

INSTALL = "pip install -e '.[bench]'"


def require(*modules: str) -> None:
    """Exit 2 with an install hint unless every module in ``modules`` can be imported."""
    missing = [name for name in modules if not _importable(name)]
    if not missing:
        return
    script = f"bench/{Path(sys.argv[0]).name}"
    needs = "; ".join(PROVIDERS.get(name, name) for name in missing)
    print(f"Error: {script} needs {needs}: {INSTALL}", file=sys.stderr)
    raise SystemExit(2)


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a module blocked in sys.modules, or without a spec
        return False

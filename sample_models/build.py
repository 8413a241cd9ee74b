"""Build every sample model and dataset shipped with limecli.

    python sample_models/build.py

Deterministic: rerunning rewrites the same data (models are byte-identical
for the same scikit-learn version). Outputs go to sample_models/ and sample_data/.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import build_image  # noqa: E402
import build_tabular  # noqa: E402
import build_text  # noqa: E402


def main() -> None:
    build_tabular.build_all()
    build_image.build_all()
    build_text.build_all()


if __name__ == "__main__":
    main()

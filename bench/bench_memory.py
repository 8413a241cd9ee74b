"""Batch memory: peak RSS of ``limecli tabular --train ... --rows`` over 10,000 vs 1,000,000 rows.

    pip install -e '.[bench]'   # pyarrow, for the Parquet tables
    python bench/bench_memory.py [--small 10000] [--large 1000000] [--explain 1000]
                                 [--num-samples 100] [--formats csv,parquet] [--jobs 1]

In a temporary folder: a training CSV (2,000 rows) and, from the same
generator, DATA tables of SMALL and LARGE rows with the same 10 columns (8
floats, an integer, a 3-level text column), as CSV and as Parquet (pyarrow's
default writer settings). The model is a LogisticRegression fitted on the
training CSV's DataFrame (cheap to call). Each run is one ``limecli tabular``
subprocess writing JSONL to a file:

    limecli tabular model.joblib DATA --train train.csv --rows N-EXPLAIN:N
        --num-samples NUM_SAMPLES --seed 0 -o out.jsonl -q --jobs JOBS

so the same number of rows (the LAST ``EXPLAIN`` rows) is explained from
either size: the reader has to pass over the whole file (a CSV is checked
once with the csv module, planned once by pandas in chunks, then read in
chunks up to the rows asked for). Explaining all 1,000,000 rows would take
far longer than reading them and would measure the explainer, not the
reader. Peak RSS is the child's ``ru_maxrss`` from ``os.wait4`` (this
process's own memory does not count). Prints the settings, a table of peak
RSS and wall time per size and format, and the large/small ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = [f"x{i}" for i in range(8)] + ["count", "level"]


def table(n_rows: int, seed: int) -> pd.DataFrame:
    """``n_rows`` rows of the benchmark's columns (floats, an integer, a text level)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n_rows, 8)).round(4), columns=COLUMNS[:8])
    frame["count"] = rng.integers(0, 50, size=n_rows)
    frame["level"] = np.array(["low", "mid", "high"])[rng.integers(0, 3, size=n_rows)]
    return frame


def write_tables(folder: Path, n_rows: int, formats: list[str], row_group: int) -> None:
    """DATA of ``n_rows`` rows in each format, written in blocks (the generator stays small)."""
    block = 200_000
    writer = None
    try:
        for start in range(0, n_rows, block):
            part = table(min(block, n_rows - start), seed=start + 1)
            if "csv" in formats:
                part.to_csv(
                    data_path(folder, n_rows, "csv"), mode="a", header=not start, index=False
                )
            if "parquet" in formats:
                import pyarrow as pa
                import pyarrow.parquet as pq

                batch = pa.Table.from_pandas(part, preserve_index=False)
                if writer is None:
                    path = data_path(folder, n_rows, "parquet")
                    writer = pq.ParquetWriter(path, batch.schema)
                writer.write_table(batch, row_group_size=row_group)
    finally:
        if writer is not None:
            writer.close()


def data_path(folder: Path, n_rows: int, fmt: str) -> Path:
    return folder / f"data_{n_rows}.{fmt}"


def fit_model(folder: Path) -> tuple[Path, Path]:
    import joblib
    from sklearn.linear_model import LogisticRegression

    train = table(2000, seed=0)
    target = (train["x0"] + 0.5 * train["x1"] > 0).astype(int)
    features = train.drop(columns="level")  # a text column is left out as the model does
    path = folder / "model.joblib"
    joblib.dump(LogisticRegression().fit(features, target), path)
    train_path = folder / "train.csv"
    train.to_csv(train_path, index=False)
    return path, train_path


def peak_rss(command: list[str]) -> tuple[int, float]:
    """(peak RSS in bytes, seconds) of ``command`` run as a child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stderr is not None
    errors = process.stderr.read().decode()
    process.stderr.close()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{errors}")
    # ru_maxrss is in kilobytes on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return usage.ru_maxrss * scale, seconds


def prepare(folder: Path, sizes: list[int], formats: list[str], row_group: int) -> None:
    """Write the model and the tables (in a child process: the measuring one stays small)."""
    import pandas as pd

    fit_model(folder)
    for n_rows in sizes:
        write_tables(folder, n_rows, formats, row_group)
    versions = f"Python {platform.python_version()}, pandas {pd.__version__}"
    if "parquet" in formats:
        import pyarrow

        versions += f", pyarrow {pyarrow.__version__}"
    print(versions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--explain", type=int, default=1000, help="rows explained (the last ones)")
    parser.add_argument("--num-samples", type=int, default=100)
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument(
        "--row-group", type=int, default=65_536, help="Parquet rows per row group (writer)"
    )
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()
    formats = [f.strip() for f in args.formats.split(",")]
    if "parquet" in formats:
        from _requires import require

        require("pyarrow")
    sizes = [args.small, args.large]
    if args.prepare is not None:
        prepare(args.prepare, sizes, formats, args.row_group)
        return

    # A child's peak RSS counts the parent's pages it starts with: this process imports
    # nothing heavy and holds no data (a child writes the files).
    with tempfile.TemporaryDirectory(prefix="limecli-bench-memory-") as tmp:
        folder = Path(tmp)
        child = [sys.executable, __file__, "--prepare", str(folder), *sys.argv[1:]]
        versions = subprocess.run(child, check=True, capture_output=True, text=True).stdout
        print("Settings:")
        print(f"  sizes: {args.small:,} and {args.large:,} rows x {len(COLUMNS)} columns")
        print(f"  rows explained: the last {args.explain:,} of each (--rows N-{args.explain}:N)")
        print(f"  --num-samples {args.num_samples}, --jobs {args.jobs}, --seed 0, JSONL to a file")
        print("  model: LogisticRegression (joblib) on 9 numeric columns; --train: a 2,000-row CSV")
        print(f"  reader chunk: {chunk_rows()} rows; Parquet row groups: {args.row_group:,} rows")
        print(f"  formats: {', '.join(formats)}; {versions.strip()}")
        results: dict[tuple[str, int], tuple[int, float, int]] = {}
        for n_rows in sizes:
            for fmt in formats:
                data = data_path(folder, n_rows, fmt)
                out = folder / f"out_{n_rows}_{fmt}.jsonl"
                command = [
                    sys.executable, "-m", "limecli", "tabular", str(folder / "model.joblib"),
                    str(data), "--train", str(folder / "train.csv"),
                    "--rows", f"{n_rows - args.explain}:{n_rows}",
                    "--num-samples", str(args.num_samples), "--seed", "0",
                    "-o", str(out), "-q", "--jobs", str(args.jobs),
                ]  # fmt: skip
                rss, seconds = peak_rss(command)
                with out.open(encoding="utf-8") as lines:
                    records = sum(1 for _ in lines)
                results[(fmt, n_rows)] = (rss, seconds, records)
                size = data.stat().st_size / 2**20
                print(f"  ran {fmt} {n_rows:>9,} rows ({size:,.1f} MB): {seconds:.1f} s")
    print()
    mib = 2**20
    print(f"{'format':<8} {'rows':>10} {'records':>8} {'peak RSS':>10} {'time':>8}")
    for (fmt, n_rows), (rss, seconds, records) in results.items():
        print(f"{fmt:<8} {n_rows:>10,} {records:>8,} {rss / mib:>7.1f} MB {seconds:>7.1f}s")
    print()
    for fmt in formats:
        small = results[(fmt, args.small)][0]
        large = results[(fmt, args.large)][0]
        print(
            f"{fmt}: peak RSS {large / mib:.1f} MB at {args.large:,} rows vs "
            f"{small / mib:.1f} MB at {args.small:,}: ratio {large / small:.2f}"
        )


def chunk_rows() -> int:
    from limecli.inputs.table_stream import CHUNK_ROWS

    return CHUNK_ROWS


if __name__ == "__main__":
    main()

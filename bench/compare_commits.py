"""bench/run.py on two checkouts of limecli, interleaved, compared as ratios to lime.

    pip install -e '.[bench]'   # lime, which bench/run.py times beside limecli
    python bench/compare_commits.py --old OLD [--new NEW] [--rounds 3] [--repeats 5]
                                    [--only batch|cpu] [--json runs.json]

OLD and NEW are checkouts of the old and the new code (NEW defaults to this
repository; for a fixed commit of a tree others are editing, use a copy such
as ``git archive COMMIT | tar -x -C /tmp/new``). NEW's ``bench/run.py`` runs
both sides, once per round each, old then new (old, new, old, new, ...), so
that slow spells of a shared machine fall on both sides. Each side runs with
its checkout as working directory (so ``python -m limecli``, which
bench/run.py times for the start-up line, imports that side's package too)
and with ``PYTHONPATH`` set to it, except this repository, which runs as
installed. Before each run a child with the same environment reports which
``limecli`` it imports, and the run is refused if it is not the expected one.
The sample data and models are NEW's on both sides.

Per case, limecli's time is divided by lime's time *from the same run*
(machine load cancels), the medians of those ratios over rounds are compared
old vs new, and so are the raw medians of limecli's seconds. ``--only batch``
repeats just bench/run.py's tabular batch rows (about 20 s a run, so more
rounds fit); ``--only cpu`` times limecli alone at default settings (tabular
rows one by one and as a batch, text posts, an image) in CPU seconds per
explanation, which a crowded machine inflates less than wall time (no lime,
so no ratio).
The raw runs are written to --json so the table can be recomputed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NUMBER = r"([0-9.]+)"


def environment(checkout: Path) -> dict[str, str]:
    """This repository runs as installed (editable); any other checkout through PYTHONPATH."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if checkout != ROOT:
        env["PYTHONPATH"] = str(checkout)
    return env


def imported_package(env: dict[str, str], cwd: Path, run: Path) -> tuple[str, str]:
    """Which limecli a script in bench/ imports, and which ``python -m limecli`` imports."""
    show = "import limecli; print(limecli.__file__)"
    # A script's own folder comes first on sys.path; -P drops the '' that -c would add.
    as_script = f"import sys; sys.path.insert(0, {str(run.parent)!r}); {show}"
    script = subprocess.run(
        [sys.executable, "-P", "-c", as_script], env=env, cwd=cwd, capture_output=True, text=True
    )
    module = subprocess.run(
        [sys.executable, "-c", show], env=env, cwd=cwd, capture_output=True, text=True
    )
    return script.stdout.strip(), module.stdout.strip()


def parse(stdout: str) -> dict[str, float]:
    """Seconds per explanation (limecli and lime) per case, from bench/run.py's tables."""
    out: dict[str, float] = {}
    for line in stdout.splitlines():
        speed = re.match(rf"\| (tabular|text|image) (.+?) \| {NUMBER} s \| {NUMBER} s \|", line)
        if speed:
            case = f"{speed.group(1)} {speed.group(2)}"
            out[f"{case}|lime"] = float(speed.group(3))
            out[f"{case}|limecli"] = float(speed.group(4))
            continue
        quality = re.match(
            rf"\| stability across \d+ seeds: (.+?) \| {NUMBER} \| {NUMBER} ms \|", line
        )
        if quality:
            out[f"quality {quality.group(1)}"] = float(quality.group(3)) / 1000
            continue
        batch = re.match(rf"\| (lime|limecli): (.+?) \| {NUMBER} \|", line)
        if batch:  # inputs per second -> seconds per input
            out[f"batch {batch.group(1)}: {batch.group(2)}"] = 1 / float(batch.group(3))
    return out


def comparisons(parsed: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Case -> (limecli seconds, limecli / lime) for one run."""
    out: dict[str, tuple[float, float]] = {}
    for key, seconds in parsed.items():
        if key.endswith("|limecli"):
            case = key[: -len("|limecli")]
            out[case] = (seconds, seconds / parsed[f"{case}|lime"])
    lime_batch = parsed.get(f"batch {BATCH_NAMES['lime']}", float("nan"))
    for key, seconds in parsed.items():
        if key.startswith(("cpu ", "wall ")):  # no lime beside it: no ratio
            clock, name = key.split(" ", 1)
            out[f"{name} ({'CPU' if clock == 'cpu' else 'wall'})"] = (seconds, float("nan"))
        elif key.startswith("quality limecli"):
            out[key] = (seconds, seconds / parsed["quality lime, 5000 samples"])
        elif key.startswith("batch limecli"):
            out[key] = (seconds, seconds / lime_batch)
    return out


#: ``--only batch``: bench/run.py's batch rows alone (bench_batch.tabular_rates), as JSON.
BATCH_ONLY = (
    "import json, sys; sys.path.insert(0, {bench!r}); import bench_batch; "
    "print(json.dumps(bench_batch.tabular_rates(rows=100, repeats={repeats})))"
)
BATCH_NAMES = {
    "lime": "lime: explain_instance per row, 5000 samples",
    "shared_5000": "limecli: explain_many, shared pool, 5000 samples",
    "shared_auto": "limecli: explain_many, shared pools, default (auto)",
}


def parse_batch(stdout: str) -> dict[str, float]:
    """The batch rows of :func:`parse`, from ``--only batch``'s JSON."""
    rates = json.loads(stdout.strip().splitlines()[-1])
    return {f"batch {name}": 1 / rates[key] for key, name in BATCH_NAMES.items()}


def cpu_child(bench: Path, repeats: int) -> None:
    """``--only cpu``, in the child: seconds per explanation at default settings.

    Prints JSON: ``{"package": limecli's file, case: {"cpu": s, "wall": s}, ...}``.
    CPU time (``time.process_time``, every thread of the process, so OpenBLAS's
    second thread too) is what a crowded machine inflates least; each case is
    the median over ``repeats``.
    """
    sys.path.insert(0, str(bench))
    import bench_batch
    import bench_image
    import pandas as pd

    import limecli
    from limecli import ImageExplainer, TabularExplainer, TextExplainer, load_model, wrap_model
    from limecli.inputs.image import read_image
    from limecli.segment_cache import clear_memory_cache

    root = bench_batch.ROOT
    forest = load_model(str(root / "sample_models" / "breast_cancer_rf.joblib"))
    train = pd.read_csv(root / "sample_data" / "breast_cancer_train.csv")
    test = pd.read_csv(root / bench_batch.SOURCE)
    rows = [test.iloc[i] for i in range(100)]
    news = load_model(str(root / "sample_models" / "text_newsgroups.joblib"))
    posts = list(pd.read_csv(root / "sample_data" / "text" / "newsgroups_test.csv")["text"][:10])
    image = read_image(root / "sample_data" / "images" / "coffee.jpg")
    tabular = TabularExplainer(forest, train)  # num_samples "auto", 10 features
    fixed = TabularExplainer(forest, train, num_samples=5000)
    text = TextExplainer(news)  # 5000 samples, 10 words
    picture = ImageExplainer(wrap_model(bench_image.cheap_model(), mode="classification"))

    def image_cold() -> None:
        clear_memory_cache()  # a new image: quickshift paid, as in one CLI run
        picture.explain(image, seed=0)

    cases: dict[str, tuple[Any, int]] = {
        "tabular explain, defaults (auto), 20 rows": (
            lambda: [tabular.explain(r, seed=0) for r in rows[:20]],
            20,
        ),
        "text explain, defaults, 10 posts": (lambda: [text.explain(p, seed=0) for p in posts], 10),
        "image explain, defaults (cheap model), cold": (image_cold, 1),
        "tabular explain_many, defaults (auto, shared pools), 100 rows": (
            lambda: tabular.explain_many(rows, seed=0),
            100,
        ),
        "tabular explain_many, 5000 samples (shared pool), 100 rows": (
            lambda: fixed.explain_many(rows, seed=0),
            100,
        ),
    }
    out: dict[str, Any] = {"package": limecli.__file__}
    for name, (run, n) in cases.items():
        run()  # warm-up: imports, caches other than the segmentation's
        cpu, wall = [], []
        for _ in range(repeats):
            start, start_wall = time.process_time(), time.perf_counter()
            run()
            cpu.append(time.process_time() - start)
            wall.append(time.perf_counter() - start_wall)
        out[name] = {"cpu": statistics.median(cpu) / n, "wall": statistics.median(wall) / n}
    print(json.dumps(out))


def parse_cpu(stdout: str, expected: str) -> dict[str, float]:
    """``--only cpu``'s JSON, after checking the child imported the expected limecli."""
    found = json.loads(stdout.strip().splitlines()[-1])
    if found.pop("package") != expected:
        raise SystemExit(f"the child imported another limecli than {expected}")
    return {
        f"{clock} {name}": value[clock]
        for name, value in found.items()
        for clock in ("cpu", "wall")
    }


def run_once(
    side: str, checkout: Path, run: Path, repeats: int, only: str | None = None
) -> dict[str, Any]:
    """One bench run of ``checkout``'s limecli, with ``run`` (the new side's bench/run.py)."""
    env = environment(checkout)
    cwd = checkout
    expected = str(checkout / "limecli" / "__init__.py")
    script_pkg, module_pkg = imported_package(env, cwd, run)
    if script_pkg != expected or module_pkg != expected:
        raise SystemExit(f"{side}: imports {script_pkg} / {module_pkg}, expected {expected}")
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    if only == "batch":
        snippet = BATCH_ONLY.format(bench=str(run.parent), repeats=repeats)
        command = [sys.executable, "-P", "-c", snippet]
    elif only == "cpu":  # -P: this file's folder stays off sys.path, PYTHONPATH comes first
        child = ["--child-cpu", str(run.parent), "--repeats", str(repeats)]
        command = [sys.executable, "-P", str(Path(__file__).resolve()), *child]
    else:
        command = [sys.executable, str(run), "--repeats", str(repeats)]
    done = subprocess.run(
        command,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        "side": side,
        "package": script_pkg,
        "wall_s": time.perf_counter() - start,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "stdout": done.stdout,
        "parsed": (
            parse_batch(done.stdout)
            if only == "batch"
            else parse_cpu(done.stdout, expected)
            if only == "cpu"
            else parse(done.stdout)
        ),
    }


def table(runs: list[dict[str, Any]]) -> str:
    per_side: dict[str, list[dict[str, tuple[float, float]]]] = {"old": [], "new": []}
    for run in runs:
        per_side[run["side"]].append(comparisons(run["parsed"]))
    cases = list(per_side["new"][0])
    if all(r[case][1] != r[case][1] for r in per_side["new"] for case in cases):  # all nan
        lines = [
            "| case (clock) | old: per explanation | new: per explanation | growth |",
            "|---|---|---|---|",
        ]
        for case in cases:
            old = statistics.median(r[case][0] for r in per_side["old"])
            new = statistics.median(r[case][0] for r in per_side["new"])
            lines.append(f"| {case} | {_seconds(old)} | {_seconds(new)} | {new / old - 1:+.0%} |")
        return "\n".join(lines)
    lines = [
        "| case | old: limecli / lime | new: limecli / lime | growth (ratio) "
        "| old: limecli median | new: limecli median | growth (raw) |",
        "|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        cells = []
        for index in (1, 0):  # ratio first, then raw seconds
            old = statistics.median(r[case][index] for r in per_side["old"])
            new = statistics.median(r[case][index] for r in per_side["new"])
            shown = (f"{old:.3f}", f"{new:.3f}") if index else (_seconds(old), _seconds(new))
            cells.append(f"{shown[0]} | {shown[1]} | {new / old - 1:+.0%}")
        lines.append(f"| {case} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def _seconds(value: float) -> str:
    if value < 0.02:
        return f"{value * 1000:.1f} ms"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--old", type=Path, help="checkout of the old code (required)")
    parser.add_argument(
        "--new",
        type=Path,
        default=ROOT,
        help="checkout of the new code (default: this repository); its bench/ runs both sides",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5, help="passed to bench/run.py")
    parser.add_argument("--json", type=Path, help="write every run here")
    parser.add_argument(
        "--only",
        choices=["batch", "cpu"],
        help="batch: only bench/run.py's tabular batch rows (about 20 s a run), for more "
        "rounds; cpu: limecli's CPU seconds per explanation at default settings (no lime)",
    )
    parser.add_argument("--child-cpu", type=Path, help=argparse.SUPPRESS)  # bench/ folder
    args = parser.parse_args()
    if args.child_cpu:
        cpu_child(args.child_cpu, args.repeats)
        return
    if args.only != "cpu":  # bench/run.py times lime beside limecli
        from _requires import require

        require("lime")
    if args.old is None:
        parser.error("--old is required")
    checkouts = {"old": args.old.resolve(), "new": args.new.resolve()}
    run = checkouts["new"] / "bench" / "run.py"
    runs = []
    started = datetime.datetime.now().isoformat(timespec="minutes")
    for round_ in range(args.rounds):
        for side in ("old", "new"):
            runs.append(run_once(side, checkouts[side], run, args.repeats, args.only))
            last = runs[-1]
            print(
                f"round {round_ + 1} {side}: {last['wall_s']:.0f} s, "
                f"load {last['load_before']:.2f} -> {last['load_after']:.2f}",
                file=sys.stderr,
                flush=True,
            )
            if args.json:
                record = {
                    "started": started,
                    "checkouts": {k: str(v) for k, v in checkouts.items()},
                }
                args.json.write_text(json.dumps({**record, "runs": runs}, indent=1))
    what = {"batch": "bench_batch.tabular_rates", "cpu": "CPU time at default settings"}.get(
        args.only or "", "bench/run.py"
    )
    print(f"{args.rounds} rounds, old/new interleaved, {what} --repeats {args.repeats}")
    print()
    print(table(runs))


if __name__ == "__main__":
    main()

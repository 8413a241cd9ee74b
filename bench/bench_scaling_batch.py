"""Batch scaling: rows/s and the process tree's peak memory at --jobs 1 and 2, and on Dask.

    pip install -e '.[bench]'
    python bench/bench_scaling_batch.py [--rows 100,1000] [--repeats 3] [--dask-rows 1000]
                                        [--num-samples 5000] [--jobs 1,2]

The shipped breast-cancer RandomForest (100 trees) explained on ROWS rows (the
114 test rows cycled), with one shared pool of NUM_SAMPLES samples, through
the batch runner as ``limecli tabular ... --jobs N`` runs it (records rendered
as JSONL into memory; the process keeps freed memory for reuse, see
``limecli.allocator``, and the workers are started early, before the imports
and the model, as the command does). Each measurement runs in a fresh Python
process (so the timing includes starting the worker processes, as a
command-line run pays it, and the peak memory is that run's alone);
configurations are interleaved and each is repeated REPEATS times, medians
quoted; beside each ratio of medians, the median and range of each repeat's own
ratio (its runs are minutes apart at most, while the machine's speed drifts
over longer spells: the range is the spread a single comparison can show). rows/s is over the batch itself (shared pool drawn, rows explained
and written); "process s" is the whole process's wall time (imports, data,
model included) and "CPU s" the CPU seconds of the process and all its
descendants (os.wait4), which a loaded machine does not inflate: CPU s at
jobs 2 minus jobs 1 is what the parallel run costs in start-up, shipping and
waiting. The claim of the issue uses PSS (below). Peak memory is the largest sum
over the measured process and all its descendants, sampled from /proc every 20 ms
(Linux), of RSS (a shared page counted in every process that maps it) and of PSS
(shared pages divided among the processes: what the tree holds), in a run of its
own right after the timed one (sampling slows a run down: see ``measured``).
Dask: a scheduler and two single-threaded workers started from the shell as
docs/batch.md describes (``dask scheduler``, ``dask worker --nworkers 2
--nthreads 1 --preload limecli.batch.dask_preload``), before the clock (a
cluster is already running when a batch is sent to it; its processes count in
the tree's memory and CPU), the batch sent with ``backend="dask"``: "dask 2
workers" is the first batch such a cluster gets (the preload imported limecli
and scikit-learn as the workers started; without it they imported them as the
batch began, competing on two cores with this process's own imports), "dask,
warm" the next one (a batch of 64 rows ran before the clock). (A ``LocalCluster`` would run the scheduler in
the measuring process itself, where it competes for the GIL with the records
being written: 1,000 rows then took ~6.7 s instead of ~4.) 10,000 rows (``--rows
100,1000,10000``) takes minutes per run at --jobs 1 on a 2-core machine, so it
is not in the default run.
"""

from __future__ import annotations

if __name__ == "__main__":  # its extra first, before the heavy imports below
    from _requires import require

    require("lime")

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: The Dask rows: the batch a cluster just started gets (its workers take the work and the
#: model's own modules as the batch begins), and the next one.
DASK = {"dask": "dask 2 workers", "dask-warm": "dask, warm"}
SOURCE = "sample_data/breast_cancer_test.csv"


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", default="100,1000")
    parser.add_argument("--jobs", default="1,2", help="local --jobs values; 1 is the baseline")
    parser.add_argument("--dask-rows", default="1000", help="'' for no Dask row")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--num-samples", type=_samples, default=5000, help="a count, or auto (the default's)"
    )
    parser.add_argument("--pool-seed", type=int, default=0, help="the shared pool's seed")
    parser.add_argument(
        "--one", nargs=3, metavar=("ROWS", "JOBS", "BACKEND"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.one:
        rows, jobs, backend = args.one
        print(json.dumps(one_run(int(rows), int(jobs), backend, args.num_samples, args.pool_seed)))
        return []
    jobs_values = sorted({1, *(int(j) for j in args.jobs.split(","))})
    configs = [(int(r), j, "local") for r in args.rows.split(",") for j in jobs_values]
    configs += [(int(r), 2, d) for r in args.dask_rows.split(",") if r for d in DASK]
    runs: dict[tuple[int, int, str], list[dict[str, float]]] = {c: [] for c in configs}
    for _ in range(args.repeats):  # interleaved: each repeat runs every configuration once
        for config in configs:
            # Timed alone, then its memory in a run of its own: the sampler takes CPU and the
            # processes' memory locks (see measured).
            timed = measured(config, args.num_samples, args.pool_seed)
            sampled = measured(config, args.num_samples, args.pool_seed, memory=True)
            runs[config].append(timed | {k: sampled[k] for k in ("rss_mb", "pss_mb")})
    grown = " (5000, extended to 10000 for the rows that double)"
    print(
        f"tabular batch scaling, breast-cancer RF(100), shared pool of {args.num_samples} "
        f"samples{grown if args.num_samples == 'auto' else ''}, median of {args.repeats} "
        "(fresh process each, worker start-up included); "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    keys = ("rate", "rss_mb", "pss_mb", "process_s", "cpu_s")
    out = []
    for config in configs:
        rows, jobs, backend = config
        med = {k: statistics.median(r[k] for r in runs[config]) for k in keys}
        where = DASK.get(backend, f"jobs {jobs}")
        row: dict[str, Any] = {"case": f"batch {rows} rows {where}", "rows": rows, "jobs": jobs}
        row |= {"backend": backend, **med}
        line = f"{rows:>6} rows  {where:<14} {med['rate']:7.1f} rows/s  "
        line += f"process {med['process_s']:5.1f} s  CPU {med['cpu_s']:5.1f} s  "
        line += f"peak RSS {med['rss_mb']:5.0f} MB  PSS {med['pss_mb']:5.0f} MB"
        base = runs.get((rows, 1, "local"))
        if base and config != (rows, 1, "local"):
            b = {k: statistics.median(r[k] for r in base) for k in keys}
            for k in keys:
                row[f"{k}_vs_jobs1"] = med[k] / b[k]
            # Each repeat's ratio too (the two runs of a repeat are minutes apart at most):
            # the machine's speed drifts over minutes, and the spread shows how much.
            rounds = [r["rate"] / b0["rate"] for r, b0 in zip(runs[config], base, strict=True)]
            row["rate_ratio_per_repeat"] = rounds
            line += f"  | vs jobs 1: rows/s {med['rate'] / b['rate']:4.2f}x"
            line += f" (per repeat: median {statistics.median(rounds):4.2f}x,"
            line += f" {min(rounds):4.2f}-{max(rounds):4.2f}x)"
            line += f"  process s {med['process_s'] / b['process_s']:4.2f}x"
            line += f"  CPU +{med['cpu_s'] - b['cpu_s']:.1f} s"
            line += f"  RSS {med['rss_mb'] / b['rss_mb']:4.2f}x  PSS {med['pss_mb'] / b['pss_mb']:4.2f}x"
        out.append(row)
        print(line)
    return out


def _samples(text: str) -> int | str:
    return text if text == "auto" else int(text)


def measured(
    config: tuple[int, int, str], num_samples: int | str, pool_seed: int = 0, memory: bool = False
) -> dict[str, float]:
    """One run in a fresh process: rows/s, the process's wall seconds and the CPU seconds of
    it and its descendants; with ``memory``, the process tree's peak RSS and PSS (MB) too.

    Only then is the tree's memory sampled: reading every process's smaps_rollup every 20 ms
    took 1.5-2.1 s of CPU over a 6 s run (15 ms a sample at --jobs 2, four processes) and
    holds each process's memory lock while it walks its pages, so a sampled run's speed is
    not the command's (--jobs 2 suffered most: the batch already used both cores)."""
    rows, jobs, backend = config
    cmd = [sys.executable, __file__, "--one", str(rows), str(jobs), backend]
    cmd += ["--num-samples", str(num_samples), "--pool-seed", str(pool_seed)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak_rss = peak_pss = 0
    while True:
        # wait4, not poll(): its rusage holds the CPU of every descendant that was reaped
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG if memory else 0)
        if pid:
            break
        rss, pss = tree_memory(proc.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.02)
    process_s = time.perf_counter() - start
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed with {proc.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    return {
        "rate": result["rate"],
        "doubled": result["doubled"],
        "batch_cpu_s": result["batch_cpu_s"],
        "rss_mb": peak_rss / 2**20,
        "pss_mb": peak_pss / 2**20,
        "process_s": process_s,
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


def tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) bytes summed over ``pid`` and all its descendants (those gone meanwhile: 0).

    RSS counts a page shared by several processes (a library's code, pages a forked
    process has not written) once per process; PSS divides it among them, so the sum of
    PSS is the memory the tree holds."""
    rss = pss = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    name, _, value = line.partition(":")
                    if name == "Rss":
                        rss += int(value.split()[0]) * 1024
                    elif name == "Pss":
                        pss += int(value.split()[0]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return rss, pss


def one_run(
    rows: int, jobs: int, backend: str, num_samples: int | str, pool_seed: int = 0
) -> dict[str, float]:
    import io

    from limecli.allocator import keep_freed_memory
    from limecli.batch.executors import release_early, start_early

    keep_freed_memory()  # as the command's process does (see limecli.allocator)

    cluster: list[subprocess.Popen] = []
    scheduler = None
    warm = backend == "dask-warm"
    if backend in DASK:  # a cluster already running when the batch is sent to it
        cluster, scheduler = shell_cluster()
        backend = "dask"
    # As the command does, before the imports, data and model below: the fork server and
    # its imports (jobs > 1), or the connection and the Dask workers' imports.
    start_early(jobs, backend, scheduler, "tabular")

    import pandas as pd

    from limecli import TabularExplainer, load_model
    from limecli.batch import StreamSink, run_batch
    from limecli.batch.tasks_tabular import TabularBatchTask, stream_batch_inputs

    predictor = load_model(str(ROOT / "sample_models" / "breast_cancer_rf.joblib"))
    train = pd.read_csv(ROOT / "sample_data" / "breast_cancer_train.csv")
    test = pd.read_csv(ROOT / SOURCE)
    explainer = TabularExplainer(predictor, train, num_samples=num_samples)
    if warm:  # the cluster has run a batch: 2 chunks of 32 rows; then connected again
        run_batch(
            stream_batch_inputs(explainer, test.iloc[:64].iterrows(), source=SOURCE, shared=True),
            TabularBatchTask(explainer, explainer.shared_pool(seed=pool_seed + 1)),
            StreamSink("jsonl", io.StringIO()),
            kind="tabular",
            seed=pool_seed,
            chunk_size=32,
            backend=backend,
            scheduler=scheduler,
        )
        start_early(jobs, backend, scheduler, "tabular")
    start, cpu_start = time.perf_counter(), time.process_time()
    pool = explainer.shared_pool(seed=pool_seed)
    pairs = ((i, test.iloc[i % len(test)]) for i in range(rows))
    run_batch(
        stream_batch_inputs(explainer, pairs, source=SOURCE, shared=True),
        TabularBatchTask(explainer, pool),
        StreamSink("jsonl", written := io.StringIO()),
        kind="tabular",
        seed=pool_seed,
        jobs=jobs,
        chunk_size=32,
        backend=backend,
        scheduler=scheduler,
    )
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    release_early()  # as the command does when it ends: the fork server reaped, its CPU counted
    for proc in reversed(cluster):  # workers, then the scheduler; reaped, so wait4 counts them
        proc.terminate()
        proc.wait()
    # Records at twice the start's samples: the rows "auto" doubled.
    # this process's CPU seconds over the batch: all of it at --jobs 1, where a loaded machine
    # inflates it less than the wall time
    doubled = written.getvalue().count('"num_samples": 10000')
    return {"rate": rows / seconds, "doubled": doubled, "batch_cpu_s": cpu}


def shell_cluster() -> tuple[list[subprocess.Popen], str]:
    """A Dask scheduler and 2 single-threaded workers started as docs/batch.md says (``dask
    scheduler``, ``dask worker --nworkers 2 --nthreads 1 --preload
    limecli.batch.dask_preload``), children of this process so that their memory and CPU
    count; returned once both workers have joined (after their preload's imports)."""
    import tempfile

    from dask.distributed import Client

    folder = tempfile.mkdtemp(prefix="bench-dask-")
    file = os.path.join(folder, "scheduler.json")
    dask = [sys.executable, "-m", "dask"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen(
            [*dask, "scheduler", "--port", "0", "--no-dashboard", "--scheduler-file", file],
            **quiet,
        )
    ]
    while not os.path.exists(file):
        time.sleep(0.05)
    workers = ["worker", "--scheduler-file", file, "--nworkers", "2", "--nthreads", "1"]
    workers += ["--preload", "limecli.batch.dask_preload"]
    procs.append(subprocess.Popen([*dask, *workers, "--no-dashboard"], **quiet))
    with Client(scheduler_file=file, timeout="60s") as client:
        client.wait_for_workers(2, timeout=120)
        return procs, client.scheduler.address


if __name__ == "__main__":
    main()

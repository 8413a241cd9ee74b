"""A Dask worker preload: ``dask worker ADDRESS --preload limecli.batch.dask_preload``.

A worker started with it imports, as it starts and before it joins the
scheduler, what any kind of batch needs (limecli's tasks, scikit-learn's usual
models, the image readers and superpixels: about 2 s of CPU and 200 MB, the
same for every kind), instead of at its first batch. Without it, a cluster's
first batch waited for its workers' imports: on a 2-core machine they took the
cores the batch's own process was using too (1,000 breast-cancer rows ran at
1.13-1.28x ``--jobs 1`` on a new cluster, 1.27-1.44x on one that had run a
batch). limecli still asks every worker to import a kind's modules when it
connects (:func:`limecli.batch.dask_tasks.connect`); with this preload that
finds them imported.
"""

from __future__ import annotations

import contextlib
import importlib

from limecli.batch.pool import PRELOAD


def preload_modules() -> tuple[str, ...]:
    """Every kind's modules, each once, in the order the kinds list them."""
    return tuple(dict.fromkeys(module for modules in PRELOAD.values() for module in modules))


def import_all() -> list[str]:
    """Import :func:`preload_modules`; the ones that are not installed, skipped."""
    missing = []
    for module in preload_modules():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    return missing


# Dask imports a preload module while the worker starts, before it joins the scheduler.
with contextlib.suppress(Exception):  # a worker that cannot preload still works: it imports later
    import_all()

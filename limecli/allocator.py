"""glibc's allocator kept from handing an explanation's freed memory back to the system.

An explanation allocates arrays of a few megabytes (samples x features floats,
several per label) and frees them, input after input. glibc maps every block
above its mmap threshold afresh and gives back the top of its heap above its
trim threshold; both adapt upwards only to the largest mapped block freed so
far, so the memory kept going back and being faulted in again, page by page,
for each explanation: on the shipped breast-cancer forest (456 rows against
one shared pool, "auto", in one process) a pass over 10,000 samples cost
4.3-6.4 ms with glibc's defaults and 2.9-3.1 ms with both thresholds at
:data:`KEPT` (a pass over 5,000: 1.9-3.0 against 1.9-2.2 ms).

The processes limecli owns (the command's, its batch workers) keep up to
:data:`KEPT` of freed memory for reuse (:func:`keep_freed_memory`); a Python
caller's process is left as it is. A ``MALLOC_*_`` or ``GLIBC_TUNABLES``
setting in the environment is the user's choice, and wins. Dask workers are
told to give memory back quickly (their nanny sets ``MALLOC_TRIM_THRESHOLD_``):
:func:`kept_while` keeps it for one task only.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

#: Bytes of freed memory kept (and the size below which blocks come from the heap): glibc's
#: largest adaptive mmap threshold on 64-bit systems.
KEPT = 32 * 2**20
#: glibc ``mallopt`` parameters.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_ENVIRONMENT = (
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_MMAP_MAX_",
    "GLIBC_TUNABLES",
)


def keep_freed_memory() -> bool:
    """For the rest of this process, freed memory up to :data:`KEPT` is kept for reuse
    (glibc on Linux, no allocator setting in the environment); whether it was set."""
    if any(name in os.environ for name in _ENVIRONMENT):
        return False
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, KEPT) and libc.mallopt(_M_TRIM_THRESHOLD, KEPT))


@contextlib.contextmanager
def kept_while() -> Iterator[None]:
    """Freed memory kept for reuse while a task runs on a Dask worker.

    A Dask nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which
    also turns off glibc's adaptive mmap threshold: each of an explanation's
    megabyte arrays was then mapped, zeroed page by page and unmapped again,
    doubling the CPU time of a chunk (breast-cancer RF, 32 rows: 0.30-0.42 s
    against 0.14-0.20 s without it). The worker's setting is put back after
    the task, and the memory is returned then, as it asks."""
    trim = os.environ.get("MALLOC_TRIM_THRESHOLD_", "")
    libc = _glibc() if trim.isdigit() else None
    if libc is None:
        yield
        return
    libc.mallopt(_M_TRIM_THRESHOLD, KEPT)
    libc.mallopt(_M_MMAP_THRESHOLD, KEPT)
    try:
        yield
    finally:
        libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)  # glibc's default
        libc.mallopt(_M_TRIM_THRESHOLD, int(trim))
        libc.malloc_trim(0)


def _glibc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None

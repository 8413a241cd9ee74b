"""Parameter checks with one uniform message, in the style of scikit-learn."""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from limecli.errors import ParameterError


def check_int(name: str, value: Any, *, min_value: int | None = None) -> int:
    """Return ``value`` as an int, or raise ParameterError with a uniform message."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if ok and (min_value is None or value >= min_value):
        return int(value)
    bound = f" >= {min_value}" if min_value is not None else ""
    raise ParameterError(
        f"The '{name}' parameter must be an int{bound}. Got {value!r} instead.", parameters=(name,)
    )


def check_float(
    name: str, value: Any, *, min_value: float | None = None, exclusive: bool = True
) -> float:
    """Return ``value`` as a finite float above ``min_value`` (exclusive by default)."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok and np.isfinite(value):
        above = min_value is None or (value > min_value if exclusive else value >= min_value)
        if above:
            return float(value)
    op = ">" if exclusive else ">="
    bound = f" {op} {min_value}" if min_value is not None else ""
    raise ParameterError(
        f"The '{name}' parameter must be a finite float{bound}. Got {value!r} instead.",
        parameters=(name,),
    )


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``."""
    options = list(choices)
    if value in options:
        return str(value)
    listed = ", ".join(repr(c) for c in options)
    raise ParameterError(
        f"The '{name}' parameter must be one of {listed}. Got {value!r} instead.",
        parameters=(name,),
    )


def check_random_state(seed: Any) -> np.random.Generator:
    """Turn None, an int or a Generator into a numpy Generator."""
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    raise ParameterError(
        f"The 'seed' parameter must be an int or None. Got {seed!r} instead.", parameters=("seed",)
    )


# -- memory ----------------------------------------------------------------------------------
#: Bytes held per sample and interpretable feature while one explanation is computed: the
#: sample matrix as float64 and the copies the distances, the surrogate's fits and the
#: stability replicates make (about four; measured on tabular and text runs).
BYTES_PER_CELL = 32
#: The environment variable that sets the memory cap (e.g. ``8G``, ``512M``, or bytes).
MEMORY_LIMIT_ENV = "LIMECLI_MAX_MEMORY"
#: The cap where the machine's memory cannot be read.
FALLBACK_MEMORY_LIMIT = 2 * 1024**3
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def memory_limit() -> tuple[int, str]:
    """The most memory an explanation's samples may take, and where that figure comes from.

    :data:`MEMORY_LIMIT_ENV` when set; else half of the machine's memory (or of
    the container's cgroup limit when lower); else :data:`FALLBACK_MEMORY_LIMIT`.
    """
    raw = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if raw:
        match = _SIZE.match(raw)
        if not match or float(match.group(1)) <= 0:
            raise ParameterError(
                f"{MEMORY_LIMIT_ENV} must be a size such as 8G, 512M or a number of bytes. "
                f"Got {raw!r} instead."
            )
        size = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
        return size, f"{MEMORY_LIMIT_ENV}={raw}"
    total = _machine_memory()
    if total is None:
        return FALLBACK_MEMORY_LIMIT, f"the default; set {MEMORY_LIMIT_ENV} to change it"
    return total // 2, f"half of this machine's memory; set {MEMORY_LIMIT_ENV} to change it"


@functools.cache  # read once: every explanation of a batch checks against it
def _machine_memory() -> int | None:
    sizes = []
    with contextlib.suppress(AttributeError, ValueError, OSError):  # not on this platform
        sizes.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    for name in _CGROUP_LIMITS:  # a container sees the host's memory but may use less
        try:
            with open(name, encoding="ascii") as handle:
                sizes.append(int(handle.read().strip()))
        except (OSError, ValueError):  # absent, or "max": no limit there
            continue
    sizes = [s for s in sizes if s > 0]
    return min(sizes) if sizes else None


def format_size(size: float) -> str:
    """``size`` bytes in binary units, e.g. ``1.5 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def check_sample_memory(
    num_samples: int, width: int, *, per_sample: int = 0, batch: int = 0, per_input: int = 0
) -> None:
    """ParameterError on 'num_samples' unless ``num_samples`` samples fit the memory cap.

    The estimate, checked before anything is allocated: ``width`` interpretable
    features of :data:`BYTES_PER_CELL` bytes per sample, plus ``per_sample``
    bytes (the model's input when it is built whole), plus model calls of
    ``batch`` inputs of ``per_input`` bytes. ``width`` 1 gives a bound for any
    input, before its features are known.
    """
    width = max(int(width), 1)
    samples = int(num_samples) * (width * BYTES_PER_CELL + int(per_sample))
    calls = int(batch) * int(per_input)
    limit, why = memory_limit()
    if samples + calls <= limit:
        return
    of = f" of {width:,} features" if width > 1 else ""
    part, lower = "", "lower it"
    parameters: tuple[str, ...] = ("num_samples",)
    if calls > samples:  # mostly the model's batches (large images): say which knob helps
        part = f" ({format_size(calls)} of it for model calls of {int(batch):,} inputs)"
        lower, parameters = "lower it or 'batch_size'", ("num_samples", "batch_size")
    raise ParameterError(
        f"The 'num_samples' parameter asks for {int(num_samples):,} samples{of}, which would "
        f"need about {format_size(samples + calls)} of memory{part}, over the limit of "
        f"{format_size(limit)} ({why}): {lower}",
        parameters=parameters,
    )

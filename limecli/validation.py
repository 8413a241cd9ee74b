"""Parameter checks with one uniform message, in the style of scikit-learn."""

from __future__ import annotations

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

"""Plain JSON values from numpy and Python objects (the one conversion every writer uses)."""

from __future__ import annotations

import math
from typing import Any

#: Exact types returned as they are (checked first: most values of a record are these).
_PLAIN = frozenset({str, int, bool, type(None)})


def jsonable(obj: Any) -> Any:
    """Plain Python values only: numpy scalars unwrapped, non-finite floats as None."""
    kind = type(obj)
    if kind in _PLAIN:
        return obj
    if kind is float:
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        return jsonable(obj.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return obj

"""InputRef: the typed identity of one input (which file, which row or position in it).

An explanation's ``input`` object, a batch record's identity, what ``--resume``
matches on and what seeds an input in a batch all come from one InputRef, so
the rules for naming an input live here and nowhere else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from limecli.jsonable import jsonable

#: The identity keys that hold an input's position: a table's row, a text's index.
POSITION_KEYS = ("row", "index")


@dataclass(frozen=True)
class InputRef:
    """One input: its ``source`` (a path, ``<stdin>``, or None for in-memory data) and,
    inside it, its ``position`` under the key ``position_key``.

    ``position_key`` is ``"row"`` for table rows, ``"index"`` for texts (None
    when the text is a whole file), and None for images, whose identity is the
    file alone. :meth:`to_dict` gives the identity exactly as records carry it.
    """

    source: str | None
    position: int | None = None
    position_key: str | None = None

    @classmethod
    def row(cls, source: str | None, row: int) -> InputRef:
        """A table row."""
        return cls(source, int(row), "row")

    @classmethod
    def text(cls, source: str | None, index: int | None = None) -> InputRef:
        """A text: a whole file (index None) or the index-th text of a column or list."""
        return cls(source, None if index is None else int(index), "index")

    @classmethod
    def file(cls, source: str | None) -> InputRef:
        """A whole file with no position (an image)."""
        return cls(source)

    @classmethod
    def from_dict(cls, identity: Mapping[str, Any]) -> InputRef:
        """Read an identity back (a record's ``input`` object); other keys are ignored."""
        source = identity.get("source")
        source = None if source is None else str(source)
        for key in POSITION_KEYS:
            if key in identity:
                return cls(source, _position(identity[key]), key)
        return cls(source)

    def to_dict(self) -> dict[str, Any]:
        identity: dict[str, Any] = {"source": self.source}
        if self.position_key is not None:
            identity[self.position_key] = self.position
        return identity

    def key(self) -> str:
        """Canonical JSON of the identity: the same input always gives the same key."""
        return identity_key(self.to_dict())

    def describe(self) -> str:
        """How messages name the input: ``data.csv row 7``, ``texts.csv index 3``, ``cat.png``."""
        source = self.source if self.source is not None else "<data>"
        if self.position is None:
            return source
        return f"{source} {self.position_key} {self.position}"

    def seed(self, seed: int | None) -> int | None:
        """This input's seed in a batch, derived from the global ``seed`` (see :func:`derive_seed`)."""
        return derive_seed(seed, self.to_dict())


def _position(value: Any) -> Any:
    """An integer position as an int; anything else (a record limecli did not write) as given."""
    if value is None or isinstance(value, bool):
        return value
    try:
        return int(value) if int(value) == value or str(int(value)) == str(value) else value
    except (TypeError, ValueError):
        return value


def position_of(identity: Mapping[str, Any]) -> Any:
    """The position cell of an identity dict (its row or index), or None."""
    return InputRef.from_dict(identity).position


def identity_key(identity: Mapping[str, Any]) -> str:
    """Canonical JSON of an identity dict: the same input always gives the same key."""
    return json.dumps(
        jsonable(dict(identity)), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def derive_seed(seed: int | None, identity: Mapping[str, Any]) -> int | None:
    """A 32-bit seed for one input from the global seed and the input's identity.

    A SHA-256 of the canonical identity fed to ``numpy.random.SeedSequence``
    (never Python's salted ``hash()``), so it is stable across processes,
    machines and Python versions, and independent of the input's position in a
    batch or the worker that explains it. ``None`` stays ``None`` (fresh randomness).
    """
    if seed is None:
        return None
    digest = hashlib.sha256(identity_key(identity).encode("utf-8")).digest()
    words = tuple(int(w) for w in np.frombuffer(digest[:16], dtype="<u4"))
    sequence = np.random.SeedSequence(int(seed) % 2**64, spawn_key=words)
    return int(sequence.generate_state(1, np.uint32)[0])

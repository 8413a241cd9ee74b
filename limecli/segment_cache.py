"""Cached superpixels: the same image cut with the same settings is segmented once.

Segmentation (quickshift above all) is most of an image explanation's time
outside the model, and it depends only on the pixels, the segmenter and its
settings. So its label image is kept:

* in memory, always: a small LRU shared by every explainer in the process
  (another label set, a re-render, an audit or a batch with duplicate images
  skips the segmenter);
* on disk, only when asked (``cache_dir``; the CLI's ``--cache-dir`` or
  ``LIMECLI_CACHE_DIR``): one ``.npy`` per key, written atomically.

The key is a SHA-256 of the pixels (shape, dtype and bytes), the segmenter's
name and resolved parameters, the scikit-image version and
:data:`FORMAT_VERSION`. A cached label image is exactly what the segmenter
returned (kept in the smallest unsigned dtype: a 224x224 map of up to 256
superpixels takes 50 kB), so explanations are byte-identical with or without the cache. An
unreadable or invalid cache file is treated as a miss and overwritten; a
cache folder that cannot be written to only loses the speed-up.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

#: Bump when :func:`limecli.sampling.image.segment` would cut the same input differently.
FORMAT_VERSION = 1
#: In-memory LRU bounds: entries, and bytes of label images held.
MEMORY_ENTRIES = 64
MEMORY_BYTES = 64 * 1024 * 1024

_memory: OrderedDict[str, np.ndarray] = OrderedDict()
_memory_bytes = 0
_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def skimage_version() -> str:
    """The installed scikit-image version (read once; importing skimage is not needed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("scikit-image")
    except PackageNotFoundError:  # e.g. a vendored copy without metadata
        import skimage

        return str(getattr(skimage, "__version__", "unknown"))


def segment_key(pixels: np.ndarray, segmenter: str, params: dict[str, Any]) -> str:
    """Hex key for ``pixels`` cut by ``segmenter`` with the resolved ``params``."""
    array = np.ascontiguousarray(pixels)
    header = json.dumps(
        {
            "format": FORMAT_VERSION,
            "skimage": skimage_version(),
            "segmenter": segmenter,
            "params": {k: _plain(v) for k, v in sorted(params.items())},
            "shape": list(array.shape),
            "dtype": array.dtype.str,
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(header.encode("utf-8"))
    digest.update(b"\0")
    digest.update(array.reshape(-1).view(np.uint8).data)
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    # numpy scalars and ints/floats alike: 4 and 4.0 are different settings to JSON,
    # and to the segmenter only through resolve_segmenter_params, which fixes the type.
    if isinstance(value, np.generic):
        return value.item()
    return value


def cached_segment(
    pixels: np.ndarray,
    segmenter: str,
    params: dict[str, Any],
    cache_dir: str | Path | None = None,
) -> np.ndarray:
    """:func:`~limecli.sampling.image.segment`, through the memory and disk caches.

    ``params`` are the resolved segmenter parameters. Returns a fresh (H, W)
    int32 array the caller may modify.
    """
    from limecli.sampling.image import segment

    key = segment_key(pixels, segmenter, params)
    shape = tuple(np.shape(pixels)[:2])
    folder = None if cache_dir is None else Path(cache_dir)
    labels = memory_get(key)
    if labels is not None:
        # Held in memory from a run without this folder: the folder should still get it.
        if folder is not None and not cache_path(folder, key).exists():
            disk_put(folder, key, labels)
        return labels.astype(np.int32)
    if folder is not None:
        labels = disk_get(folder, key, shape)
    if labels is None:
        labels = segment(pixels, segmenter, **params)
        if folder is not None:
            disk_put(folder, key, labels)
    memory_put(key, labels)
    return np.array(labels, dtype=np.int32)


def memory_get(key: str) -> np.ndarray | None:
    with _lock:
        labels = _memory.get(key)
        if labels is not None:
            _memory.move_to_end(key)
        return labels


def memory_put(key: str, labels: np.ndarray) -> None:
    """Keep a private read-only compact copy, dropping the least recently used beyond the bounds."""
    global _memory_bytes
    stored = compact(labels)
    stored.setflags(write=False)
    if stored.nbytes > MEMORY_BYTES:
        return
    with _lock:
        old = _memory.pop(key, None)
        if old is not None:
            _memory_bytes -= old.nbytes
        _memory[key] = stored
        _memory_bytes += stored.nbytes
        while len(_memory) > MEMORY_ENTRIES or _memory_bytes > MEMORY_BYTES:
            _, dropped = _memory.popitem(last=False)
            _memory_bytes -= dropped.nbytes


def clear_memory_cache() -> None:
    """Forget every label image held in memory (the disk cache is left alone)."""
    global _memory_bytes
    with _lock:
        _memory.clear()
        _memory_bytes = 0


def memory_cache_size() -> int:
    """Number of label images held in memory."""
    with _lock:
        return len(_memory)


def cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"segments-{key}.npy"


def disk_get(cache_dir: Path, key: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """The cached label image, or None if absent, unreadable or not a valid label image."""
    path = cache_path(cache_dir, key)
    try:
        # read_array, not np.load: only a plain .npy is accepted (np.load opens zips too)
        with open(path, "rb") as handle:
            labels = np.lib.format.read_array(handle, allow_pickle=False)
    except Exception:  # absent, truncated, not .npy, a folder...: a miss, never a failure
        return None
    if not _valid_labels(labels, shape):
        return None
    return np.asarray(labels, dtype=np.int32)


def _valid_labels(labels: Any, shape: tuple[int, ...]) -> bool:
    """Whether ``labels`` is an (H, W) integer image using every label 0..K-1, as segment() gives."""
    if not isinstance(labels, np.ndarray) or labels.shape != shape or labels.size == 0:
        return False
    if not np.issubdtype(labels.dtype, np.integer):
        return False
    flat = labels.ravel()
    if int(flat.min()) != 0:
        return False
    return bool(np.all(np.bincount(flat.astype(np.intp)) > 0))


def compact(labels: np.ndarray) -> np.ndarray:
    """A contiguous copy in the smallest unsigned dtype holding every label (uint8 for K <= 256)."""
    k = int(labels.max()) + 1 if labels.size else 0
    dtype = np.uint8 if k <= 256 else np.uint16 if k <= 65536 else np.int32
    return np.array(labels, dtype=dtype, order="C")


def disk_put(cache_dir: Path, key: str, labels: np.ndarray) -> None:
    """Write the label image atomically, compacted; failures are ignored."""
    from limecli.atomic import write_atomic
    from limecli.errors import OutputWriteError

    buffer = io.BytesIO()
    np.save(buffer, compact(labels), allow_pickle=False)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(cache_path(cache_dir, key), buffer.getvalue())
    except (OSError, OutputWriteError):  # read-only or full disk: the explanation is unaffected
        pass

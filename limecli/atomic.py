"""Atomic file writes: a temporary file in the same folder, then a rename.

A reader never sees a half-written file, and a failed run leaves whatever
was there before untouched.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically, with the usual permissions."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        # mkstemp creates 0600 files; the result gets what a plain open() would.
        finish_atomic(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def finish_atomic(tmp: str | Path, path: str | Path) -> None:
    """Give a completed temporary file the usual permissions and rename it into place."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


# -- overwriting: -o replaces only limecli's own outputs unless --force ----------------------
#: How much of an existing file is read to recognise it.
_HEAD_BYTES = 64 * 1024
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_NPY_MAGIC = b"\x93NUMPY"
#: The PNG text chunk (keyword, value) that marks limecli's pictures.
PNG_MARK = ("Software", "limecli")


def is_limecli_output(path: str | Path) -> bool:
    """Whether an existing file looks like something limecli wrote (so replacing it loses nothing).

    Recognised: an empty file; JSON (object or array) or JSON Lines with a
    ``"schema_version"`` and a ``"kind"`` near the start, or a summary's
    ``"sources"`` and ``"error_records"``; CSV whose header
    starts with limecli's ``kind,`` column (explanations, batches, summaries);
    a table whose first line is ``<kind> explanation of ...`` or a summary
    table; HTML with ``<meta name="generator" content="limecli">``; a PNG with
    limecli's ``Software`` text chunk (overlays, masks, heatmaps); a ``.npy``
    array (raw heatmap weights: numpy files carry no mark); an audit's reports:
    JSON with ``"audit_version"`` and ``"rules"``, JUnit XML whose root is
    ``<testsuites name="limecli audit"``, Markdown whose first line is
    ``## limecli audit passed/failed`` (with its icon).
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError:
        return False
    if not head.strip():
        return True
    if head.startswith(_PNG_MAGIC):
        # Our pictures carry a tEXt chunk right after the header; a user's photo does not.
        return b"tEXt" + PNG_MARK[0].encode() + b"\x00" + PNG_MARK[1].encode() in head
    if head.startswith(_NPY_MAGIC):
        return True
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        explanation = '"schema_version"' in text and '"kind"' in text
        summary = '"sources"' in text and '"error_records"' in text  # limecli summary
        audit = '"audit_version"' in text and '"rules"' in text  # limecli audit --json
        return explanation or summary or audit
    if '<meta name="generator" content="limecli">' in text:
        return True
    if stripped.startswith("<?xml") and _JUNIT_MARK in text:
        return True
    first = stripped.splitlines()[0] if stripped else ""
    return first.startswith(_CSV_HEADS) or bool(_TABLE_TITLE.match(first))


def check_overwrite(path: str | Path, *, force: bool = False) -> None:
    """Refuse (ParameterError, exit 2) to replace an existing file limecli did not write."""
    from limecli.errors import ParameterError

    path = Path(path)
    if force or not path.exists():
        return
    if path.is_dir():
        raise ParameterError(f"{path} is a folder, not a file")
    if not is_limecli_output(path):
        raise ParameterError(
            f"{path} exists and is not a limecli output: not overwriting it "
            "(pass 'force' to replace it)",
            parameters=("force",),
        )


#: First lines of limecli's CSV outputs: explanations and batches, summary features, summary picks.
_CSV_HEADS = ("kind,source,", "label,explanations,rank,feature,", "rank,source,index,label,gain")
#: First lines of limecli's tables (an explanation, a batch table, a summary) and audit Markdown.
_TABLE_TITLE = re.compile(
    r"^(tabular|text|image) explanation of |^Summary of \d+ explanation"
    r"|^## limecli audit \S+ (passed|failed)$"
)
#: The root element of an audit's JUnit report.
_JUNIT_MARK = '<testsuites name="limecli audit"'

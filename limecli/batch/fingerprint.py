"""What a batch's records depend on, kept next to its output so that ``resume`` can check it.

A resumed run appends to a JSONL/CSV file; if its model or settings differ
from the run that started the file, the file would silently mix two kinds of
explanation. So every run with an output file records its settings in a
small JSON file beside it, ``<output>.limecli`` (records and their schema
stay as they are, and CSV, which has no place for it, is covered the same
way), and a resumed run compares its own settings with it before any work,
naming what differs.

The settings are every option of the command except those that cannot change
a record (:data:`NOT_SETTINGS`: where the output goes, how the batch runs,
which inputs it explains, pictures, limits and caches); an option this
module does not know counts, so a new option errs on the side of refusing.
Files (the model, the training data, a segments file) count by content, not
by name, so a copied or moved file still matches and an edited one does not.
An output with no settings file (written by an older limecli, or copied
without it) is resumed unchecked, with a note, and the settings file is
written then.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from limecli.atomic import output_target, write_atomic, write_error
from limecli.errors import ParameterError

#: Added to the output's file name: ``out.jsonl`` -> ``out.jsonl.limecli``.
SUFFIX = ".limecli"
#: The settings file's own format (its first key), so a later limecli can read it.
FORMAT_KEY = "limecli_batch_settings"
FORMAT_VERSION = 1

#: Options that cannot change a record: the output and how the batch runs; which inputs
#: (each record's identity, matched by the resume itself); pictures; limits and caches.
NOT_SETTINGS = frozenset(
    {
        "fmt",
        "output",
        "quiet",
        "force",
        "jobs",
        "resume",
        "backend",
        "scheduler",
        "data",
        "inputs",
        "images",
        "row",
        "rows",
        "all_rows",
        "files_from",
        "recursive",
        "extensions",
        "out_dir",
        "masks",
        "heatmaps",
        "out",
        "mask_out",
        "heatmap_out",
        "positive_only",
        "hide_rest",
        "timeout",
        "trust",
        "batch_size",
        "cache_dir",
        "max_pixels",
    }
)
#: Options naming a file, compared by the file's content.
FILE_SETTINGS = frozenset({"model", "train", "segments_file"})


def batch_settings(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of a ``kind`` batch run with options ``params`` (by parameter name)
    that its records depend on, as plain JSON values."""
    settings: dict[str, Any] = {"kind": kind}
    for name, value in sorted(params.items()):
        if name in NOT_SETTINGS:
            continue
        settings[name] = file_token(value) if name in FILE_SETTINGS else _plain(value)
    if kind == "tabular" and params.get("train") is None and params.get("data") is not None:
        # Without --train, DATA is the training data too: its content shapes every record.
        settings["train"] = file_token(params["data"])
    return settings


def fingerprint(settings: Mapping[str, Any]) -> str:
    """A short hash of ``settings`` (16 hex digits)."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


# -- files by content ---------------------------------------------------------------------
_digests: dict[tuple[str, int, int], str] = {}


def file_token(value: Any) -> Any:
    """``sha256:<hex>`` of the file (or folder) ``value`` names; for an entrypoint
    ``script.py:function``, the script's hash and the function; anything else as is."""
    if value is None or str(value) == "-":
        return _plain(value)
    text = str(value)
    if _hashable(text):
        return f"sha256:{_digest(text)}"
    script, colon, function = text.rpartition(":")
    if colon and script and _hashable(script):
        return f"sha256:{_digest(script)}:{function}"
    # A module entrypoint (package.module:fn), or a device or FIFO (/dev/stdin: reading it
    # here would take what the run needs, /dev/zero never ends): by name.
    return text


def _hashable(path: str) -> bool:
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISREG(mode) or stat.S_ISDIR(mode)


def _digest(path: str) -> str:
    if os.path.isdir(path):
        # A model folder (MLflow): every regular file by relative name and content.
        outer = hashlib.sha256()
        for folder, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                full = os.path.join(folder, name)
                if not os.path.isfile(full):
                    continue
                outer.update(os.path.relpath(full, path).encode("utf-8", "surrogateescape"))
                outer.update(_digest(full).encode())
        return outer.hexdigest()
    info = os.stat(path)
    key = (os.path.realpath(path), info.st_size, info.st_mtime_ns)
    if key not in _digests:
        with open(path, "rb") as handle:
            _digests[key] = hashlib.file_digest(handle, "sha256").hexdigest()
    return _digests[key]


# -- the settings file --------------------------------------------------------------------
def settings_path(output: Path) -> Path:
    """Where the settings of the batch writing ``output`` are kept (beside a symlink's
    target, so the link and the target share them)."""
    target = output_target(output)
    return target.with_name(target.name + SUFFIX)


def read_settings(output: Path) -> dict[str, Any] | None:
    """The settings recorded for ``output``; None if there is no settings file.
    ParameterError (exit 2) if the file there is not one limecli wrote."""
    path = settings_path(output)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise _unreadable(output, path) from e
    try:
        data = json.loads(text)
        settings = data["settings"]
        ok = data.get(FORMAT_KEY) == FORMAT_VERSION and isinstance(settings, dict)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise _unreadable(output, path) from e
    if not ok:
        raise _unreadable(output, path)
    return settings


def _unreadable(output: Path, path: Path) -> ParameterError:
    return ParameterError(
        f"cannot resume {output}: {path} is not a limecli settings file, so the settings "
        f"{output.name} was written with are unknown (remove {path.name} to resume unchecked)",
        parameters=("resume",),
    )


def write_settings(output: Path, settings: Mapping[str, Any]) -> None:
    """Record ``settings`` as those ``output`` is written with (atomically)."""
    document = {
        FORMAT_KEY: FORMAT_VERSION,
        "output": output.name,
        "fingerprint": fingerprint(settings),
        "settings": dict(settings),
    }
    text = json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    write_atomic(settings_path(output), text)


def forget_settings(output: Path) -> None:
    """Remove ``output``'s settings file: what it says no longer holds."""
    path = settings_path(output)
    try:
        path.unlink(missing_ok=True)
    except OSError as e:
        raise write_error(path, e) from e


def differences(recorded: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    """The settings that differ, each as ``'name' old (now new)``; a setting the recorded
    file does not know (an option newer than it) is not compared."""
    out = []
    for name in sorted(recorded.keys() & settings.keys()):
        old, new = recorded[name], settings[name]
        if old == new:
            continue
        # The model is an argument, not an option: no flag to spell it as.
        what = "the model" if name == "model" else f"'{name}'"
        if _is_file(old) or _is_file(new):
            out.append(f"{what} (another file, or the file changed)")
        else:
            out.append(f"{what} {_show(old)} (now {_show(new)})")
    return out


def _is_file(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("sha256:")


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return "not set" if value is None else json.dumps(value, ensure_ascii=False)


def check_settings(output: Path, settings: Mapping[str, Any]) -> bool:
    """Refuse (ParameterError, exit 2) to resume ``output`` with other ``settings`` than it
    was written with, naming what differs; False when nothing was recorded to check."""
    recorded = read_settings(output)
    if recorded is None:
        return False
    changed = differences(recorded, settings)
    if changed:
        names = [c.split("'")[1] for c in changed if c.startswith("'")]
        raise ParameterError(
            f"cannot resume {output}: it was written with other settings: "
            f"{'; '.join(changed)}. Run with the settings it was written with, "
            "or write to another 'output' file",
            parameters=(*names, "output"),
        )
    return True

"""Which files a batch explains: path arguments, folders, globs and path lists (text and image).

:func:`expand_paths` turns what a user names into an ordered list of
:class:`FoundFile`, the same way for every kind:

* **a file** is taken as it is, whatever its extension (the user named it);
* **a folder** gives its files whose extension is one of the kind's
  (case-insensitive), sorted by name; with ``recursive`` its subfolders' too,
  sorted by relative path. Hidden files and folders (names starting with
  ``.``) are skipped, and so is anything under ``exclude`` (an output folder
  inside the input folder is never read back as input);
* **a glob pattern** the shell did not expand (quoted: ``'photos/*.jpg'``,
  ``'tickets/**/*.txt'``, where ``**`` crosses folders) gives its matches,
  sorted; a folder among them is walked as above. An argument that exists as
  a path is never treated as a pattern, and a pattern that matches nothing is
  an error;
* **a path list** (:func:`read_path_list`, for ``--files-from FILE``; ``-``
  reads it from stdin) holds one path per line (blank lines are skipped);
  each is taken like a path argument, but never as a pattern. A listed path
  that does not exist is kept: the batch gives it an error record, while a
  path *argument* that does not exist stops the run at once (a typo).

The same file named twice (through any spelling) is kept once, at its first
position. Paths are normalised (``./a//b`` is ``a/b``) and are the inputs'
identities (``input.source``), from which their seeds derive: the same
command from the same folder explains the same files with the same seeds.

:func:`output_names` gives each file a unique, safe name for per-input output
files (``--out-dir``).
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import sys
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from limecli.errors import ParameterError

#: Text files found in folders unless ``--ext`` says otherwise.
TEXT_EXTENSIONS = (".txt", ".md")
#: Tables found in folders with ``--column``.
TABLE_EXTENSIONS = (".csv", ".tsv", ".tab", ".jsonl", ".ndjson")

_GLOB_MAGIC = re.compile(r"[*?[]")
_UNSAFE = re.compile(r"[^\w.-]+")
#: Longest output stem kept from an input's name (file systems allow 255 bytes).
_MAX_STEM = 120


@dataclass(frozen=True)
class FoundFile:
    """A file to explain: ``path`` (normalised, as named) and ``name`` (its name for outputs).

    ``name`` is the path within the folder it was found in, or the file name
    of a file named directly.
    """

    path: str
    name: str


def image_extensions() -> tuple[str, ...]:
    """Extensions of every format Pillow can open (``.png``, ``.jpg``, ``.webp``, ...)."""
    from PIL import Image

    Image.init()
    readable = set(Image.OPEN)
    return tuple(
        sorted(ext for ext, fmt in Image.registered_extensions().items() if fmt in readable)
    )


def parse_extensions(values: Iterable[str]) -> tuple[str, ...]:
    """``--ext`` values (``.txt,.md``, ``txt``; repeatable) as lower-case ``.ext`` suffixes."""
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip().lower()
            if not part or part in (".", "*"):
                raise ParameterError(
                    f"'extensions' {value!r}: expected extensions such as .txt,.md",
                    parameters=("extensions",),
                )
            out.append(part if part.startswith(".") else f".{part}")
    return tuple(dict.fromkeys(out))


def is_pattern(arg: str) -> bool:
    """A glob pattern (``*``, ``?``, ``[``) that does not exist as a path."""
    return bool(_GLOB_MAGIC.search(arg)) and not os.path.lexists(arg)


def names_many(args: Sequence[str]) -> bool:
    """Whether the arguments can name several files (a folder or a pattern), not counting them."""
    return any(os.path.isdir(a) or is_pattern(a) for a in args)


def read_path_list(source: str, stdin: Any = None) -> list[str]:
    """The paths in a list file, one per line (``-``: stdin); blank lines are skipped."""
    if source == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        raw = stream.read()
        text = raw if isinstance(raw, str) else bytes(raw).decode("utf-8", errors="surrogateescape")
    else:
        try:
            text = Path(source).read_text(encoding="utf-8", errors="surrogateescape")
        except OSError as e:
            raise ParameterError(f"cannot read the path list {source}: {e.strerror or e}") from e
    return [line.strip("\r") for line in text.split("\n") if line.strip()]


def expand_paths(
    args: Sequence[str],
    *,
    extensions: Collection[str],
    recursive: bool = False,
    listed: Sequence[str] = (),
    exclude: Sequence[str | Path] = (),
    what: str = "file",
    keep_dash: bool = False,
) -> list[FoundFile]:
    """Every file ``args`` (then ``listed``, from a path list) name, in order, each once.

    ``extensions`` filters files found in folders (lower-case, with the dot);
    ``what`` names the files in messages ("image", "text file"); with
    ``keep_dash``, a ``-`` argument is kept as it is (stdin, for the caller).
    """
    suffixes = {e.lower() for e in extensions}
    skip = [os.path.realpath(p) for p in exclude]
    found: list[FoundFile] = []
    for arg in args:
        if keep_dash and arg == "-":
            found.append(FoundFile("-", "-"))
        elif os.path.isdir(arg):
            found.extend(_walk(arg, suffixes, recursive, skip))
        elif os.path.lexists(arg):
            found.append(_named(arg))
        elif is_pattern(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                raise ParameterError(f"no file matches {arg}")
            for match in matches:
                if os.path.isdir(match):
                    found.extend(_walk(match, suffixes, recursive, skip))
                elif not _excluded(match, skip):
                    found.append(_named(match))
        else:
            raise ParameterError(f"no such file or folder: {arg}")
    for line in listed:
        if os.path.isdir(line):
            found.extend(_walk(line, suffixes, recursive, skip))
        else:
            found.append(_named(line))  # missing: an error record, not the end of the run
    unique: dict[str, FoundFile] = {}
    for item in found:
        unique.setdefault("-" if item.path == "-" else os.path.realpath(item.path), item)
    if not unique:
        named = ", ".join(args) or "the path list"
        kinds = ", ".join(sorted(suffixes)) or "none"
        deeper = "" if recursive else " (add 'recursive' to look in subfolders)"
        raise ParameterError(
            f"no {what} found in {named}: looked for {kinds}{deeper}", parameters=("recursive",)
        )
    return list(unique.values())


def _named(path: str) -> FoundFile:
    norm = os.path.normpath(path)
    return FoundFile(norm, os.path.basename(norm) or norm)


def _excluded(path: str, skip: Sequence[str]) -> bool:
    real = os.path.realpath(path)
    return any(real == s or real.startswith(s.rstrip(os.sep) + os.sep) for s in skip)


def _walk(folder: str, suffixes: set[str], recursive: bool, skip: Sequence[str]) -> list[FoundFile]:
    """A folder's files with one of ``suffixes``, sorted by relative path; lists, never reads."""
    root = os.path.normpath(folder)
    out: list[tuple[tuple[str, ...], str]] = []
    for here, dirs, files in os.walk(root):
        if _excluded(here, skip):
            dirs[:] = []
            continue
        rel_parts = () if here == root else tuple(Path(os.path.relpath(here, root)).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        for name in files:
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in suffixes:
                continue
            path = os.path.join(here, name)
            if not _excluded(path, skip) and os.path.isfile(path):
                out.append(((*rel_parts, name), path))
    out.sort()
    return [FoundFile(os.path.normpath(path), "/".join(parts)) for parts, path in out]


def output_names(files: Sequence[FoundFile]) -> list[str]:
    """A unique, safe file stem per input, derived from its name.

    Folder separators become ``__`` and characters other than letters,
    digits, ``.``, ``-`` and ``_`` become ``_``, so a name can never reach
    outside the output folder (no ``/``, no leading ``.``, no ``..``). Inputs
    whose stems would be the same (also ignoring case, for case-insensitive
    file systems) get ``-`` and 8 hex digits of their path's SHA-256.
    """
    stems = [_stem(f.name) for f in files]
    counts = Counter(s.casefold() for s in stems)
    out = []
    for item, stem in zip(files, stems, strict=True):
        if counts[stem.casefold()] > 1:
            digest = hashlib.sha256(item.path.encode("utf-8", "surrogateescape")).hexdigest()
            stem = f"{stem}-{digest[:8]}"
        out.append(stem)
    if len({s.casefold() for s in out}) != len(out):  # pragma: no cover - a SHA-256 prefix clash
        raise ParameterError("two inputs map to the same output name; rename one of them")
    return out


def _stem(name: str) -> str:
    parts = [p for p in re.split(r"[\\/]+", name) if p not in ("", ".")]
    parts = ["up" if p == ".." else p for p in parts]
    stem = _UNSAFE.sub("_", "__".join(parts)).lstrip(".") or "input"
    return stem[-_MAX_STEM:].lstrip(".") or "input"

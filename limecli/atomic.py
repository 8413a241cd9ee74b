"""Writing outputs safely: atomic replacement, direct writes to devices, checks before work.

A regular file is written to a temporary file in the same folder, then
renamed over the target: a reader never sees a half-written file, and a
failed run leaves whatever was there before untouched. A symlink is followed
(its target is replaced, the link stays). A device, FIFO or ``/dev/stdout``
is written directly: renaming over it would replace the device node.
Every failure to write is an :class:`~limecli.errors.OutputWriteError`
(exit 7) that names the path and the reason.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from pathlib import Path

from limecli.errors import OutputWriteError, ParameterError

#: Paths that name the process's own stdout: written directly, never replaced.
STDOUT_NAMES = ("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")
#: Names of open file descriptors (the process's own, through /dev or /proc).
_DESCRIPTOR = re.compile(r"^/dev/(stdin|stdout|stderr|fd/\d+)$|^/proc/(self|\d+)/fd/\d+$")
#: Longest file name when the file system does not say (Linux, macOS, Windows).
_NAME_MAX = 255
#: Why a write failed, by errno: what a user can act on.
_REASONS = {
    errno.ENOSPC: "no space left on the disk",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENAMETOOLONG: "file name too long",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "it is a folder",
    errno.EPIPE: "its reader went away",
}


def means_stdout(path: str | Path) -> bool:
    """Whether ``path`` is ``-`` or a name of the process's stdout (``/dev/stdout``...)."""
    return str(path) in STDOUT_NAMES


def is_descriptor_name(path: str | Path) -> bool:
    """Whether ``path`` names an open file descriptor (``-``, ``/dev/stderr``, ``/dev/fd/3``,
    ``/proc/self/fd/3``): written through, never resolved or replaced, even when the
    descriptor is a regular file (a shell's ``2>log``)."""
    return means_stdout(path) or bool(_DESCRIPTOR.match(str(path)))


def write_error(path: str | Path, error: OSError) -> OutputWriteError:
    """The OutputWriteError (exit 7) for an OSError met while writing ``path``."""
    if isinstance(error, OutputWriteError):
        return error
    reason = _REASONS.get(error.errno or 0) or (error.strerror or str(error)).lower()
    if error.errno == errno.ENOENT:  # the folder is gone, or takes no new files (/proc)
        folder = Path(path).parent
        exists = folder.is_dir()
        reason = f"folder {folder} {'takes no new files' if exists else 'does not exist'}"
    return OutputWriteError(f"cannot write {path}: {reason}")


def output_target(path: str | Path) -> Path:
    """Where writing ``path`` lands: a symlink's final target (so the link stays a link)."""
    path = Path(path)
    try:
        is_link = stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:  # nothing there yet, or a name too long: writing says why
        return path
    return Path(os.path.realpath(path)) if is_link and not is_descriptor_name(path) else path


def is_direct_target(path: str | Path) -> bool:
    """Whether ``path`` is written in place rather than replaced: stdout, or an existing
    device, FIFO or socket (anything but a regular file or a folder)."""
    if is_descriptor_name(path):
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path``: atomically for a file (kept permissions, or
    the usual ones for a new file), directly for a device; OutputWriteError if it cannot."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    target = output_target(path)
    try:
        if is_direct_target(target):
            _write_direct(target, payload)
            return
        fd, tmp = make_temp(target)
    except OSError as e:
        raise write_error(path, e) from e
    try:
        try:
            _write_all(fd, payload)
            os.fsync(fd)  # a full disk often reports only here (delayed allocation)
        finally:
            os.close(fd)
        finish_atomic(tmp, target)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise write_error(path, e) from e
        raise


def append_once(path: str | Path, data: str) -> None:
    """Append ``data`` (UTF-8) to ``path`` in one ``write`` on an ``O_APPEND`` descriptor,
    creating the file if need be: what is there stays, and the text lands whole after it
    (a blank line first, if the file does not already end with one, so Markdown blocks stay
    apart). A short write (a full disk) is cut off again, so no half of it stays;
    OutputWriteError (exit 7) if it cannot be written."""
    target = output_target(path)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    except OSError as e:
        raise write_error(path, e) from e
    try:
        start = os.fstat(fd).st_size
        payload = (_separator(target, start) + data).encode("utf-8")
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
        written = os.write(fd, payload)
        if written != len(payload):
            # Cut back only if nobody appended meanwhile: never lose another writer's text.
            if regular and os.fstat(fd).st_size == start + written:
                os.ftruncate(fd, start)
            raise OSError(errno.ENOSPC, "no space left on the disk")
        if regular:
            os.fsync(fd)  # a full disk often reports only here (delayed allocation)
    except OSError as e:
        raise write_error(path, e) from e
    finally:
        os.close(fd)


def _separator(target: Path, size: int) -> str:
    """What goes before appended text so that it starts a block: '' for an empty file (or a
    device), else the line ends missing to make a blank line."""
    if size == 0 or not target.is_file():
        return ""
    with open(target, "rb") as handle:
        handle.seek(max(size - 2, 0))
        tail = handle.read(2)
    if tail.endswith(b"\n\n") or tail == b"\n":
        return ""
    return "\n" if tail.endswith(b"\n") else "\n\n"


def make_temp(path: str | Path) -> tuple[int, Path]:
    """A new temporary file (descriptor, path) for an atomic write of ``path``: in the target's
    folder (a rename never crosses file systems), named ``.NAME.XXXXXXXX.tmp``, or
    ``.lc-XXXXXXXX.tmp`` when that would be too long for the file system; for a device,
    in the system's temporary folder (its content is copied in by :func:`finish_atomic`)."""
    target = output_target(path)
    if is_direct_target(target):
        fd, name = tempfile.mkstemp(prefix=".lc-", suffix=".tmp")
        return fd, Path(name)
    folder = target.parent if str(target.parent) else Path(".")
    prefix = f".{target.name}."
    if len(os.fsencode(prefix)) + 12 > _name_max(folder):
        prefix = ".lc-"
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    return fd, Path(name)


def finish_atomic(tmp: str | Path, path: str | Path) -> None:
    """Put a completed temporary file in place: renamed over a file (a symlink's target), with
    the replaced file's permissions or the usual ones; copied into a device. The temporary
    file is gone afterwards, and OSError becomes OutputWriteError."""
    tmp = Path(tmp)
    target = output_target(path)
    try:
        if is_direct_target(target):
            _write_direct(target, tmp.read_bytes())
            tmp.unlink()
            return
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except OSError:
            mode = 0o666 & ~_umask()  # mkstemp creates 0600 files; a new file gets open()'s
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise write_error(path, e) from e


def check_writable(path: str | Path, *, append: bool = False) -> None:
    """OutputWriteError (exit 7) unless ``path`` can be written, checked before any work by
    creating and removing a temporary file beside it: its folder exists and takes new files,
    its name fits the file system; a device is writable; ``append``: an existing file opens
    for appending. Touches nothing that exists."""
    if means_stdout(path):
        return
    target = output_target(path)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise write_error(path, e) from e
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputWriteError(f"cannot write {path}: it is a folder")
    if is_descriptor_name(target) and mode is None:
        raise OutputWriteError(f"cannot write {path}: no such open file descriptor")
    if mode is not None and (is_descriptor_name(target) or not stat.S_ISREG(mode)):
        if not os.access(target, os.W_OK):
            raise write_error(path, PermissionError(errno.EACCES, "permission denied"))
        return
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise OutputWriteError(f"cannot write {path}: folder {folder} {what}")
    limit = _name_max(folder)
    if len(os.fsencode(target.name)) > limit:
        raise OutputWriteError(
            f"cannot write {path}: file name too long "
            f"({len(os.fsencode(target.name))} bytes; the file system allows {limit})"
        )
    try:
        _probe(target)
        if append and mode is not None:
            os.close(os.open(target, os.O_WRONLY | os.O_APPEND))
    except OSError as e:
        raise write_error(path, e) from e


def check_folder_writable(folder: str | Path) -> None:
    """OutputWriteError (exit 7) unless new files can be made in ``folder``, or in its first
    existing ancestor when it is yet to be created (checked by making and removing one)."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputWriteError(f"cannot write in {folder}: {existing} is not a folder")
    try:
        _probe(existing / "probe")
    except OSError as e:
        reason = _REASONS.get(e.errno or 0) or (e.strerror or str(e)).lower()
        raise OutputWriteError(f"cannot write in {folder}: {reason}") from e


def _probe(target: Path) -> None:
    # Creating (and removing) the very temporary file a write would make: permission,
    # a read-only file system, a name the file system refuses all show up here.
    fd, tmp = make_temp(target)
    os.close(fd)
    tmp.unlink()


def _write_direct(target: Path, payload: bytes) -> None:
    # No O_CREAT or O_TRUNC: a device is written as it is, never created or replaced; O_APPEND
    # keeps what a shell redirection (`>>`) already put behind /dev/stdout.
    fd = os.dup(1) if str(target) == "-" else os.open(target, os.O_WRONLY | os.O_APPEND)
    try:
        _write_all(fd, payload)
    finally:
        os.close(fd)


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


def _name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return _NAME_MAX


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
    """Refuse (ParameterError, exit 2) to replace an existing file limecli did not write
    (a symlink: the file it points to). Devices, FIFOs and stdout have nothing to lose."""
    path = Path(path)
    if force or is_descriptor_name(path):
        return  # written through (appended to), not replaced
    try:
        mode = os.stat(path).st_mode  # a symlink: what it points to
    except OSError:
        return  # nothing there (or nothing reachable: check_writable says why)
    if stat.S_ISDIR(mode):
        raise ParameterError(f"{path} is a folder, not a file")
    if not stat.S_ISREG(mode):
        return  # a device or FIFO is written, not replaced; reading it could block forever
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

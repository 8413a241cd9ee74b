"""Hostile output paths: folders that are missing, read-only or files, names too long, a full
disk, /proc and /sys, symlinks into nowhere, pictures that would replace a user's file.

Every case ends with one ``Error:`` line and its exit code (7: the output cannot be written;
2: a user's file would be replaced), no traceback, nothing on stdout, and every file that was
there before byte-identical (no temporary file left either). Cases whose MODEL does not exist
also show the check comes before any work: loading the model would be exit 4.

Tests run as root in CI containers, where a ``chmod 0555`` folder is no obstacle: a read-only
or forbidden folder is simulated by making ``os.open`` refuse there (EROFS, EACCES) in
process, and ``/sys`` (not writable even for root) and ``/proc`` (no new files) are the
real thing. The real ``chmod`` is tried too, skipped under root.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ROOT, SAMPLE_DATA, SAMPLE_MODELS
from hostile import Case, params
from PIL import Image

from limecli.errors import EXIT_CODES

RF = SAMPLE_MODELS / "diabetes_rf.joblib"
DATA = SAMPLE_DATA / "diabetes_test.csv"
TRAIN = SAMPLE_DATA / "diabetes_train.csv"
FAST = ("--num-samples", "100", "--num-features", "3", "-q", "--train", TRAIN)
SHAPES = f"{SAMPLE_MODELS / 'predict_shapes.py'}:predict"
SHAPES_IMAGE = SAMPLE_DATA / "images" / "shapes.png"
#: A model that does not exist: a case naming it must be refused before loading (exit 4).
NO_MODEL = "missing-model.joblib"
#: What a previous run left: a limecli output (replaceable, so only a failure can spoil it).
OURS = '{"schema_version": "1.2", "kind": "tabular", "labels": []}\n'
LONG = "a" * 251 + ".json"  # 256 bytes: one more than ext4, XFS, btrfs and tmpfs allow


def tabular(output: str | Path, *args: Any, model: Any = NO_MODEL) -> tuple[Any, ...]:
    return ("tabular", model, DATA, "--row", 0, *FAST, *args, "-o", output)


def batch(output: str | Path, fmt: str) -> tuple[Any, ...]:
    return ("tabular", RF, DATA, "--rows", "0:3", *FAST, "--format", fmt, "-o", output)


def photo(path: Path) -> Path:
    """A user's picture (no limecli mark): never to be replaced without --force."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 4, 3), 200, dtype=np.uint8)).save(path)
    return path


def refuse_in(folder: str, code: int) -> Callable[[pytest.MonkeyPatch, Path], None]:
    """Make every file creation in ``tmp/folder`` fail with ``code`` (EROFS: a read-only mount;
    EACCES: a folder without write permission), as the kernel would for a normal user."""

    def patch(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
        real_open = os.open
        refused = str(tmp / folder) + os.sep

        def fake_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if str(path).startswith(refused) and flags & (os.O_CREAT | os.O_WRONLY | os.O_RDWR):
                raise OSError(code, os.strerror(code), str(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", fake_open)

    return patch


def full_disk(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    """Every write to a file fails with ENOSPC (stdin, stdout and stderr still work)."""
    real_write = os.write

    def fake_write(fd: int, data: Any) -> int:
        if fd > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", fake_write)


def previous(name: str) -> Callable[[Path], Path]:
    """``tmp/name`` holding a previous run's output, which a failed run must leave alone."""

    def make(tmp: Path) -> Path:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(OURS)
        return path

    return make


def folder(tmp: Path, name: str) -> Path:
    (tmp / name).mkdir(exist_ok=True)
    return tmp / name


def link(name: str, target: str | Path) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        (tmp / name).symlink_to(target)
        return tmp / name

    return make


def in_file_folder(tmp: Path) -> tuple[Any, ...]:
    (tmp / "notes.txt").write_text("my notes\n")
    return tabular(tmp / "notes.txt" / "out.json")


def label_pictures(tmp: Path) -> tuple[Any, ...]:
    photo(tmp / "shots" / "x_circle.png")
    return ("image", NO_MODEL, SHAPES_IMAGE, "--out", tmp / "shots" / "x_{label}.png")


def out_dir_pictures(tmp: Path) -> tuple[Any, ...]:
    photo(tmp / "overlays" / "shapes.png.overlay.png")
    return ("image", SHAPES, SHAPES_IMAGE, "--num-samples", "50", "--out-dir", tmp / "overlays")


CASES = [
    Case("-o into a missing folder", lambda t: tabular(t / "gone" / "o.json"), 7, "does not exist"),
    Case("-o into a 'folder' that is a file", in_file_folder, 7, "is not a folder"),
    Case("-o under /proc (no new files, even for root)", lambda t: tabular("/proc/lc.json"), 7,
         "folder /proc takes no new files"),
    Case("-o under /sys (not writable, even for root)", lambda t: tabular("/sys/lc.json"), 7,
         "cannot write /sys/lc.json: permission denied"),
    Case("-o with a 256-byte file name", lambda t: tabular(t / LONG), 7, "file name too long"),
    Case("-o through a 300-byte folder name", lambda t: tabular(t / ("d" * 300) / "o.json"), 7,
         "file name too long"),
    Case("-o into a read-only file system", lambda t: tabular(folder(t, "ro") / "o.json"), 7,
         "read-only file system", {"patch": refuse_in("ro", errno.EROFS)}),
    Case("-o into a folder without write permission", lambda t: tabular(folder(t, "locked") / "o.json"),
         7, "permission denied", {"patch": refuse_in("locked", errno.EACCES)}),
    Case("-o over a previous output, read-only file system",
         lambda t: tabular(previous("ro/o.json")(t)), 7, "read-only file system",
         {"patch": refuse_in("ro", errno.EROFS)}),
    Case("-o on a full disk: the previous output is kept",
         lambda t: tabular(previous("o.json")(t), model=RF), 7, "no space left on the disk",
         {"patch": full_disk}),
    Case("-o /dev/full (every write: no space)", lambda t: tabular("/dev/full", model=RF), 7,
         "cannot write /dev/full: no space left"),
    Case("batch JSONL streamed to a full disk", lambda t: batch("/dev/full", "jsonl"), 7,
         "no space left"),
    Case("batch JSON array to a full disk", lambda t: batch("/dev/full", "json"), 7,
         "no space left"),
    Case("-o a symlink into a missing folder", lambda t: tabular(link("l.json", "gone/r.json")(t)),
         7, "does not exist"),
    Case("-o a symlink into /sys", lambda t: tabular(link("l.json", "/sys/lc.json")(t)), 7,
         "permission denied"),
    Case("--resume on a file in a read-only file system",
         lambda t: (*batch(previous("ro/o.jsonl")(t), "jsonl"), "--resume"), 7,
         "read-only file system", {"patch": refuse_in("ro", errno.EROFS)}),
    Case("summary -o under /sys", lambda t: ("summary", previous("in.jsonl")(t), "-o",
         "/sys/lc.json"), 7, "permission denied"),
    Case("--out under /sys", lambda t: ("image", NO_MODEL, SHAPES_IMAGE, "--out", "/sys/o.png"),
         7, "permission denied"),
    Case("--out into a missing folder", lambda t: ("image", NO_MODEL, SHAPES_IMAGE, "--out",
         t / "gone" / "o.png"), 7, "does not exist"),
    Case("--out x_{label}.png where x_circle.png is a user's photo", label_pictures, 2,
         "x_circle.png exists and is not a limecli output"),
    Case("--out-dir under /sys", lambda t: ("image", NO_MODEL, SHAPES_IMAGE, "--out-dir",
         "/sys/lc"), 7, "cannot write in /sys/lc: permission denied"),
    Case("--out-dir holding a user's file of a picture's name", out_dir_pictures, 2,
         "shapes.png.overlay.png exists and is not a limecli output"),
]  # fmt: skip


def snapshot(folder: Path) -> dict[str, Any]:
    """Every entry under ``folder``: a symlink's target, a file's bytes, a folder's mode."""
    found: dict[str, Any] = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            found[name] = ("link", os.readlink(path))
        elif path.is_file():
            found[name] = ("file", path.read_bytes())
        else:
            found[name] = ("folder", stat.S_IMODE(path.stat().st_mode))
    return found


def assert_refused(result: Any, code: int, fragment: str) -> None:
    """Exit ``code``, one ``Error:`` line (the last) naming ``fragment``, no traceback, no stdout."""
    assert code in EXIT_CODES
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.rstrip().splitlines()[-1] == errors[0]
    assert fragment in errors[0], errors[0]


@pytest.mark.parametrize("case", params(CASES))
def test_hostile_files(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    args = case.make(work)
    before = snapshot(work)
    patch = case.extra.get("patch")
    if patch is not None:
        patch(monkeypatch, work)
    result = run_cli(*args)
    monkeypatch.undo()
    assert_refused(result, case.code, case.fragment)
    assert snapshot(work) == before  # nothing replaced, created, or left behind
    for device in ("/dev/null", "/dev/full"):
        assert stat.S_ISCHR(os.lstat(device).st_mode), f"{device} is no longer a device"


# -- what works: devices written in place, stdout, symlinks, long names ---------------------
def test_dev_null_stays_a_device_for_every_format(run_cli) -> None:
    before = os.lstat("/dev/null")
    for args in (tabular("/dev/null", model=RF), batch("/dev/null", "json"), batch("/dev/null",
                 "jsonl"), batch("/dev/null", "table")):  # fmt: skip
        result = run_cli(*args)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
    after = os.lstat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino  # the very node, not a new file of that name


@pytest.mark.parametrize("name", ["-", "/dev/stdout"])
def test_dash_and_dev_stdout_mean_stdout(run_cli, name: str) -> None:
    result = run_cli(*tabular(name, model=RF))
    assert result.exit_code == 0, result.stderr
    assert '"kind": "tabular"' in result.stdout


def _limecli(*args: Any, stdout: Any = subprocess.PIPE) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "limecli", *map(str, args)]
    return subprocess.run(
        command, cwd=ROOT, stdout=stdout, stderr=subprocess.PIPE, timeout=120, check=False
    )


def test_dev_stdout_into_a_pipe_does_not_hang() -> None:
    """`limecli ... -o /dev/stdout | cat`: the output comes through the pipe (it used to hang
    reading the pipe to see whether it was limecli's own file)."""
    done = _limecli(*tabular("/dev/stdout", model=RF))
    assert done.returncode == 0, done.stderr
    assert b'"kind": "tabular"' in done.stdout
    assert os.path.islink("/dev/stdout") or not os.path.exists("/dev/stdout")


def test_dev_stdout_redirected_to_a_file_appends_like_the_shell(tmp_path: Path) -> None:
    """`>> log`: what was in the file stays, the output follows; the file is not replaced."""
    log = tmp_path / "log.txt"
    log.write_text("earlier line\n")
    inode = log.stat().st_ino
    with open(log, "ab") as handle:
        done = _limecli(*tabular("/dev/stdout", model=RF), stdout=handle)
    assert done.returncode == 0, done.stderr
    text = log.read_text()
    assert text.startswith("earlier line\n{") and '"kind": "tabular"' in text
    assert log.stat().st_ino == inode


def test_dev_stderr_redirected_to_a_log_is_appended_to(tmp_path: Path) -> None:
    """`-o /dev/stderr 2>>log`: the log keeps its lines and its inode, the notes still reach it."""
    log = tmp_path / "err.log"
    log.write_text("earlier line\n")
    inode = log.stat().st_ino
    args = [a for a in tabular("/dev/stderr", model=RF) if a != "-q"]
    with open(log, "ab") as handle:
        command = [sys.executable, "-m", "limecli", *map(str, args)]
        done = subprocess.run(command, cwd=ROOT, stderr=handle, timeout=120, check=False)
    assert done.returncode == 0
    text = log.read_text()
    assert text.startswith("earlier line\n") and '"kind": "tabular"' in text and "Note:" in text
    assert log.stat().st_ino == inode


def test_a_closed_descriptor_is_refused_before_any_work() -> None:
    done = _limecli(*tabular("/dev/fd/9"))  # NO_MODEL: loading it would be exit 4
    assert done.returncode == 7 and done.stdout == b""
    assert (
        done.stderr.decode().strip()
        == "Error: cannot write /dev/fd/9: no such open file descriptor"
    )


def test_a_fifo_is_written_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    done = _limecli(*tabular(fifo, model=RF))
    out, _ = reader.communicate(timeout=60)
    assert done.returncode == 0, done.stderr
    assert b'"kind": "tabular"' in out
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_a_symlink_stays_a_link_and_its_target_is_written(
    run_cli, tmp_path: Path, fmt: str
) -> None:
    target = tmp_path / "data" / "real.json"
    target.parent.mkdir()
    target.write_text(OURS)
    alias = tmp_path / "link.json"
    alias.symlink_to(target)
    args = tabular(alias, model=RF) if fmt == "json" else batch(alias, fmt)
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    assert alias.is_symlink() and os.readlink(alias) == str(target)
    assert target.read_text() != OURS and '"kind"' in target.read_text()
    # No temporary file left (a batch's settings, real.json.limecli, may sit beside it).
    assert not [p.name for p in target.parent.iterdir() if p.name.startswith(".")]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_symlink_to_a_users_file_is_refused(run_cli, tmp_path: Path) -> None:
    target = tmp_path / "thesis.txt"
    target.write_text("chapter 1\n")
    alias = tmp_path / "link.json"
    alias.symlink_to(target)
    result = run_cli(*tabular(alias))
    assert_refused(result, 2, "is not a limecli output")
    assert target.read_text() == "chapter 1\n" and alias.is_symlink()


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_a_250_byte_name_is_written_with_a_short_temporary_name(
    run_cli, tmp_path: Path, fmt: str
) -> None:
    """Its usual temporary name (``.NAME.XXXXXXXX.tmp``) would pass 255 bytes."""
    out = tmp_path / ("b" * 245 + ".json")
    args = tabular(out, model=RF) if fmt == "json" else batch(out, fmt)
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_existing_files_keep_their_permissions(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "o.json"
    out.write_text(OURS)
    out.chmod(0o640)
    assert run_cli(*tabular(out, model=RF)).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    fresh = tmp_path / "new.json"
    assert run_cli(*tabular(fresh, model=RF)).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a chmod 0555 folder anyway")
@pytest.mark.parametrize("mode", [0o555, 0o000])
def test_a_real_read_only_or_forbidden_folder(run_cli, tmp_path: Path, mode: int) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(mode)
    try:
        result = run_cli(*tabular(folder / "o.json"))
    finally:
        folder.chmod(0o755)
    assert_refused(result, 7, "permission denied")
    assert list(folder.iterdir()) == []


def test_library_writes_raise_output_write_error(tmp_path: Path) -> None:
    from limecli.atomic import check_writable, write_atomic
    from limecli.errors import OutputWriteError

    with pytest.raises(OutputWriteError, match="does not exist"):
        write_atomic(tmp_path / "gone" / "x.json", "{}")
    with pytest.raises(OutputWriteError, match="it is a folder"):
        check_writable(tmp_path)
    check_writable(tmp_path / "x.json")
    check_writable("/dev/null")
    assert list(tmp_path.iterdir()) == []

"""What every model loader shares: the model-file check and an error's one-line reason."""

from __future__ import annotations

from pathlib import Path

from limecli.errors import ModelLoadError


def check_file(path: Path) -> None:
    """Refuse a model path that is missing or a directory, before any loader opens it."""
    if not path.exists():
        raise ModelLoadError(f"model file not found: {path}")
    if path.is_dir():
        raise ModelLoadError(f"model path is a directory, not a file: {path}")


def first_line(e: BaseException) -> str:
    """The first line of an exception's message: enough to say why, short enough for one line."""
    text = str(e).strip()
    return text.splitlines()[0] if text else "(no message)"

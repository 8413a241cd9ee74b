"""Predict-script entrypoints: ``path/to/script.py:function`` or ``package.module:function``.

This module only imports: it knows nothing of :class:`~limecli.model.predictor.Predictor`,
so the Predictor can re-import its function here after unpickling (in a worker
process) without an import cycle. :func:`limecli.model.loading.load_model` turns
an entrypoint into a Predictor.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from limecli.errors import ModelLoadError
from limecli.model.files import first_line
from limecli.model.guard import ModelExit, escaped, fenced


def is_entrypoint(spec: str) -> bool:
    """True when ``spec`` looks like ``script.py:function`` or ``package.module:function``.

    A model file name never passes: its suffix puts a dot after the last colon.
    """
    if ":" not in spec:
        return False
    left, _, right = spec.rpartition(":")
    return bool(left) and right.isidentifier()


def portable_spec(spec: str) -> str:
    """``spec`` with a script path made absolute, for workers (joblib, Dask) in another folder."""
    target, _, func_name = spec.rpartition(":")
    return f"{Path(target).resolve()}:{func_name}" if is_script_path(target) else spec


def import_entrypoint(spec: str) -> tuple[Callable[[Any], Any], ModuleType]:
    """Import ``file.py:function`` or ``package.module:function``; return (function, module)."""
    target, _, func_name = spec.rpartition(":")
    # Fenced (limecli.model.guard): what the script prints at import goes to stderr, and
    # it sees sys.argv == [target], not limecli's arguments.
    with fenced(target):
        if is_script_path(target):
            module = _import_file(Path(target), spec)
        else:
            try:
                module = importlib.import_module(target)
            except ModuleNotFoundError as e:
                raise ModelLoadError(f"cannot import {spec}: no module named '{e.name}'") from e
            except Exception as e:
                raise ModelLoadError(
                    f"cannot import {spec}: {type(e).__name__}: {first_line(e)}"
                ) from e
            except BaseException as e:
                error = _left_import(spec, e, "module")
                if error is None:  # a real Ctrl-C
                    raise
                raise error from e
    fn = getattr(module, func_name, None)
    if fn is None:
        raise ModelLoadError(f"{target} has no function '{func_name}'")
    if not callable(fn):
        raise ModelLoadError(f"{target}: '{func_name}' is not callable")
    return fn, module


def script_constants(fn: Callable[..., Any], names: Sequence[str]) -> dict[str, Any]:
    """The module-level constants among ``names`` of the module defining ``fn`` (a predict
    script's ``CLASS_NAMES``, ``INPUT_LAYOUT``, ...), those it sets."""
    namespace = getattr(fn, "__globals__", None)
    if namespace is None:  # a callable object: its class's module
        module = sys.modules.get(getattr(fn, "__module__", "") or "")
        namespace = vars(module) if module is not None else {}
    return {name: namespace[name] for name in names if name in namespace}


def is_script_path(target: str) -> bool:
    """True when the part before the colon names a file rather than a module."""
    return target.endswith(".py") or "/" in target or "\\" in target


def _import_file(path: Path, spec: str) -> ModuleType:
    if not path.is_file():
        raise ModelLoadError(f"predict script not found: {path}")
    resolved = path.resolve()
    # A stable, unique module name per script file, so two scripts called
    # predict.py do not collide and re-imports in workers find the same name.
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:10]
    name = f"limecli_script_{resolved.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, resolved)
    if module_spec is None or module_spec.loader is None:
        raise ModelLoadError(f"cannot import {path} as a Python script")
    module = importlib.util.module_from_spec(module_spec)
    # Let the script import its sibling modules and find files next to it.
    script_dir = str(resolved.parent)
    if script_dir not in sys.path:
        sys.path.insert(0, script_dir)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except ModuleNotFoundError as e:
        del sys.modules[name]
        raise ModelLoadError(
            f"cannot import {spec}: it needs the Python module '{e.name}', which is not installed"
        ) from e
    except Exception as e:
        del sys.modules[name]
        raise ModelLoadError(f"cannot import {spec}: {type(e).__name__}: {first_line(e)}") from e
    except BaseException as e:  # sys.exit (argparse at import), os._exit, KeyboardInterrupt
        del sys.modules[name]
        error = _left_import(spec, e, "script")
        if error is None:  # a real Ctrl-C
            raise
        raise error from e
    return module


def _left_import(spec: str, e: BaseException, what: str) -> ModelLoadError | None:
    """The error for a script or module that exited (or was interrupted) while imported;
    None for a real Ctrl-C, which stays itself."""
    how = escaped(e)
    if how is None:
        return None
    if isinstance(e, SystemExit | ModelExit):
        return ModelLoadError(
            f"cannot import {spec}: the model {what} exited while being imported ({how}); "
            "any usage or error text above it is the model's own, not limecli's (a script "
            "that parses command-line arguments should do so under "
            "if __name__ == '__main__')"
        )
    return ModelLoadError(f"cannot import {spec}: the model {what} {how} while being imported")

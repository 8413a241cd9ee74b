"""PyTorch networks (extra ``limecli[torch]``): TorchScript modules (``.pt``/``.pth`` saved
by ``torch.jit.save``) and exported programs (``.pt2`` saved by ``torch.export.save``,
which PyTorch recommends now that it deprecates TorchScript).

The module is loaded on the CPU with ``torch.jit.load`` and put in eval mode
(an exported program: ``torch.export.load(path).module()``, in the mode it was
exported in), and called without gradients on a float32 tensor: a table's rows as
``(n_rows, n_features)``, images or texts as the batch the explainer builds.
A tuple or list output gives its first element. Its meaning is not guessed from
the file: the Predictor reads it from the first answer, as for a predict script
(rows of probabilities are classification, one column is a regression). A
network that ends in logits should end in a softmax before ``torch.jit.save``,
or be called from a predict script that applies it (``predict.py:predict``).

A file written by ``torch.save`` (a pickled module or a ``state_dict``) is not
TorchScript: it needs its Python class, so it belongs in a predict script.
Loading runs no Python from the file (TorchScript is run by torch's own
interpreter when the module is called; an exported program is a graph of
operators). An exported program takes the batch sizes it was exported for:
export with a dynamic batch dimension (``torch.export.Dim``).
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from limecli.errors import ModelLoadError
from limecli.model.files import FileModel, first_line, import_framework, plain_values

TORCHSCRIPT_SUFFIXES = (".pt", ".pth")
EXPORTED_SUFFIXES = (".pt2",)


def _is_torchscript(path: Path) -> bool:
    """A TorchScript archive has a ``code/`` folder; a ``torch.save`` archive has none."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any("/code/" in name for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def open_torchscript(path: Path) -> TorchScriptModel:
    """A TorchScript file as :class:`TorchScriptModel` (loaded now, so errors come at once)."""
    import_framework("torch", path, "TorchScript " + path.suffix)
    model = TorchScriptModel(path)
    model.model  # noqa: B018 -- open it now: a bad file fails here, not on the first call
    return model


def open_exported(path: Path) -> ExportedModel:
    """A ``torch.export`` file as :class:`ExportedModel` (loaded now, so errors come at once)."""
    import_framework("torch", path, "PyTorch " + path.suffix)
    model = ExportedModel(path)
    model.model  # noqa: B018 -- open it now: a bad file fails here, not on the first call
    return model


class TorchScriptModel(FileModel):
    """A TorchScript module called as ``batch -> numpy array``; pickles as its path."""

    def open(self) -> Any:
        import torch

        if not _is_torchscript(self.path):
            raise ModelLoadError(
                f"cannot load model {self.shown}: not a TorchScript file (torch.jit.save); "
                "a model saved with torch.save needs its Python class: load it in a "
                "predict script (predict.py:predict)"
            )
        try:
            with warnings.catch_warnings():
                # torch >= 2.10 deprecates TorchScript in favour of torch.export: the
                # file is still what the user has, and loads.
                warnings.filterwarnings("ignore", ".*torch.jit.load", DeprecationWarning)
                module = torch.jit.load(str(self.path), map_location="cpu")
        except Exception as e:
            raise ModelLoadError(
                f"cannot load model {self.shown} as TorchScript: "
                f"{type(e).__name__}: {first_line(e)}"
            ) from e
        module.eval()
        return module

    def __call__(self, batch: Any) -> np.ndarray:
        import torch

        values = plain_values(batch, np.float32)
        with torch.inference_mode():
            out = self.model(torch.from_numpy(np.ascontiguousarray(values)))
        if isinstance(out, (tuple, list)):
            out = out[0]
        return out.detach().cpu().numpy()


class ExportedModel(TorchScriptModel):
    """A ``torch.export`` program called as ``batch -> numpy array``; pickles as its path."""

    def open(self) -> Any:
        import torch

        try:
            return torch.export.load(str(self.path)).module()
        except Exception as e:
            raise ModelLoadError(
                f"cannot load model {self.shown} as a torch.export program: "
                f"{type(e).__name__}: {first_line(e)}"
            ) from e

"""The one interface every explainer uses to ask the model: a batch in, a 2-D array out."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from limecli.errors import PredictorCallError, PredictorError, PredictorOutputError

#: How many perturbed samples go to the model per call unless told otherwise.
DEFAULT_BATCH_SIZE = 1000

#: How far a row of class probabilities may sum from 1 before a warning says so.
PROBABILITY_TOLERANCE = 1e-3


class PredictorTimeoutError(PredictorError):
    """One call of the model took longer than the ``timeout``."""


class ProbabilityWarning(UserWarning):
    """Class probabilities that do not sum to 1 (or lie outside [0, 1]): explained as they are."""


class Predictor:
    """A model wrapped as ``batch -> (n_rows, n_outputs)`` float array.

    ``mode`` is "classification" (outputs are class probabilities) or
    "regression" (one output column); ``None`` until a script's first answer
    tells which. ``feature_names`` are the columns a DataFrame-fitted model
    expects, in order (``None`` when it takes a plain array).

    Predictors pickle: scikit-learn models travel as themselves, predict-script
    functions by their entrypoint spec and are re-imported on the other side,
    so explainers can run in joblib worker processes.
    """

    def __init__(
        self,
        fn: Callable[[Any], Any],
        *,
        mode: str | None,
        class_names: Sequence[str] | None = None,
        feature_names: Sequence[str] | None = None,
        source: str = "<callable>",
        reload_spec: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.fn = fn
        self.mode = mode
        self.class_names = list(class_names) if class_names is not None else None
        self.feature_names = list(feature_names) if feature_names is not None else None
        self.source = source
        # For script entrypoints: how to get ``fn`` back after unpickling.
        self._reload_spec = reload_spec
        #: Seconds one call may take (None: no limit); see :meth:`__call__`.
        self.timeout = timeout
        self._warned_probabilities = False

    @property
    def wants_dataframe(self) -> bool:
        return self.feature_names is not None

    @property
    def n_features_in(self) -> int | None:
        """How many input columns a fitted estimator expects (``n_features_in_``), if known."""
        owner = getattr(self.fn, "__self__", None)
        n = getattr(owner, "n_features_in_", None)
        return int(n) if n is not None else None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._reload_spec is not None:
            state["fn"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("timeout", None)
        state.setdefault("_warned_probabilities", False)
        self.__dict__.update(state)
        if self.fn is None and self._reload_spec is not None:
            from limecli.model.entrypoint import import_entrypoint

            self.fn = import_entrypoint(self._reload_spec)[0]

    def __repr__(self) -> str:
        return f"Predictor(source={self.source!r}, mode={self.mode!r})"

    def __call__(self, batch: Any) -> np.ndarray:
        """Call the model once on ``batch`` and return a checked 2-D float array.

        With ``timeout``, the call runs in a daemon thread and a call that has
        not answered after ``timeout`` seconds raises PredictorTimeoutError.
        Python cannot stop a thread, so the hung call keeps running in the
        background until the process exits (the CLI exits right away).
        """
        n_rows = len(batch)
        try:
            raw = self.fn(batch) if self.timeout is None else self._call_with_timeout(batch)
        except PredictorTimeoutError:
            raise
        except Exception as e:  # any failure inside user code is the model's failure
            message = str(e).strip().splitlines()[0] if str(e).strip() else ""
            detail = f": {message}" if message else ""
            raise PredictorCallError(
                f"the model {self.source} raised {type(e).__name__}{detail}"
            ) from e
        return self._check_output(raw, n_rows)

    def _call_with_timeout(self, batch: Any) -> Any:
        assert self.timeout is not None
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["value"] = self.fn(batch)
            except BaseException as e:  # handed to the caller below
                box["error"] = e

        worker = threading.Thread(target=work, name="limecli-predict", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            raise PredictorTimeoutError(
                f"the model {self.source} did not answer within {self.timeout:g} s "
                f"('timeout') for a batch of {len(batch)} rows",
                parameters=("timeout",),
            )
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def predict(self, batch: Any, batch_size: int | None = None) -> np.ndarray:
        """Call the model in chunks of ``batch_size`` rows and stack the answers."""
        n_rows = len(batch)
        size = batch_size or DEFAULT_BATCH_SIZE
        if n_rows <= size:
            return self(batch)
        chunks = [self(_slice(batch, start, start + size)) for start in range(0, n_rows, size)]
        return np.vstack(chunks)

    def _check_output(self, raw: Any, n_rows: int) -> np.ndarray:
        try:
            out = np.asarray(raw, dtype=float)
        except (TypeError, ValueError) as e:
            raise PredictorOutputError(
                f"the model {self.source} returned {type(raw).__name__}, "
                "which is not an array of numbers"
            ) from e
        if out.ndim == 1:
            if self.mode == "classification":
                raise PredictorOutputError(
                    f"the model {self.source} returned shape {out.shape} in classification mode; "
                    "expected (n_rows, n_classes) probabilities"
                )
            out = out.reshape(-1, 1)
        if out.ndim != 2 or out.shape[0] != n_rows:
            raise PredictorOutputError(
                f"the model {self.source} returned shape {out.shape} for {n_rows} rows; "
                f"expected ({n_rows}, n_outputs)"
            )
        if self.mode is None:
            self.mode = "classification" if out.shape[1] >= 2 else "regression"
        if self.mode == "regression" and out.shape[1] != 1:
            raise PredictorOutputError(
                f"the model {self.source} returned {out.shape[1]} columns in regression mode; "
                "expected one value per row"
            )
        if self.mode == "classification" and out.shape[1] < 2:
            raise PredictorOutputError(
                f"the model {self.source} returned {out.shape[1]} column in classification mode; "
                "expected one probability per class (at least 2)"
            )
        if not np.all(np.isfinite(out)):
            bad = int(np.sum(~np.isfinite(out)))
            raise PredictorOutputError(
                f"the model {self.source} returned {bad} NaN or infinite value(s)"
            )
        if self.class_names is not None and len(self.class_names) != out.shape[1]:
            raise PredictorOutputError(
                f"the model {self.source} returned {out.shape[1]} output column(s) but "
                f"{len(self.class_names)} class name(s) were given"
            )
        if self.mode == "classification" and not self._warned_probabilities:
            self._check_probabilities(out)
        return out

    def _check_probabilities(self, out: np.ndarray) -> None:
        """Warn once if rows do not sum to 1 (within PROBABILITY_TOLERANCE) or leave [0, 1]."""
        sums = out.sum(axis=1)
        off = np.abs(sums - 1.0) > PROBABILITY_TOLERANCE
        outside = (out < -PROBABILITY_TOLERANCE) | (out > 1.0 + PROBABILITY_TOLERANCE)
        if not off.any() and not outside.any():
            return
        self._warned_probabilities = True
        what = (
            f"row sums from {sums.min():.4g} to {sums.max():.4g}"
            if off.any()
            else f"values from {out.min():.4g} to {out.max():.4g}"
        )
        warnings.warn(
            f"the model {self.source} returned class probabilities that are not probabilities "
            f"({what}); they are explained as they are (apply softmax in the model if they "
            "are scores)",
            ProbabilityWarning,
            stacklevel=4,
        )

    def output_names(self, n_outputs: int) -> list[str]:
        """Names of the output columns: class names, or defaults."""
        if self.class_names is not None:
            return list(self.class_names)
        if self.mode == "regression":
            return ["prediction"]
        return [str(i) for i in range(n_outputs)]


def _slice(batch: Any, start: int, stop: int) -> Any:
    if hasattr(batch, "iloc"):
        return batch.iloc[start:stop]
    return batch[start:stop]

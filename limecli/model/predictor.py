"""The one interface every explainer uses to ask the model: a batch in, a 2-D array out.

How an answer is read (probabilities, class labels, values) is told in :mod:`limecli.model.answers`.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import limecli.model.guard as guard
from limecli.errors import PredictorError, PredictorOutputError
from limecli.model.answers import (
    ClassLabelsWarning,
    column_kind,
    factorize,
    labels_note,
    one_hot,
    position,
    shown,
    unseen_note,
)
from limecli.model.guard import one_line  # noqa: F401 (defined here before; still imported here)

__all__ = ["ClassLabelsWarning", "Predictor", "PredictorTimeoutError", "ProbabilityWarning"]

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

    ``mode`` is "classification" (outputs are class probabilities, or class
    labels made one-hot) or "regression" (one output column); ``None`` until
    the first answer tells which (see :mod:`limecli.model.answers`).
    ``classes`` are the labels a ``predict`` returning classes gives, in
    output order, when the model records them (``classes_``). ``feature_names``
    are the columns a DataFrame-fitted model expects, in order (``None`` when
    it takes a plain array).

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
        classes: Sequence[Any] | None = None,
    ) -> None:
        self.fn = fn
        self.mode = mode
        self.class_names = list(class_names) if class_names is not None else None
        self.feature_names = list(feature_names) if feature_names is not None else None
        self.classes = list(classes) if classes is not None else None
        self.source = source
        # For script entrypoints: how to get ``fn`` back after unpickling.
        self._reload_spec = reload_spec
        #: Seconds one call may take (None: no limit); see :meth:`__call__`.
        self.timeout = timeout
        self._warned_probabilities = False
        # How one-value answers are read, fixed by the first: "labels", "positive", "values".
        self._reading: str | None = None
        self._learned_classes = False
        self._guessed_labels = False
        self._noted_labels = False
        self._unseen: set[str] = set()

    @property
    def wants_dataframe(self) -> bool:
        return self.feature_names is not None

    @property
    def n_features_in(self) -> int | None:
        """How many input columns a fitted estimator expects (``n_features_in_``), if known."""
        owner = getattr(self.fn, "__self__", None)
        n = getattr(owner, "n_features_in_", None)
        return int(n) if n is not None else None

    @property
    def returns_labels(self) -> bool:
        """Whether the model's answers are class labels, explained one-hot."""
        return self._reading == "labels"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._reload_spec is not None:
            state["fn"] = None
        else:  # unpickled fenced in __setstate__: a model printing as it loads in a worker
            state["fn"] = guard.packed(self.fn)
        return state

    def __copy__(self) -> Predictor:  # the same model: not through __getstate__'s bytes
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __setstate__(self, state: dict[str, Any]) -> None:
        flags = ("_warned_probabilities", "_learned_classes", "_guessed_labels", "_noted_labels")
        defaults: dict[str, Any] = {"timeout": None, "classes": None, "_reading": None}
        self.__dict__.update({**dict.fromkeys(flags, False), **defaults, "_unseen": set(), **state})
        if isinstance(self.fn, guard.Packed):
            self.fn = self.fn.unpack(guard.program_name(self.source))
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
        # Fenced (see limecli.model.guard): its prints go to stderr, its exits are its errors.
        with guard.fenced(guard.program_name(self._reload_spec or self.source)):
            try:
                raw = self.fn(batch) if self.timeout is None else self._call_with_timeout(batch)
            except PredictorTimeoutError:
                raise
            except BaseException as e:  # any failure inside user code is the model's failure
                error = guard.call_error(self.source, e)
                if error is None:  # a real Ctrl-C
                    raise
                raise error from e
        return self._check_output(raw, n_rows)

    def _call_with_timeout(self, batch: Any) -> Any:
        assert self.timeout is not None
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                with guard.model_thread():
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

    # -- reading an answer ------------------------------------------------

    def _check_output(self, raw: Any, n_rows: int) -> np.ndarray:
        values = _as_array(raw)
        one_value = values is not None and (
            values.ndim == 1 or (values.ndim == 2 and values.shape[1] == 1)
        )
        if values is not None and one_value and values.shape[0] == n_rows:
            out = self._read_column(values.reshape(n_rows), raw)
        else:
            out = self._numbers(values, raw)
            if out.ndim != 2 or out.shape[0] != n_rows:
                raise PredictorOutputError(
                    f"the model {self.source} returned shape {out.shape} for {n_rows} rows; "
                    f"expected ({n_rows}, n_outputs)"
                )
            self._check_columns(out)
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
        probabilities = self.mode == "classification" and not self.returns_labels
        if probabilities and not self._warned_probabilities:
            self._check_probabilities(out)
        return out

    def _numbers(self, values: np.ndarray | None, raw: Any) -> np.ndarray:
        try:
            if values is None:
                raise TypeError("not an array")
            return values.astype(float)
        except (TypeError, ValueError) as e:
            raise PredictorOutputError(
                f"the model {self.source} returned {type(raw).__name__}, "
                "which is not an array of numbers"
            ) from e

    def _check_columns(self, out: np.ndarray) -> None:
        """Several columns per row: class probabilities, unless 'mode' regression is asked."""
        if self.mode is None:
            self.mode = "classification" if out.shape[1] >= 2 else "regression"
        n = out.shape[1]
        if self.mode == "regression" and n != 1:
            raise PredictorOutputError(
                f"the model {self.source} returned {n} columns in regression mode ('mode'), "
                f"which explains one value per row: return one column, or use 'mode' "
                f"classification to explain the {n} columns as classes",
                parameters=("mode",),
            )
        if n == 0:
            raise PredictorOutputError(
                f"the model {self.source} returned no output column (shape {out.shape})"
            )

    def _read_column(self, column: np.ndarray, raw: Any) -> np.ndarray:
        """One answer per row: values, a positive-class probability, or class labels."""
        kind = column_kind(column)
        if self._reading is None:
            self._reading = self._choose_reading(column, kind, raw)
        if self._reading == "values":
            if kind == "text":
                raise self._text_in_regression(column)
            return self._numbers(column, raw).reshape(-1, 1)
        if self._reading == "positive":
            p = self._numbers(column, raw)
            return np.column_stack([1.0 - p, p])
        return self._one_hot(column, kind, raw)

    def _choose_reading(self, column: np.ndarray, kind: str, raw: Any) -> str:
        if self.mode == "regression":
            return "values"
        if kind in ("text", "integer"):
            self._guessed_labels = self.mode is None and column.dtype.kind in "iu"
            self.mode = "classification"
            return "labels"
        if self.mode is None:  # floats: a regression, even when they are whole numbers
            self.mode = "regression"
            return "values"
        numbers = self._numbers(column, raw)
        finite = numbers[np.isfinite(numbers)]
        n_known = self._n_classes()
        if (n_known is None or n_known == 2) and np.all((finite >= 0) & (finite <= 1)):
            return "positive"
        if np.all(finite == np.round(finite)):
            return "labels"
        example = next((v for v in finite if v != round(v)), finite[0])
        raise PredictorOutputError(
            f"the model {self.source} returned one value per row, such as {example:g}, in "
            "classification mode ('mode'): neither class labels (whole numbers) nor the "
            "probability of the second class (0 to 1); 'mode' regression explains them as values",
            parameters=("mode",),
        )

    def _text_in_regression(self, column: np.ndarray) -> PredictorOutputError:
        shown = ", ".join(repr(str(v)) for v in column[:2])
        return PredictorOutputError(
            f"the model {self.source} returned class labels ({shown}, ...) in regression mode "
            "('mode'), which explains numbers; 'mode' classification explains labels",
            parameters=("mode",),
        )

    def _n_classes(self) -> int | None:
        if self.classes is not None:
            return len(self.classes)
        return len(self.class_names) if self.class_names is not None else None

    def _one_hot(self, column: np.ndarray, kind: str, raw: Any) -> np.ndarray:
        """Class labels as one 0/1 column per class (the indicator of the predicted class)."""
        labels: np.ndarray = column
        if kind == "number":
            numbers = self._numbers(column, raw)
            whole = np.isfinite(numbers) & (numbers == np.round(numbers))
            if not whole.all():
                raise PredictorOutputError(
                    f"the model {self.source} returned {numbers[~whole][0]:g}, which is not "
                    "a class label (its first answer was class labels)"
                )
            labels = numbers.astype(np.int64)
        codes, found = factorize(labels)
        if (codes < 0).any():
            raise PredictorOutputError(
                f"the model {self.source} returned {int((codes < 0).sum())} missing class label(s)"
            )
        if self.classes is None and self.class_names is None:
            self.classes = found
            self._learned_classes = True
        positions = np.array(
            [position(label, self.classes, self.class_names) for label in found],
            dtype=np.int64,
        )
        self._check_unseen([label for label, i in zip(found, positions, strict=True) if i < 0])
        if not self._noted_labels:
            self._noted_labels = True
            note = labels_note(
                self.source,
                self.classes,
                learned=self._learned_classes,
                guessed=self._guessed_labels,
            )
            warnings.warn(note, stacklevel=5)
        return one_hot(codes, positions, self._n_classes() or 0)

    def _check_unseen(self, unseen: list[Any]) -> None:
        """Labels outside the classes: an error if the classes were declared, else a note."""
        if not unseen:
            return
        classes = self.classes if self.classes is not None else self.class_names or []
        if not self._learned_classes:
            named = "" if self.classes is not None else " named by 'class_names'"
            raise PredictorOutputError(
                f"the model {self.source} returned class label {unseen[0]!r}, which is not one "
                f"of its {len(classes)} classes{named} ({shown(classes)})",
                parameters=() if self.classes is not None else ("class_names",),
            )
        new = [str(u) for u in unseen if str(u) not in self._unseen]
        if new:
            self._unseen.update(new)
            warnings.warn(unseen_note(self.source, new, classes), stacklevel=5)

    def _check_probabilities(self, out: np.ndarray) -> None:
        """Warn once if rows do not sum to 1 (within PROBABILITY_TOLERANCE) or leave [0, 1]."""
        # Two columns (most models): the same sums, without a reduction per row.
        sums = out[:, 0] + out[:, 1] if out.shape[1] == 2 else out.sum(axis=1)
        off = np.abs(sums - 1.0) > PROBABILITY_TOLERANCE
        outside = (out < -PROBABILITY_TOLERANCE) | (out > 1.0 + PROBABILITY_TOLERANCE)
        if not off.any() and not outside.any():
            return
        self._warned_probabilities = True
        sums = out.sum(axis=1)
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
        if self.classes is not None and len(self.classes) == n_outputs:
            return [str(c) for c in self.classes]
        return [str(i) for i in range(n_outputs)]


def _as_array(raw: Any) -> np.ndarray | None:
    """The answer as a numpy array (None when it is not even that, e.g. a ragged list)."""
    try:
        return np.asarray(raw)
    except (TypeError, ValueError, RuntimeError):
        return None


def _slice(batch: Any, start: int, stop: int) -> Any:
    if hasattr(batch, "iloc"):
        return batch.iloc[start:stop]
    return batch[start:stop]

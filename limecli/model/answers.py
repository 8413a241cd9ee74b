"""How a model's answer is read, and class labels as one 0/1 column per class.

How an answer is read (the first answer fixes the reading; ``mode`` overrides it):

* two or more columns: class probabilities (classification), whatever method gave
  them (``predict_proba``, a Booster's or a script's ``predict``); with ``mode``
  regression they are refused, as regression explains one value per row;
* one value per row (1-D or one column):

  - class labels -- text, booleans or an integer dtype, or whole numbers when
    ``mode`` is classification -- are classification of hard labels: one 0/1
    column per class (a :class:`ClassLabelsWarning` says probabilities would
    be smoother). The classes, in column order, are the model's ``classes_``,
    else ``class_names`` (a label is a name, or a class number indexing the
    names), else the sorted labels of the first answer. A label outside the
    model's classes or the names is an error; one first seen after classes
    were learned from an answer is not explained (its rows belong to none of
    the columns) and a warning names it;
  - floats are a regression, even when they are whole numbers (a regressor on
    counts), unless ``mode`` is classification: then values in [0, 1] are the
    probability of the second of two classes, and whole numbers are labels;
  - with ``mode`` regression every answer is a value (text is refused).

An integer dtype therefore means classes unless ``mode`` regression says otherwise.

:class:`~limecli.model.predictor.Predictor` applies these rules; this module
turns labels into columns (a label finds its column among the model's
``classes`` by value or by its text, else among ``class_names`` by name or as
a class number indexing the names) and words the notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class ClassLabelsWarning(UserWarning):
    """The model answers with class labels, not probabilities: explained as one-hot classes.

    ``parameters``: the library parameters the message names (as errors carry them).
    """

    def __init__(self, message: str, parameters: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.parameters = tuple(parameters)


def column_kind(column: np.ndarray) -> str:
    """'text' (strings), 'integer' (an integer or boolean dtype) or 'number' (anything else)."""
    if column.dtype.kind in "iub":
        return "integer"
    if column.dtype.kind in "US":
        return "text"
    if column.dtype.kind == "O" and len(column) and all(isinstance(v, str) for v in column):
        return "text"
    return "number"


def factorize(labels: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Each row's code into the distinct labels (sorted when they sort; -1: missing)."""
    import pandas as pd

    try:
        codes, uniques = pd.factorize(labels, sort=True)
    except TypeError:  # labels of mixed types do not sort
        codes, uniques = pd.factorize(labels)
    return np.asarray(codes), [plain(u) for u in uniques]


def position(label: Any, classes: Sequence[Any] | None, names: Sequence[str] | None) -> int:
    """The output column of one class label (-1: not one of the classes)."""
    text = str(label)
    if classes is not None:
        for i, c in enumerate(classes):
            if plain(c) == label or str(c) == text:
                return i
        return -1
    names = list(names or [])
    if text in names:
        return names.index(text)
    if isinstance(label, (int, np.integer)) and 0 <= label < len(names):
        return int(label)  # a class number indexes the names
    return -1


def one_hot(codes: np.ndarray, positions: np.ndarray, n_classes: int) -> np.ndarray:
    """Row i gets 1 in column ``positions[codes[i]]`` (none when that is -1), 0 elsewhere."""
    idx = positions[codes]
    out = np.zeros((len(codes), n_classes))
    hit = np.flatnonzero(idx >= 0)
    out[hit, idx[hit]] = 1.0
    return out


def labels_note(
    source: str, classes: Sequence[Any] | None, *, learned: bool, guessed: bool
) -> ClassLabelsWarning:
    """The note given once: how labels are explained, what is better, what to do."""
    parameters: list[str] = []
    message = (
        f"the model {source} answers with class labels, not probabilities: each class "
        "is explained as 1 where it is predicted, else 0 (probabilities, e.g. from "
        "predict_proba, give a smoother explanation)"
    )
    if learned:
        message += (
            f"; its classes are those of its first answer ({shown(classes or [])}): "
            "name every class with 'class_names' to explain others"
        )
        parameters.append("class_names")
    if guessed:
        message += "; if these whole numbers are values, not classes, use 'mode' regression"
        parameters.append("mode")
    return ClassLabelsWarning(message, parameters)


def unseen_note(source: str, new: Sequence[str], classes: Sequence[Any]) -> ClassLabelsWarning:
    """Labels first seen after the classes were learned: not explained."""
    return ClassLabelsWarning(
        f"the model {source} returned class label(s) {', '.join(new)} not seen in its first "
        f"answer ({shown(classes)}): they are not explained (their rows count as none of the "
        "classes); 'class_names' naming every class explains them",
        parameters=("class_names",),
    )


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (so 1, np.int64(1) and True compare alike)."""
    return value.item() if isinstance(value, np.generic) else value


def shown(values: Sequence[Any], limit: int = 20) -> str:
    text = ", ".join(str(v) for v in list(values)[:limit])
    return text + (", ..." if len(values) > limit else "")

"""Training data and rows from the Python API as the tabular explainer takes them.

A data scientist holds a DataFrame (any column labels), a numpy array, nested
lists or a scipy sparse matrix. :func:`as_table` turns each into a DataFrame
with ``str`` column names, plus a :class:`Layout` that remembers what was given,
so that the model gets back the form it was fitted on and rows can be given
the same way (:meth:`Layout.row`).

Names:

* a DataFrame with ``str`` labels keeps them (``feature_names`` may only repeat them);
* an array, or a DataFrame whose labels are its positions 0..n-1 (what
  ``pd.DataFrame(X)`` gives), is named by ``feature_names`` when given, else by
  the model's ``feature_names_in_`` when their count fits, else ``x0``, ``x1``, ...
  (scikit-learn's names for unnamed columns) for an array and ``"0"``, ``"1"``, ...
  (its labels as text) for a DataFrame;
* other labels (ints, tuples) become their text; an ``int`` given for
  ``target`` or ``categorical`` means that label (or, for an array, that position).

What the model receives: a model that names its features (``feature_names_in_``)
gets a DataFrame with those names; otherwise a plain numeric array, as before.
When categorical columns make an array impossible, the model gets what it was
fitted on: a numpy array (object dtype unless the array was numeric) for array
data, a DataFrame with the original labels for a DataFrame.

Sparse matrices: training data is made dense when it has at most
:data:`MAX_DENSE_CELLS` cells (80 MB as float64) and refused beyond that (a
random sample of rows gives the same statistics); rows are made dense one at a
time. The model receives dense arrays: scikit-learn estimators fitted on sparse
input take dense input too; wrap a model that needs sparse input, e.g.
``lambda X: model.predict_proba(scipy.sparse.csr_matrix(X))``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from limecli.errors import InputDataError, ParameterError

if TYPE_CHECKING:
    import pandas as pd

#: The most cells of sparse training data made dense (80 MB of float64).
MAX_DENSE_CELLS = 10_000_000

_TABLES = "a DataFrame, a 2-D array or nested lists, a scipy sparse matrix or a path to a table"
_ROWS = "rows: a DataFrame, a 2-D array or sparse matrix, or a list of rows"
_ROW = "a row: a pandas Series, a one-row DataFrame, a mapping, or a 1-D array or list"


@dataclass(frozen=True)
class Layout:
    """What the training data looked like: its column names and the form it was given in."""

    #: The training data's columns, named (``str``), in order.
    columns: tuple[str, ...]
    #: Given as an array (numpy, nested lists, sparse): the model gets arrays back.
    array: bool = False
    #: The array was numeric (its model takes floats), for ``array``.
    numeric: bool = True
    #: The original labels by name, where they were not these names (ints, renamed).
    labels: Mapping[str, Any] | None = None

    def name(self, key: Any, parameter: str) -> str:
        """A column given as its name, its original label or (for an array) its position."""
        if isinstance(key, str):
            return key
        if self.labels is not None:
            for name, label in self.labels.items():
                if type(label) is type(key) and label == key:
                    return name
        integer = isinstance(key, (int, np.integer)) and not isinstance(key, bool)
        if integer and self.array and 0 <= int(key) < len(self.columns):
            return self.columns[int(key)]
        raise _bad(parameter, f"name a column of the training data ({_shown(self.columns)})", key)

    def names(self, keys: Sequence[Any], parameter: str) -> list[str]:
        if isinstance(keys, str):
            return [keys]
        return [self.name(key, parameter) for key in keys]

    def restore(self, frame: pd.DataFrame) -> Any:
        """Rows (named columns) in the form the model was fitted on."""
        if self.array:
            if self.numeric:
                return frame.to_numpy(dtype=float, na_value=np.nan)
            return frame.to_numpy(dtype=object)
        if self.labels is not None:
            return frame.set_axis([self.labels[c] for c in frame.columns], axis=1)
        return frame

    def row(self, instance: Any, features: Sequence[str], name: str = "instance") -> pd.Series:
        """One row as a Series named like the training data (values by position for arrays)."""
        import pandas as pd

        if isinstance(instance, pd.Series):
            return self._series(instance, features, name)
        if isinstance(instance, Mapping):
            return self._series(pd.Series(dict(instance)), features, name)
        if isinstance(instance, pd.DataFrame):
            if instance.shape[0] != 1:
                got = f"a DataFrame of {instance.shape[0]} rows"
                raise _bad(name, "be one row", got, "; explain_many explains many rows")
            return self._series(instance.iloc[0], features, name)
        if _is_sparse(instance):
            instance = _one_row(instance.toarray(), name)
        elif isinstance(instance, np.ndarray):
            instance = _one_row(np.asarray(instance), name)
        elif isinstance(instance, (list, tuple)):
            if len(instance) == 1 and isinstance(instance[0], (list, tuple, np.ndarray)):
                instance = instance[0]
        else:
            raise _bad(name, f"be {_ROW}", type(instance).__name__)
        return self._positional(list(instance), features, name)

    def _series(self, row: pd.Series, features: Sequence[str], name: str) -> pd.Series:
        labels = list(row.index)
        if all(isinstance(label, str) for label in labels):
            return row
        if self.labels is not None:
            by_label = {(type(v), v): k for k, v in self.labels.items()}
            renamed = [by_label.get((type(label), label)) for label in labels]
            if all(n is not None for n in renamed):
                return row.set_axis(renamed)
        if labels == list(range(len(labels))) and not set(map(str, labels)) >= set(features):
            return self._positional(row.tolist(), features, name)
        return row.set_axis([str(label) for label in labels])

    def _positional(self, values: list[Any], features: Sequence[str], name: str) -> pd.Series:
        import pandas as pd

        for columns in (features, self.columns):
            if len(values) == len(columns):
                return pd.Series(values, index=list(columns), dtype=object)
        must = f"hold one value per feature column ({len(features)}: {_shown(features)})"
        raise _bad(name, must, f"{len(values)} values")


@dataclass(frozen=True)
class Table:
    """Training data as a DataFrame with ``str`` column names, and how it was given."""

    frame: pd.DataFrame
    layout: Layout


def as_table(
    data: Any,
    *,
    feature_names: Sequence[str] | None = None,
    model_names: Sequence[str] | None = None,
    name: str = "training",
) -> Table:
    """``data`` (a DataFrame, array, nested lists or sparse matrix) named and laid out.

    ``feature_names`` names an array's columns; ``model_names`` (the model's
    ``feature_names_in_``) are the default when their count fits. See the
    module's docstring for the rules.
    """
    import pandas as pd

    data = _pandas(data, name)
    if isinstance(data, pd.DataFrame):
        return _from_frame(data, feature_names, model_names, name)
    array = as_2d(data, name)
    n = array.shape[1]
    names = (
        _check_names(feature_names, n) or _fitting(model_names, n) or [f"x{i}" for i in range(n)]
    )
    numeric = array.dtype.kind in "biuf"
    frame = pd.DataFrame(array, columns=names)
    if not numeric:
        frame = frame.infer_objects()  # numbers in an object array are numbers
    return Table(frame, Layout(tuple(names), array=True, numeric=numeric))


def as_rows(instances: Any, name: str = "instances") -> list[Any]:
    """Many rows: a DataFrame's or 2-D array's rows (sparse ones made dense one by one)."""
    import pandas as pd

    if isinstance(instances, (str, bytes, Mapping, pd.Series)):
        raise _bad(name, f"be {_ROWS}", type(instances).__name__, "; explain() explains one row")
    instances = _pandas(instances, name)
    if isinstance(instances, pd.DataFrame):
        return [instances.iloc[i] for i in range(instances.shape[0])]
    if _is_sparse(instances):
        rows = _sparse_2d(instances, name).tocsr()
        return [rows[i : i + 1] for i in range(rows.shape[0])]
    if isinstance(instances, np.ndarray):
        if np.ndim(instances) == 1:
            hint = "; explain() explains one row"
            raise _bad(name, "be 2-D (one row per instance)", f"shape {instances.shape}", hint)
        return list(as_2d(instances, name))
    try:
        return list(instances)
    except TypeError:
        raise _bad(name, f"be {_ROWS}", type(instances).__name__) from None


def pick_row(data: Any, row: int, source: str, name: str = "data") -> Any:
    """Row ``row`` (0-based) of a DataFrame, array or sparse matrix, as given."""
    import pandas as pd

    data = _pandas(data, name)
    if isinstance(data, pd.DataFrame):
        from limecli.inputs.tabular import select_row

        return select_row(data, row, source)
    rows = _sparse_2d(data, name).tocsr() if _is_sparse(data) else as_2d(data, name)
    n = rows.shape[0]
    if row < 0 or row >= n:
        raise InputDataError(f"row {row} is out of range: {source} has {n} rows (0 to {n - 1})")
    return rows[row : row + 1] if _is_sparse(rows) else rows[row]


def check_table(data: Any, name: str) -> None:
    """Refuse what cannot be a table (a Series, a scalar) before any other work."""
    import pandas as pd

    if isinstance(data, (pd.DataFrame, np.ndarray, list, tuple)) or _is_sparse(data):
        return
    if hasattr(data, "to_pandas"):
        return
    _refuse(data, name)


def as_2d(data: Any, name: str) -> np.ndarray:
    """A 2-D numpy array (sparse made dense within :data:`MAX_DENSE_CELLS`)."""
    if _is_sparse(data):
        sparse = _sparse_2d(data, name)
        cells = sparse.shape[0] * sparse.shape[1]
        if cells > MAX_DENSE_CELLS:
            must = f"have at most {MAX_DENSE_CELLS:,} cells when sparse (it is made dense)"
            got = f"{sparse.shape[0]} x {sparse.shape[1]} = {cells:,}"
            raise _bad(name, must, got, "; pass a random sample of its rows")
        return np.asarray(sparse.toarray())
    if not isinstance(data, (np.ndarray, list, tuple)):
        _refuse(data, name)
    try:
        array = np.asarray(data)
    except ValueError:  # ragged nested lists
        array = np.asarray(data, dtype=object)
    if array.ndim != 2 or array.shape[1] == 0:
        hint = "; one column is X.reshape(-1, 1)" if array.ndim == 1 else ""
        raise _bad(name, "be 2-D (rows x columns)", f"shape {array.shape}", hint)
    return array


def _from_frame(
    frame: pd.DataFrame,
    feature_names: Sequence[str] | None,
    model_names: Sequence[str] | None,
    name: str,
) -> Table:
    import pandas as pd

    labels = list(frame.columns)
    n = len(labels)
    text = [str(label) for label in labels]
    if len(set(text)) != n:
        repeated = sorted({t for t in text if text.count(t) > 1})
        raise _bad(name, "have unique column names", f"{_shown(repeated)} more than once")
    positions = labels == list(range(n)) and all(type(label) is int for label in labels)
    given = _check_names(feature_names, n)
    if given is not None and not positions and given != text:
        must = f"be left out for a DataFrame naming its columns ({_shown(text)})"
        hint = "; rename them with df.columns = [...]"
        raise _bad("feature_names", must, f"[{_shown(given)}]", hint)
    names = (given or _fitting(model_names, n) or text) if positions else text
    sparse = [c for c in frame.columns if isinstance(frame[c].dtype, pd.SparseDtype)]
    if sparse:
        cells = frame.shape[0] * len(sparse)
        if cells > MAX_DENSE_CELLS:
            must = f"have at most {MAX_DENSE_CELLS:,} sparse cells (they are made dense)"
            raise _bad(name, must, f"{cells:,}", "; pass a random sample of its rows")
        frame = frame.astype({c: frame[c].dtype.subtype for c in sparse})
    if names == labels:  # str labels already: the frame as it is
        return Table(frame, Layout(tuple(names)))
    original = dict(zip(names, labels, strict=True))
    return Table(frame.set_axis(names, axis=1), Layout(tuple(names), labels=original))


def _check_names(feature_names: Sequence[str] | None, n: int) -> list[str] | None:
    if feature_names is None:
        return None
    ok = not isinstance(feature_names, (str, bytes, Mapping)) and hasattr(feature_names, "__len__")
    names = list(feature_names) if ok else []
    if not ok or not all(isinstance(x, str) for x in names):
        raise _bad("feature_names", "be a list of str", repr(feature_names))
    if len(names) != n or len(set(names)) != n:
        what = f"{len(names)} names" if len(names) != n else "repeated names"
        raise _bad("feature_names", f"name each of the {n} columns once", what)
    return [str(x) for x in names]


def _fitting(model_names: Sequence[str] | None, n: int) -> list[str] | None:
    return list(model_names) if model_names is not None and len(model_names) == n else None


def _pandas(data: Any, name: str) -> Any:
    """A polars DataFrame or pyarrow Table as pandas (they convert themselves)."""
    import pandas as pd

    if isinstance(data, (pd.DataFrame, np.ndarray)) or _is_sparse(data):
        return data
    if hasattr(data, "to_pandas") and not isinstance(data, pd.Series):
        converted = data.to_pandas()
        if isinstance(converted, pd.DataFrame):
            return converted
    return data


def _is_sparse(data: Any) -> bool:
    # A sparse matrix means scipy.sparse is loaded already: never import it here.
    module = sys.modules.get("scipy.sparse")
    return module is not None and bool(module.issparse(data))


def _sparse_2d(data: Any, name: str) -> Any:
    if len(data.shape) != 2 or data.shape[1] == 0:
        raise _bad(name, "be 2-D (rows x columns)", f"shape {data.shape}")
    return data


def _one_row(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim == 2 and array.shape[0] == 1:
        return array[0]
    if array.ndim == 1:
        return array
    got = f"an array of shape {array.shape}"
    raise _bad(name, "be one row (1-D)", got, "; explain_many explains many rows")


def _refuse(data: Any, name: str) -> None:
    hint = "; a single column is series.to_frame()" if type(data).__name__ == "Series" else ""
    raise _bad(name, f"be {_TABLES}", type(data).__name__, hint)


def _bad(name: str, must: str, got: Any, hint: str = "") -> ParameterError:
    """The library's parameter error: "The 'x' parameter must ... Got ... instead"."""
    shown = got if isinstance(got, str) else repr(got)
    return ParameterError(
        f"The '{name}' parameter must {must}. Got {shown} instead{hint}.", parameters=(name,)
    )


def _shown(names: Sequence[str], limit: int = 5) -> str:
    listed = ", ".join(str(n) for n in list(names)[:limit])
    return listed + (", ..." if len(names) > limit else "")

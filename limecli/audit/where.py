"""A rule's ``where`` filter: which explained inputs the rule looks at.

``predicted`` (a class or a list), ``rows`` (a row spec, as ``data.rows``),
``source`` (a glob on the input's path or file name) and, for tabular data,
``values`` on the row's columns (a value, a list of values, or ``{min, max}``).
Read from the policy here, and applied here.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from limecli.audit.toml_schema import Checker, Table, shown
from limecli.inputs.ref import position_of
from limecli.inputs.rows import RowSpec, RowSpecError, parse_row_spec

if TYPE_CHECKING:
    from limecli.audit.items import AuditItem


@dataclass
class RowFilter:
    """Which explained inputs a rule looks at (all of them when every field is empty)."""

    predicted: list[str] | None = None
    rows: RowSpec | None = None
    source: str | None = None
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return (
            self.predicted is None and self.rows is None and self.source is None and not self.values
        )

    def matches(self, item: AuditItem) -> bool:
        predicted = str(item.explanation.prediction.get("label"))
        if self.predicted is not None and predicted not in self.predicted:
            return False
        if self.rows is not None:
            index = position_of(item.identity)
            if index is None or int(index) not in self.rows:
                return False
        if self.source is not None:
            source = str(item.identity.get("source") or "")
            if not (
                fnmatch.fnmatchcase(source, self.source)
                or fnmatch.fnmatchcase(os.path.basename(source), self.source)
            ):
                return False
        for column, condition in self.values.items():
            values = item.values or {}
            if column not in values:
                return False
            if not _value_matches(values[column], condition):
                return False
        return True


def _value_matches(value: Any, condition: Any) -> bool:
    if isinstance(condition, dict):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        if condition.get("min") is not None and number < condition["min"]:
            return False
        return not (condition.get("max") is not None and number > condition["max"])
    options = condition if isinstance(condition, list) else [condition]
    for option in options:
        if isinstance(option, str):
            if str(value) == option:
                return True
        else:
            try:
                if float(value) == float(option):
                    return True
            except (TypeError, ValueError):
                continue
    return False


# -- reading from the policy -----------------------------------------------------------------
def read_row_filter(table: Table | None, kind: str) -> RowFilter:
    """A rule's ``where`` table (None: no filter)."""
    if table is None:
        return RowFilter()
    predicted = table.string_or_list("predicted")
    rows = read_row_spec(table, "rows")
    source = table.string("source")
    values: dict[str, Any] = {}
    raw_values = table.table("values", required=False)
    if raw_values is not None:
        if kind != "tabular":
            table.checker.fail(f"{raw_values.where}", "values filters go with tabular data")
        for column, condition in raw_values.data.items():
            where = f"{raw_values.where}.{column}"
            values[column] = _value_condition(table.checker, where, condition)
        raw_values.data = {}
    table.done()
    return RowFilter(predicted=predicted, rows=rows, source=source, values=values)


def _value_condition(checker: Checker, where: str, condition: Any) -> Any:
    if isinstance(condition, dict):
        unknown = [k for k in condition if k not in ("min", "max")]
        if unknown:
            checker.fail(f"{where}.{unknown[0]}", "a range takes min and max only")
        if not condition:
            checker.fail(where, "an empty range: give min, max or both")
        for key, value in condition.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                checker.fail(f"{where}.{key}", f"expected a number, got {shown(value)}")
        return {"min": condition.get("min"), "max": condition.get("max")}
    if isinstance(condition, list):
        for value in condition:
            if not isinstance(value, (str, int, float)):
                checker.fail(where, f"expected a list of values, got {shown(value)} in it")
        return list(condition)
    if isinstance(condition, (str, int, float)):
        return condition
    checker.fail(
        where, f"expected a value, a list of values or {{min, max}}, got {shown(condition)}"
    )


def read_row_spec(table: Table, key: str) -> RowSpec | None:
    """A row spec written as a tabular batch's ``rows`` takes it (``"0:50"``, ``"5:"``,
    ``"3,7,9"``, one parser for both: :mod:`limecli.inputs.rows`) or an array of row numbers."""
    value = table.take(key)
    if value is None:
        return None
    if isinstance(value, list):
        table.expect(
            key,
            value,
            lambda v: all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v),
            "row numbers (0-based)",
        )
        return RowSpec.of_rows(value)
    table.expect(key, value, lambda v: isinstance(v, str), 'a row spec such as "0:50" or an array')
    try:
        return parse_row_spec(value)
    except RowSpecError as e:
        table.checker.fail(table.path(key), e.problem)

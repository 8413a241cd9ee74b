"""One row-spec parser (limecli.inputs.rows) for a tabular batch's ``rows`` and an audit policy."""

from __future__ import annotations

import pickle

import pytest

from limecli.errors import InputDataError, ParameterError
from limecli.inputs.rows import RowSpec, check_rows_syntax, parse_row_spec, parse_rows

PROBLEM = "is not a row number or START:STOP range (0-based, e.g. 0:500 or 3,7,9)"


@pytest.mark.parametrize(
    ("spec", "rows"),
    [
        ("0:5", [0, 1, 2, 3, 4]),
        ("7:", [7, 8, 9]),
        (":3", [0, 1, 2]),
        (":", list(range(10))),
        ("3,7,9", [3, 7, 9]),
        ("9,3,9", [9, 3]),  # listed twice: taken once, at its first place
        ("0:2,1,8:", [0, 1, 8, 9]),
        (" 2 : 4 , 6 ", [2, 3, 6]),
        ("10:", []),
        ("4:4", []),
    ],
)
def test_specs(spec: str, rows: list[int]) -> None:
    check_rows_syntax(spec)
    assert parse_rows(spec, 10) == rows


@pytest.mark.parametrize(
    ("spec", "part"),
    [("0:x", "0:x"), ("a:b", "a:b"), ("5:2", "5:2"), ("3,", ""), ("-1", "-1"), ("1_0", "1_0")],
)
def test_malformed_specs_name_the_parameter(spec: str, part: str) -> None:
    with pytest.raises(ParameterError) as info:
        check_rows_syntax(spec)  # needs no data: refused before any work
    assert str(info.value) == f"'rows' {spec!r}: {part!r} {PROBLEM}"
    assert info.value.parameters == ("rows",)
    with pytest.raises(ParameterError):
        parse_rows(spec, 100)


def test_rows_past_the_end() -> None:
    with pytest.raises(
        InputDataError, match=r"^rows 0:500 reach past the end: the data has 10 rows \(0 to 9\)$"
    ):
        parse_rows("0:500", 10)
    with pytest.raises(InputDataError, match=r"^row 999 is out of range: the data has 10 rows"):
        parse_rows("3,999", 10)
    with pytest.raises(InputDataError, match=r"^rows 12: reach past the end: t.csv has 10 rows"):
        parse_row_spec("12:").resolve(10, source="t.csv")


def test_membership_without_the_data() -> None:
    spec = parse_row_spec("1,5:7,20:")
    assert [r for r in range(30) if r in spec] == [1, 5, 6, *range(20, 30)]
    assert "1" not in spec
    listed = RowSpec.of_rows([4, 2, 4])
    assert listed.resolve(5) == [4, 2] and 2 in listed and 3 not in listed


def test_the_error_survives_pickling() -> None:  # batch workers send errors back pickled
    with pytest.raises(ParameterError) as info:
        check_rows_syntax("0:x")
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == str(info.value) and again.parameters == ("rows",)

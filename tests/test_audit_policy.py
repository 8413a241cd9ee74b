"""Policy files: strict checking, with messages naming the key and the line (exit code 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from limecli.audit import PolicyError, load_policy
from tests.conftest import ROOT

LOANS = f"""
[model]
path = '{ROOT}/sample_models/loans_pipeline.joblib'

[data]
kind = "tabular"
path = '{ROOT}/sample_data/loans_test.csv'
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "audit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, start: str, nth: int = 0) -> int:
    """The 1-based number of the ``nth`` line of ``text`` starting with ``start``."""
    numbers = [i for i, line in enumerate(text.splitlines(), start=1) if line.startswith(start)]
    return numbers[nth]


def policy_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(PolicyError) as info:
        load_policy(write(tmp_path, text))
    return str(info.value)


def test_a_good_policy_reads_with_defaults(tmp_path: Path) -> None:
    policy = load_policy(
        write(
            tmp_path,
            LOANS
            + """
[[rules]]
id = "r"
type = "forbidden_features"
features = ["age"]
patterns = ["^reg"]
""",
        )
    )
    assert policy.kind == "tabular"
    assert policy.explainer["num_samples"] == 5000 and policy.explainer["seed"] == 0
    rule = policy.rules[0]
    assert rule.severity == "error" and rule.options["max_fraction"] == 0.0
    assert rule.options["top_k"] == 10  # defaults to num_features
    assert rule.options["features"].matches("region") and not rule.options["features"].matches(
        "income"
    )
    assert policy.folder == tmp_path.resolve()


def test_unknown_rule_type_names_key_line_and_suggests(tmp_path: Path) -> None:
    text = LOANS + '\n[[rules]]\nid = "r"\ntype = "forbiden_features"\nfeatures = ["age"]\n'
    message = policy_error(tmp_path, text)
    assert "rules[0].type" in message
    assert f"line {line_of(text, 'type =')}:" in message
    assert "did you mean 'forbidden_features'" in message


def test_wrong_type_names_key_and_line(tmp_path: Path) -> None:
    text = (
        LOANS
        + '\n[[rules]]\nid = "a"\ntype = "min_fidelity"\nmin_r2 = 0.5\nmax_fraction = 0.1\n'
        + '\n[[rules]]\nid = "b"\ntype = "forbidden_features"\nfeatures = ["age"]\n'
        + 'max_fraction = "high"\n'
    )
    message = policy_error(tmp_path, text)
    assert "rules[1].max_fraction" in message
    assert "expected a number, got a string ('high')" in message
    assert f"line {line_of(text, 'max_fraction', nth=1)}:" in message


def test_fraction_out_of_range(tmp_path: Path) -> None:
    message = policy_error(
        tmp_path,
        LOANS
        + '[[rules]]\nid = "b"\ntype = "forbidden_features"\nfeatures = ["age"]\nmax_fraction = 1.5\n',
    )
    assert "rules[0].max_fraction: expected a fraction from 0 to 1, got 1.5" in message


def test_missing_key_names_the_rule(tmp_path: Path) -> None:
    text = LOANS + '\n[[rules]]\nid = "fit"\ntype = "min_fidelity"\n'
    message = policy_error(tmp_path, text)
    assert "rules[0]: missing key 'min_r2'" in message
    assert f"line {line_of(text, '[[rules]]')}:" in message  # the rule's header


def test_missing_table(tmp_path: Path) -> None:
    message = policy_error(tmp_path, '[data]\nkind = "text"\npath = "x"\n')
    assert "missing table 'model'" in message


def test_unknown_key_is_rejected_with_suggestion(tmp_path: Path) -> None:
    text = (
        LOANS + '[[rules]]\nid = "b"\ntype = "forbidden_features"\nfeatures = ["age"]\n'
        "max_fracton = 0.1\n"
    )
    message = policy_error(tmp_path, text)
    assert "rules[0].max_fracton: unknown key (did you mean 'max_fraction'?)" in message
    assert f"line {line_of(text, 'max_fracton')}:" in message


def test_unknown_top_level_table(tmp_path: Path) -> None:
    message = policy_error(tmp_path, LOANS + "[explainr]\nseed = 1\n")
    assert "explainr: unknown key (did you mean 'explainer'?)" in message


def test_toml_syntax_error_has_line_number(tmp_path: Path) -> None:
    message = policy_error(tmp_path, '[model]\npath = "m.joblib"\n[data\nkind = "text"\n')
    assert "is not valid TOML" in message
    assert "line 3" in message


def test_top_k_beyond_num_features(tmp_path: Path) -> None:
    message = policy_error(
        tmp_path,
        LOANS
        + '[explainer]\nnum_features = 4\n[[rules]]\nid = "r"\ntype = "required_features"\n'
        + 'features = ["income"]\ntop_k = 5\n',
    )
    assert "rules[0].top_k: top_k is 5 but explanations hold explainer.num_features = 4" in message


def test_duplicate_ids_and_bad_regex_and_empty_rules(tmp_path: Path) -> None:
    rule = '[[rules]]\nid = "same"\ntype = "min_fidelity"\nmin_r2 = 0.1\n'
    assert "rules[1].id: id 'same' is already used by rules[0]" in policy_error(
        tmp_path, LOANS + rule + rule
    )
    message = policy_error(
        tmp_path,
        LOANS + '[[rules]]\nid = "r"\ntype = "forbidden_features"\npatterns = ["(unclosed"]\n',
    )
    assert "rules[0].patterns" in message and "not a valid regular expression" in message
    assert "the policy has no rules" in policy_error(tmp_path, LOANS)


def test_rule_specific_checks(tmp_path: Path) -> None:
    bounds = '[[rules]]\nid = "w"\ntype = "weight_bounds"\nfeature = "income"\n'
    assert "needs min, max or sign" in policy_error(tmp_path, LOANS + bounds)
    assert "min is larger than max" in policy_error(tmp_path, LOANS + bounds + "min = 1\nmax = 0\n")
    assert "unknown value 'up'" in policy_error(tmp_path, LOANS + bounds + 'sign = "up"\n')
    assert "an R² is at most 1" in policy_error(
        tmp_path, LOANS + '[[rules]]\nid = "f"\ntype = "min_fidelity"\nmin_r2 = 2\n'
    )
    assert "missing key 'baseline'" in policy_error(
        tmp_path, LOANS + '[[rules]]\nid = "d"\ntype = "drift"\nmin_jaccard = 0.5\n'
    )
    assert "values filters go with tabular data" in policy_error(
        tmp_path,
        '[model]\npath = "m"\n[data]\nkind = "text"\npath = "t"\n[[rules]]\nid = "f"\n'
        'type = "min_fidelity"\nmin_r2 = 0.1\nwhere = { values = { a = 1 } }\n',
    )
    assert "rules[0].where.rows" in policy_error(
        tmp_path,
        LOANS
        + '[[rules]]\nid = "f"\ntype = "min_fidelity"\nmin_r2 = 0.1\nwhere = { rows = "a:b" }\n',
    )


def test_missing_and_non_utf8_policy_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="policy file not found"):
        load_policy(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe[model]")
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(bad)


def test_cli_bad_policy_is_one_line_exit_2(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, LOANS + '\n[[rules]]\nid = "r"\ntype = "nonsense"\n')
    result = run_cli("audit", path, "-q")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "rules[0].type: unknown value 'nonsense'" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("rows", "expected"),
    [("5:", "5:"), (":3", ":3"), ("0:10,42", "0:10,42"), ("[3, 7, 3]", None)],
)
def test_data_rows_take_what_rows_takes(tmp_path: Path, rows: str, expected: str | None) -> None:
    value = rows if rows.startswith("[") else f'"{rows}"'
    policy = load_policy(
        write(
            tmp_path,
            LOANS.replace('kind = "tabular"', f'kind = "tabular"\nrows = {value}')
            + '[[rules]]\nid = "f"\ntype = "min_fidelity"\nmin_r2 = 0.1\n'
            + f"where = {{ rows = {value} }}\n",
        )
    )
    from limecli.inputs.rows import parse_row_spec

    spec = policy.data_options["rows"]
    assert policy.rules[0].where.rows == spec
    if expected is not None:
        assert spec == parse_row_spec(expected)
    else:
        assert spec.resolve(10) == [3, 7]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ('"5:2"', "data.rows: '5:2' is not a row number or START:STOP range (0-based, e.g. 0:500"),
        ('"0:x"', "data.rows: '0:x' is not a row number or START:STOP range"),
        ('"3,"', "data.rows: '' is not a row number"),
        ("[1, -2]", "data.rows: expected row numbers (0-based), got an array"),
        ("1.5", 'data.rows: expected a row spec such as "0:50" or an array, got a number (1.5)'),
    ],
)
def test_bad_data_rows(tmp_path: Path, rows: str, message: str) -> None:
    text = LOANS.replace('kind = "tabular"', f'kind = "tabular"\nrows = {rows}') + (
        '[[rules]]\nid = "f"\ntype = "min_fidelity"\nmin_r2 = 0.1\n'
    )
    error = policy_error(tmp_path, text)
    assert message in error
    assert f"line {line_of(text, 'rows =')}:" in error

"""Reading and checking an audit policy file (TOML, read with the standard library's tomllib).

A policy names the model, the data to explain, the explainer settings and the
rules. Checking is strict: an unknown table or key, a value of the wrong type,
a missing key or an unknown rule type stops the audit before any work with one
message naming the key (``rules[2].max_fraction``) and, where it can be found,
the line. Paths inside a policy are relative to the policy file's folder.

See the README, "limecli audit", for the whole format.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from limecli.errors import ParameterError

KINDS = ("tabular", "text", "image")
SEVERITIES = ("error", "warning")
SIGNS = ("positive", "negative", "nonnegative", "nonpositive")
RULE_TYPES = (
    "forbidden_features",
    "required_features",
    "weight_bounds",
    "min_fidelity",
    "drift",
)
FEATURE_SELECTIONS = ("auto", "forward", "highest_weights", "lasso_path", "none")
DISCRETIZERS = ("quartile", "decile", "entropy", "none")


class PolicyError(ParameterError):
    """The policy file cannot be read or breaks the format (exit code 2)."""


# -- the checked policy ------------------------------------------------------------------------
@dataclass
class RowFilter:
    """Which explained inputs a rule looks at (all of them when every field is empty)."""

    predicted: list[str] | None = None
    rows: list[int] | None = None
    source: str | None = None
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return (
            self.predicted is None and self.rows is None and self.source is None and not self.values
        )


@dataclass
class FeatureSet:
    """Features named exactly and/or matched by regular expressions (``re.search``)."""

    names: list[str]
    patterns: list[re.Pattern[str]]
    ignore_case: bool = False

    def matches(self, feature: Any) -> bool:
        text = str(feature)
        if self.ignore_case:
            folded = text.casefold()
            if any(folded == n.casefold() for n in self.names):
                return True
        elif text in self.names:
            return True
        return any(p.search(text) for p in self.patterns)

    def describe(self) -> str:
        parts = [repr(n) for n in self.names] + [f"/{p.pattern}/" for p in self.patterns]
        return ", ".join(parts)


@dataclass
class Rule:
    """One rule: common fields plus the type's own settings in ``options``."""

    index: int
    id: str
    type: str
    severity: str
    description: str | None
    label: str | None
    where: RowFilter
    options: dict[str, Any]

    @property
    def where_path(self) -> str:
        return f"rules[{self.index}]"


@dataclass
class Policy:
    path: Path
    folder: Path
    model: str
    mode: str | None
    class_names: list[str] | None
    kind: str
    data: str  # as written in the policy (relative to ``folder``); identities use it
    data_options: dict[str, Any]
    explainer: dict[str, Any]
    rules: list[Rule]

    def resolve(self, path: str) -> Path:
        """A path named in the policy, relative to the policy's folder unless absolute."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.folder / p

    @property
    def seed(self) -> int:
        return int(self.explainer["seed"])

    def labels_needed(self) -> list[str]:
        """Labels to explain: those the explainer section names, then those rules name."""
        out = list(self.explainer.get("labels") or [])
        for rule in self.rules:
            if rule.label is not None and rule.label not in out:
                out.append(rule.label)
        return out


# -- reading ---------------------------------------------------------------------------------
def load_policy(path: str | Path) -> Policy:
    """Read and check a policy file; :class:`PolicyError` (exit 2) for anything wrong."""
    import tomllib

    path = Path(path)
    if not path.exists():
        raise PolicyError(f"policy file not found: {path}")
    if path.is_dir():
        raise PolicyError(f"{path} is a folder, not a policy file")
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as e:
        raise PolicyError(f"cannot read policy file {path}: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise PolicyError(f"{path} is not UTF-8 text (byte {e.start}): is it a policy file?") from e
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(f"{path} is not valid TOML: {e}") from None
    return parse_policy(document, path, text)


def parse_policy(document: dict[str, Any], path: Path, text: str = "") -> Policy:
    """Check a parsed policy document (``text``, the source, only locates lines in messages)."""
    checker = _Checker(path, text)
    top = _Table(checker, document, "")
    top.known = ["model", "data", "explainer", "rules"]
    top.reject_unknown()
    model = top.required_table("model")
    data = top.required_table("data")
    explainer = top.table("explainer", required=False)
    rules = top.array_of_tables("rules")
    top.done()

    model_path = model.string("path", required=True)
    mode = model.choice("mode", ("classification", "regression"))
    class_names = model.string_list("class_names")
    model.done()

    kind = data.choice("kind", KINDS, required=True)
    assert kind is not None
    data_path = data.string("path", required=True)
    assert data_path is not None and model_path is not None
    data_options: dict[str, Any] = {}
    if kind == "tabular":
        data_options["rows"] = data.rows("rows")
        data_options["train"] = data.string("train")
        data_options["target"] = data.string("target")
        data_options["categorical"] = data.string_list("categorical") or []
    elif kind == "text":
        data_options["column"] = data.string("column")
        data_options["rows"] = data.rows("rows")
        if data_options["rows"] is not None and data_options["column"] is None:
            checker.fail("data.rows", "rows go with column (a table of texts)")
        data_options["encoding"] = data.string("encoding")
        data_options["extensions"] = data.string_list("extensions")
        data_options["recursive"] = data.boolean("recursive", False)
    else:
        data_options["extensions"] = data.string_list("extensions")
        data_options["recursive"] = data.boolean("recursive", False)
        data_options["resize"] = data.string("resize")
    data.done()

    settings = _explainer_settings(explainer or _Table(checker, {}, "explainer"), kind)
    parsed_rules = [_rule(table, i, kind, settings) for i, table in enumerate(rules)]
    if not parsed_rules:
        checker.fail("rules", "the policy has no rules: add at least one [[rules]] table")
    seen: dict[str, int] = {}
    for rule in parsed_rules:
        if rule.id in seen:
            checker.fail(
                f"{rule.where_path}.id",
                f"id {rule.id!r} is already used by rules[{seen[rule.id]}]",
            )
        seen[rule.id] = rule.index
    return Policy(
        path=path,
        folder=path.resolve().parent,
        model=model_path,
        mode=mode,
        class_names=class_names,
        kind=kind,
        data=data_path,
        data_options=data_options,
        explainer=settings,
        rules=parsed_rules,
    )


def _explainer_settings(table: _Table, kind: str) -> dict[str, Any]:
    defaults = {"tabular": (5000, 10), "text": (5000, 10), "image": (1000, 5)}[kind]
    out: dict[str, Any] = {
        "num_samples": table.integer("num_samples", defaults[0], minimum=2),
        "num_features": table.integer("num_features", defaults[1], minimum=1),
        "seed": table.integer("seed", 0, minimum=0),
        "labels": table.string_list("labels"),
        "feature_selection": table.choice("feature_selection", FEATURE_SELECTIONS) or "auto",
        "batch_size": table.integer("batch_size", None, minimum=1),
        "jobs": table.integer("jobs", 1, minimum=-1),
        "kernel_width": table.number("kernel_width", None, minimum=0, open_min=True),
    }
    if out["jobs"] == 0:
        table.checker.fail("explainer.jobs", "expected a positive number of processes, or -1")
    if kind == "tabular":
        out["discretizer"] = table.choice("discretizer", DISCRETIZERS) or "quartile"
        out["sample_around_instance"] = table.boolean("sample_around_instance", False)
    elif kind == "text":
        out["bow"] = table.boolean("bow", True)
        out["char_level"] = table.boolean("char_level", False)
        out["split_expression"] = table.string("split_expression")
        out["mask_token"] = table.string("mask_token") or "UNKWORDZ"
    else:
        out["segmenter"] = table.choice("segmenter", ("quickshift", "slic", "felzenszwalb"))
    table.done()
    return out


def _rule(table: _Table, index: int, kind: str, settings: dict[str, Any]) -> Rule:
    rule_type = table.choice("type", RULE_TYPES, required=True)
    rule_id = table.string("id", required=True)
    assert rule_type is not None and rule_id is not None
    if not rule_id.strip():
        table.checker.fail(f"{table.where}.id", "the id is empty")
    severity = table.choice("severity", SEVERITIES) or "error"
    description = table.string("description")
    label = table.string("label")
    where = _row_filter(table.table("where", required=False), kind)
    options: dict[str, Any] = {}
    num_features = int(settings["num_features"])
    if rule_type in ("forbidden_features", "required_features"):
        options["features"] = _feature_set(table, required=True)
        options["top_k"] = _top_k(table, num_features)
        if rule_type == "forbidden_features":
            options["max_fraction"] = table.fraction("max_fraction", 0.0)
        else:
            options["min_fraction"] = table.fraction("min_fraction", 1.0)
    elif rule_type == "weight_bounds":
        feature = table.string("feature")
        pattern = table.regex("pattern")
        if (feature is None) == (pattern is None):
            table.checker.fail(
                f"{table.where}.feature",
                "a weight_bounds rule names exactly one of feature (a name) or pattern (a regex)",
            )
        ignore_case = table.boolean("ignore_case", False)
        options["features"] = FeatureSet(
            [feature] if feature is not None else [],
            [pattern] if pattern is not None else [],
            ignore_case,
        )
        options["min"] = table.number("min", None)
        options["max"] = table.number("max", None)
        options["sign"] = table.choice("sign", SIGNS)
        if options["min"] is None and options["max"] is None and options["sign"] is None:
            table.checker.fail(f"{table.where}", "a weight_bounds rule needs min, max or sign")
        if (
            options["min"] is not None
            and options["max"] is not None
            and options["min"] > options["max"]
        ):
            table.checker.fail(f"{table.where}.min", "min is larger than max")
        options["max_fraction"] = table.fraction("max_fraction", 0.0)
    elif rule_type == "min_fidelity":
        r2 = table.number("min_r2", None, required=True)
        assert r2 is not None
        if r2 > 1:
            table.checker.fail(f"{table.where}.min_r2", f"an R² is at most 1, got {r2}")
        options["min_r2"] = r2
        options["max_fraction"] = table.fraction("max_fraction", 0.0)
    else:  # drift
        options["baseline"] = table.string("baseline", required=True)
        options["top_k"] = _top_k(table, num_features)
        options["min_jaccard"] = table.fraction("min_jaccard", None)
        options["sign_flips"] = table.boolean("sign_flips", True)
        options["min_abs_weight"] = table.number("min_abs_weight", 0.01, minimum=0)
        options["features"] = table.string_list("features")
        options["missing_baseline"] = table.choice("missing_baseline", ("error", "skip")) or "error"
        if options["min_jaccard"] is None and not options["sign_flips"]:
            table.checker.fail(
                f"{table.where}", "a drift rule needs min_jaccard, sign_flips = true, or both"
            )
    table.done()
    return Rule(
        index=index,
        id=rule_id,
        type=rule_type,
        severity=severity,
        description=description,
        label=label,
        where=where,
        options=options,
    )


def _feature_set(table: _Table, *, required: bool) -> FeatureSet:
    names = table.string_list("features") or []
    patterns = table.regex_list("patterns")
    ignore_case = table.boolean("ignore_case", False)
    if required and not names and not patterns:
        table.checker.fail(
            f"{table.where}.features",
            "name at least one feature (features = [...]) or regex (patterns = [...])",
        )
    if ignore_case:
        patterns = [re.compile(p.pattern, p.flags | re.IGNORECASE) for p in patterns]
    return FeatureSet(names, patterns, ignore_case)


def _top_k(table: _Table, num_features: int) -> int:
    top_k = table.integer("top_k", num_features, minimum=1)
    assert top_k is not None
    if top_k > num_features:
        table.checker.fail(
            f"{table.where}.top_k",
            f"top_k is {top_k} but explanations hold explainer.num_features = {num_features} "
            "features: raise num_features or lower top_k",
        )
    return top_k


def _row_filter(table: _Table | None, kind: str) -> RowFilter:
    if table is None:
        return RowFilter()
    predicted = table.string_or_list("predicted")
    rows = table.rows("rows")
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


def _value_condition(checker: _Checker, where: str, condition: Any) -> Any:
    if isinstance(condition, dict):
        unknown = [k for k in condition if k not in ("min", "max")]
        if unknown:
            checker.fail(f"{where}.{unknown[0]}", "a range takes min and max only")
        if not condition:
            checker.fail(where, "an empty range: give min, max or both")
        for key, value in condition.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                checker.fail(f"{where}.{key}", f"expected a number, got {_shown(value)}")
        return {"min": condition.get("min"), "max": condition.get("max")}
    if isinstance(condition, list):
        for value in condition:
            if not isinstance(value, (str, int, float)):
                checker.fail(where, f"expected a list of values, got {_shown(value)} in it")
        return list(condition)
    if isinstance(condition, (str, int, float)):
        return condition
    checker.fail(
        where, f"expected a value, a list of values or {{min, max}}, got {_shown(condition)}"
    )
    return None


# -- checking helpers ------------------------------------------------------------------------
class _Checker:
    """Builds messages ``FILE line N: key.path: problem`` (line when it can be found)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def fail(self, where: str, message: str) -> None:
        line = self.locate(where)
        at = f" line {line}" if line is not None else ""
        name = where or "policy"
        raise PolicyError(f"{self.path}{at}: {name}: {message}")

    def locate(self, where: str) -> int | None:
        """Best effort: the line of ``table[i].key`` in a policy written in the usual layout."""
        parts = [p for p in re.split(r"\.(?![^\[]*\])", where) if p]
        if not parts:
            return None
        start = 0
        end = len(self.lines)
        key_parts = parts
        head = parts[0]
        match = re.fullmatch(r"(\w+)\[(\d+)\]", head)
        if match:
            name, number = match.group(1), int(match.group(2))
            headers = [
                i
                for i, line in enumerate(self.lines)
                if re.match(rf"\s*\[\[\s*{re.escape(name)}\s*\]\]", line)
            ]
            if number >= len(headers):
                return None
            start = headers[number]
            end = _next_header(self.lines, start + 1, f"{name}")
            key_parts = parts[1:]
            if not key_parts:
                return start + 1
        elif len(parts) > 1:
            header = next(
                (
                    i
                    for i, line in enumerate(self.lines)
                    if re.match(rf"\s*\[\s*{re.escape(head)}\s*\]", line)
                ),
                None,
            )
            if header is not None:
                start, end = header, _next_header(self.lines, header + 1, None)
                key_parts = parts[1:]
        # Nested tables (rules[0].where.values.x) as [rules.where] headers or inline tables:
        # look for the last key part within the block.
        key = key_parts[-1]
        pattern = re.compile(rf"^\s*(?:[\w\"'.-]+\.)?[\"']?{re.escape(key)}[\"']?\s*=")
        inline = re.compile(rf"[{{,]\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for i in range(start, end):
            if pattern.match(self.lines[i]) or inline.search(self.lines[i]):
                return i + 1
        if len(parts) == 1:
            for i, line in enumerate(self.lines):
                if re.match(rf"\s*\[+\s*{re.escape(key)}\s*\]+", line):
                    return i + 1
        return None


def _next_header(lines: list[str], start: int, subtable_of: str | None) -> int:
    for i in range(start, len(lines)):
        stripped = lines[i].strip()
        if stripped.startswith("["):
            inner = stripped.strip("[] ")
            if (
                subtable_of is not None
                and inner.startswith(subtable_of + ".")
                and not stripped.startswith("[[")
            ):
                continue
            return i
    return len(lines)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean (" + ("true" if value else "false") + ")"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


class _Table:
    """One TOML table being checked; every key read is removed, :meth:`done` rejects the rest."""

    def __init__(self, checker: _Checker, data: dict[str, Any], where: str) -> None:
        self.checker = checker
        self.data = dict(data)
        self.where = where
        self.known: list[str] = []

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _take(self, key: str, required: bool) -> Any:
        self.known.append(key)
        if key not in self.data:
            if required:
                where = self.where or "the policy"
                kind = "table" if not self.where else "key"
                self.checker.fail(self.where, f"missing {kind} '{key}' (required in {where})")
            return None
        return self.data.pop(key)

    def _expect(self, key: str, value: Any, ok: Callable[[Any], bool], what: str) -> None:
        if not ok(value):
            self.checker.fail(self._path(key), f"expected {what}, got {_shown(value)}")

    def table(self, key: str, *, required: bool) -> _Table | None:
        value = self._take(key, required)
        if value is None:
            return None
        self._expect(key, value, lambda v: isinstance(v, dict), "a table")
        return _Table(self.checker, value, self._path(key))

    def required_table(self, key: str) -> _Table:
        table = self.table(key, required=True)
        assert table is not None  # a missing one has failed
        return table

    def array_of_tables(self, key: str) -> list[_Table]:
        value = self._take(key, False)
        if value is None:
            return []
        self._expect(
            key,
            value,
            lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
            "an array of tables ([[rules]])",
        )
        return [_Table(self.checker, v, f"{self._path(key)}[{i}]") for i, v in enumerate(value)]

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self._take(key, required)
        if value is None:
            return default
        self._expect(key, value, lambda v: isinstance(v, str), "a string")
        return str(value)

    def choice(self, key: str, choices: tuple[str, ...], *, required: bool = False) -> str | None:
        value = self.string(key, required=required)
        if value is not None and value not in choices:
            hint = difflib.get_close_matches(value, choices, n=1)
            maybe = f" (did you mean {hint[0]!r}?)" if hint else ""
            self.checker.fail(
                self._path(key),
                f"unknown value {value!r}{maybe}: expected one of {', '.join(choices)}",
            )
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._take(key, False)
        if value is None:
            return default
        self._expect(key, value, lambda v: isinstance(v, bool), "true or false")
        return bool(value)

    def integer(self, key: str, default: int | None, *, minimum: int | None = None) -> int | None:
        value = self._take(key, False)
        if value is None:
            return default
        self._expect(
            key, value, lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"
        )
        if minimum is not None and value < minimum:
            self.checker.fail(self._path(key), f"expected at least {minimum}, got {value}")
        return int(value)

    def number(
        self,
        key: str,
        default: float | None,
        *,
        required: bool = False,
        minimum: float | None = None,
        open_min: bool = False,
    ) -> float | None:
        value = self._take(key, required)
        if value is None:
            return default
        self._expect(
            key,
            value,
            lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "a number",
        )
        number = float(value)
        if not math.isfinite(number):
            self.checker.fail(self._path(key), f"expected a finite number, got {value}")
        if minimum is not None and (number < minimum or (open_min and number == minimum)):
            bound = "above" if open_min else "at least"
            self.checker.fail(self._path(key), f"expected a number {bound} {minimum}, got {value}")
        return number

    def fraction(self, key: str, default: float | None) -> float | None:
        value = self.number(key, default)
        if value is not None and not 0.0 <= value <= 1.0:
            self.checker.fail(self._path(key), f"expected a fraction from 0 to 1, got {value:g}")
        return value

    def string_list(self, key: str) -> list[str] | None:
        value = self._take(key, False)
        if value is None:
            return None
        self._expect(
            key,
            value,
            lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
            "an array of strings",
        )
        return [str(x) for x in value]

    def string_or_list(self, key: str) -> list[str] | None:
        value = self._take(key, False)
        if value is None:
            return None
        if isinstance(value, str):
            return [value]
        self._expect(
            key,
            value,
            lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
            "a string or an array of strings",
        )
        return [str(x) for x in value]

    def regex(self, key: str) -> re.Pattern[str] | None:
        value = self.string(key)
        if value is None:
            return None
        return self._compile(key, value)

    def regex_list(self, key: str) -> list[re.Pattern[str]]:
        return [self._compile(key, v) for v in self.string_list(key) or []]

    def _compile(self, key: str, value: str) -> re.Pattern[str]:
        try:
            return re.compile(value)
        except re.error as e:
            self.checker.fail(self._path(key), f"{value!r} is not a valid regular expression: {e}")
            raise AssertionError from e  # not reached: fail raises

    def rows(self, key: str) -> list[int] | None:
        """``"0:50"``, ``"3,7,9"`` (as --rows; end excluded) or an array of row numbers."""
        value = self._take(key, False)
        if value is None:
            return None
        if isinstance(value, list):
            self._expect(
                key,
                value,
                lambda v: all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v),
                "row numbers (0-based)",
            )
            return list(dict.fromkeys(int(x) for x in value))
        self._expect(
            key, value, lambda v: isinstance(v, str), 'a row spec such as "0:50" or an array'
        )
        rows: list[int] = []
        for part in str(value).split(","):
            part = part.strip()
            match = re.fullmatch(r"(\d*)\s*:\s*(\d+)|(\d+)", part)
            if not match:
                self.checker.fail(
                    self._path(key),
                    f"{part!r} is not a row number or START:STOP range (0-based, STOP excluded)",
                )
            assert match is not None
            if match.group(3) is not None:
                rows.append(int(match.group(3)))
            else:
                start = int(match.group(1) or 0)
                stop = int(match.group(2))
                if stop < start:
                    self.checker.fail(self._path(key), f"{part!r}: STOP is before START")
                rows.extend(range(start, stop))
        return list(dict.fromkeys(rows))

    def done(self) -> None:
        """Reject the keys nobody read (typos, keys of another rule type)."""
        self.reject_unknown()

    def reject_unknown(self) -> None:
        for key in self.data:
            if key in self.known:
                continue  # declared up front, read later
            hint = difflib.get_close_matches(key, self.known, n=1)
            maybe = f" (did you mean '{hint[0]}'?)" if hint else ""
            where = self.where or "the policy"
            self.checker.fail(
                self._path(key),
                f"unknown key{maybe} in {where}; known keys: {', '.join(dict.fromkeys(self.known))}",
            )

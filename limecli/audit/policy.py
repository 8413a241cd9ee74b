"""Reading and checking an audit policy file (TOML, read with the standard library's tomllib).

A policy names the model, the data to explain, the explainer settings and the
rules. Checking is strict: an unknown table or key, a value of the wrong type,
a missing key or an unknown rule type stops the audit before any work with one
message naming the key (``rules[2].max_fraction``) and, where it can be found,
the line. Paths inside a policy are relative to the policy file's folder.

See docs/audit.md for the whole format.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from limecli.audit.patterns import FeatureSet, check_pattern, read_feature_set
from limecli.audit.toml_schema import Checker, Table
from limecli.audit.where import RowFilter, read_row_filter, read_row_spec
from limecli.config import DISCRETIZERS as CONFIG_DISCRETIZERS
from limecli.config import FEATURE_SELECTIONS, SEGMENTERS
from limecli.errors import ParameterError
from limecli.stability import BLOCKS
from limecli.uncertainty import AUTO_FEATURES_CAP
from limecli.validation import check_sample_memory

KINDS = ("tabular", "text", "image")
SEVERITIES = ("error", "warning")
SIGNS = ("positive", "negative", "nonnegative", "nonpositive")
RULE_TYPES = (
    "forbidden_features",
    "required_features",
    "weight_bounds",
    "min_fidelity",
    "drift",
    "stability",
    "flat_outputs",
)
#: The allowed values are the CLI's (limecli.config); a policy may also say "none".
DISCRETIZERS = (*CONFIG_DISCRETIZERS, "none")
#: Fewer samples than this give no stability figures (limecli.stability splits them into
#: BLOCKS blocks of at least 5), so a stability rule could judge nothing.
STABILITY_MIN_SAMPLES = 5 * BLOCKS


#: Largest policy file read (a policy is a page of TOML).
MAX_POLICY_BYTES = 1024**2


class PolicyError(ParameterError):
    """The policy file cannot be read or breaks the format (exit code 2)."""


# -- the checked policy ------------------------------------------------------------------------
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
    # Standard library from Python 3.11, limecli's floor (requires-python), so no tomli fallback.
    import tomllib

    path = Path(path)
    if not path.exists():
        raise PolicyError(f"policy file not found: {path}")
    if path.is_dir():
        raise PolicyError(f"{path} is a folder, not a policy file")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_POLICY_BYTES + 1)  # /dev/zero or a stream: never whole
        if b"\x00" in raw:
            raise PolicyError(f"{path} is binary (it holds NUL bytes): is it a policy file?")
        if len(raw) > MAX_POLICY_BYTES:
            raise PolicyError(f"{path} is over 1 MiB: is it a policy file?")
        text = raw.decode("utf-8")
    except OSError as e:
        raise PolicyError(f"cannot read policy file {path}: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise PolicyError(f"{path} is not UTF-8 text (byte {e.start}): is it a policy file?") from e
    try:
        return parse_policy(tomllib.loads(text), path, text)
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(f"{path} is not valid TOML: {e}") from None
    except RecursionError:  # the parser recurses per level of nesting; policies use a few
        raise PolicyError(
            f"{path} nests arrays or tables too deeply: is it a policy file?"
        ) from None


def parse_policy(document: dict[str, Any], path: Path, text: str = "") -> Policy:
    """Check a parsed policy document (``text``, the source, only locates lines in messages)."""
    checker = Checker(path, text, error=PolicyError)
    top = Table(checker, document, "")
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
        data_options["rows"] = read_row_spec(data, "rows")
        data_options["train"] = data.string("train")
        data_options["target"] = data.string("target")
        data_options["categorical"] = data.string_list("categorical") or []
        data_options["drop"] = data.string_or_list("drop") or []
    elif kind == "text":
        data_options["column"] = data.string("column")
        data_options["rows"] = read_row_spec(data, "rows")
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

    settings = _explainer_settings(explainer or Table(checker, {}, "explainer"), kind)
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


def _explainer_settings(table: Table, kind: str) -> dict[str, Any]:
    defaults = {"tabular": (5000, 10), "text": (5000, 10), "image": (1000, 5)}[kind]
    out: dict[str, Any] = {
        "num_samples": table.integer("num_samples", defaults[0], minimum=2),
        "num_features": table.integer_or_word("num_features", defaults[1], ("auto",), minimum=1),
        "seed": table.integer("seed", 0, minimum=0),
        "labels": table.string_list("labels"),
        "feature_selection": table.choice("feature_selection", FEATURE_SELECTIONS) or "auto",
        "batch_size": table.integer("batch_size", None, minimum=1),
        "jobs": table.integer("jobs", 1, minimum=-1),
        "kernel_width": table.number("kernel_width", None, minimum=0, open_min=True),
    }
    if out["jobs"] == 0:
        table.checker.fail("explainer.jobs", "expected a positive number of processes, or -1")
    try:  # a bound for any input (one feature), as the explainers check it: before any work
        check_sample_memory(out["num_samples"], 1)
    except ParameterError as e:
        table.checker.fail(
            "explainer.num_samples", str(e).replace("The 'num_samples' parameter ", "")
        )
    if kind == "tabular":
        out["discretizer"] = table.choice("discretizer", DISCRETIZERS) or "quartile"
        out["sample_around_instance"] = table.boolean("sample_around_instance", False)
    elif kind == "text":
        out["bow"] = table.boolean("bow", True)
        out["char_level"] = table.boolean("char_level", False)
        out["split_expression"] = table.string("split_expression")
        out["mask_token"] = table.string("mask_token") or "UNKWORDZ"
    else:
        out["segmenter"] = table.choice("segmenter", SEGMENTERS)
    table.done()
    return out


def _rule(table: Table, index: int, kind: str, settings: dict[str, Any]) -> Rule:
    rule_type = table.choice("type", RULE_TYPES, required=True)
    rule_id = table.string("id", required=True)
    assert rule_type is not None and rule_id is not None
    if not rule_id.strip():
        table.checker.fail(f"{table.where}.id", "the id is empty")
    severity = table.choice("severity", SEVERITIES) or "error"
    description = table.string("description")
    label = table.string("label")
    where = read_row_filter(table.table("where", required=False), kind)
    options: dict[str, Any] = {}
    num_features: int | str = settings["num_features"]
    if rule_type in ("forbidden_features", "required_features"):
        options["features"] = read_feature_set(table, required=True)
        options["top_k"] = _top_k(table, num_features)
        if rule_type == "forbidden_features":
            options["max_fraction"] = table.fraction("max_fraction", 0.0)
        else:
            options["min_fraction"] = table.fraction("min_fraction", 1.0)
    elif rule_type == "weight_bounds":
        feature = table.string("feature")
        pattern = table.regex("pattern")
        check_pattern(table, "pattern", pattern)
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
    elif rule_type == "stability":
        if num_features == "auto" and "top_k" not in table.data:
            table.checker.fail(
                f"{table.where}",
                'with num_features = "auto" a stability rule names top_k: how many of the top '
                "ranks must be settled",
            )
        options["top_k"] = _top_k(table, num_features)
        options["max_fraction"] = table.fraction("max_fraction", 0.0)
        if settings["num_samples"] < STABILITY_MIN_SAMPLES:
            table.checker.fail(
                f"{table.where}.type",
                f"a stability rule needs explainer.num_samples >= {STABILITY_MIN_SAMPLES} "
                f"(got {settings['num_samples']}): fewer samples give no stability figures",
            )
    elif rule_type == "flat_outputs":
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


def _top_k(table: Table, num_features: int | str) -> int:
    if num_features == "auto":
        # Explanations hold at most the cap's features, often fewer.
        top_k = table.integer("top_k", AUTO_FEATURES_CAP, minimum=1)
        assert top_k is not None
        if top_k > AUTO_FEATURES_CAP:
            table.checker.fail(
                f"{table.where}.top_k",
                f'top_k is {top_k} but with explainer.num_features = "auto" explanations hold '
                f"at most {AUTO_FEATURES_CAP} features: lower top_k",
            )
        return top_k
    assert isinstance(num_features, int)
    top_k = table.integer("top_k", num_features, minimum=1)
    assert top_k is not None
    if top_k > num_features:
        table.checker.fail(
            f"{table.where}.top_k",
            f"top_k is {top_k} but explanations hold explainer.num_features = {num_features} "
            "features: raise num_features or lower top_k",
        )
    return top_k

"""An audit's reports: a terminal table, JSON, JUnit XML and Markdown (GitHub step summary).

Every report lists each rule's outcome and, for a rule that failed, the
offending inputs with the reason and their top features (the explanation
that shows the problem). JSON and JUnit list every offender; the table and
Markdown show the first ``show`` per rule and say how many more there are.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from limecli.audit.items import FAILED, PASSED, SKIPPED, Offender, RuleResult, describe_input
from limecli.jsonable import jsonable
from limecli.render.terminal import json_printable, printable

if TYPE_CHECKING:
    from limecli.audit import AuditResult

#: Offending inputs shown per rule in the table and in Markdown.
DEFAULT_SHOW = 10


def outcome(result: RuleResult) -> str:
    """PASS, FAIL (an error rule failed), WARN (a warning rule failed) or SKIP."""
    if result.status == PASSED:
        return "PASS"
    if result.status == SKIPPED:
        return "SKIP"
    return "FAIL" if result.rule.severity == "error" else "WARN"


def _features_text(offender: Offender, limit: int = 5) -> str:
    if not offender.features:
        return "(no features)"  # a flat output, or none distinguishable from zero
    return ", ".join(
        f"{f['feature']} {f['weight']:+.4f}"
        if f["name"] == str(f["feature"])
        else f"{f['name']} {f['weight']:+.4f}"
        for f in offender.features[:limit]
    )


# -- JSON ----------------------------------------------------------------------------------------
def render_json(result: AuditResult) -> str:
    return (
        json_printable(json.dumps(jsonable(result.to_dict()), indent=2, ensure_ascii=False)) + "\n"
    )


# -- terminal ------------------------------------------------------------------------------------
#: The table's columns: header, justify, and whether its cells are numbers (never cut).
TABLE_COLUMNS = (
    ("Result", "left"),
    ("Rule", "left"),
    ("Type", "left"),
    ("Severity", "left"),
    ("Checked", "right"),
    ("Offending", "right"),
)
#: A rule id cut shorter than this no longer says which rule (the lines under the table
#: name each rule whole).
MIN_RULE_WIDTH = 12
#: Columns given up, in this order, when the table is still too wide with ids cut.
DROPPABLE = ("Type", "Severity")
GAP = 2  # rich's collapsed padding plus the divider


def render_table(
    result: AuditResult, *, color: bool = False, width: int | None = None, show: int = DEFAULT_SHOW
) -> str:
    """The summary table and one line per rule (and its offenders) for a terminal or a log.

    ``width``: the console's columns (default ``$COLUMNS``); the table's rows are one line
    each at any width (rule ids cut with an ellipsis, then the Type and Severity columns
    dropped), numbers are never cut, and the lines under it wrap between words. Without
    a width or ``$COLUMNS`` (a log), the lines stay whole, to be grepped.
    """
    from rich.console import Console

    from limecli.render.terminal_layout import DEFAULT_WIDTH, columns_env

    wrap_at = width or columns_env()
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=wrap_at or DEFAULT_WIDTH,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        emoji=False,
    )

    def line(text: str, style: str = "", indent: str = "") -> None:
        # Names from the policy or the data may hold control characters: escaped.
        for part in _wrapped(printable(text), wrap_at, indent):
            console.print(Text(part, style=style), soft_wrap=True)

    from rich.text import Text

    policy = result.policy
    line(f"audit {policy.path}  ·  model {policy.model}")
    line(
        f"{policy.kind} data {policy.data}  ·  {len(result.items)} inputs  ·  seed {policy.seed}"
        f"  ·  {policy.explainer['num_samples']} samples"
    )
    styles = {"PASS": "green", "FAIL": "bold red", "WARN": "yellow", "SKIP": "dim"}
    console.print(_rules_table(result, console.width, styles))
    for r in result.rules:
        mark = outcome(r)
        line(f"{mark} {r.rule.id}: {r.message}", styles[mark], indent="     ")
        if r.status != FAILED or not r.offenders:
            continue
        for offender in r.offenders[:show]:
            where = describe_input(offender.input)
            line(f"  {where} (predicted {offender.prediction})", indent="    ")
            line(f"      {offender.reason}", indent="      ")
            line(f"      top for {offender.label!r}: {_features_text(offender)}", indent="        ")
        if len(r.offenders) > show:
            line(f"  ... and {len(r.offenders) - show} more (all in --json/--junit)", indent="    ")
    line(result.verdict(), "bold green" if result.passed else "bold red")
    return buffer.getvalue()


def _rules_table(result: AuditResult, width: int, styles: dict[str, str]) -> Any:
    """One row per rule, each on one line within ``width`` columns."""
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    rows = [
        {
            "Result": outcome(r),
            "Rule": printable(r.rule.id),
            "Type": r.rule.type,
            "Severity": r.rule.severity,
            "Checked": str(r.checked),
            "Offending": str(len(r.offenders)),
        }
        for r in result.rules
    ]
    natural = {
        name: max([cell_len(name), *(cell_len(row[name]) for row in rows)])
        for name, _ in TABLE_COLUMNS
    }
    shown = [name for name, _ in TABLE_COLUMNS]

    def others() -> int:
        return sum(natural[n] for n in shown if n != "Rule") + GAP * (len(shown) - 1)

    for name in DROPPABLE:
        if others() + min(natural["Rule"], MIN_RULE_WIDTH) <= width:
            break
        shown.remove(name)
    rule_width = max(min(natural["Rule"], width - others()), min(natural["Rule"], 4))
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for name, justify in TABLE_COLUMNS:
        if name in shown:
            table.add_column(
                name,
                justify=justify,  # type: ignore[arg-type]
                no_wrap=True,
                overflow="ellipsis",
                max_width=rule_width if name == "Rule" else None,
            )
    for row in rows:
        cells = [
            Text(row[name], style=styles[row["Result"]] if name == "Result" else "")
            for name in shown  # Text: a [tag] in an id is no markup
        ]
        table.add_row(*cells)
    return table


def _wrapped(text: str, width: int | None, indent: str) -> list[str]:
    """``text`` as lines of at most ``width`` columns, broken between words only (a path or
    a number longer than a line stays whole); one line when ``width`` is None."""
    if width is None or len(text) <= width:
        return [text]
    import textwrap

    lead = text[: len(text) - len(text.lstrip(" "))]
    return textwrap.wrap(
        text,
        width,
        initial_indent="",
        subsequent_indent=indent or lead,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [text]


# -- JUnit XML -----------------------------------------------------------------------------------
def render_junit(result: AuditResult) -> str:
    """One ``<testsuite>``, one ``<testcase>`` per rule.

    A failed error rule is a ``<failure>``; a failed warning rule passes (it
    must not fail the build) with the offenders in ``<system-out>``; a skipped
    rule is ``<skipped>``. Jenkins, GitLab and GitHub test reporters read it.
    """
    policy = result.policy
    failures = len(result.errors)
    skipped = sum(r.status == SKIPPED for r in result.rules)
    suites = ET.Element("testsuites", name="limecli audit")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"limecli audit {policy.path.name}",
        tests=str(len(result.rules)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("policy", str(policy.path)),
        ("model", policy.model),
        ("data", policy.data),
        ("kind", policy.kind),
        ("inputs", str(len(result.items))),
        ("seed", str(policy.seed)),
    ):
        ET.SubElement(props, "property", name=key, value=value)
    suites.set("tests", str(len(result.rules)))
    suites.set("failures", str(failures))
    suites.set("errors", "0")
    suites.set("skipped", str(skipped))
    for r in result.rules:
        case = ET.SubElement(suite, "testcase", classname=f"audit.{r.rule.type}", name=r.rule.id)
        body = _offenders_text(r)
        if r.status == SKIPPED:
            ET.SubElement(case, "skipped", message=r.message)
        elif r.status == FAILED and r.rule.severity == "error":
            failure = ET.SubElement(case, "failure", message=r.message, type=r.rule.type)
            failure.text = body
        else:
            out = ET.SubElement(case, "system-out")
            prefix = "WARNING (severity warning, not failing the build): " if r.failed else ""
            out.text = prefix + r.message + ("\n" + body if body else "")
    _printable_tree(suites)
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def _printable_tree(root: ET.Element) -> None:
    """Every text and attribute with control characters escaped: XML 1.0 forbids most of
    them (a parser refuses the whole report), and the report may be read on a terminal."""
    for element in root.iter():
        if element.text:
            element.text = printable(element.text)
        for key, value in list(element.attrib.items()):
            element.set(key, printable(value))


def _offenders_text(r: RuleResult) -> str:
    lines = [r.message]
    if r.rule.description:
        lines.append(r.rule.description)
    for offender in r.offenders:
        lines.append(
            f"{describe_input(offender.input)} (predicted {offender.prediction}): {offender.reason}"
        )
        lines.append(f"    top for {offender.label!r}: {_features_text(offender)}")
    return "\n".join(lines)


# -- Markdown ------------------------------------------------------------------------------------
def _md(text: Any) -> str:
    """A table cell: pipes escaped, newlines flattened, HTML-ish characters neutralised,
    control characters escaped."""
    value = printable(text).replace("\\", "\\\\").replace("|", "\\|")
    value = value.replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")
    return " ".join(value.split())


def render_markdown(result: AuditResult, *, show: int = DEFAULT_SHOW) -> str:
    """GitHub-flavoured Markdown for ``$GITHUB_STEP_SUMMARY`` (or a PR comment)."""
    policy = result.policy
    icon = {"PASS": "✅", "FAIL": "❌", "WARN": "⚠️", "SKIP": "⏭️"}
    head = "✅ passed" if result.passed else "❌ failed"
    lines = [
        f"## limecli audit {head}",
        "",
        f"Policy `{_md(policy.path)}` · model `{_md(policy.model)}` · {policy.kind} data "
        f"`{_md(policy.data)}` · {len(result.items)} inputs · seed {policy.seed} · "
        f"{policy.explainer['num_samples']} samples",
        "",
        f"**{_md(result.verdict())}**",
        "",
        "| | Rule | Type | Severity | Checked | Offending | Detail |",
        "|---|---|---|---|---:|---:|---|",
    ]
    for r in result.rules:
        mark = outcome(r)
        lines.append(
            f"| {icon[mark]} {mark} | `{_md(r.rule.id)}` | {r.rule.type} | {r.rule.severity} | "
            f"{r.checked} | {len(r.offenders)} | {_md(r.message)} |"
        )
    for r in result.rules:
        if r.status != FAILED or not r.offenders:
            continue
        lines += [
            "",
            f"### {icon[outcome(r)]} `{_md(r.rule.id)}`: offending inputs",
            "",
        ]
        if r.rule.description:
            lines += [_md(r.rule.description), ""]
        lines += ["| Input | Predicted | Why | Top features |", "|---|---|---|---|"]
        for offender in r.offenders[:show]:
            lines.append(
                f"| {_md(describe_input(offender.input))} | {_md(offender.prediction)} | "
                f"{_md(offender.reason)} | {_md(_features_text(offender))} |"
            )
        if len(r.offenders) > show:
            lines += [
                "",
                f"… and {len(r.offenders) - show} more (all of them in the JSON and JUnit reports).",
            ]
    return "\n".join(lines) + "\n"

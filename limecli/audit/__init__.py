"""``limecli audit``: explanation checks as a CI gate.

A policy file (TOML) names a model, the data to explain, explainer settings
and rules about the explanations (:mod:`limecli.audit.policy`); the inputs
are explained with the batch machinery and a fixed seed
(:mod:`limecli.audit.runner`), the rules judged (:mod:`limecli.audit.rules`)
and the verdict reported (:mod:`limecli.audit.reports`).

From Python::

    from limecli.audit import run_audit
    result = run_audit("examples/audit/tabular_pass.toml")
    result.passed, result.exit_code      # True, 0
    [r.status for r in result.rules]

Exit codes: 0 every error-severity rule passed (failed warnings allowed), 1 an
error-severity rule failed; the tool's own failures keep their codes (2 bad
policy or option, 3 bad data, 4 model cannot be loaded, 5 model call failed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from limecli.audit.drift import read_baselines
from limecli.audit.items import FAILED, PASSED, SKIPPED, AuditItem, RuleResult
from limecli.audit.outputs import check_outputs
from limecli.audit.policy import Policy, PolicyError, Rule, load_policy
from limecli.audit.rules import evaluate_rules

#: Exit code of an audit whose error-severity rule failed.
EXIT_RULE_FAILED = 1


@dataclass
class AuditResult:
    policy: Policy
    items: list[AuditItem]
    rules: list[RuleResult]

    @property
    def errors(self) -> list[RuleResult]:
        """Failed rules of severity error."""
        return [r for r in self.rules if r.failed and r.rule.severity == "error"]

    @property
    def warnings(self) -> list[RuleResult]:
        """Failed rules of severity warning."""
        return [r for r in self.rules if r.failed and r.rule.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.errors

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else EXIT_RULE_FAILED

    def verdict(self) -> str:
        counts = {s: sum(r.status == s for r in self.rules) for s in (PASSED, FAILED, SKIPPED)}
        head = "PASSED" if self.passed else "FAILED"
        parts = [f"{counts[PASSED]} passed"]
        if self.errors:
            parts.append(f"{len(self.errors)} failed")
        if self.warnings:
            parts.append(f"{len(self.warnings)} warning{'s' * (len(self.warnings) != 1)}")
        if counts[SKIPPED]:
            parts.append(f"{counts[SKIPPED]} skipped")
        return (
            f"audit {head}: {', '.join(parts)} ({len(self.rules)} rules, {len(self.items)} inputs)"
        )

    def to_dict(self) -> dict[str, Any]:
        policy = self.policy
        return {
            "audit_version": "1.0",
            "policy": str(policy.path),
            "model": policy.model,
            "kind": policy.kind,
            "data": policy.data,
            "inputs": len(self.items),
            "seed": policy.seed,
            "num_samples": policy.explainer["num_samples"],
            "passed": self.passed,
            "exit_code": self.exit_code,
            "summary": {
                "rules": len(self.rules),
                "passed": sum(r.status == PASSED for r in self.rules),
                "failed": len(self.errors),
                "warnings": len(self.warnings),
                "skipped": sum(r.status == SKIPPED for r in self.rules),
            },
            "rules": [r.to_dict() for r in self.rules],
        }


def run_audit(
    policy: str | Path | Policy,
    *,
    jobs: int | None = None,
    baseline_out: str | Path | None = None,
    force: bool = False,
    on_total: Callable[[int], None] | None = None,
    on_record: Callable[[int], None] | None = None,
) -> AuditResult:
    """Load the policy (a path or a :class:`Policy`), explain its inputs and judge its rules.

    ``baseline_out``: also write the run's explanations there, as the baseline
    of a later drift rule (:func:`write_baseline`; checked before any work).
    """
    from limecli.audit.runner import explain_policy_inputs

    loaded = policy if isinstance(policy, Policy) else load_policy(policy)
    if baseline_out is not None:
        check_outputs(loaded.path, [baseline_out], force=force)
    baselines = read_baselines(loaded)  # before the work: a missing file fails fast
    items = explain_policy_inputs(loaded, jobs=jobs, on_total=on_total, on_record=on_record)
    result = AuditResult(loaded, items, evaluate_rules(loaded, items, baselines=baselines))
    if baseline_out is not None:
        write_baseline(result, baseline_out, force=force)
    return result


def write_baseline(result: AuditResult, path: str | Path, *, force: bool = False) -> None:
    """Write the audit's explanations (JSONL, the JSON contract) as the next run's baseline.

    An existing file is replaced only if limecli wrote it, or with ``force``
    (never the policy file).
    """
    from limecli.atomic import write_atomic

    check_outputs(result.policy.path, [path], force=force)
    text = "".join(item.explanation.to_json(indent=None) + "\n" for item in result.items)
    write_atomic(Path(path), text)


__all__ = [
    "EXIT_RULE_FAILED",
    "AuditItem",
    "AuditResult",
    "Policy",
    "PolicyError",
    "Rule",
    "RuleResult",
    "check_outputs",
    "load_policy",
    "read_baselines",
    "run_audit",
    "write_baseline",
]

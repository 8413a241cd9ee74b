"""The features a rule names: exact names and regular expressions, kept from running away.

Python's ``re`` backtracks: a pattern that nests one repeat inside another
(``(a+)+$``, ``(\\w+\\s?)*$``, ``(.*a){20}``) can take exponential time on a
long feature name (a text's word), and the audit would hang. Two guards:

* when the policy is read, :func:`nested_repeat` finds such a pattern and the
  policy is refused (exit 2): it can be written without the nesting, or with
  the inner repeat possessive (``a++``) or atomic (``(?>a+)``), which never
  backtrack;
* when rules run, :func:`search` gives one search :data:`SEARCH_SECONDS` of
  CPU time (a profiling interval timer interrupts it, in the main thread
  where signals can be used); past it, :class:`PatternTimeout`. This catches what the first guard
  cannot see, such as overlapping alternatives under a repeat (``(a|a)*b``).

A linear-time engine (RE2) would need neither, but it is a compiled
dependency and matches a smaller language (no look-around, no
backreferences), so the same policy would mean different things with and
without it.
"""

from __future__ import annotations

import importlib
import re
import signal
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from limecli.audit.toml_schema import Table
from limecli.errors import ParameterError

#: Longest one search of a feature name may take (seconds of CPU time: a loaded machine
#: does not make a good pattern fail).
SEARCH_SECONDS = 1.0
_REPEATS = ("MAX_REPEAT", "MIN_REPEAT")
NESTED = (
    "repeats a group that holds a repeat itself (as (a+)+ does), which can take exponential "
    "time on a long name (catastrophic backtracking): write it without the nesting, or make "
    "the inner repeat possessive (a++) or atomic ((?>a+))"
)


class PatternTimeout(ParameterError):
    """A pattern ran past :data:`SEARCH_SECONDS` on one feature name (exit 2, a policy error)."""


class _Expired(Exception):
    """Raised by the timer's signal handler inside a search."""


@dataclass
class FeatureSet:
    """Features named exactly and/or matched by regular expressions (``re.search``)."""

    names: list[str]
    patterns: list[re.Pattern[str]]
    ignore_case: bool = False
    #: Answers so far by feature: an audit asks about the same names again and again.
    _seen: dict[str, bool] = field(default_factory=dict, repr=False, compare=False)

    def matches(self, feature: Any) -> bool:
        text = str(feature)
        if text not in self._seen:
            self._seen[text] = self._matches(text)
        return self._seen[text]

    def _matches(self, text: str) -> bool:
        if self.ignore_case:
            folded = text.casefold()
            if any(folded == n.casefold() for n in self.names):
                return True
        elif text in self.names:
            return True
        return any(search(p, text) for p in self.patterns)

    def describe(self) -> str:
        parts = [repr(n) for n in self.names] + [f"/{p.pattern}/" for p in self.patterns]
        return ", ".join(parts)


def read_feature_set(table: Table, *, required: bool) -> FeatureSet:
    """A rule's ``features`` (names), ``patterns`` (regexes) and ``ignore_case``."""
    names = table.string_list("features") or []
    patterns = table.regex_list("patterns")
    for pattern in patterns:
        check_pattern(table, "patterns", pattern)
    ignore_case = table.boolean("ignore_case", False)
    if required and not names and not patterns:
        table.checker.fail(
            f"{table.where}.features",
            "name at least one feature (features = [...]) or regex (patterns = [...])",
        )
    if ignore_case:
        patterns = [re.compile(p.pattern, p.flags | re.IGNORECASE) for p in patterns]
    return FeatureSet(names, patterns, ignore_case)


def check_pattern(table: Table, key: str, pattern: re.Pattern[str] | None) -> None:
    """A policy error (naming the key and line) for a pattern :func:`nested_repeat` finds."""
    if pattern is not None and nested_repeat(pattern.pattern):
        table.checker.fail(table.path(key), f"/{pattern.pattern}/ {NESTED}")


def nested_repeat(pattern: str) -> bool:
    """Whether ``pattern`` repeats a group that holds a repeat itself (``(a+)+``, ``(.*a){3}``),
    outside possessive repeats and atomic groups. False if it cannot be analysed."""
    try:
        parser: Any = importlib.import_module("re._parser")
    except ImportError:  # before Python 3.11
        return False
    try:
        parsed = parser.parse(pattern)
    except (re.error, RecursionError):
        return False  # compiled already: an analysis failure only skips this guard
    return _nested(parsed, inside=False)


def _nested(items: Iterable[Any], *, inside: bool) -> bool:
    """Whether ``items`` hold a repeat of variable length (``+``, ``*``, ``{1,5}``) inside a
    repeat (``inside``, or one of theirs): its iterations could be split many ways."""
    for op, av in items:
        name = str(op)
        if name in _REPEATS:
            low, high, body = av
            if inside and low < high and high > 1:
                return True
            if _nested(body, inside=inside or high > 1):
                return True
            continue
        for child, within in _children(name, av, inside):
            if _nested(child, inside=within):
                return True
    return False


def _children(name: str, av: Any, inside: bool) -> list[tuple[Any, bool]]:
    """The sub-patterns of one node, each with whether it sits inside a repeat."""
    if name == "SUBPATTERN":
        return [(av[-1], inside)]
    if name == "BRANCH":
        return [(branch, inside) for branch in av[1]]
    if name in ("ASSERT", "ASSERT_NOT"):
        return [(av[1], inside)]
    if name == "GROUPREF_EXISTS":
        return [(branch, inside) for branch in av[1:] if branch is not None]
    # What an atomic group or a possessive repeat matched is never given back: an outer
    # repeat cannot split it again, though its own content is checked afresh.
    if name == "ATOMIC_GROUP":
        return [(av, False)]
    if name == "POSSESSIVE_REPEAT":
        return [(av[2], False)]
    return []


def search(pattern: re.Pattern[str], text: str, seconds: float = SEARCH_SECONDS) -> bool:
    """Whether ``pattern`` is found in ``text``; :class:`PatternTimeout` past ``seconds``.

    The timer needs SIGPROF (Unix), the main thread, and no profiling timer of
    someone else's running; otherwise the search runs unguarded (the check when the
    policy is read still applies).
    """
    guarded = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_PROF)[0] == 0
    )
    if not guarded:
        return pattern.search(text) is not None

    def expire(signum: int, frame: Any) -> None:
        raise _Expired

    # The re engine checks for signals as it backtracks, so the handler interrupts it.
    previous = signal.signal(signal.SIGPROF, expire)
    try:
        signal.setitimer(signal.ITIMER_PROF, seconds)
        try:
            return pattern.search(text) is not None
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
    except _Expired:
        shown = text if len(text) <= 40 else f"{text[:37]}..."
        raise PatternTimeout(
            f"the pattern /{pattern.pattern}/ took over {seconds:g} s of CPU time on the feature "
            f"{shown!r} (catastrophic backtracking: overlapping alternatives or repeats under a "
            "repeat); "
            "simplify it"
        ) from None
    finally:
        signal.signal(signal.SIGPROF, previous if previous is not None else signal.SIG_DFL)

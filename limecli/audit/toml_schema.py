"""A checked reader for TOML documents, with messages that name the key and its line.

Each :class:`Table` wraps one TOML table: every key read is removed and typed
(string, choice, integer, number, fraction, lists, regexes, sub-tables);
:meth:`Table.done` rejects the keys nobody read, with a "did you mean" hint.
A problem stops the read with one message ``FILE line N: key.path: problem``
(:class:`Checker`), the line found in the source text where it can be.
Nothing here knows what the document means: :mod:`limecli.audit.policy` does.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from limecli.errors import ParameterError


class Checker:
    """Builds messages ``FILE line N: key.path: problem`` (line when it can be found)."""

    def __init__(
        self,
        path: Path,
        text: str,
        *,
        error: type[ParameterError] = ParameterError,
        document: str = "policy",
    ) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.error = error  # raised by fail()
        self.document = document  # what the file is, in messages ("policy")

    def fail(self, where: str, message: str) -> NoReturn:
        line = self.locate(where)
        at = f" line {line}" if line is not None else ""
        name = where or self.document
        raise self.error(f"{self.path}{at}: {name}: {message}")

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
            end = next_header(self.lines, start + 1, f"{name}")
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
                start, end = header, next_header(self.lines, header + 1, None)
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


def next_header(lines: list[str], start: int, subtable_of: str | None) -> int:
    """The index of the next table header from ``start`` (sub-tables of ``subtable_of`` skipped)."""
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


def shown(value: Any) -> str:
    """A TOML value as messages describe it: ``a string ('high')``, ``an array``."""
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


class Table:
    """One TOML table being checked; every key read is removed, :meth:`done` rejects the rest."""

    def __init__(self, checker: Checker, data: dict[str, Any], where: str) -> None:
        self.checker = checker
        self.data = dict(data)
        self.where = where
        self.known: list[str] = []

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def take(self, key: str, *, required: bool = False) -> Any:
        """The raw value of ``key`` (None when absent), marked as read."""
        self.known.append(key)
        if key not in self.data:
            if required:
                where = self.where or f"the {self.checker.document}"
                kind = "table" if not self.where else "key"
                self.checker.fail(self.where, f"missing {kind} '{key}' (required in {where})")
            return None
        return self.data.pop(key)

    def expect(self, key: str, value: Any, ok: Callable[[Any], bool], what: str) -> None:
        if not ok(value):
            self.checker.fail(self.path(key), f"expected {what}, got {shown(value)}")

    def table(self, key: str, *, required: bool) -> Table | None:
        value = self.take(key, required=required)
        if value is None:
            return None
        self.expect(key, value, lambda v: isinstance(v, dict), "a table")
        return Table(self.checker, value, self.path(key))

    def required_table(self, key: str) -> Table:
        table = self.table(key, required=True)
        assert table is not None  # a missing one has failed
        return table

    def array_of_tables(self, key: str) -> list[Table]:
        value = self.take(key)
        if value is None:
            return []
        self.expect(
            key,
            value,
            lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
            f"an array of tables ([[{key}]])",
        )
        return [Table(self.checker, v, f"{self.path(key)}[{i}]") for i, v in enumerate(value)]

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.take(key, required=required)
        if value is None:
            return default
        self.expect(key, value, lambda v: isinstance(v, str), "a string")
        return str(value)

    def choice(self, key: str, choices: tuple[str, ...], *, required: bool = False) -> str | None:
        value = self.string(key, required=required)
        if value is not None and value not in choices:
            hint = difflib.get_close_matches(value, choices, n=1)
            maybe = f" (did you mean {hint[0]!r}?)" if hint else ""
            self.checker.fail(
                self.path(key),
                f"unknown value {value!r}{maybe}: expected one of {', '.join(choices)}",
            )
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.take(key)
        if value is None:
            return default
        self.expect(key, value, lambda v: isinstance(v, bool), "true or false")
        return bool(value)

    def integer(self, key: str, default: int | None, *, minimum: int | None = None) -> int | None:
        value = self.take(key)
        if value is None:
            return default
        self.expect(
            key, value, lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"
        )
        if minimum is not None and value < minimum:
            self.checker.fail(self.path(key), f"expected at least {minimum}, got {value}")
        return int(value)

    def integer_or_word(
        self, key: str, default: int | str, words: tuple[str, ...], *, minimum: int
    ) -> int | str:
        """An integer of at least ``minimum``, or one of ``words`` (``num_features = "auto"``)."""
        value = self.take(key)
        if value is None:
            return default
        if isinstance(value, str) and value in words:
            return value
        spelled = " or ".join(f'"{w}"' for w in words)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            self.checker.fail(
                self.path(key),
                f"expected an integer of at least {minimum} or {spelled}, got {shown(value)}",
            )
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
        value = self.take(key, required=required)
        if value is None:
            return default
        self.expect(
            key,
            value,
            lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "a number",
        )
        number = float(value)
        if not math.isfinite(number):
            self.checker.fail(self.path(key), f"expected a finite number, got {value}")
        if minimum is not None and (number < minimum or (open_min and number == minimum)):
            bound = "above" if open_min else "at least"
            self.checker.fail(self.path(key), f"expected a number {bound} {minimum}, got {value}")
        return number

    def fraction(self, key: str, default: float | None) -> float | None:
        value = self.number(key, default)
        if value is not None and not 0.0 <= value <= 1.0:
            self.checker.fail(self.path(key), f"expected a fraction from 0 to 1, got {value:g}")
        return value

    def string_list(self, key: str) -> list[str] | None:
        value = self.take(key)
        if value is None:
            return None
        self.expect(
            key,
            value,
            lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
            "an array of strings",
        )
        return [str(x) for x in value]

    def string_or_list(self, key: str) -> list[str] | None:
        value = self.take(key)
        if value is None:
            return None
        if isinstance(value, str):
            return [value]
        self.expect(
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
            self.checker.fail(self.path(key), f"{value!r} is not a valid regular expression: {e}")

    def done(self) -> None:
        """Reject the keys nobody read (typos, keys of another rule type)."""
        self.reject_unknown()

    def reject_unknown(self) -> None:
        for key in self.data:
            if key in self.known:
                continue  # declared up front, read later
            hint = difflib.get_close_matches(key, self.known, n=1)
            maybe = f" (did you mean '{hint[0]}'?)" if hint else ""
            where = self.where or f"the {self.checker.document}"
            self.checker.fail(
                self.path(key),
                f"unknown key{maybe} in {where}; known keys: {', '.join(dict.fromkeys(self.known))}",
            )

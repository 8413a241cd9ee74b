"""The console examples of the README and of every docs page print what they show.

The pages are README.md and every ``docs/*.md`` except the generated CLI reference
(``docs/cli.md``, checked against ``--help`` by its own test); a new page joins by existing.

A page's examples are its fenced ``console`` blocks: each ``$ command`` line (with its
``\\`` continuation lines) is followed by the output it shows, up to the next ``$`` line
or the end of the block. A ``python`` block whose first line is ``# name.py`` is that
file: it is written to the page's folder before any command runs.

Every page runs in its own temporary folder holding copies of ``sample_data/``,
``sample_models/`` and ``examples/`` (nothing is written into the repository), with ``limecli`` and
``python`` on the PATH running this interpreter (``python -m limecli``). The commands of
a page run in order, each with bash; an example run on its own first runs the ones
before it (they make its files). What a command prints is its stderr then its stdout
(notes, warnings and errors come before the result, as on a terminal). Compared line by
line after dropping trailing spaces, the folder's path and the time a batch's progress line
reports; a shown line ``...`` stands
for any number of lines. A command whose output shows an ``Error:`` line must fail,
any other must succeed, unless it ends with ``; echo "exit code $?"`` (then the shown code
is compared with the rest). Examples that need a package that is not installed are skipped.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Pages whose examples are tested elsewhere (generated from ``--help``).
GENERATED = ("docs/cli.md",)
PAGES = (
    "README.md",
    *(
        page
        for page in sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))
        if page not in GENERATED
    ),
)
#: The guides, which must keep at least one executed example each.
GUIDES = (
    "README.md",
    "docs/tabular.md",
    "docs/text.md",
    "docs/image.md",
    "docs/models.md",
    "docs/tabular-data.md",
    "docs/batch.md",
    "docs/audit.md",
    "docs/outputs.md",
    "docs/python.md",
    "docs/errors.md",
    "docs/trust.md",
)
#: The folders of the repository a page's examples may read (copied, never written).
SAMPLES = ("sample_data", "sample_models", "examples")
#: Seconds one command may take before the example counts as broken.
TIMEOUT = 120
_FENCE = re.compile(r"^```(\w*)\s*$")
_FILE = re.compile(r"^# ([\w.-]+\.py)\s*$")
_IMPORT = re.compile(r"^\s*(?:from|import)\s+(\w+)", re.MULTILINE)
#: The files a script writes in the page's folder: quoted names with a suffix, no folder.
_WRITES = re.compile(r"\"([\w.-]+\.\w+)\"")
#: A path that leaves the page's folder: absolute (but a device), parent or home.
_OUTSIDE = re.compile(r"(?:^|[\s='\"])(?:/(?!dev/)[\w.]|\.\./|~/)")
#: What a command's text says it needs beyond the test dependencies it imports.
_NEEDS = (
    (re.compile(r"\.parquet|\.feather|to_parquet"), "pyarrow"),
    (re.compile(r"\.onnx"), "onnxruntime"),
)


@dataclass
class Command:
    line: int
    text: str
    shown: list[str]


@dataclass
class Example:
    page: str
    line: int
    commands: list[Command]
    needs: set[str] = field(default_factory=set)


@dataclass
class Page:
    examples: list[Example]
    files: dict[str, str]


def parse(page: str) -> Page:
    """The page's console examples and the files its ``# name.py`` blocks hold."""
    lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
    examples: list[Example] = []
    files: dict[str, str] = {}
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        start = i + 1
        end = next(j for j in range(start, len(lines)) if lines[j].startswith("```"))
        body = lines[start:end]
        if fence.group(1) == "python" and body and _FILE.match(body[0]):
            files[_FILE.match(body[0]).group(1)] = "\n".join(body) + "\n"
        elif fence.group(1) == "console":
            commands = _commands(body, start + 1)
            if commands:
                examples.append(Example(page, start, commands))
        i = end + 1
    for example in examples:
        for command in example.commands:
            example.needs |= _needs(command.text)
            for name, text in files.items():
                # A command that runs a script, or reads what it writes, needs what it imports.
                made = {name, *_WRITES.findall(text)}
                if any(re.search(rf"(?<![\w/]){re.escape(m)}\b", command.text) for m in made):
                    example.needs |= _needs(text) | set(_IMPORT.findall(text))
        # A module the page writes itself is there.
        example.needs -= {Path(name).stem for name in files}
    return Page(examples, files)


def _commands(body: list[str], first_line: int) -> list[Command]:
    commands: list[Command] = []
    k = 0
    while k < len(body):
        if not body[k].startswith("$ "):
            k += 1
            continue
        line = first_line + k
        text = [body[k][2:]]
        while text[-1].endswith("\\") and k + 1 < len(body):
            k += 1
            text.append(body[k])
        k += 1
        shown = []
        while k < len(body) and not body[k].startswith("$ "):
            shown.append(body[k])
            k += 1
        commands.append(Command(line, "\n".join(text), shown))
    return commands


def _needs(text: str) -> set[str]:
    return {module for pattern, module in _NEEDS if pattern.search(text)}


def _stdlib_or_installed(module: str) -> bool:
    return module in sys.stdlib_module_names or importlib.util.find_spec(module) is not None


class Workspace:
    """A page's folder: the samples, its files, and ``limecli``/``python`` on the PATH."""

    def __init__(self, folder: Path, page: Page) -> None:
        self.folder = folder
        self.page = page
        self.done = 0
        for name in SAMPLES:
            shutil.copytree(ROOT / name, folder / name)
        for name, text in page.files.items():
            (folder / name).write_text(text, encoding="utf-8")
        bin_dir = folder.parent / f"{folder.name}-bin"
        bin_dir.mkdir()
        for name, args in (("limecli", "-m limecli "), ("python", "")):
            shim = bin_dir / name
            shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" {args}"$@"\n', encoding="utf-8")
            shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LIMECLI_")},
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(ROOT),
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def run(self, command: Command) -> tuple[int, list[str]]:
        result = subprocess.run(
            ["bash", "-c", command.text],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        printed = (result.stderr + result.stdout).replace(f"{self.folder}{os.sep}", "")
        return result.returncode, printed.splitlines()

    def upto(self, index: int) -> None:
        """Run the page's examples before ``index`` that have not run yet."""
        for example in self.page.examples[self.done : index]:
            for command in example.commands:
                self.run(command)
        self.done = max(self.done, index)


#: The end of a batch's progress line, "text: 2/2 texts in 2s (1.3/s)": how long it took.
_ELAPSED = re.compile(r"^(\w+: \d+/\d+ \w+) in [\dhms.]+(?: \([\d.]+/s\))?$")


def _steady(line: str) -> str:
    """The line without trailing spaces, and without the time a batch took."""
    return _ELAPSED.sub(r"\1 in (time)", line.rstrip())


def matches(shown: list[str], printed: list[str]) -> bool:
    """Whether ``printed`` is ``shown``, lines compared without trailing spaces and without
    the time a batch's progress line reports; ``...`` in ``shown`` stands for any number of
    lines."""
    want = [_steady(line) for line in shown]
    got = [_steady(line) for line in printed]
    while want and not want[-1]:
        want.pop()
    while got and not got[-1]:
        got.pop()
    pattern = "".join("(?:.*\n)*?" if w == "..." else _line_pattern(w) + "\n" for w in want)
    return re.fullmatch(pattern, "".join(g + "\n" for g in got)) is not None


#: A number printed in full (JSON, CSV): more than 12 decimals.
_LONG_NUMBER = re.compile(r"(-?\d+\.\d{10})\d{3,}")


def _line_pattern(line: str) -> str:
    """``line`` as a pattern, numbers printed in full matched to their first 10 decimals:
    their last bits differ from one CPU to another (numpy's and OpenBLAS's kernels)."""
    parts = []
    last = 0
    for m in _LONG_NUMBER.finditer(line):
        parts.append(re.escape(line[last : m.start()]))
        parts.append(re.escape(m.group(1)) + r"\d+")
        last = m.end()
    parts.append(re.escape(line[last:]))
    return "".join(parts)


PARSED = {page: parse(page) for page in PAGES}
CASES = [
    pytest.param(page, i, id=f"{Path(page).name}:{example.line}")
    for page, parsed in PARSED.items()
    for i, example in enumerate(parsed.examples)
]


@pytest.fixture(scope="module")
def workspaces() -> dict[str, Workspace]:
    """Each page's folder, made by its first example to run."""
    return {}


def test_every_guide_has_examples() -> None:
    for page in GUIDES:
        assert page in PARSED, f"{page} is missing"
        assert PARSED[page].examples, f"{page} has no console example"


def test_the_readme_is_a_front_door_with_the_quickstart_first() -> None:
    """At most about 200 lines; its first two code blocks are the quickstart, the second
    being the test command that CI (.ci/run) runs."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 210  # "about 200": recorded outputs may grow a line
    blocks = re.findall(r"^```\w*\n(.*?)^```", readme, flags=re.MULTILINE | re.DOTALL)
    install, test = (block.strip() for block in blocks[:2])
    assert install.startswith("pip install -e . && limecli tabular "), install
    assert test == "pip install -e '.[test]' && python -m pytest -q"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.rstrip().endswith(test)


#: A command that ends by printing its exit code: ``...; echo "exit code $?"``.
_SHOWS_EXIT_CODE = re.compile(r'; echo "exit code \$\?"$')

#: A Markdown link or an <img> source: ``[text](target)``, ``src="target"``.
_LINK = re.compile(r"\]\(([^)\s]+)\)|src=\"([^\"]+)\"")
_CODE_BLOCK = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_relative_link_resolves() -> None:
    """Links between pages (and to pictures) point at files that exist, and anchors at headings."""
    broken = []
    for page in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))):
        text = _CODE_BLOCK.sub("", page.read_text(encoding="utf-8"))
        for match in _LINK.finditer(text):
            link = match.group(1) or match.group(2)
            if re.match(r"\w+:", link):
                continue  # https:, mailto:
            path, _, anchor = link.partition("#")
            target = (page.parent / path).resolve() if path else page
            if not target.exists():
                broken.append(f"{page.relative_to(ROOT)}: {link} (no such file)")
            elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
                broken.append(f"{page.relative_to(ROOT)}: {link} (no such heading)")
    assert not broken, "\n".join(broken)


def test_no_command_names_a_path_outside_its_folder() -> None:
    """What an example writes stays in the page's temporary folder, never in the repository."""
    for page, parsed in PARSED.items():
        for example in parsed.examples:
            for command in example.commands:
                where = f"{page} line {command.line}: $ {command.text}"
                assert not _OUTSIDE.search(command.text), where


@pytest.mark.parametrize(("page", "index"), CASES)
def test_console_example(
    page: str,
    index: int,
    workspaces: dict[str, Workspace],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    parsed = PARSED[page]
    missing = sorted(m for m in parsed.examples[index].needs if not _stdlib_or_installed(m))
    if missing:
        pytest.skip(f"needs {', '.join(missing)}, which is not installed")
    if page not in workspaces:
        workspaces[page] = Workspace(tmp_path_factory.mktemp(Path(page).stem), parsed)
    workspace = workspaces[page]
    workspace.upto(index)
    for command in parsed.examples[index].commands:
        code, printed = workspace.run(command)
        where = f"{page} line {command.line}: $ {command.text}"
        shown, got = "\n".join(command.shown), "\n".join(printed)
        assert matches(command.shown, printed), f"{where}\n--- shown\n{shown}\n--- printed\n{got}"
        if _SHOWS_EXIT_CODE.search(command.text):
            continue  # the shown output holds the exit code, compared above
        failed = any(line.startswith("Error:") for line in command.shown)
        assert (code != 0) == failed, f"{where}: exit code {code}"
    workspace.done = index + 1

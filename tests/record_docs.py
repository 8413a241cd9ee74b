"""Re-record what the console examples of a docs page print (when the output changed on purpose).

    python tests/record_docs.py docs/trust.md [docs/models.md ...]
    python tests/record_docs.py            # every page the docs test runs

Runs the page's commands as ``tests/test_docs_examples.py`` does (a temporary folder with
the samples, commands in order) and writes each command's printed output under it. An
example whose shown output still matches (``...`` elisions included) is left as written;
one that no longer matches is replaced by everything it prints now, so elide by hand
afterwards where the output is long (the pages whose elided outputs were replaced are
listed). Review the diff: the tool records, it does not judge.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_docs_examples import PAGES, ROOT, Workspace, matches, parse


def record(page: str) -> int:
    parsed = parse(page)
    lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
    replacements: list[tuple[int, int, list[str]]] = []  # (first shown line, end, new lines)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "page"
        folder.mkdir()
        workspace = Workspace(folder, parsed)
        for example in parsed.examples:
            for command in example.commands:
                _, printed = workspace.run(command)
                if matches(command.shown, printed):
                    continue
                if "..." in command.shown:
                    print(f"{page} line {command.line}: an elided output was recorded in full")
                # command.line is the 1-based line of "$ ..."; shown lines follow its text.
                first = command.line - 1 + command.text.count("\n") + 1
                replacements.append((first, first + len(command.shown), printed))
    for first, end, printed in reversed(replacements):
        lines[first:end] = [line.rstrip() for line in printed]
    (ROOT / page).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(replacements)


def main(pages: list[str]) -> int:
    for page in pages or PAGES:
        print(f"{page}: {record(page)} output(s) re-recorded")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Notebook output: ``_repr_html_`` is one element whose stylesheet touches only itself.

Its CSS is parsed (rule blocks, @media blocks, selector lists) and every selector
must sit under the root class; the fragment must look the same inside a light and
a dark notebook page (headless Chromium); and the python examples of
docs/notebook.md run as written.
"""

from __future__ import annotations

import io
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import kinds
import numpy as np
import pytest
from browser import find_chromium, load_page, notebook_page
from conftest import ROOT
from PIL import Image

from limecli.render.html_css import ROOT_CLASS, STYLE

#: A selector inside the root: the root class itself, then anything (a descendant, a
#: second class on the root, a pseudo-class), but not a longer class name.
SCOPED = re.compile(rf"^\.{ROOT_CLASS}(?![\w-])")


def css_selectors(css: str) -> list[tuple[str, str]]:
    """(selector, enclosing at-rule or '') for every selector of every rule in ``css``.

    Handles comments, nested @media/@supports blocks and selector lists (commas inside
    parentheses, as in ``:is(a, b)``, do not split). Any other at-rule (@import,
    @font-face, @keyframes, @page) is returned as the selector itself, so a test sees it.
    """
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    found: list[tuple[str, str]] = []
    context: list[str] = []
    i, prelude = 0, ""
    while i < len(css):
        char = css[i]
        if char == "{":
            head = " ".join(prelude.split())
            prelude = ""
            if head.startswith(("@media", "@supports")):
                context.append(head)
                i += 1
                continue
            if head.startswith("@"):
                found.append((head, " ".join(context)))
            else:
                found += [(s, " ".join(context)) for s in _split_selectors(head)]
            depth = 1  # skip the declarations (and any block nested in an at-rule)
            i += 1
            while depth and i < len(css):
                depth += {"{": 1, "}": -1}.get(css[i], 0)
                i += 1
            continue
        if char == "}":
            assert context, "unbalanced } in the stylesheet"
            context.pop()
            prelude = ""
        elif char == ";":
            found.append((" ".join(prelude.split()), " ".join(context)))  # e.g. @import
            prelude = ""
        else:
            prelude += char
        i += 1
    assert not context and not prelude.strip(), "unterminated block in the stylesheet"
    return found


def _split_selectors(head: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in head:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [p for p in parts if p]


class Tree(HTMLParser):
    """Top-level elements and the style blocks of a fragment."""

    VOID = frozenset({"br", "img", "meta", "link", "hr", "input", "wbr", "col", "source"})

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.top: list[tuple[str, dict[str, str | None]]] = []
        self.tags: list[str] = []
        self.styles: list[str] = []
        self.in_style = False
        self.stray_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if self.depth == 0:
            self.top.append((tag, dict(attrs)))
        if tag == "style":
            self.in_style = True
            self.styles.append("")
        if tag not in self.VOID:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID:
            self.depth -= 1
        if tag == "style":
            self.in_style = False

    def handle_data(self, data: str) -> None:
        if self.in_style:
            self.styles[-1] += data
        elif self.depth == 0:
            self.stray_text += data.strip()

    def handle_decl(self, decl: str) -> None:
        self.tags.append("!" + decl)


def test_the_parser_finds_global_selectors() -> None:
    """The check has teeth: the stylesheet this replaced fails it, selector by selector."""
    old = """
    :root { --fg: #000; } @media (prefers-color-scheme: dark) { :root { --fg: #fff; } }
    * { box-sizing: border-box; } body { margin: 0; } /* a { } */
    .limecli-report td, th { padding: 0; } .limecli-reporter p { margin: 0 }
    @media print { body { font-size: 11pt; } .limecli-report :is(h1, h2) { margin: 0 } }
    @font-face { font-family: x; src: url(x.woff); }
    """
    selectors = css_selectors(old)
    outside = [s for s, _ in selectors if not SCOPED.match(s)]
    assert outside == [
        ":root",
        ":root",
        "*",
        "body",
        "th",
        ".limecli-reporter p",
        "body",
        "@font-face",
    ]
    assert (".limecli-report :is(h1, h2)", "@media print") in selectors


@pytest.mark.parametrize("kind", sorted(kinds.ALL))
def test_repr_html_is_one_scoped_element(kind: str) -> None:
    exp = kinds.ALL[kind]()
    fragment = exp._repr_html_()
    tree = Tree()
    tree.feed(fragment)
    tree.close()
    # One root element, nothing beside it, no page structure inside.
    assert len(tree.top) == 1 and tree.stray_text == "" and tree.depth == 0
    tag, attrs = tree.top[0]
    assert tag == "div" and ROOT_CLASS in (attrs.get("class") or "").split()
    assert not {"html", "head", "body", "meta", "script", "link"} & set(tree.tags)
    assert not any(t.startswith("!") for t in tree.tags)  # no <!DOCTYPE>
    assert len(tree.styles) == 1 and tree.styles[0] == STYLE
    selectors = css_selectors(tree.styles[0])
    assert len(selectors) > 40
    outside = [s for s, _ in selectors if not SCOPED.match(s)]
    assert outside == []
    in_media = [s for s, at in selectors if at]
    assert in_media and all(SCOPED.match(s) for s in in_media)
    # The root sets its own colours and font rather than inheriting the notebook's.
    root_rule = STYLE.split(f".{ROOT_CLASS} {{", 1)[1].split("}", 1)[0]
    for declaration in ("color: var(--fg)", "background: var(--bg)", "font:", "--bg: #ffffff"):
        assert declaration in root_rule


def test_the_page_report_uses_the_same_stylesheet() -> None:
    document = kinds.tabular().to_html()
    tree = Tree()
    tree.feed(document)
    assert tree.styles == [STYLE]
    assert f'<div class="{ROOT_CLASS} limecli-page">' in document
    # The fragment holds the same sections as the page.
    fragment = kinds.tabular()._repr_html_()
    section = fragment.split("<section", 1)[1].rsplit("</section>", 1)[0]
    assert section in document


ROOT_BOX = (
    "(() => { const r = document.querySelector('.limecli-report').getBoundingClientRect();"
    " return {x: r.x, y: r.y, width: r.width, height: r.height,"
    " scale: window.devicePixelRatio, innerHeight: window.innerHeight}; })()"
)


def _require_chromium() -> None:
    if find_chromium() is None:
        if os.environ.get("LIMECLI_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (LIMECLI_REQUIRE_BROWSER is set) but not installed")
        pytest.skip("Chromium is not installed (CI installs it: see .ci/run)")


def _shot(page: str, path: Path, dark: bool) -> tuple[np.ndarray, dict[str, float]]:
    path.write_text(page, encoding="utf-8")
    load = load_page(path.as_uri(), dark=dark, evaluate=ROOT_BOX, width=1000, height=900)
    assert load.errors == []
    assert [u for u in load.requests if not u.startswith(("file:", "data:"))] == []
    pixels = np.asarray(Image.open(io.BytesIO(load.screenshot)).convert("RGB"), dtype=int)
    return pixels, load.value


@pytest.mark.parametrize("kind", ["tabular", "image"])
def test_the_fragment_looks_the_same_in_light_and_dark_notebooks(kind: str, tmp_path: Path) -> None:
    _require_chromium()
    fragment = kinds.ALL[kind]()._repr_html_()
    light, box = _shot(notebook_page(fragment, dark=False), tmp_path / "light.html", False)
    dark, dark_box = _shot(notebook_page(fragment, dark=True), tmp_path / "dark.html", True)
    assert box == dark_box and box["width"] > 700 and box["height"] > 300
    scale = box["scale"]
    top, left = round(box["y"] * scale), round(box["x"] * scale)
    bottom = round(min(box["y"] + box["height"], box["innerHeight"]) * scale)
    right = round((box["x"] + box["width"]) * scale)
    inside_light, inside_dark = light[top:bottom, left:right], dark[top:bottom, left:right]
    # The notebooks differ (the dark page is dark around the fragment) ...
    assert light[: max(top - 2, 1)].mean() > 200 and dark[: max(top - 2, 1)].mean() < 60
    # ... the fragment does not: its own white background and dark text, pixel for pixel.
    assert np.median(inside_light) == 255
    assert np.abs(inside_light - inside_dark).max() == 0


# --- docs/notebook.md ----------------------------------------------------------------------

PAGE = ROOT / "docs" / "notebook.md"


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), re.M | re.S)


def test_the_notebook_page_runs_as_written(tmp_path: Path, monkeypatch, capsys) -> None:
    """Every python block of docs/notebook.md, in order, in one namespace (as notebook cells
    would), in a folder holding the samples; then what the page says they give."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    for folder in ("sample_data", "sample_models"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(PAGE)
    assert len(blocks) >= 5
    namespace: dict[str, object] = {"__name__": "__notebook__"}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), namespace)  # the page's own code
    printed = capsys.readouterr().out
    exp, frame, many = namespace["exp"], namespace["frame"], namespace["many"]
    # The report cell, the frame and the many-explanation table it describes.
    assert exp._repr_html_().startswith('<div class="limecli-report">')
    assert list(frame.feature) == [f.feature for f in exp.labels[0].features]
    assert len(many) == 3 * 4 and set(many.case) == {0, 1, 2}
    assert "worst area" in printed and "feature_weight" in printed
    # The pictures the plot blocks save.
    for name in ("weights.png", "circle.png"):
        with Image.open(tmp_path / name) as saved:
            assert saved.size[0] > 300
    # Every image the page shows exists, and the script that makes them is there.
    shown = re.findall(r"\]\((images/[^)]+)\)", PAGE.read_text(encoding="utf-8"))
    assert len(shown) == 4 and all((PAGE.parent / s).is_file() for s in shown)
    assert (ROOT / "docs" / "make_notebook_images.py").is_file()


def test_the_page_documents_every_column() -> None:
    from limecli.render.frame import COLUMNS

    text = PAGE.read_text(encoding="utf-8")
    for column in COLUMNS:
        assert f"`{column}`" in text, column

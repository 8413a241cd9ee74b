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
from browser import find_chromium, load_page
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


# A light and a dark notebook: each styles its outputs the way notebook front-ends do
# (colours, fonts, striped and padded tables, heading and paragraph margins, text colour).
NOTEBOOK = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
{theme}
body {{ margin: 0; font: 13px/1.2 "DejaVu Serif", serif; }}
.cell {{ padding: 12px 24px; }}
.prompt {{ font: 12px monospace; color: var(--nb-muted); }}
.output h1, .output h2, .output h3 {{ color: var(--nb-fg); margin: 2em 0 1em; font-size: 2em; }}
.output p {{ color: var(--nb-fg); margin: 0 0 1em; text-align: justify; }}
.output table {{ color: var(--nb-fg); border: 1px solid var(--nb-muted); font-size: 11px; }}
.output th, .output td {{ color: var(--nb-fg); text-align: right; padding: .5em; border: none; }}
.output tbody tr:nth-child(odd) {{ background: var(--nb-stripe); }}
.output img {{ border: 3px solid var(--nb-muted); }}
.output svg text {{ fill: var(--nb-fg); }}
</style></head><body><div class="cell"><div class="prompt">Out[1]:</div>
<div class="output">{fragment}</div></div></body></html>
"""
LIGHT = (
    ":root { --nb-fg: #111; --nb-muted: #777; --nb-stripe: #f3f3f3; } body { background: #fff; }"
)
DARK = (
    ":root { color-scheme: dark; --nb-fg: #e6e6e6; --nb-muted: #999; --nb-stripe: #2a2d31; } "
    "body { background: #1e1f22; color: #e6e6e6; }"
)
ROOT_BOX = (
    "(() => { const r = document.querySelector('.limecli-report').getBoundingClientRect();"
    " return {x: r.x, y: r.y, width: r.width, height: r.height,"
    " scale: window.devicePixelRatio, innerHeight: window.innerHeight}; })()"
)


def notebook_page(fragment: str, dark: bool) -> str:
    return NOTEBOOK.format(theme=DARK if dark else LIGHT, fragment=fragment)


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

"""The one stylesheet of limecli's HTML: every selector sits under :data:`ROOT_CLASS`.

A notebook shows :meth:`Explanation._repr_html_` inside its own page, so the
stylesheet must not restyle anything else there: no ``body``, ``*``, ``:root``
or bare element selector, only ``.limecli-report ...``. The root sets its own
background, text colour and font, and the few element rules a notebook's own
stylesheet sets on rendered output (tables, striped rows, headings, paragraphs)
are set back explicitly, so the fragment looks the same in a light and a dark
notebook theme. The full page report (``-o report.html``) uses the same
stylesheet on a root that also carries :data:`PAGE_CLASS`: only there does the
palette follow the reader's colour scheme.
"""

from __future__ import annotations

from limecli.render.palette import OPPOSE as OPPOSE_RGB

# The colours of the pictures and the terminal (Okabe-Ito, colour-blind safe); the sign is
# also written out next to every bar.
from limecli.render.palette import OPPOSE_HEX as OPPOSE
from limecli.render.palette import SUPPORT as SUPPORT_RGB
from limecli.render.palette import SUPPORT_HEX as SUPPORT

__all__ = [
    "CSP",
    "FOREGROUND",
    "MUTED",
    "OPPOSE",
    "OPPOSE_RGB",
    "PAGE_CLASS",
    "ROOT_CLASS",
    "STYLE",
    "SUPPORT",
    "SUPPORT_RGB",
    "rgb_list",
]

ROOT_CLASS = "limecli-report"
#: Added to the root of a whole page: the palette follows prefers-color-scheme.
PAGE_CLASS = "limecli-page"
#: Text and whisker colour of the light palette (SVG presentation attributes use it too,
#: so a chart copied out of the page keeps its colours).
FOREGROUND = "#1b1b1b"
MUTED = "#5f6368"

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_LIGHT = (
    f"--fg: {FOREGROUND}; --bg: #ffffff; --muted: {MUTED}; --rule: #d0d4d9; "
    f"--support: {SUPPORT}; --oppose: {OPPOSE}; --bar: #8c96a0;"
)
_DARK = (
    "--fg: #e8eaed; --bg: #16181b; --muted: #a0a6ad; --rule: #3a3f45; "
    "--support: #56B4E9; --oppose: #E69F00; --bar: #7d8791;"
)

_R = f".{ROOT_CLASS}"


def rgb_list(colour: tuple[int, int, int]) -> str:
    """``(0, 114, 178)`` -> ``"0, 114, 178"``, for ``rgba()`` with an alpha of its own."""
    return ", ".join(str(c) for c in colour)


STYLE = f"""
{_R} {{ color-scheme: light; {_LIGHT}
  color: var(--fg); background: var(--bg); font: 15px/1.5 system-ui, -apple-system,
  "Segoe UI", "Noto Sans", "Noto Sans CJK KR", "Noto Sans CJK SC", "Apple SD Gothic Neo",
  sans-serif; text-align: left; padding: 16px; }}
{_R}.{PAGE_CLASS} {{ color-scheme: light dark; min-height: 100vh; padding: 24px; }}
@media (prefers-color-scheme: dark) {{ {_R}.{PAGE_CLASS} {{ {_DARK} }} }}
{_R}, {_R} *, {_R} *::before, {_R} *::after {{ box-sizing: border-box; }}
{_R} main {{ max-width: 980px; margin: 0 auto; }}
{_R} h1, {_R} h2, {_R} h3 {{ color: inherit; font-weight: 600; line-height: 1.3;
  border: 0; padding: 0; }}
{_R} h1 {{ font-size: 1.5rem; margin: 0 0 4px; }}
{_R} h2 {{ font-size: 1.2rem; margin: 0 0 8px; }}
{_R} h3 {{ font-size: 1.05rem; margin: 20px 0 4px; }}
{_R} p {{ color: inherit; margin: 0 0 8px; text-align: left; }}
{_R} .muted {{ color: var(--muted); }}
{_R} .mono {{ font-family: ui-monospace, monospace; }}
{_R} section.explanation {{ border-top: 2px solid var(--rule); padding-top: 16px;
  margin-top: 24px; }}
{_R}:not(.{PAGE_CLASS}) > section.explanation:first-of-type {{ border-top: 0; padding-top: 0; margin-top: 0; }}
{_R} table {{ border-collapse: collapse; margin: 8px 0; color: var(--fg); border: 0;
  font-size: 14px; background: transparent; table-layout: auto; }}
{_R} th, {_R} td {{ text-align: left; padding: 3px 10px; border: 0;
  border-bottom: 1px solid var(--rule); color: inherit; vertical-align: middle;
  white-space: normal; line-height: 1.5; }}
{_R} tbody tr:nth-child(n), {_R} tbody tr:hover {{ background: transparent; }}
{_R} td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
{_R} .prob {{ display: grid; grid-template-columns: minmax(90px, max-content) 1fr 4em;
  gap: 4px 10px; align-items: center; max-width: 560px; }}
{_R} .prob .track {{ background: var(--rule); height: 14px; border-radius: 2px; }}
{_R} .prob .fill {{ background: var(--bar); height: 14px; border-radius: 2px; }}
{_R} .prob .top .fill {{ background: var(--support); }}
{_R} svg.weights {{ max-width: 100%; height: auto; overflow: visible; }}
{_R} svg.weights text {{ fill: var(--fg); font-size: 13px; }}
{_R} svg.weights .axis {{ stroke: var(--muted); }}
{_R} svg.weights .support {{ fill: var(--support); }}
{_R} svg.weights .oppose {{ fill: var(--oppose); }}
{_R} svg.weights .faint {{ fill-opacity: 0.35; }}
{_R} svg.weights .ci {{ stroke: var(--fg); stroke-width: 1.5; fill: none; }}
{_R} svg.weights .rank-cut {{ stroke: var(--muted); stroke-dasharray: 4 3; }}
{_R} svg.weights text.zero {{ fill: var(--muted); font-style: italic; }}
{_R} .zero {{ color: var(--muted); font-style: italic; white-space: nowrap; }}
{_R} .nothing {{ border-left: 4px solid var(--rule); padding: 4px 10px; }}
{_R} .legend span {{ display: inline-block; margin-right: 16px; }}
{_R} .swatch {{ display: inline-block; width: 12px; height: 12px; vertical-align: -1px;
  margin-right: 4px; }}
{_R} .swatch.support {{ background: var(--support); }}
{_R} .swatch.oppose {{ background: var(--oppose); }}
{_R} .swatch.faint {{ opacity: 0.35; }}
{_R} .text-view {{ white-space: pre-wrap; border: 1px solid var(--rule); padding: 12px;
  border-radius: 4px; unicode-bidi: plaintext; }}
{_R} mark {{ color: inherit; border-radius: 2px; padding: 0 1px; }}
{_R} mark.support {{ background: rgba({rgb_list(SUPPORT_RGB)}, var(--a));
  box-shadow: inset 0 -2px var(--support); }}
{_R} mark.oppose {{ background: rgba({rgb_list(OPPOSE_RGB)}, var(--a));
  box-shadow: inset 0 2px var(--oppose); }}
{_R} .pictures {{ display: flex; flex-wrap: wrap; gap: 12px; margin-top: 16px; }}
{_R} .pictures figure {{ margin: 0; }}
{_R} .pictures img {{ width: 280px; max-width: 100%; height: auto;
  image-rendering: pixelated; border: 1px solid var(--rule); }}
{_R} details {{ margin: 12px 0; }}
@media print {{ {_R} {{ font-size: 11pt; }} {_R}.{PAGE_CLASS} {{ padding: 0; }}
  {_R} main {{ max-width: none; }}
  {_R} section.explanation {{ break-inside: avoid-page; }} {_R} details {{ display: block; }}
  {_R} details > :not(summary) {{ display: block; }} }}
"""

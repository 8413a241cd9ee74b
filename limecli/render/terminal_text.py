"""The text itself under each label's table, explained words coloured by the sign and size of their weight.

On a colour terminal: blue supports the label (raises the value), orange
(bright red on a 16-colour terminal) opposes it; the strongest third of the weights get a solid background, the
middle third bold, the rest plain colour. Without colour (a pipe, a file) each
explained occurrence is written as ``[+word]`` or ``[-word]`` so the view
still says which words were explained and in which direction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from limecli.render.terminal import COULD_BE_ZERO, OPPOSE, SUPPORT, UNPRINTABLE, could_be_zero

if TYPE_CHECKING:
    from limecli.explanation import Explanation, LabelExplanation

#: Characters of the text shown; the rest is summarised (the JSON has every position).
MAX_CHARS = 4000


def text_view(explanation: Explanation, label: LabelExplanation) -> list[Any]:
    text = explanation.data.get("text")
    if not isinstance(text, str):
        return []
    return [HighlightedText(text, label, regression=explanation.mode == "regression")]


class HighlightedText:
    """A rich renderable that picks colour or ``[+word]`` marks from the console it is drawn on."""

    def __init__(self, text: str, label: LabelExplanation, *, regression: bool) -> None:
        self.text = text
        self.label = label
        self.regression = regression

    def spans(self) -> list[tuple[int, int, float, bool]]:
        """(start, end, weight, could be 0) of every explained occurrence, in text order."""
        out = []
        for feat in self.label.features:
            for start, end in feat.extra.get("positions", []):
                out.append((int(start), int(end), float(feat.weight), could_be_zero(feat)))
        out.sort()
        return out

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        from rich.text import Text

        color = not console.no_color and console.color_system is not None
        up = "raises the value" if self.regression else f"supports {self.label.label!r}"
        down = "lowers it" if self.regression else "opposes it"
        # In colour, words whose weight could be 0 are dimmed (the table says so in words;
        # the plain marks stay [+word] so that dropping them gives back the text).
        faint = any(could_be_zero(f) for f in self.label.features)
        if color:
            legend = Text.assemble(
                "Text (",
                ("blue", SUPPORT),
                f" {up}, ",
                ("orange", OPPOSE),
                f" {down}; ",
                "stronger is bolder",
                (f"; dim: {COULD_BE_ZERO}" if faint else ""),
                "):",
            )
        else:
            legend = Text(f"Text ([+word] {up}, [-word] {down}):")
        yield Text.assemble("\n", legend)
        yield self._body(color)

    def _body(self, color: bool) -> Any:
        from rich.text import Text

        shown = self.text[:MAX_CHARS]
        scale = max((abs(f.weight) for f in self.label.features), default=0.0) or 1.0
        body = Text()
        cursor = 0
        for start, end, weight, faint in self.spans():
            if start >= len(shown) or start < cursor:
                continue
            body.append(_printable(shown[cursor:start]))
            word = _printable(shown[start:end])
            sign = "+" if weight >= 0 else "-"
            if color:
                style = _style(weight, scale)
                body.append(word, style=f"dim {style}" if faint else style)
            else:
                body.append(f"[{sign}{word}]")
            cursor = end
        body.append(_printable(shown[cursor:]))
        if len(self.text) > MAX_CHARS:
            body.append(f" … ({len(self.text) - MAX_CHARS} more characters not shown)", style="dim")
        return body


def _style(weight: float, scale: float) -> str:
    strength = abs(weight) / scale
    hue = SUPPORT if weight >= 0 else OPPOSE
    if strength >= 2 / 3:
        return f"bold white on {hue}"
    if strength >= 1 / 3:
        return f"bold {hue} underline"
    return hue


def _printable(s: str) -> str:
    """Control characters would move the cursor or restyle the terminal: blank them (one
    space each, so the words stay where their positions say), and drop carriage returns."""
    if not UNPRINTABLE.search(s):
        return s
    return UNPRINTABLE.sub(lambda m: "" if m.group() == "\r" else " ", s)

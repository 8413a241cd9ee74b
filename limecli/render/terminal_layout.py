"""How a weights table fits a console: every row on one line, no number ever split.

A table wider than the console gives up, in this order: bar cells (down to
:data:`MIN_BAR_WIDTH`), then the bars themselves (the weight keeps its sign, the
could-be-0 words stay), then the interval's long form (``-0.011 … +0.054``
becomes ``±0.033``, half its width), then characters of long feature names and
category values, cut with an ellipsis. Numbers are never cut.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: Cells of the longest bar when there is room.
BAR_WIDTH = 24
#: Fewer cells than this and a bar says too little: it is dropped instead.
MIN_BAR_WIDTH = 4
#: Columns between two table columns (rich's collapsed padding plus the divider).
GAP = 2
#: A feature name cut shorter than this would no longer say which feature it is.
MIN_FEATURE_WIDTH = 10
#: Narrower still only on a console too narrow for the numbers otherwise.
LAST_RESORT_FEATURE_WIDTH = 4
#: Nor would a category value cut shorter than this.
MIN_VALUE_WIDTH = 8
#: Width of a table that goes to a file or a pipe without COLUMNS: long conditions fit.
DEFAULT_WIDTH = 120


def columns_env() -> int | None:
    """``$COLUMNS`` if it is a positive integer (as ``shutil.get_terminal_size`` and rich
    read it), else None."""
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


def default_width() -> int:
    """The width of a table when none is given: ``$COLUMNS``, else :data:`DEFAULT_WIDTH`."""
    return columns_env() or DEFAULT_WIDTH


@dataclass(frozen=True)
class Widths:
    """The natural widths (in terminal cells) of a weights table's columns; 0: no such column."""

    rank: int
    feature: int
    value: int  # 0: not a tabular explanation
    value_floor: int  # the widest number among the values: never cut
    weight: int
    interval: int  # 0: no intervals
    short_interval: int
    marker: int  # the could-be-0 words beside a bar (0: no row is marked)


@dataclass(frozen=True)
class Layout:
    """What one weights table shows: bar cells (0: no bars), the interval's form, and the
    widths the feature and value columns are cut to (None: as wide as their longest cell)."""

    bar: int = BAR_WIDTH
    short_interval: bool = False
    feature: int | None = None
    value: int | None = None


def effect_width(bar: int, marker: int) -> int:
    """The Effect column: ``███ +`` and the could-be-0 words; without bars, the words only."""
    if bar:
        return max(len("Effect"), bar + 2 + (marker + 1 if marker else 0))
    return marker


def table_width(w: Widths, layout: Layout) -> int:
    """Columns the table takes with ``layout``."""
    interval = w.short_interval if layout.short_interval else w.interval
    columns = [
        w.rank,
        w.feature if layout.feature is None else layout.feature,
        w.value if layout.value is None or not w.value else layout.value,
        w.weight,
        interval,
        effect_width(layout.bar, w.marker),
    ]
    shown = [c for c in columns if c]
    return sum(shown) + GAP * (len(shown) - 1)


def fit(w: Widths, width: int) -> Layout:
    """The first layout of the order above that fits ``width`` columns (else the narrowest)."""
    without_bar = table_width(w, Layout(bar=0)) - w.marker - (GAP if w.marker else 0)
    # Room for "█… +" (and " could be 0") in the Effect column.
    room = width - without_bar - GAP - 2 - (w.marker + 1 if w.marker else 0)
    if room >= MIN_BAR_WIDTH:
        return Layout(bar=min(BAR_WIDTH, room))
    layout = Layout(bar=0)
    if table_width(w, layout) <= width or not w.interval:
        return layout
    layout = Layout(bar=0, short_interval=True)
    excess = table_width(w, layout) - width
    if excess <= 0:
        return layout
    feature = max(MIN_FEATURE_WIDTH, w.feature - excess)
    feature = min(feature, w.feature)
    excess -= w.feature - feature
    value = None
    if excess > 0 and w.value:
        floor = max(MIN_VALUE_WIDTH, w.value_floor, len("Value"))
        value = min(w.value, max(floor, w.value - excess))
        excess -= w.value - value
    if excess > 0:  # a very narrow console: names give way before any number is cut
        feature = max(LAST_RESORT_FEATURE_WIDTH, feature - excess)
    return Layout(bar=0, short_interval=True, feature=feature, value=value)

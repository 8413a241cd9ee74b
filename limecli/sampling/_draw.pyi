# The compiled draw loop (_draw.c); see limecli.sampling.bin_table.
from typing import Any

def fill_bins_and_values(
    values: Any,
    bins: Any,
    edges: Any,
    lower: Any,
    stretch: Any,
    cells: Any,
    n_columns: int,
    width: int,
    points: int,
    tails: Any,
    /,
) -> int: ...

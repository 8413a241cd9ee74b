"""Settings of tabular explanations: which rows, and how the training data shapes the sample."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from limecli.config import DISCRETIZERS, opt
from limecli.errors import ParameterError


@dataclass(frozen=True, kw_only=True)
class RowSelection:
    """Which rows of DATA to explain: one (``row``), some (``rows``) or all (``all_rows``)."""

    row: int | None = field(
        default=None,
        metadata=opt(
            "--row",
            kind="int",
            min=0,
            help="Row to explain, 0-based, not counting the header.",
        ),
    )
    rows: str | None = field(
        default=None,
        metadata=opt(
            "--rows",
            metavar="SPEC",
            help="Explain several rows as a batch: 0:500 (end excluded), 3,7,9, or both: 0:10,42.",
        ),
    )
    all_rows: bool = field(
        default=False,
        metadata=opt("--all", kind="flag", help="Explain every row of DATA as a batch."),
    )
    independent_samples: bool = field(
        default=False,
        metadata=opt(
            "--independent-samples",
            kind="flag",
            help="Batch: draw a fresh sample pool per row instead of sharing one "
            "(see docs/batch.md).",
        ),
    )


@dataclass(frozen=True, kw_only=True)
class TabularSettings:
    """How the training data and the columns shape the perturbation of a row."""

    train: Path | None = field(
        default=None,
        metadata=opt(
            "--train",
            kind="existing_file",
            help="Training table for sampling statistics (default: DATA itself).",
        ),
    )
    #: One column at most (given twice it is refused); a str is taken as that one column.
    target: tuple[str, ...] = field(
        default=(),
        metadata=opt(
            "--target",
            multiple=True,
            metavar="COL",
            help="Target column to leave out (columns the model does not use are left out anyway).",
        ),
    )
    drop: tuple[str, ...] = field(
        default=(),
        metadata=opt(
            "--drop",
            multiple=True,
            metavar="COL",
            help="Leave out a column of DATA and the training data before the model sees it "
            "(an ID or other non-feature column; repeatable).",
        ),
    )
    categorical: tuple[str, ...] = field(
        default=(),
        metadata=opt(
            "--categorical",
            multiple=True,
            metavar="COL",
            help="Treat a numeric column as categorical (repeatable). Text columns always are.",
        ),
    )
    discretizer: str = field(
        default="quartile",
        metadata=opt(
            "--discretizer",
            choices=DISCRETIZERS,
            show_default=True,
            help="How numeric columns are binned.",
        ),
    )
    discretize: bool = field(
        default=True,
        metadata=opt(
            "--discretize",
            kind="toggle",
            secondary="--no-discretize",
            show_default=True,
            help="Explain with bins ('x > 3.2') or with continuous, standardised values.",
        ),
    )
    sample_around_instance: bool = field(
        default=False,
        metadata=opt(
            "--sample-around-instance",
            kind="flag",
            help="With --no-discretize, sample around the row instead of the training mean.",
        ),
    )

    def __post_init__(self) -> None:
        # A Python caller may name the one target (or a dropped column) as a plain string.
        for name in ("target", "drop"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, (value,))
            elif value is None:
                object.__setattr__(self, name, ())
        if len(self.target) > 1:
            raise ParameterError(
                f"'target' names one column, not {len(self.target)} "
                f"({', '.join(self.target)}): leave out other columns with 'drop'",
                parameters=("target", "drop"),
            )

    @property
    def target_column(self) -> str | None:
        """The target column, if one is named."""
        return self.target[0] if self.target else None

    @property
    def discretizer_or_none(self) -> str | None:
        """The discretizer the explainer takes: None explains continuous values."""
        return self.discretizer if self.discretize else None

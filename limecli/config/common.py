"""Settings every kind shares: sampling, labels, the model, output, batch, file discovery."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from limecli.config import BACKENDS, FEATURE_SELECTIONS, FORMATS, MODES, opt


@dataclass(frozen=True, kw_only=True)
class Sampling:
    """How the neighbourhood is drawn and the surrogate fitted.

    The defaults are tabular's; a command overrides them per kind (``option_group``
    overrides in limecli/cli/text.py and image.py), as does the audit policy reader.
    """

    num_samples: int | str = field(
        default=5000,
        metadata=opt(
            "--num-samples",
            kind="num_samples",
            show_default=True,
            help="Perturbed samples to draw around the input.",
        ),
    )
    num_features: int | str = field(
        default=10,
        metadata=opt(
            "--num-features",
            kind="num_features",
            show_default=True,
            help="Features in the explanation; 'auto' keeps those whose weight is "
            "distinguishable from zero (at most 10).",
        ),
    )
    seed: int = field(
        default=0,
        metadata=opt(
            "--seed",
            kind="int",
            show_default=True,
            help="Random seed: the same seed gives the same output, byte for byte.",
        ),
    )
    kernel_width: float | None = field(
        default=None,
        metadata=opt(
            "--kernel-width",
            kind="float",
            min=0,
            min_open=True,
            help="Kernel width (default 0.75 * sqrt(number of features)).",
        ),
    )
    feature_selection: str = field(
        default="auto",
        metadata=opt(
            "--feature-selection",
            choices=FEATURE_SELECTIONS,
            show_default=True,
            help="How the surrogate picks features (auto: forward up to 6, else highest weights).",
        ),
    )
    batch_size: int | None = field(
        default=None,
        metadata=opt("--batch-size", kind="int", min=1, help="Rows per model call (default 1000)."),
    )


@dataclass(frozen=True, kw_only=True)
class Labels:
    """Which outputs of a classifier to explain."""

    labels: tuple[str, ...] = field(
        default=(),
        metadata=opt(
            "--label",
            multiple=True,
            metavar="NAME",
            help="Class to explain, by name or index (repeatable). Default: the predicted class.",
        ),
    )
    top_labels: int | None = field(
        default=None,
        metadata=opt(
            "--top-labels", kind="int", min=1, help="Also explain the K most probable classes."
        ),
    )


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """How the model is found, loaded and called (MODEL itself is an argument)."""

    model: str
    mode: str | None = field(
        default=None,
        metadata=opt(
            "--mode",
            choices=MODES,
            help="Force the mode (default: predict_proba means classification).",
        ),
    )
    class_names: tuple[str, ...] | None = field(
        default=None,
        metadata=opt(
            "--class-names",
            kind="class_names",
            metavar="LIST|FILE",
            help="Class names, comma-separated or a file with one per line.",
        ),
    )
    timeout: float | None = field(
        default=None,
        metadata=opt(
            "--timeout",
            kind="float",
            min=0,
            min_open=True,
            metavar="SECONDS",
            help="Give up (exit 5) when one model call takes longer than this. "
            "A hung call cannot be stopped, so the command exits.",
        ),
    )
    trust: tuple[str, ...] = field(
        default=(),
        metadata=opt(
            "--trust",
            multiple=True,
            metavar="TYPE",
            help="A type a .skops model may hold beyond those skops trusts (repeatable). "
            "skops and ONNX models load without running code; pickles run code.",
        ),
    )


@dataclass(frozen=True, kw_only=True)
class Output:
    """Where and how results are written."""

    fmt: str | None = field(
        default=None,
        metadata=opt(
            "--format",
            choices=FORMATS,
            help="Output format. Default: table on a terminal, else from -o's suffix, else json.",
        ),
    )
    output: Path | None = field(
        default=None,
        metadata=opt(
            "-o",
            "--output",
            kind="output",
            help="Write the result to this file instead of stdout (written atomically). "
            "An existing file is replaced only if limecli wrote it (or with --force).",
        ),
    )
    quiet: bool = field(
        default=False,
        metadata=opt("-q", "--quiet", kind="flag", help="No notes or progress on stderr."),
    )
    force: bool = field(
        default=False,
        metadata=opt(
            "--force",
            kind="force",
            help="Replace existing output files even if limecli did not write them.",
        ),
    )


@dataclass(frozen=True, kw_only=True)
class Batch:
    """How a batch of inputs runs (see :mod:`limecli.batch`)."""

    jobs: int = field(
        default=1,
        metadata=opt(
            "--jobs",
            "-j",
            kind="int",
            show_default=True,
            help="Parallel processes for a batch (-1: all cores). Output is the same for any N.",
        ),
    )
    resume: bool = field(
        default=False,
        metadata=opt(
            "--resume",
            kind="flag",
            eager=True,  # read before -o, whose check leaves a file to resume alone
            help="Keep the inputs already in the -o JSONL/CSV file and append the rest.",
        ),
    )
    backend: str = field(
        default="local",
        metadata=opt(
            "--backend",
            choices=BACKENDS,
            show_default=True,
            help="Where a batch runs: local processes, or a Dask cluster (needs --scheduler).",
        ),
    )
    scheduler: str | None = field(
        default=None,
        metadata=opt(
            "--scheduler",
            metavar="ADDRESS",
            help="Dask scheduler address for --backend dask, e.g. tcp://10.0.0.5:8786.",
        ),
    )

    @property
    def is_set(self) -> bool:
        """Whether any option asks for a batch by itself."""
        return self.jobs != 1 or self.resume or self.backend != "local"


@dataclass(frozen=True, kw_only=True)
class Discovery:
    """How files are found for a batch of texts or images."""

    files_from: str | None = field(
        default=None,
        metadata=opt(
            "--files-from",
            metavar="FILE",
            help="Also explain the files listed in FILE, one path per line "
            "(- reads the list from stdin).",
        ),
    )
    recursive: bool = field(
        default=False,
        metadata=opt("--recursive", "-r", kind="flag", help="Look in the folders' subfolders too."),
    )
    extensions: tuple[str, ...] = field(
        default=(),
        metadata=opt(
            "--ext",
            multiple=True,
            metavar="LIST",
            help="Extensions of the files taken from folders, e.g. .txt,.md.",
        ),
    )

"""Settings of image explanations: superpixels, what the model is sent, and the pictures drawn."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from limecli.config import SCALES, SEGMENTERS, opt

#: Segmenter parameter (field name) -> the keyword the segmenter takes, where they differ.
SEGMENTER_KEYWORDS = {"fz_scale": "scale"}
#: Axis orders of the batch an image model receives: channels last or first.
LAYOUTS: tuple[str, ...] = ("NHWC", "NCHW")
#: Element types of that batch.
DTYPES: tuple[str, ...] = ("float32", "float64", "uint8")


@dataclass(frozen=True, kw_only=True)
class Segmentation:
    """How the image is cut into superpixels (a segmenter's own parameters default to None:
    the segmenter's defaults)."""

    segmenter: str = field(
        default="quickshift",
        metadata=opt(
            "--segmenter",
            choices=SEGMENTERS,
            show_default=True,
            help="How the image is cut into superpixels.",
        ),
    )
    kernel_size: int | None = field(
        default=None, metadata=opt("--kernel-size", kind="int", min=1, help="quickshift [4].")
    )
    max_dist: float | None = field(
        default=None,
        metadata=opt("--max-dist", kind="float", min=0, min_open=True, help="quickshift [200]."),
    )
    ratio: float | None = field(
        default=None, metadata=opt("--ratio", kind="float", min=0, help="quickshift [0.2].")
    )
    n_segments: int | None = field(
        default=None,
        metadata=opt(
            "--segments",
            kind="int",
            min=1,
            help="slic: approximate number of superpixels [50].",
        ),
    )
    compactness: float | None = field(
        default=None,
        metadata=opt("--compactness", kind="float", min=0, min_open=True, help="slic [10]."),
    )
    fz_scale: float | None = field(
        default=None,
        metadata=opt(
            "--fz-scale",
            kind="float",
            min=0,
            min_open=True,
            help="felzenszwalb scale [100]: larger means larger superpixels.",
        ),
    )
    sigma: float | None = field(
        default=None,
        metadata=opt("--sigma", kind="float", min=0, help="slic [0] / felzenszwalb [0.8]."),
    )
    min_size: int | None = field(
        default=None, metadata=opt("--min-size", kind="int", min=1, help="felzenszwalb [50].")
    )
    segments_file: Path | None = field(
        default=None,
        metadata=opt(
            "--segments-file",
            kind="existing_file",
            help="Use this label image (.npy, or an image whose gray levels/colours are the "
            "segments).",
        ),
    )
    cache_dir: Path | None = field(
        default=None,
        metadata=opt(
            "--cache-dir",
            kind="dir",
            envvar="LIMECLI_CACHE_DIR",
            metavar="DIR",
            help="Keep superpixel maps in DIR (created if needed) and reuse them when the same "
            "image is cut again with the same settings; results are identical. Off by default.",
        ),
    )

    def given_params(self) -> dict[str, Any]:
        """The segmenter parameters set, as (field name -> value); None ones left out."""
        names: tuple[str, ...] = ("kernel_size", "max_dist", "ratio", "n_segments")
        names += ("compactness", "fz_scale", "sigma", "min_size")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


@dataclass(frozen=True, kw_only=True)
class ImageSettings:
    """What the model is sent: the fill of hidden superpixels, then the tensor (size, value
    range, per-channel mean and std, axis order, element type; see
    :mod:`limecli.model.tensor_spec`). A tensor setting left None is the model's (an ONNX
    input shape and metadata, a predict script's ``INPUT_*`` constants), else the default."""

    hide_color: str = field(
        default="mean",
        metadata=opt(
            "--hide-color",
            show_default=True,
            metavar="mean|GRAY|R,G,B",
            help="Fill of hidden superpixels: each one's mean colour, or a constant (0-255).",
        ),
    )
    scale: str | None = field(
        default=None,
        metadata=opt(
            "--scale",
            choices=SCALES,
            help="Value range the model receives, before --mean/--std [the model's "
            "(INPUT_SCALE), else 0-1; 0-255 for uint8].",
        ),
    )
    resize: str | None = field(
        default=None,
        metadata=opt(
            "--resize",
            metavar="WxH",
            help="Resize the image first, to the size the model takes [the model's: a fixed "
            "ONNX input shape, INPUT_SIZE = (W, H); else the image's own].",
        ),
    )
    layout: str | None = field(
        default=None,
        metadata=opt(
            "--layout",
            choices=LAYOUTS,
            help="Axis order of the batch: NHWC (n, H, W, 3) or NCHW (n, 3, H, W) [the model's: "
            "an ONNX input shape, INPUT_LAYOUT; else NHWC].",
        ),
    )
    mean: str | None = field(
        default=None,
        metadata=opt(
            "--mean",
            metavar="R,G,B",
            help="Per-channel mean subtracted after scaling, e.g. 0.485,0.456,0.406 [the "
            "model's: INPUT_MEAN, ONNX metadata input_mean; else none].",
        ),
    )
    std: str | None = field(
        default=None,
        metadata=opt(
            "--std",
            metavar="R,G,B",
            help="Per-channel std the values are divided by after --mean, e.g. "
            "0.229,0.224,0.225 [the model's: INPUT_STD, ONNX metadata input_std; else none].",
        ),
    )
    dtype: str | None = field(
        default=None,
        metadata=opt(
            "--dtype",
            choices=DTYPES,
            help="Element type of the batch [the model's: the ONNX input type, INPUT_DTYPE; "
            "else float32].",
        ),
    )
    max_pixels: int | None = field(
        default=None,
        metadata=opt(
            "--max-pixels",
            kind="int",
            min=1,
            help="Refuse larger images (decompression-bomb guard) [89478485, Pillow's].",
        ),
    )

    def tensor(self) -> dict[str, Any]:
        """The tensor settings, as the image explainer's keyword arguments (None: the model's)."""
        names = ("resize", "scale", "layout", "mean", "std", "dtype")
        return {name: getattr(self, name) for name in names}


#: The pictures limecli draws, in the order of :attr:`Pictures.single`.
PICTURE_KINDS: tuple[str, ...] = ("overlay", "mask", "heatmap", "segments")


@dataclass(frozen=True, kw_only=True)
class Pictures:
    """The PNGs drawn: for one image (``out``...), or per image of a batch (``out_dir``).

    They show the first explained label; with ``every_label`` (or ``{label}`` in a path) one
    file per explained label.
    """

    out_dir: Path | None = field(
        default=None,
        metadata=opt(
            "--out-dir",
            kind="dir",
            help="Batch: write NAME.overlay.png per image here (created if needed); NAME comes "
            "from the image's path.",
        ),
    )
    masks: bool = field(
        default=False,
        metadata=opt("--masks", kind="flag", help="With --out-dir: also write NAME.mask.png."),
    )
    heatmaps: bool = field(
        default=False,
        metadata=opt(
            "--heatmaps", kind="flag", help="With --out-dir: also write NAME.heatmap.png."
        ),
    )
    segment_numbers: bool = field(
        default=False,
        metadata=opt(
            "--segment-numbers",
            kind="flag",
            help="With --out-dir: also write NAME.segments.png (see --segments-out).",
        ),
    )
    out: Path | None = field(
        default=None, metadata=opt("--out", kind="file", help="Write the overlay PNG here.")
    )
    mask_out: Path | None = field(
        default=None,
        metadata=opt(
            "--mask-out", kind="file", help="Write the mask PNG (255 support, 128 oppose)."
        ),
    )
    heatmap_out: Path | None = field(
        default=None,
        metadata=opt(
            "--heatmap-out",
            kind="file",
            help="Write the weight heatmap PNG: the image in grey under blue (support) and "
            "orange (opposition), with a colour scale below; or the raw float32 weights to a "
            ".npy path.",
        ),
    )
    segments_out: Path | None = field(
        default=None,
        metadata=opt(
            "--segments-out",
            kind="file",
            help="Write a PNG of every superpixel outlined with its number, the N of "
            "'segment N' in the tables (blue box: supports, orange: opposes).",
        ),
    )
    every_label: bool = field(
        default=False,
        metadata=opt(
            "--every-label",
            kind="flag",
            help="Draw the pictures of every explained label, not just the first: LABEL goes "
            "before a path's suffix (o.png -> o.cat.png; or put {label} in the path), and "
            "--out-dir gets NAME.overlay.LABEL.png.",
        ),
    )
    positive_only: bool = field(
        default=True,
        metadata=opt(
            "--positive-only",
            kind="toggle",
            secondary="--both",
            show_default=True,
            help="Outline only the supporting superpixels that matter (|weight| at least a "
            "fifth of the largest, not 'could be 0'), or also opposing ones: outlined in blue "
            "(supports) or orange (opposes), tinted in proportion to |weight|.",
        ),
    )
    hide_rest: bool = field(
        default=False,
        metadata=opt(
            "--hide-rest", kind="flag", help="Black out everything but the outlined superpixels."
        ),
    )

    @property
    def single(self) -> tuple[Path | None, Path | None, Path | None, Path | None]:
        """The one-image picture paths, in :data:`PICTURE_KINDS` order: overlay, mask,
        heatmap, segments."""
        return self.out, self.mask_out, self.heatmap_out, self.segments_out

    @property
    def batch_kinds(self) -> tuple[str, ...]:
        """The pictures drawn per image of a batch (none without ``out_dir``)."""
        if self.out_dir is None:
            return ()
        flags = (True, self.masks, self.heatmaps, self.segment_numbers)
        return tuple(kind for kind, on in zip(PICTURE_KINDS, flags, strict=True) if on)

    def per_label(self) -> Pictures:
        """These pictures with ``{label}`` before the suffix of each one-image path that has
        none (``o.png`` -> ``o.{label}.png``) when ``every_label`` is set; else unchanged."""
        if not self.every_label:
            return self
        paths: dict[str, Any] = {}
        for name, path in zip(_SINGLE_FIELDS, self.single, strict=True):
            if path is not None and "{label}" not in str(path):
                paths[name] = path.with_name(f"{path.stem}.{{label}}{path.suffix}")
        return replace(self, **paths)


_SINGLE_FIELDS = ("out", "mask_out", "heatmap_out", "segments_out")

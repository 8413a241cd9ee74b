"""The image pipeline: read images, cut them into superpixels, explain, and draw the pictures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from limecli.config.common import Batch, Discovery, Labels, Sampling
from limecli.config.image import SEGMENTER_KEYWORDS, ImageSettings, Pictures, Segmentation
from limecli.errors import ParameterError
from limecli.pipelines import BatchJob, Notes, no_notes

if TYPE_CHECKING:
    from limecli.explanation import Explanation
    from limecli.model.predictor import Predictor


def is_image_batch(
    images: Sequence[str], discovery: Discovery, pictures: Pictures, batch: Batch
) -> bool:
    """Whether the request is a batch: several images, a folder or glob, a list, --out-dir,
    or a batch setting."""
    from limecli.inputs.discover import names_many

    return (
        len(images) != 1
        or images[0] == "-"
        or discovery.files_from is not None
        or pictures.out_dir is not None
        or batch.is_set
        or names_many(images)
    )


def check_image_request(
    images: Sequence[str], discovery: Discovery, pictures: Pictures, batch: bool
) -> None:
    """Settings that cannot go together, before any work."""
    if not images and discovery.files_from is None:
        raise ParameterError("no image given: name images, a folder, or - for a list on stdin")
    if batch and any(p is not None for p in pictures.single):
        raise ParameterError(
            "'out', 'mask_out', 'heatmap_out' and 'segments_out' are for one image; a batch "
            "writes its pictures with 'out_dir' DIR",
            parameters=("out", "mask_out", "heatmap_out", "segments_out", "out_dir"),
        )
    if not batch and (discovery.extensions or discovery.recursive):
        raise ParameterError(
            "'extensions' and 'recursive' go with folders", parameters=("extensions", "recursive")
        )
    if (pictures.masks or pictures.heatmaps) and pictures.out_dir is None:
        raise ParameterError(
            "'masks' and 'heatmaps' go with 'out_dir' DIR",
            parameters=("masks", "heatmaps", "out_dir"),
        )
    if pictures.segment_numbers and pictures.out_dir is None:
        raise ParameterError(
            "'segment_numbers' goes with 'out_dir' DIR (one image: 'segments_out' PATH)",
            parameters=("segment_numbers", "out_dir", "segments_out"),
        )
    if pictures.every_label and pictures.out_dir is None and not any(pictures.single):
        raise ParameterError(
            "'every_label' goes with a picture: 'out', 'mask_out', 'heatmap_out', "
            "'segments_out' or 'out_dir'",
            parameters=("every_label", "out", "out_dir"),
        )


def check_image_settings(segmentation: Segmentation, settings: ImageSettings) -> dict[str, Any]:
    """The fill colour, the tensor settings and the segmenter's parameters, checked before
    any work; returns the segmenter's keyword arguments."""
    from limecli.inputs.image import DEFAULT_MAX_PIXELS, check_resize, parse_resize
    from limecli.model.tensor_spec import TensorSpec
    from limecli.sampling.image import parse_hide_color

    parse_hide_color(settings.hide_color)
    check_resize(parse_resize(settings.resize), settings.max_pixels or DEFAULT_MAX_PIXELS)
    TensorSpec.parse(**settings.tensor()).resolved()
    return segmenter_params(segmentation)


def segmenter_params(segmentation: Segmentation) -> dict[str, Any]:
    """The segmenter's keyword arguments given; ParameterError for one it does not take."""
    from limecli.sampling.image import SEGMENTER_DEFAULTS

    given = segmentation.given_params()
    segmenter = segmentation.segmenter
    params = {SEGMENTER_KEYWORDS.get(name, name): value for name, value in given.items()}
    wrong = [
        name
        for name in given
        if SEGMENTER_KEYWORDS.get(name, name) not in SEGMENTER_DEFAULTS[segmenter]
    ]
    if wrong:
        listed = ", ".join(f"'{name}'" for name in wrong)
        raise ParameterError(
            f"{listed} do(es) not apply to 'segmenter' {segmenter}",
            parameters=(*wrong, "segmenter"),
        )
    if segmentation.segments_file is not None and params:
        raise ParameterError(
            "segmenter options do not apply with 'segments_file'", parameters=("segments_file",)
        )
    return params


class ImagePipeline:
    """Images explained by hiding superpixels; pictures drawn where asked."""

    kind = "image"

    def __init__(
        self,
        predictor: Predictor,
        segmentation: Segmentation,
        settings: ImageSettings,
        sampling: Sampling,
        labels: Labels,
        *,
        notes: Notes = no_notes,
    ) -> None:
        from limecli.explainers.image import ImageExplainer
        from limecli.inputs.image import DEFAULT_MAX_PIXELS
        from limecli.sampling.image import parse_hide_color

        self.segmentation = segmentation
        self.settings = settings
        self.sampling = sampling
        self.labels = labels
        self.notes = notes
        self.max_pixels = settings.max_pixels or DEFAULT_MAX_PIXELS
        params = check_image_settings(segmentation, settings)
        hide = parse_hide_color(settings.hide_color)
        # The explainer's own default width unless one is given.
        width: dict[str, Any] = {}
        if sampling.kernel_width is not None:
            width["kernel_width"] = sampling.kernel_width
        self.explainer = ImageExplainer(
            predictor,
            segmenter=segmentation.segmenter,
            segmenter_params=params,
            hide_color=hide,
            feature_selection=sampling.feature_selection,
            num_samples=int(sampling.num_samples),
            num_features=sampling.num_features,
            batch_size=sampling.batch_size,
            cache_dir=segmentation.cache_dir,
            **settings.tensor(),
            **width,
        )
        spec = self.explainer.input_spec
        #: The size images are read at: given, else the model's (None: their own).
        self.resize = spec.size
        if not spec.is_default:
            self.notes(f"the model receives {spec.describe()}")

    def explain_file(self, path: str) -> Explanation:
        """The explanation of one image file (its first frame), pixels and superpixels kept."""
        from limecli.inputs.image import read_image
        from limecli.sampling.image import read_segments

        loaded = read_image(path, resize=self.resize, max_pixels=self.max_pixels)
        if loaded.frames > 1:
            self.notes(f"{path} has {loaded.frames} frames: explaining the first")
        segments_file = self.segmentation.segments_file
        segments = None if segments_file is None else read_segments(segments_file, loaded.size)
        explanation = self.explainer.explain(
            loaded,
            seed=self.sampling.seed,
            labels=self.labels.labels,
            top_labels=self.labels.top_labels,
            segments=segments,
        )
        width, height = loaded.size
        how = "'segments_file'" if segments is not None else self.segmentation.segmenter
        self.notes(
            f"{width}x{height} image cut into {explanation.data['num_segments']} superpixels "
            f"({how}); {self.sampling.num_samples} samples",
            "segments_file",
        )
        return explanation

    def find_files(
        self,
        images: Sequence[str],
        discovery: Discovery,
        *,
        exclude: Sequence[Path] = (),
        stdin: Any = None,
    ) -> list[Any]:
        """The images of a batch (:class:`~limecli.inputs.discover.FoundFile`), in order."""
        from limecli.inputs.discover import (
            expand_paths,
            image_extensions,
            parse_extensions,
            read_path_list,
        )

        files_from = discovery.files_from
        lists = [f for f in (files_from, "-" if "-" in images else None) if f is not None]
        if lists.count("-") > 1 or list(images).count("-") > 1:
            raise ParameterError("stdin (-) can be read only once")
        listed = [path for source in lists for path in read_path_list(source, stdin)]
        extensions = discovery.extensions
        return expand_paths(
            [i for i in images if i != "-"],
            extensions=parse_extensions(extensions) if extensions else image_extensions(),
            recursive=discovery.recursive,
            listed=listed,
            exclude=list(exclude),
            what="image",
        )

    def batch_job(
        self, files: Sequence[Any], pictures: Pictures, *, names: Sequence[str] | None = None
    ) -> BatchJob:
        """A batch over found ``files``; with ``pictures.out_dir``, PNGs per image there.

        ``names``: how each image is named in its record (default: its path).
        """
        from limecli.batch import per_input
        from limecli.batch.tasks_image import ImageBatchTask, image_batch_inputs
        from limecli.inputs.discover import output_names

        out_dir = pictures.out_dir
        if out_dir is not None:
            if out_dir.exists() and not out_dir.is_dir():
                raise ParameterError(
                    f"'out_dir' {out_dir} is a file, not a folder", parameters=("out_dir",)
                )
            out_dir.mkdir(parents=True, exist_ok=True)
        task = ImageBatchTask(
            self.explainer,
            labels=self.labels.labels,
            top_labels=self.labels.top_labels,
            resize=self.resize,
            max_pixels=self.max_pixels,
            segments_file=self.segmentation.segments_file,
            out_dir=out_dir,
            pictures=pictures.batch_kinds,
            positive_only=pictures.positive_only,
            hide_rest=pictures.hide_rest,
            every_label=pictures.every_label,
        )
        paths = [f.path for f in files]
        inputs = image_batch_inputs(paths, stems=output_names(files), sources=names)
        self.notes(f"explaining {len(files)} images")
        return BatchJob(
            kind=self.kind,
            inputs=inputs,
            total=len(files),
            task=per_input(task),
            chunk_size=1,
        )


def write_pictures(explanation: Any, pictures: Pictures, notes: Notes = no_notes) -> None:
    """The one-image PNGs (overlay, mask, heatmap, segments) for the first label, or per label
    where a path holds ``{label}`` (``every_label`` puts it in every path: see
    :meth:`~limecli.config.image.Pictures.per_label`); a ``.npy`` heatmap path gets the raw
    float32 weights."""
    from limecli.config.image import PICTURE_KINDS
    from limecli.render.overlay import picture, save_png, weight_map

    pictures = pictures.per_label()
    pixels, segments = explanation.pixels, explanation.segments
    for i, label in enumerate(explanation.labels):
        for kind, target in zip(PICTURE_KINDS, pictures.single, strict=True):
            if target is None or (i > 0 and "{label}" not in str(target)):
                continue
            path = label_path(target, label.label)
            if kind == "heatmap" and path.suffix.lower() == ".npy":
                array = weight_map(segments, label)
            else:
                array = picture(
                    kind,
                    pixels,
                    segments,
                    label,
                    positive_only=pictures.positive_only,
                    hide_rest=pictures.hide_rest,
                )
            save_png(path, array)
            notes(f"wrote {kind} for label {label.label!r} to {path}")
            if kind == "overlay" and not outlines_any(segments, label, pictures.positive_only):
                notes(
                    f"the overlay for label {label.label!r} outlines no superpixel: none "
                    f"{'supports' if pictures.positive_only else 'weighs'} it with at least a "
                    "fifth of the largest |weight| and a weight told apart from 0",
                )
    first_only = [p for p in pictures.single if p is not None and "{label}" not in str(p)]
    if first_only and len(explanation.labels) > 1:
        notes(
            f"the pictures show label {explanation.labels[0].label!r} only; 'every_label' "
            f"draws one per label ({len(explanation.labels)} explained)",
            "every_label",
        )


def outlines_any(segments: Any, label: Any, positive_only: bool) -> bool:
    """Whether an overlay of ``label`` outlines at least one superpixel."""
    from limecli.render.superpixels import segment_count, shown_segments

    count = segment_count(segments, label)
    support, oppose = shown_segments(label, count, positive_only=positive_only)
    return bool(support.any() or oppose.any())


def label_path(path: Path, label: str) -> Path:
    """``path`` with ``{label}`` replaced by a file-name-safe form of ``label``."""
    from limecli.batch.tasks_image import safe_label

    return Path(str(path).replace("{label}", safe_label(label)))

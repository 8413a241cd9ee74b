"""``limecli image``: explain an image's prediction with superpixels and draw it; or a batch."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from limecli.cli.common import (
    batch_options,
    emit,
    explain_options,
    model_argument,
    model_options,
    note,
    output_options,
    parse_class_names,
    resolve_format,
)

_PNG = click.Path(dir_okay=False, path_type=Path)


@click.command(name="image")
@model_argument
@click.argument("images", nargs=-1, required=False, metavar="IMAGE|FOLDER|GLOB|-...")
@click.option(
    "--files-from",
    default=None,
    metavar="FILE",
    help="Also explain the images listed in FILE, one path per line (- or an IMAGE of -: stdin).",
)
@click.option(
    "--recursive", "-r", is_flag=True, help="Look for images in the folders' subfolders too."
)
@click.option(
    "--ext",
    "extensions",
    multiple=True,
    metavar="LIST",
    help="Extensions of the files taken from folders, e.g. .png,.jpg "
    "[every extension Pillow reads].",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Batch: write NAME.overlay.png per image here (created if needed); NAME comes "
    "from the image's path.",
)
@click.option("--masks", is_flag=True, help="With --out-dir: also write NAME.mask.png.")
@click.option("--heatmaps", is_flag=True, help="With --out-dir: also write NAME.heatmap.png.")
@click.option("--out", type=_PNG, default=None, help="Write the overlay PNG here.")
@click.option(
    "--mask-out", type=_PNG, default=None, help="Write the mask PNG (255 support, 128 oppose)."
)
@click.option(
    "--heatmap-out",
    type=_PNG,
    default=None,
    help="Write the per-pixel weight heatmap PNG (or raw float32 weights to a .npy path).",
)
@click.option(
    "--positive-only/--both",
    default=True,
    show_default=True,
    help="Outline only supporting superpixels, or also opposing ones (green/red).",
)
@click.option("--hide-rest", is_flag=True, help="Black out everything but the shown superpixels.")
@click.option(
    "--segmenter",
    type=click.Choice(["quickshift", "slic", "felzenszwalb"]),
    default="quickshift",
    show_default=True,
    help="How the image is cut into superpixels.",
)
@click.option("--kernel-size", type=click.IntRange(min=1), default=None, help="quickshift [4].")
@click.option(
    "--max-dist",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="quickshift [200].",
)
@click.option("--ratio", type=click.FloatRange(min=0), default=None, help="quickshift [0.2].")
@click.option(
    "--segments",
    "n_segments",
    type=click.IntRange(min=1),
    default=None,
    help="slic: approximate number of superpixels [50].",
)
@click.option(
    "--compactness", type=click.FloatRange(min=0, min_open=True), default=None, help="slic [10]."
)
@click.option(
    "--fz-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="felzenszwalb scale [100]: larger means larger superpixels.",
)
@click.option(
    "--sigma", type=click.FloatRange(min=0), default=None, help="slic [0] / felzenszwalb [0.8]."
)
@click.option("--min-size", type=click.IntRange(min=1), default=None, help="felzenszwalb [50].")
@click.option(
    "--segments-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Use this label image (.npy, or an image whose gray levels/colours are the segments).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="LIMECLI_CACHE_DIR",
    show_envvar=True,
    metavar="DIR",
    help="Keep superpixel maps in DIR (created if needed) and reuse them when the same "
    "image is cut again with the same settings; results are identical. Off by default.",
)
@click.option(
    "--hide-color",
    default="mean",
    show_default=True,
    metavar="mean|GRAY|R,G,B",
    help="Fill of hidden superpixels: each one's mean colour, or a constant (0-255).",
)
@click.option(
    "--scale",
    type=click.Choice(["0-1", "0-255"]),
    default="0-1",
    show_default=True,
    help="Value range of the float32 (n, H, W, 3) RGB batch the model receives.",
)
@click.option(
    "--resize", default=None, metavar="WxH", help="Resize the image first (the model's size)."
)
@click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    default=None,
    help="Refuse larger images (decompression-bomb guard) [89478485, Pillow's].",
)
@click.option(
    "--kernel-width",
    type=click.FloatRange(min=0, min_open=True),
    default=0.25,
    show_default=True,
    help="Kernel width on the cosine distance.",
)
@explain_options(num_samples=1000)
@model_options
@output_options
@batch_options
def image(
    model: str,
    images: tuple[str, ...],
    files_from: str | None,
    recursive: bool,
    extensions: tuple[str, ...],
    out_dir: Path | None,
    masks: bool,
    heatmaps: bool,
    out: Path | None,
    mask_out: Path | None,
    heatmap_out: Path | None,
    positive_only: bool,
    hide_rest: bool,
    segmenter: str,
    kernel_size: int | None,
    max_dist: float | None,
    ratio: float | None,
    n_segments: int | None,
    compactness: float | None,
    fz_scale: float | None,
    sigma: float | None,
    min_size: int | None,
    segments_file: Path | None,
    cache_dir: Path | None,
    hide_color: str,
    scale: str,
    resize: str | None,
    max_pixels: int | None,
    kernel_width: float,
    num_samples: int,
    num_features: int,
    seed: int,
    labels: tuple[str, ...],
    top_labels: int | None,
    mode: str | None,
    class_names: str | None,
    feature_selection: str,
    batch_size: int | None,
    timeout: float | None,
    trust: tuple[str, ...],
    fmt: str | None,
    output: Path | None,
    quiet: bool,
    jobs: int,
    resume: bool,
    backend: str,
    scheduler: str | None,
) -> None:
    """Explain why MODEL predicted what it did for IMAGE, and draw the superpixels that mattered.

    MODEL is a predict-script entrypoint such as models/cnn.py:predict (a
    function taking a float32 batch (n, H, W, 3), RGB, channels last, values
    0-1 unless --scale 0-255, and returning probabilities), or a pickled
    scikit-learn estimator over flattened pixels (n_features_in_ = H*W*3, or
    H*W for gray), or a .skops or .onnx model over flattened pixels. Unpickling
    runs code: only load pickles you trust; .skops and .onnx files load without
    running code.

    Classification explains the 5 most probable classes unless --label is
    given. The PNGs show the first explained label; put {label} in a path to
    get one file per label. Every PNG is the size of the explained image.

    Cutting the image into superpixels (quickshift above all) is most of the
    time outside the model. With --cache-dir DIR (or LIMECLI_CACHE_DIR) the
    superpixel map of each image is kept there, keyed by the pixels, the
    segmenter and its settings and the scikit-image version, and the next run
    on the same image skips the segmenter; the output is byte-identical. A
    damaged cache file is recomputed. Nothing is written unless asked, and
    limecli never deletes cache files (one per image and settings, about
    50 kB for 224x224).

    Several images, a FOLDER (the files Pillow reads; --recursive, --ext), a
    quoted GLOB, a list of paths (- or --files-from), --out-dir or a batch
    option run a batch: one record per image, in input order, streamed (JSONL,
    CSV) with a progress bar, and per-image PNGs in --out-dir; an image that
    cannot be read or explained gets an error record and exit code 6.

    \b
    Example:
      limecli image sample_models/predict_shapes.py:predict \\
          sample_data/images/shapes.png --out explained.png --both
      limecli image sample_models/predict_shapes.py:predict photos/ \\
          --out-dir overlays/ --format jsonl -o photos.jsonl --jobs 2
    """
    from limecli.atomic import check_overwrite
    from limecli.batch import check_executor_options
    from limecli.errors import ParameterError
    from limecli.explainers.image import explain_image
    from limecli.inputs.image import DEFAULT_MAX_PIXELS, parse_resize, read_image
    from limecli.model.loading import load_model
    from limecli.sampling.image import parse_hide_color, read_segments

    if not images and files_from is None:
        raise ParameterError("no image given: name images, a folder, or - for a list on stdin")
    batch = (
        len(images) != 1
        or images[0] == "-"
        or files_from is not None
        or out_dir is not None
        or jobs != 1
        or resume
        or backend != "local"
        or _names_many(images)
    )
    if batch and any(p is not None for p in (out, mask_out, heatmap_out)):
        raise ParameterError(
            "--out, --mask-out and --heatmap-out are for one image; a batch writes its "
            "pictures with --out-dir DIR"
        )
    if not batch and (extensions or recursive):
        raise ParameterError("--ext and --recursive go with folders")
    if (masks or heatmaps) and out_dir is None:
        raise ParameterError("--masks and --heatmaps go with --out-dir DIR")
    force = bool(click.get_current_context().meta.get("limecli.force"))
    for path in (out, mask_out, heatmap_out):
        if path is not None:
            _check_folder(path)
            if "{label}" not in str(path):
                check_overwrite(path, force=force)
    hide = parse_hide_color(hide_color)
    parse_resize(resize)
    check_executor_options(jobs, backend, scheduler)
    params = _segmenter_params(
        segmenter,
        kernel_size=kernel_size,
        max_dist=max_dist,
        ratio=ratio,
        n_segments=n_segments,
        compactness=compactness,
        scale=fz_scale,
        sigma=sigma,
        min_size=min_size,
    )
    if segments_file is not None and params:
        raise ParameterError("segmenter options do not apply with --segments-file")
    predictor = load_model(
        model,
        mode=mode,
        class_names=parse_class_names(class_names),
        timeout=timeout,
        trust=trust,
    )
    if batch:
        from limecli.batch.tasks_image import ImageBatchTask
        from limecli.explainers.image import ImageExplainer

        explainer = ImageExplainer(
            predictor,
            segmenter=segmenter,
            segmenter_params=params,
            hide_color=hide,
            scale=scale,
            kernel_width=kernel_width,
            feature_selection=feature_selection,
            num_samples=num_samples,
            num_features=num_features,
            batch_size=batch_size,
            cache_dir=cache_dir,
        )
        pictures = ("overlay",) + ("mask",) * masks + ("heatmap",) * heatmaps
        task = ImageBatchTask(
            explainer,
            labels=labels,
            top_labels=top_labels,
            resize=resize,
            max_pixels=max_pixels or DEFAULT_MAX_PIXELS,
            segments_file=segments_file,
            out_dir=out_dir,
            pictures=pictures if out_dir is not None else (),
            positive_only=positive_only,
            hide_rest=hide_rest,
        )
        _batch(
            task,
            images,
            files_from=files_from,
            recursive=recursive,
            extensions=extensions,
            out_dir=out_dir,
            seed=seed,
            fmt=resolve_format(fmt, output),
            output=output,
            quiet=quiet,
            jobs=jobs,
            resume=resume,
            backend=backend,
            scheduler=scheduler,
        )
        return
    (image_path,) = images
    loaded = read_image(image_path, resize=resize, max_pixels=max_pixels or DEFAULT_MAX_PIXELS)
    if loaded.frames > 1:
        note(quiet, f"{image_path} has {loaded.frames} frames: explaining the first")
    segments = read_segments(segments_file, loaded.size) if segments_file is not None else None
    explanation = explain_image(
        predictor,
        loaded,
        num_samples=num_samples,
        num_features=num_features,
        seed=seed,
        labels=labels,
        top_labels=top_labels,
        segmenter=segmenter,
        segmenter_params=params,
        segments=segments,
        hide_color=hide,
        scale=scale,
        kernel_width=kernel_width,
        feature_selection=feature_selection,
        batch_size=batch_size,
        cache_dir=cache_dir,
    )
    width, height = loaded.size
    how = "--segments-file" if segments is not None else segmenter
    note(
        quiet,
        f"{width}x{height} image cut into {explanation.data['num_segments']} superpixels "
        f"({how}); {num_samples} samples",
    )
    _write_pictures(explanation, out, mask_out, heatmap_out, positive_only, hide_rest, quiet)
    emit([explanation], fmt, output)


# The shared options' defaults suit tables; images take the reference's.
for _param in image.params:
    if not isinstance(_param, click.Option):
        continue
    if _param.name == "num_features":
        _param.default = 5
    elif _param.name == "batch_size":
        _param.help = "Images per model call (default 100)."
    elif _param.name == "top_labels":
        _param.help = "Explain the K most probable classes (default 5 unless --label is given)."


def _names_many(images: tuple[str, ...]) -> bool:
    from limecli.inputs.discover import names_many

    return names_many(images)


def _batch(
    task: Any,
    images: tuple[str, ...],
    *,
    files_from: str | None,
    recursive: bool,
    extensions: tuple[str, ...],
    out_dir: Path | None,
    seed: int,
    fmt: str,
    output: Path | None,
    quiet: bool,
    jobs: int,
    resume: bool,
    backend: str,
    scheduler: str | None,
) -> None:
    """Explain every image named, streaming records (see limecli.batch) and writing PNGs."""
    from limecli.batch import per_input
    from limecli.batch.tasks_image import image_batch_inputs
    from limecli.cli.batch_run import run_cli_batch
    from limecli.errors import ParameterError
    from limecli.inputs.discover import (
        expand_paths,
        image_extensions,
        output_names,
        parse_extensions,
        read_path_list,
    )

    if fmt == "html":
        raise ParameterError("a batch writes jsonl, csv, json or table, not html")
    lists = [f for f in (files_from, "-" if "-" in images else None) if f is not None]
    if lists.count("-") > 1 or images.count("-") > 1:
        raise ParameterError("stdin (-) can be read only once")
    stdin = sys.stdin.buffer
    listed = [path for source in lists for path in read_path_list(source, stdin)]
    if out_dir is not None:
        if out_dir.exists() and not out_dir.is_dir():
            raise ParameterError(f"--out-dir {out_dir} is a file, not a folder")
        out_dir.mkdir(parents=True, exist_ok=True)
    files = expand_paths(
        [i for i in images if i != "-"],
        extensions=parse_extensions(extensions) if extensions else image_extensions(),
        recursive=recursive,
        listed=listed,
        exclude=[p for p in (out_dir, output) if p is not None],
        what="image",
    )
    stems = output_names(files)
    # Lazily: a path and a name per image; the pixels are read in the worker.
    inputs = image_batch_inputs([f.path for f in files], stems=stems)
    note(quiet, f"explaining {len(files)} images")
    run_cli_batch(
        kind="image",
        inputs=inputs,
        total=len(files),
        task=per_input(task),
        fmt=fmt,
        output=output,
        resume=resume,
        jobs=jobs,
        backend=backend,
        scheduler=scheduler,
        seed=seed,
        quiet=quiet,
        chunk_size=1,
    )


def _segmenter_params(segmenter: str, **given: Any) -> dict[str, Any]:
    from limecli.errors import ParameterError
    from limecli.sampling.image import SEGMENTER_DEFAULTS

    flags = {
        "kernel_size": "--kernel-size",
        "max_dist": "--max-dist",
        "ratio": "--ratio",
        "n_segments": "--segments",
        "compactness": "--compactness",
        "scale": "--fz-scale",
        "sigma": "--sigma",
        "min_size": "--min-size",
    }
    used = {k: v for k, v in given.items() if v is not None}
    wrong = [flags[k] for k in used if k not in SEGMENTER_DEFAULTS[segmenter]]
    if wrong:
        raise ParameterError(f"{', '.join(wrong)} do(es) not apply to --segmenter {segmenter}")
    return used


def _check_folder(path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise click.BadParameter(f"folder {folder} does not exist", param_hint=f"'{path}'")


def _write_pictures(
    explanation: Any,
    out: Path | None,
    mask_out: Path | None,
    heatmap_out: Path | None,
    positive_only: bool,
    hide_rest: bool,
    quiet: bool,
) -> None:
    from limecli.render.overlay import heatmap_image, mask_image, overlay_image, save_png

    pixels, segments = explanation.pixels, explanation.segments
    for i, label in enumerate(explanation.labels):
        # A path with {label} gets one file per explained label; others the first label's.
        out, mask_out, heatmap_out = (
            p if p is not None and (i == 0 or "{label}" in str(p)) else None
            for p in (out, mask_out, heatmap_out)
        )
        if out is not None:
            path = _label_path(out, label.label)
            save_png(
                path,
                overlay_image(
                    pixels, segments, label, positive_only=positive_only, hide_rest=hide_rest
                ),
            )
            note(quiet, f"wrote overlay for label {label.label!r} to {path}")
        if mask_out is not None:
            path = _label_path(mask_out, label.label)
            save_png(path, mask_image(segments, label, positive_only=positive_only))
            note(quiet, f"wrote mask for label {label.label!r} to {path}")
        if heatmap_out is not None:
            path = _label_path(heatmap_out, label.label)
            if path.suffix.lower() == ".npy":
                from limecli.render.overlay import weight_map

                save_png(path, weight_map(segments, label))
            else:
                save_png(path, heatmap_image(segments, label))
            note(quiet, f"wrote heatmap for label {label.label!r} to {path}")


def _label_path(path: Path, label: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
    return Path(str(path).replace("{label}", safe))

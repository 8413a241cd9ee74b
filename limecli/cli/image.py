"""``limecli image``: explain an image's prediction with superpixels and draw it; or a batch."""

from __future__ import annotations

import sys
from typing import Any

import click

from limecli.cli.options import SectionedCommand, option_group
from limecli.config.common import Batch, Discovery, Labels, ModelSpec, Output, Sampling
from limecli.config.image import ImageSettings, Pictures, Segmentation

DISCOVERY_HELP = {
    "files_from": {
        "help": "Also explain the images listed in FILE, one path per line "
        "(- or an IMAGE of -: stdin)."
    },
    "recursive": {"help": "Look for images in the folders' subfolders too."},
    "extensions": {
        "help": "Extensions of the files taken from folders, e.g. .png,.jpg "
        "[every extension Pillow reads]."
    },
}
SAMPLING: dict[str, dict[str, Any]] = {
    "num_samples": {"default": 1000, "kind": "int", "min": 2},
    "num_features": {"default": 5},
    "kernel_width": {
        "default": 0.25,
        "show_default": True,
        "help": "Kernel width on the cosine distance.",
    },
    "batch_size": {"help": "Images per model call (default 100)."},
}
LABELS = {
    "top_labels": {
        "help": "Explain the K most probable classes (default 5 unless --label is given)."
    }
}


@click.command(name="image", cls=SectionedCommand)
@click.argument("model", metavar="MODEL")
@click.argument("images", nargs=-1, required=False, metavar="IMAGE|FOLDER|GLOB|-...")
@option_group(Discovery, section="Input", overrides=DISCOVERY_HELP)
@option_group(Pictures, section="Pictures")
@option_group(Segmentation, section="Superpixels")
@option_group(ImageSettings, section="Image")
@option_group(Sampling, section="Sampling", overrides=SAMPLING)
@option_group(Labels, section="Labels", overrides=LABELS)
@option_group(ModelSpec, section="Model", arguments=("model",))
@option_group(Output, section="Output")
@option_group(Batch, section="Batch")
def image(
    images: tuple[str, ...],
    discovery: Discovery,
    pictures: Pictures,
    segmentation: Segmentation,
    image_settings: ImageSettings,
    sampling: Sampling,
    labels: Labels,
    model_spec: ModelSpec,
    output: Output,
    batch: Batch,
) -> None:
    """Explain why MODEL predicted what it did for IMAGE, and draw the superpixels that mattered.

    MODEL is an ONNX network (.onnx; its input shape, e.g. [N,3,224,224],
    says the layout and size, and metadata_props may hold input_mean/input_std),
    a TorchScript (.pt) or Keras (.keras) network, a predict-script entrypoint
    such as models/cnn.py:predict (a function taking a batch, by default float32
    (n, H, W, 3), RGB, channels last, values 0-1; INPUT_LAYOUT, INPUT_SIZE,
    INPUT_SCALE, INPUT_MEAN, INPUT_STD and INPUT_DTYPE constants in the script
    describe another tensor), or a pickled, .skops or .onnx model over flattened
    pixels (n_features_in_ = H*W*3, or H*W for gray). --layout, --resize,
    --scale, --mean, --std and --dtype override what the model says. Unpickling
    runs code: only load pickles you trust; .skops and .onnx files load without
    running code.

    Classification explains the 5 most probable classes unless --label is
    given. The PNGs show the first explained label; --every-label draws one
    file per label (o.png -> o.LABEL.png, NAME.overlay.png ->
    NAME.overlay.LABEL.png), as does {label} in a path. Blue supports, orange
    opposes; outlines are dark, coloured and light strokes, visible on any
    image. Every PNG is the size of the explained image, but the heatmap adds
    its colour scale below.

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
      limecli image sample_models/digits_cnn.onnx sample_data/digits/digit_7.png \\
          --segmenter slic --hide-color 128 --out digit.png
      limecli image sample_models/predict_shapes.py:predict photos/ \\
          --out-dir overlays/ --format jsonl -o photos.jsonl --jobs 2
      limecli image sample_models/predict_shapes.py:predict \\
          sample_data/images/shapes.png --segments-out numbers.png
    """
    from limecli.batch import check_executor_options
    from limecli.cli.batch_run import check_batch, run_job
    from limecli.cli.output import (
        check_batch_pictures,
        check_pictures,
        emit,
        label_expansions,
        make_notes,
    )
    from limecli.pipelines import load_predictor
    from limecli.pipelines.image import (
        ImagePipeline,
        check_image_request,
        check_image_settings,
        is_image_batch,
        write_pictures,
    )

    is_batch = is_image_batch(images, discovery, pictures, batch)
    check_image_request(images, discovery, pictures, is_batch)
    force = bool(click.get_current_context().meta.get("limecli.force"))
    pictures = pictures.per_label()  # --every-label: {label} in each one-image path
    check_pictures(pictures, force)  # writable, and no user's file replaced, before any work
    check_image_settings(segmentation, image_settings)
    check_executor_options(batch.jobs, batch.backend, batch.scheduler)
    if is_batch:
        check_batch(output, batch)
    notes = make_notes(output.quiet)
    pipeline = ImagePipeline(
        load_predictor(model_spec), segmentation, image_settings, sampling, labels, notes=notes
    )
    if not is_batch:
        explanation = pipeline.explain_file(images[0])
        write_pictures(explanation, pictures, notes)
        emit([explanation], output.fmt, output.output)
        return
    exclude = [p for p in (pictures.out_dir, output.output) if p is not None]
    files = pipeline.find_files(images, discovery, exclude=exclude, stdin=sys.stdin.buffer)
    check_batch_pictures(pictures, files, force)
    if pictures.every_label and pictures.out_dir is not None:
        from limecli.atomic import check_overwrite
        from limecli.batch.tasks_image import picture_template
        from limecli.inputs.discover import output_names

        for stem in output_names(files):
            for kind in pictures.batch_kinds:
                template = pictures.out_dir / picture_template(stem, kind)
                for existing in label_expansions(template):
                    check_overwrite(existing, force=force)
    run_job(pipeline.batch_job(files, pictures), output, batch, seed=sampling.seed)

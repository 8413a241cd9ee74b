"""Explaining a policy's inputs with the batch machinery (:mod:`limecli.batch`).

Tabular data shares one sample pool drawn with the policy's seed (see
README, Batch); texts and images are explained one by one with seeds derived
from the seed and each input's identity. Identities name the data as the
policy writes it (relative to the policy's folder), so an audit gives the
same explanations, and the same verdict, from any working folder and for
any number of jobs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from limecli.audit.items import AuditItem, describe_input
from limecli.audit.policy import Policy
from limecli.audit.rules import check_feature_names
from limecli.batch import BatchInput, ChunkTask, per_input, run_batch
from limecli.errors import InputDataError, LimeCliError, ParameterError
from limecli.explanation import Explanation
from limecli.inputs.ref import InputRef
from limecli.inputs.rows import RowSpec


@dataclass
class _ListSink:
    """Keeps every record in memory, in input order."""

    records: list[Explanation | dict[str, Any]]

    def write(self, kind: str, identity: dict[str, Any], result: Explanation | dict) -> None:
        self.records.append(result)

    def close(self, complete: bool) -> None:
        pass


def explain_policy_inputs(
    policy: Policy,
    *,
    jobs: int | None = None,
    on_total: Callable[[int], None] | None = None,
    on_record: Callable[[int], None] | None = None,
) -> list[AuditItem]:
    """Explain every input the policy names; the first failing input stops the audit.

    An input that cannot be explained leaves the audit without evidence for
    it, so it is an error with that input's exit code (3 bad data, 5 model
    call failed, ...), never a silently smaller audit.
    """
    from limecli.model.loading import is_entrypoint, load_model

    model = policy.model
    if not is_entrypoint(model):
        model = str(policy.resolve(model))
    elif model.rpartition(":")[0].endswith(".py"):
        script, _, function = model.rpartition(":")
        model = f"{policy.resolve(script)}:{function}"
    predictor = load_model(model, mode=policy.mode, class_names=policy.class_names)
    settings = policy.explainer
    labels = policy.labels_needed()
    # Rules judge the predicted class by default: explain it besides any named label.
    top_labels = 1 if labels else None
    values: dict[str, dict[str, Any]] = {}
    if policy.kind == "tabular":
        inputs, task, chunk, total = _tabular(policy, predictor, labels, top_labels, values)
    elif policy.kind == "text":
        inputs, task, chunk, total = _text(policy, predictor, labels, top_labels)
    else:
        inputs, task, chunk, total = _image(policy, predictor, labels, top_labels)
    if on_total is not None:
        on_total(total)
    sink = _ListSink([])
    run_batch(
        inputs,
        task,
        sink,
        kind=policy.kind,
        seed=policy.seed,
        jobs=settings["jobs"] if jobs is None else jobs,
        chunk_size=chunk,
        on_record=on_record,
    )
    failed = [r for r in sink.records if isinstance(r, dict)]
    if failed:
        first = failed[0]
        error = first["error"]
        error_type = type(
            "AuditInputError", (LimeCliError,), {"exit_code": int(error["exit_code"])}
        )
        raise error_type(
            f"{len(failed)} of {len(sink.records)} inputs could not be explained, so the audit "
            f"cannot judge them; first: {describe_input(first['input'])}: {error['message']}"
        )
    items = []
    for record in sink.records:
        assert isinstance(record, Explanation)
        key = _row_key(record.input)
        items.append(AuditItem(dict(record.input), record, values.get(key)))
    return items


def _row_key(identity: dict[str, Any]) -> str:
    return InputRef.from_dict(identity).key()


def _chosen_rows(policy: Policy, spec: RowSpec | None, n_rows: int, source: str) -> list[int]:
    """The rows ``data.rows`` names in data of ``n_rows`` rows (all of them when unset)."""
    if spec is None:
        return list(range(n_rows))
    try:
        return spec.resolve(n_rows, source=source)
    except InputDataError as e:
        raise InputDataError(f"{policy.path}: data.rows: {e}") from e


def _tabular(
    policy: Policy,
    predictor: Any,
    labels: list[str],
    top_labels: int | None,
    values: dict[str, dict[str, Any]],
) -> tuple[Iterable[BatchInput], ChunkTask, int, int]:
    from limecli.batch.tasks_tabular import TabularBatchTask, tabular_batch_inputs
    from limecli.explainers.tabular import TabularExplainer
    from limecli.inputs.tabular import read_csv

    settings = policy.explainer
    options = policy.data_options
    frame = read_csv(policy.resolve(policy.data))
    train = options["train"]
    rows = _chosen_rows(policy, options["rows"], len(frame), policy.data)
    discretizer = settings["discretizer"]
    explainer = TabularExplainer(
        predictor,
        frame if train is None else read_csv(policy.resolve(train)),
        target=options["target"],
        categorical=options["categorical"],
        discretizer=None if discretizer == "none" else discretizer,
        sample_around_instance=settings["sample_around_instance"],
        kernel_width=settings["kernel_width"],
        feature_selection=settings["feature_selection"],
        num_samples=settings["num_samples"],
        num_features=settings["num_features"],
        batch_size=settings["batch_size"],
    )
    explainer.training_source = train or policy.data
    check_feature_names(policy, list(explainer.feature_columns), [str(c) for c in frame.columns])
    shared = (
        explainer.shared_pool(seed=policy.seed, num_samples=settings["num_samples"])
        if explainer.shares_samples
        else None
    )
    task = TabularBatchTask(
        explainer,
        shared,
        labels=labels,
        top_labels=top_labels,
        num_samples=settings["num_samples"],
        num_features=settings["num_features"],
    )
    source = _shown_path(policy.data)
    for i in rows:
        values[InputRef.row(source, i).key()] = frame.iloc[i].to_dict()
    inputs = tabular_batch_inputs(explainer, frame, rows, source=source, shared=shared is not None)
    return inputs, task, 32 if shared is not None else 4, len(rows)


def _shown_path(path: str) -> str:
    return os.path.normpath(path).replace(os.sep, "/")


def _relative(policy: Policy, path: str) -> str:
    """A found file's name relative to the policy's folder (its identity)."""
    absolute = os.path.abspath(path)
    try:
        rel = os.path.relpath(absolute, policy.folder)
    except ValueError:  # another drive (Windows)
        rel = absolute
    return _shown_path(rel)


def _text(
    policy: Policy, predictor: Any, labels: list[str], top_labels: int | None
) -> tuple[Iterable[BatchInput], ChunkTask, int, int]:
    from limecli.batch.tasks_text import TextBatchTask, text_batch_inputs
    from limecli.explainers.text import TextExplainer
    from limecli.inputs.discover import (
        TABLE_EXTENSIONS,
        TEXT_EXTENSIONS,
        expand_paths,
        parse_extensions,
    )

    settings = policy.explainer
    options = policy.data_options
    if settings["char_level"] and settings["split_expression"] is not None:
        raise ParameterError(
            f"{policy.path}: explainer.char_level and explainer.split_expression cannot be "
            "used together"
        )
    explainer = TextExplainer(
        predictor,
        bow=settings["bow"],
        split_expression=settings["split_expression"],
        char_level=settings["char_level"],
        mask_token=settings["mask_token"],
        feature_selection=settings["feature_selection"],
        num_samples=settings["num_samples"],
        num_features=settings["num_features"],
        batch_size=settings["batch_size"],
        **({"kernel_width": settings["kernel_width"]} if settings["kernel_width"] else {}),
    )
    column = options["column"]
    default = TABLE_EXTENSIONS if column is not None else TEXT_EXTENSIONS
    extensions = options["extensions"]
    files = _expand(
        policy,
        expand_paths,
        extensions=parse_extensions(extensions) if extensions else default,
        recursive=options["recursive"],
        what="table" if column is not None else "text file",
    )
    # Every row of each table: data.rows is picked per table below, once its length is known.
    items = text_batch_inputs(files, encoding=options["encoding"], column=column)
    named = [
        replace(item, ref=replace(item.ref, source=_relative(policy, str(item.ref.source))))
        for item in items
    ]
    if options["rows"] is not None:
        named = _pick_rows(policy, options["rows"], named)
    task = per_input(
        TextBatchTask(explainer, labels=labels, top_labels=top_labels, encoding=options["encoding"])
    )
    return named, task, 4, len(named)


def _pick_rows(policy: Policy, spec: RowSpec, items: list[BatchInput]) -> list[BatchInput]:
    """``data.rows`` of each table (``items``: all its rows, in order), in the spec's order."""
    tables: dict[str, list[BatchInput]] = {}
    for item in items:
        tables.setdefault(str(item.ref.source), []).append(item)
    return [
        rows[i]
        for source, rows in tables.items()
        for i in _chosen_rows(policy, spec, len(rows), source)
    ]


def _expand(policy: Policy, expand: Any, **kwargs: Any) -> list[str]:
    target = policy.resolve(policy.data)
    if not target.exists():
        raise InputDataError(f"{policy.path}: data.path: {policy.data} does not exist")
    try:
        found = expand([str(target)], **kwargs)
    except ParameterError as e:
        raise InputDataError(f"{policy.path}: data.path: {e}") from e
    return [os.path.abspath(f.path) for f in found]


def _image(
    policy: Policy, predictor: Any, labels: list[str], top_labels: int | None
) -> tuple[Iterable[BatchInput], ChunkTask, int, int]:
    from limecli.batch.tasks_image import ImageBatchTask, image_batch_inputs
    from limecli.explainers.image import ImageExplainer
    from limecli.inputs.discover import expand_paths, image_extensions, parse_extensions

    settings = policy.explainer
    options = policy.data_options
    explainer = ImageExplainer(
        predictor,
        segmenter=settings["segmenter"] or "quickshift",
        feature_selection=settings["feature_selection"],
        num_samples=settings["num_samples"],
        num_features=settings["num_features"],
        batch_size=settings["batch_size"],
        # As `limecli image`: segmentations kept on disk only where the user asked for it.
        cache_dir=os.environ.get("LIMECLI_CACHE_DIR") or None,
        **({"kernel_width": settings["kernel_width"]} if settings["kernel_width"] else {}),
    )
    extensions = options["extensions"]
    files = _expand(
        policy,
        expand_paths,
        extensions=parse_extensions(extensions) if extensions else image_extensions(),
        recursive=options["recursive"],
        what="image",
    )
    task = per_input(
        ImageBatchTask(explainer, labels=labels, top_labels=top_labels, resize=options["resize"])
    )
    items = list(image_batch_inputs(files, sources=[_relative(policy, f) for f in files]))
    return items, task, 1, len(items)

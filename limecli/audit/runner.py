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

from limecli.audit.policy import Policy
from limecli.audit.rules import AuditItem, check_feature_names, describe_input
from limecli.batch import BatchInput, ChunkTask, per_input, run_batch
from limecli.errors import InputDataError, LimeCliError, ParameterError
from limecli.explanation import Explanation


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
    return f"{identity.get('source')}\x00{identity.get('row', identity.get('index'))}"


def _tabular(
    policy: Policy,
    predictor: Any,
    labels: list[str],
    top_labels: int | None,
    values: dict[str, dict[str, Any]],
) -> tuple[Iterable[BatchInput], ChunkTask, int, int]:
    from limecli.explainers.tabular import TabularExplainer
    from limecli.explainers.tabular_batch import TabularBatchTask, tabular_batch_inputs
    from limecli.inputs.tabular import read_csv

    settings = policy.explainer
    options = policy.data_options
    frame = read_csv(policy.resolve(policy.data))
    train = options["train"]
    rows = options["rows"] if options["rows"] is not None else list(range(len(frame)))
    bad = [r for r in rows if r >= len(frame)]
    if bad:
        raise InputDataError(
            f"{policy.path}: data.rows: row {bad[0]} is out of range: {policy.data} has "
            f"{len(frame)} rows (0 to {len(frame) - 1})"
        )
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
        values[_row_key({"source": source, "row": i})] = frame.iloc[i].to_dict()
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
    from limecli.explainers.text import TextExplainer
    from limecli.inputs.discover import (
        TABLE_EXTENSIONS,
        TEXT_EXTENSIONS,
        expand_paths,
        parse_extensions,
    )
    from limecli.inputs.text import TextBatchTask, text_batch_inputs

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
    items = text_batch_inputs(
        files, encoding=options["encoding"], column=column, rows=options["rows"]
    )
    named = [
        replace(
            item, identity={**item.identity, "source": _relative(policy, item.identity["source"])}
        )
        for item in items
    ]
    task = per_input(
        TextBatchTask(explainer, labels=labels, top_labels=top_labels, encoding=options["encoding"])
    )
    return named, task, 4, len(named)


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
    from limecli.explainers.image import ImageExplainer
    from limecli.inputs.discover import expand_paths, image_extensions, parse_extensions
    from limecli.inputs.image import ImageBatchTask

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
    items = [BatchInput({"source": _relative(policy, f)}, (f, "")) for f in files]
    return items, task, 1, len(items)

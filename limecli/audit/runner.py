"""Explaining a policy's inputs with the kinds' pipelines (limecli.pipelines) and the batch runner.

Tabular data shares one sample pool drawn with the policy's seed (see
docs/batch.md); texts and images are explained one by one with seeds derived
from the seed and each input's identity. Identities name the data as the
policy writes it (relative to the policy's folder), so an audit gives the
same explanations, and the same verdict, from any working folder and for
any number of jobs.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from limecli.audit.items import AuditItem, describe_input
from limecli.audit.policy import Policy
from limecli.audit.rules import check_feature_names
from limecli.audit.settings import PolicySettings, policy_settings
from limecli.batch import BatchInput, run_batch
from limecli.errors import FlatOutputWarning, InputDataError, LimeCliError, ParameterError
from limecli.explanation import Explanation
from limecli.inputs.discover import FoundFile
from limecli.inputs.ref import InputRef
from limecli.inputs.rows import RowSpec
from limecli.pipelines import BatchJob, load_predictor


@dataclass(frozen=True)
class _FlatJudged:
    """A batch task whose flat outputs are not warned about, one stderr line per input.

    The audit judges them itself: the ``flat_outputs`` rule, and every rule's
    message counts them. Picklable (runs in worker processes too), and a
    ``-W error`` interpreter does not turn a flat output into a failed input.
    """

    task: Any

    def __call__(self, chunk: list[Any]) -> list[Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FlatOutputWarning)
            return self.task(chunk)


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
    settings = policy_settings(policy)
    predictor = load_predictor(settings.model)
    job = {"tabular": _tabular, "text": _text, "image": _image}[policy.kind](
        policy, settings, predictor
    )
    if on_total is not None:
        on_total(job.total)
    sink = _ListSink([])
    run_batch(
        job.inputs,
        _FlatJudged(job.task),
        sink,
        kind=job.kind,
        seed=settings.sampling.seed,
        jobs=settings.jobs if jobs is None else jobs,
        chunk_size=job.chunk_size,
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
        key = InputRef.from_dict(record.input).key()
        items.append(AuditItem(dict(record.input), record, job.values.get(key)))
    return items


def _chosen_rows(policy: Policy, spec: RowSpec | None, n_rows: int, source: str) -> list[int]:
    """The rows ``data.rows`` names in data of ``n_rows`` rows (all of them when unset)."""
    if spec is None:
        return list(range(n_rows))
    try:
        return spec.resolve(n_rows, source=source)
    except InputDataError as e:
        raise InputDataError(f"{policy.path}: data.rows: {e}") from e


def _tabular(policy: Policy, settings: PolicySettings, predictor: Any) -> BatchJob:
    from limecli.inputs.tabular import read_csv
    from limecli.pipelines.tabular import TabularPipeline

    pipeline = TabularPipeline(predictor, settings.kind, settings.sampling, settings.labels)
    data = policy.resolve(policy.data)
    frame = pipeline.prepare(
        data,
        frame=read_csv(data),
        training_source=policy.data_options["train"] or policy.data,
    )
    assert pipeline.explainer is not None
    columns = list(pipeline.explainer.feature_columns)
    check_feature_names(policy, columns, [str(c) for c in frame.columns])
    rows = _chosen_rows(policy, policy.data_options["rows"], len(frame), policy.data)
    return pipeline.batch_job(frame, rows, _shown_path(policy.data), keep_values=True)


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


def _text(policy: Policy, settings: PolicySettings, predictor: Any) -> BatchJob:
    from limecli.inputs.discover import TABLE_EXTENSIONS, TEXT_EXTENSIONS
    from limecli.pipelines.text import TextPipeline

    text = settings.kind
    if text.char_level and text.split_expression is not None:
        raise ParameterError(
            f"{policy.path}: explainer.char_level and explainer.split_expression cannot be "
            "used together"
        )
    pipeline = TextPipeline(predictor, text, settings.sampling, settings.labels)
    options = policy.data_options
    column = text.column
    files = _expand(
        policy,
        options["extensions"],
        TABLE_EXTENSIONS if column is not None else TEXT_EXTENSIONS,
        recursive=options["recursive"],
        what="table" if column is not None else "text file",
    )
    # Every row of each table: data.rows is picked per table below, once its length is known.
    items = pipeline.batch_items([f.path for f in files])
    named = [
        replace(item, ref=replace(item.ref, source=_relative(policy, str(item.ref.source))))
        for item in items
    ]
    if options["rows"] is not None:
        named = _pick_rows(policy, options["rows"], named)
    return pipeline.job(named)


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


def _expand(
    policy: Policy, extensions: list[str] | None, default: tuple[str, ...], **kwargs: Any
) -> list[FoundFile]:
    """The files ``data.path`` names (a file, folder or glob), with absolute paths."""
    from limecli.inputs.discover import expand_paths, parse_extensions

    target = policy.resolve(policy.data)
    if not target.exists():
        raise InputDataError(f"{policy.path}: data.path: {policy.data} does not exist")
    suffixes = parse_extensions(extensions) if extensions else default
    try:
        found = expand_paths([str(target)], extensions=suffixes, **kwargs)
    except ParameterError as e:
        raise InputDataError(f"{policy.path}: data.path: {e}") from e
    return [FoundFile(os.path.abspath(f.path), f.name) for f in found]


def _image(policy: Policy, settings: PolicySettings, predictor: Any) -> BatchJob:
    from limecli.config.image import Pictures
    from limecli.inputs.discover import image_extensions
    from limecli.pipelines.image import ImagePipeline

    segmentation, image = settings.kind
    pipeline = ImagePipeline(predictor, segmentation, image, settings.sampling, settings.labels)
    files = _expand(
        policy,
        policy.data_options["extensions"],
        image_extensions(),
        recursive=policy.data_options["recursive"],
        what="image",
    )
    names = [_relative(policy, f.path) for f in files]
    return pipeline.batch_job(files, Pictures(), names=names)

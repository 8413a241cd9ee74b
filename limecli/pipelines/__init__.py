"""One pipeline per kind: read the input, build the explainer, explain, hand a batch to the runner.

This is the only place a kind is wired. The CLI (limecli.cli) parses options
into settings (limecli.config) and calls a pipeline; the audit
(limecli.audit.runner) builds the same settings from a policy and calls the
same pipeline; neither builds an explainer itself.

* :mod:`limecli.pipelines.tabular`: CSV rows (one row, or a batch sharing one sample pool)
* :mod:`limecli.pipelines.text`: text files, stdin, and the texts of a table column
* :mod:`limecli.pipelines.image`: image files, folders and globs, with the pictures drawn

A pipeline never prints: what a user should know goes to its ``notes``
callback (the CLI writes ``Note: ...`` lines on stderr unless ``-q``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from limecli.config.common import ModelSpec
    from limecli.model.predictor import Predictor

#: Where a pipeline sends what the user should know: ``notes(message, *parameters)``,
#: one line each; like error messages, a note names parameters as ``'name'`` and
#: lists them, so the CLI can spell them as flags.
Notes = Callable[..., None]


def no_notes(message: str, *parameters: str) -> None:
    """The default ``notes``: say nothing."""


@dataclass
class BatchJob:
    """Everything limecli.batch.run_batch needs for one kind's batch of inputs."""

    kind: str
    inputs: Iterable[Any]
    total: int
    task: Any
    #: Inputs per task: fixed by the kind (never by --jobs), so chunking cannot change output.
    chunk_size: int
    #: What the rows of a tabular job hold, by input key (the audit's row filters read it).
    values: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_predictor(spec: ModelSpec) -> Predictor:
    """The :class:`~limecli.model.predictor.Predictor` for a model spec (file or entrypoint)."""
    from limecli.model.loading import load_model

    return load_model(
        spec.model,
        mode=spec.mode,
        class_names=None if spec.class_names is None else list(spec.class_names),
        timeout=spec.timeout,
        trust=spec.trust,
    )

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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

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
    #: The keys of a record's ``input`` that make its identity (others are extras
    #: the explainer adds, such as an image's size).
    identity_fields: Sequence[str] | None = None
    #: What the rows of a tabular job hold, by input key (the audit's row filters read it).
    values: dict[str, dict[str, Any]] = field(default_factory=dict)

"""Texts in a batch: the inputs (files, stdin, table rows) and the task that reads and explains one.

A plain file is only named by its input (it is read by the task, in the
worker, so a bad file becomes that input's error record). Stdin and tables are
read when the inputs are made: a table that cannot be read, lacks the column
or lacks a chosen row stops the whole run.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from limecli.batch.runner import BatchInput
from limecli.errors import InputDataError, ParameterError
from limecli.inputs.ref import InputRef
from limecli.inputs.text import (
    MAX_CHARS,
    MAX_WORDS,
    STDIN,
    STDIN_NAME,
    cap_text,
    check_encoding,
    decode_bytes,
    read_source_bytes,
    read_texts,
)


def text_batch_inputs(
    sources: Sequence[str],
    *,
    encoding: str | None = None,
    column: str | None = None,
    rows: Sequence[int] | None = None,
    stdin: Any = None,
) -> list[BatchInput]:
    """The inputs of a text batch, in order: one per file, or one per table row with ``column``.

    Each is named ``InputRef.text(path)`` (a whole file, ``<stdin>`` for ``-``)
    or ``InputRef.text(path, row)``; the payload is ``("path", absolute path)``
    for a file the task reads, or ``("text", text)``.
    """
    check_encoding(encoding)
    if list(sources).count(STDIN) > 1:
        raise ParameterError("stdin (-) can be read only once")
    out: list[BatchInput] = []
    for name in sources:
        if column is None and name != STDIN:
            # Read by absolute path: a worker may not share this process's current folder.
            out.append(BatchInput(InputRef.text(name), ("path", os.path.abspath(name))))
            continue
        chosen = rows if column is not None else None  # rows pick table rows only
        for text in read_texts([name], encoding=encoding, column=column, rows=chosen, stdin=stdin):
            ref = InputRef.text(STDIN_NAME if name == STDIN else name, text.index)
            out.append(BatchInput(ref, ("text", text.text)))
    return out


class TextBatchTask:
    """Reads and explains one text of a batch (``per_input(TextBatchTask(...))``); pickles.

    ``explainer`` is a :class:`~limecli.explainers.text.TextExplainer`; each
    input gets its derived seed and its identity as ``input``.
    """

    def __init__(
        self,
        explainer: Any,
        *,
        labels: Sequence[str | int] | None = None,
        top_labels: int | None = None,
        encoding: str | None = None,
        max_chars: int | None = MAX_CHARS,
        max_words: int | None = MAX_WORDS,
    ) -> None:
        self.explainer = explainer
        self.labels = list(labels or [])
        self.top_labels = top_labels
        self.encoding = encoding
        self.max_chars = max_chars
        self.max_words = max_words

    def __call__(self, item: BatchInput) -> Any:
        how, value = item.payload
        if how == "path":
            # The payload path is absolute (workers may run elsewhere); messages name the input.
            shown = item.ref.source or value
            try:
                raw = read_source_bytes(value)
            except InputDataError as e:
                raise InputDataError(
                    str(e).replace(value, shown), parameters=e.parameters
                ) from None
            text = decode_bytes(raw, shown, self.encoding)
        else:
            text = value
        text, _ = cap_text(text, self.max_chars, self.max_words)
        return self.explainer.explain(
            text,
            seed=item.seed,
            labels=self.labels,
            top_labels=self.top_labels,
            input_info=item.identity,
        )

"""The text pipeline: read texts (files, stdin, a table column), cap them, explain word by word."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from limecli.config.common import Batch, Discovery, Labels, Sampling
from limecli.config.text import TextSettings
from limecli.errors import ParameterError
from limecli.pipelines import BatchJob, Notes, no_notes

if TYPE_CHECKING:
    from limecli.explanation import Explanation
    from limecli.model.predictor import Predictor

#: Texts per batch task (fixed, so chunking cannot change the output).
CHUNK = 4


def is_text_batch(
    inputs: Sequence[str], discovery: Discovery, settings: TextSettings, batch: Batch
) -> bool:
    """Whether the request is a batch: it names, or may name, more than one text.

    One file or ``-`` (or one row of one table's column) is explained on its own;
    anything else, or any batch setting, is a batch.
    """
    from limecli.inputs.discover import names_many

    if discovery.files_from is not None or len(inputs) != 1 or names_many(inputs):
        return True
    if settings.column is not None and len(settings.rows) != 1:
        return True
    return batch.is_set


def check_text_request(
    inputs: Sequence[str], discovery: Discovery, settings: TextSettings, batch: bool
) -> None:
    """What cannot work, before any work: no input, folder settings without a batch."""
    if not inputs and discovery.files_from is None:
        raise ParameterError("no input given: name text files, a folder, or - for stdin")
    if not batch and (discovery.extensions or discovery.recursive):
        raise ParameterError(
            "'extensions' and 'recursive' go with folders", parameters=("extensions", "recursive")
        )


class TextPipeline:
    """Texts explained by switching words off (a bag of words, or positions with ``bow=False``)."""

    kind = "text"

    def __init__(
        self,
        predictor: Predictor,
        settings: TextSettings,
        sampling: Sampling,
        labels: Labels,
        *,
        notes: Notes = no_notes,
    ) -> None:
        from limecli.explainers.text import TextExplainer

        self.settings = settings
        self.sampling = sampling
        self.labels = labels
        self.notes = notes
        # The explainer's own default width unless one is given.
        width: dict[str, Any] = {}
        if sampling.kernel_width is not None:
            width["kernel_width"] = sampling.kernel_width
        self.explainer = TextExplainer(
            predictor,
            bow=settings.bow,
            split_expression=settings.split_expression,
            char_level=settings.char_level,
            mask_token=settings.mask_token,
            feature_selection=sampling.feature_selection,
            num_samples=int(sampling.num_samples),
            num_features=sampling.num_features,
            batch_size=sampling.batch_size,
            **width,
        )

    def explain_sources(self, sources: Sequence[str], stdin: Any = None) -> list[Explanation]:
        """One explanation per text of ``sources`` (files, ``-``, or a column's rows)."""
        from limecli.inputs.text import cap_text, read_texts

        settings = self.settings
        items = read_texts(
            sources,
            encoding=settings.encoding,
            column=settings.column,
            rows=list(settings.rows) or None,
            stdin=stdin,
        )
        if len(items) > 1:
            self.notes(f"explaining {len(items)} texts")
        explanations = []
        for item in items:
            where = item.source if item.index is None else f"{item.source} row {item.index}"
            text, cut = cap_text(item.text, settings.max_chars, settings.max_words)
            if cut:
                self.notes(
                    f"{where} has {len(item.text):,} characters: only the first {len(text):,} "
                    f"are explained (at most {settings.max_chars:,} characters and "
                    f"{settings.max_words:,} distinct words: 'max_chars', 'max_words')",
                    "max_chars",
                    "max_words",
                )
            explanation = self.explainer.explain(
                text,
                seed=self.sampling.seed,
                labels=self.labels.labels,
                top_labels=self.labels.top_labels,
                input_info=item.input_info(),
            )
            if explanation.data["num_interpretable_features"] == 1:
                self.notes(
                    f"{where} has a single word: its weight contrasts the text with the empty text"
                )
            explanations.append(explanation)
        return explanations

    def find_files(
        self,
        inputs: Sequence[str],
        discovery: Discovery,
        *,
        exclude: Sequence[Path] = (),
        stdin: Any = None,
    ) -> list[str]:
        """The files of a batch: paths, folders, globs and ``files_from`` lists expanded."""
        from limecli.inputs.discover import (
            TABLE_EXTENSIONS,
            TEXT_EXTENSIONS,
            expand_paths,
            parse_extensions,
            read_path_list,
        )
        from limecli.inputs.text import STDIN

        if inputs.count(STDIN) > 1:
            raise ParameterError("stdin (-) can be read only once")
        if discovery.files_from == STDIN and STDIN in inputs:
            raise ParameterError(
                "stdin (-) can be read only once: it cannot hold both a text and the "
                "'files_from' list",
                parameters=("files_from",),
            )
        files_from = discovery.files_from
        listed = read_path_list(files_from, stdin) if files_from is not None else []
        column = self.settings.column
        default = TABLE_EXTENSIONS if column is not None else TEXT_EXTENSIONS
        found = expand_paths(
            inputs,
            extensions=parse_extensions(discovery.extensions) if discovery.extensions else default,
            recursive=discovery.recursive,
            listed=listed,
            exclude=list(exclude),
            what="table" if column is not None else "text file",
            keep_dash=True,
        )
        return [f.path for f in found]

    def batch_items(self, files: Sequence[str], stdin: Any = None) -> list[Any]:
        """The batch inputs for ``files`` (each a text, or a table whose column holds texts)."""
        from limecli.batch.tasks_text import text_batch_inputs

        settings = self.settings
        return text_batch_inputs(
            list(files),
            encoding=settings.encoding,
            column=settings.column,
            rows=list(settings.rows) or None,
            stdin=stdin,
        )

    def job(self, items: Sequence[Any]) -> BatchJob:
        """The batch job explaining ``items`` (from :meth:`batch_items`)."""
        from limecli.batch import per_input
        from limecli.batch.tasks_text import TextBatchTask

        settings = self.settings
        task = TextBatchTask(
            self.explainer,
            labels=self.labels.labels,
            top_labels=self.labels.top_labels,
            encoding=settings.encoding,
            max_chars=settings.max_chars,
            max_words=settings.max_words,
        )
        return BatchJob(
            kind=self.kind, inputs=items, total=len(items), task=per_input(task), chunk_size=CHUNK
        )

    def batch_job(self, files: Sequence[str], stdin: Any = None) -> BatchJob:
        """A batch over ``files``, with a note of how many texts it holds."""
        items = self.batch_items(files, stdin)
        self.notes(f"explaining {len(items)} texts")
        return self.job(items)

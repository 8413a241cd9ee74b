"""Settings as data: one frozen dataclass per concern, each parameter declared once.

The pipelines (:mod:`limecli.pipelines`) take these objects; the CLI generates
its options from them (:mod:`limecli.cli.options` reads each field's
:func:`opt` metadata: flag names, help, value constraints, all plain data, no
click here); the audit policy builds the same objects from TOML. A field's
name is the Python keyword, the click parameter name and the name library
messages use (``'num_samples'``), so one table maps library messages to flags.

``common``: what every kind shares (sampling, labels, model, output, batch,
file discovery); ``tabular``, ``text``, ``image``: each kind's own settings.
These modules import nothing heavy: ``limecli --help`` reads them.
"""

from __future__ import annotations

from typing import Any

MODES: tuple[str, ...] = ("classification", "regression")
FEATURE_SELECTIONS: tuple[str, ...] = ("auto", "forward", "highest_weights", "lasso_path", "none")
DISCRETIZERS: tuple[str, ...] = ("quartile", "decile", "entropy")
SEGMENTERS: tuple[str, ...] = ("quickshift", "slic", "felzenszwalb")
SCALES: tuple[str, ...] = ("0-1", "0-255")
FORMATS: tuple[str, ...] = ("table", "json", "jsonl", "csv", "html")
BACKENDS: tuple[str, ...] = ("local", "dask")


def opt(*flags: str, help: str, **spec: Any) -> dict[str, Any]:
    """A field's command-line declaration: its flags, help and value constraints.

    ``spec`` keys, read by :mod:`limecli.cli.options`: ``choices`` (tuple),
    ``min``/``max`` (numbers), ``min_open``, ``kind`` (``int``, ``float``,
    ``flag``, ``toggle`` (with ``secondary``, the ``--no-x`` half), ``file``,
    ``dir``, ``existing_file``, ``num_samples``, ``class_names``, ``output``,
    ``force``), ``multiple``, ``metavar``, ``show_default``, ``envvar``, ``eager``.
    """
    return {"cli": {"flags": flags, "help": help, **spec}}

"""limecli: LIME explanations of any model, from the command line or Python.

    >>> from limecli import load_model, explain_tabular
    >>> exp = explain_tabular(load_model("model.joblib"), "test.csv", row=12, seed=0)
    >>> exp.as_list()[:2]

Public names are imported lazily so that ``limecli --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Explanation": "limecli.explanation",
    "LabelExplanation": "limecli.explanation",
    "FeatureWeight": "limecli.explanation",
    "SCHEMA_VERSION": "limecli.explanation",
    "ImageExplanation": "limecli.explanation",
    "explanations_to_frame": "limecli.render.frame",
    "Predictor": "limecli.model.predictor",
    "load_model": "limecli.model.loading",
    "wrap_model": "limecli.model.loading",
    "TabularExplainer": "limecli.explainers.tabular",
    "explain_tabular": "limecli.explainers.tabular",
    "ImageExplainer": "limecli.explainers.image",
    "explain_image": "limecli.explainers.image",
    "TextExplainer": "limecli.explainers.text",
    "explain_text": "limecli.explainers.text",
    "LimeCliError": "limecli.errors",
    "ParameterError": "limecli.errors",
    "InputDataError": "limecli.errors",
    "ModelLoadError": "limecli.errors",
    "PredictorError": "limecli.errors",
    "PredictorCallError": "limecli.errors",
    "PredictorOutputError": "limecli.errors",
    "ModelVersionWarning": "limecli.errors",
    "OutputWriteError": "limecli.errors",
    "FlatOutputWarning": "limecli.errors",
    "ClassLabelsWarning": "limecli.model.answers",
    "ProbabilityWarning": "limecli.model.predictor",
    "MissingValuesWarning": "limecli.explainers.tabular_missing",
    "EmptyColumnWarning": "limecli.sampling.columns",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'limecli' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__

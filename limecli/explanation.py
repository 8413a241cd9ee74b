"""The Explanation object and its versioned JSON contract.

The JSON schema lives in ``limecli/schema/explanation.schema.json``; bump
``SCHEMA_VERSION`` (major for breaking changes) whenever the shape changes.

Renderers import this module for type checking only; the methods that
render (:meth:`Explanation.to_html`, :meth:`ImageExplanation.overlay`, ...)
import them when called, so the two never form an import cycle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from limecli.jsonable import jsonable

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

SCHEMA_VERSION = "1.2"
KINDS = ("tabular", "text", "image")


@dataclass
class FeatureWeight:
    """One interpretable feature's contribution to one label.

    ``name`` is the human-readable condition ("worst area > 1031.5"),
    ``feature`` what it is about (column, word, segment id), ``value`` the
    instance's value, ``weight`` the surrogate coefficient. ``extra`` holds
    kind-specific fields (text: ``positions``; image: ``area``, ``bbox``),
    written at the same level in JSON.
    """

    name: str
    feature: Any
    value: Any
    weight: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "feature": self.feature,
            "value": self.value,
            "weight": self.weight,
            **self.extra,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureWeight:
        core = {"name", "feature", "value", "weight"}
        return cls(
            name=d["name"],
            feature=d["feature"],
            value=d.get("value"),
            weight=float(d["weight"]),
            extra={k: v for k, v in d.items() if k not in core},
        )


@dataclass
class LabelExplanation:
    """The local surrogate for one explained label (or the regression output)."""

    label: str
    label_index: int
    intercept: float
    #: Weighted R² of the surrogate on its samples (None: the label is flat).
    score: float | None
    local_prediction: float
    model_prediction: float
    features: list[FeatureWeight]
    #: Kernel-weighted R² on samples the surrogate was not fitted on (None: too few samples).
    held_out_score: float | None = None
    #: How often the selected features change under resampling (see limecli.stability).
    stability: dict[str, Any] | None = None
    #: The model's output for this label does not vary over the samples: nothing to explain.
    flat: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "label_index": self.label_index,
            "intercept": self.intercept,
            "score": self.score,
            "flat": self.flat,
            "held_out_score": self.held_out_score,
            "local_prediction": self.local_prediction,
            "model_prediction": self.model_prediction,
            "stability": self.stability,
            "features": [f.to_dict() for f in self.features],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LabelExplanation:
        return cls(
            label=d["label"],
            label_index=int(d["label_index"]),
            intercept=float(d["intercept"]),
            score=None if d.get("score") is None else float(d["score"]),
            local_prediction=float(d["local_prediction"]),
            model_prediction=float(d["model_prediction"]),
            features=[FeatureWeight.from_dict(f) for f in d["features"]],
            held_out_score=d.get("held_out_score"),
            stability=d.get("stability"),
            flat=bool(d.get("flat", False)),
        )

    def as_list(self) -> list[tuple[str, float]]:
        """(condition, weight) pairs, ranked, like the reference's ``as_list``."""
        return [(f.name, f.weight) for f in self.features]


@dataclass
class Explanation:
    """A LIME explanation of one model prediction for one input.

    ``prediction`` is ``{"label": ..., "probabilities": {class: p}}`` for
    classification or ``{"value": v}`` for regression. ``data`` holds
    kind-specific material (text: the text; image: size and segment count).
    """

    kind: str
    mode: str
    input: dict[str, Any]
    prediction: dict[str, Any]
    labels: list[LabelExplanation]
    params: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def label(self, name: str | None = None) -> LabelExplanation:
        """The explanation of label ``name`` (the first explained label by default)."""
        if name is None:
            return self.labels[0]
        for lab in self.labels:
            if lab.label == str(name):
                return lab
        raise KeyError(
            f"label {name!r} was not explained; explained: {[x.label for x in self.labels]}"
        )

    def as_list(self, label: str | None = None) -> list[tuple[str, float]]:
        return self.label(label).as_list()

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": self.kind,
            "mode": self.mode,
            "input": self.input,
            "prediction": self.prediction,
            "labels": [lab.to_dict() for lab in self.labels],
            "params": self.params,
            "data": self.data,
            "meta": self.meta,
        }

    def to_html(self) -> str:
        """A self-contained HTML report of this explanation (inline SVG, no script)."""
        from limecli.render.html import render_html

        return render_html([self])

    def _repr_html_(self) -> str:
        """What a notebook shows: the report as one ``<div>`` whose styles touch only it."""
        from limecli.render.html import render_fragment

        return render_fragment([self])

    def to_frame(self) -> pd.DataFrame:
        """A tidy long DataFrame, one row per label x feature, with R lime's column names.

        See :func:`limecli.explanations_to_frame` (for many explanations) for the columns.
        """
        from limecli.render.frame import explanations_to_frame

        return explanations_to_frame([self])

    def plot(self, label: str | None = None, ax: Any = None) -> Any:
        """The report's bar chart with matplotlib (``pip install 'limecli[plot]'``); the Axes.

        Blue bars support the label, orange ones oppose it; whiskers span the 95%
        intervals. Draws on ``ax`` if given, else on a new figure.
        """
        from limecli.render.plot import plot_weights

        return plot_weights(self, label, ax)

    def to_json(self, indent: int | None = 2) -> str:
        """Serialise to the JSON contract (NaN/inf are written as null)."""
        return json.dumps(jsonable(self.to_dict()), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Explanation:
        version = str(d.get("schema_version", ""))
        if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise ValueError(
                f"unsupported explanation schema_version {version!r} (this is {SCHEMA_VERSION})"
            )
        return cls(
            kind=d["kind"],
            mode=d["mode"],
            input=d["input"],
            prediction=d["prediction"],
            labels=[LabelExplanation.from_dict(x) for x in d["labels"]],
            params=d["params"],
            meta=d.get("meta", {}),
            data=d.get("data", {}),
        )

    @classmethod
    def from_json(cls, text: str) -> Explanation:
        return cls.from_dict(json.loads(text))


@dataclass
class ImageExplanation(Explanation):
    """An :class:`Explanation` that also keeps the pixels and the superpixel map.

    ``pixels`` (H, W, 3 float32 in 0-255) and ``segments`` (H, W int, 0..K-1)
    are not part of the JSON contract; they let :meth:`overlay`, :meth:`mask`
    and :meth:`heatmap` draw the pictures.
    """

    pixels: np.ndarray | None = field(default=None, repr=False, compare=False)
    segments: np.ndarray | None = field(default=None, repr=False, compare=False)

    def _parts(self) -> tuple[np.ndarray, np.ndarray]:
        if self.pixels is None or self.segments is None:
            raise ValueError("this explanation carries no pixels (was it read back from JSON?)")
        return self.pixels, self.segments

    def overlay(
        self, label: str | None = None, *, positive_only: bool = True, hide_rest: bool = False
    ) -> np.ndarray:
        """(H, W, 3) uint8 picture: the label's superpixels outlined (see render.overlay)."""
        from limecli.render.overlay import overlay_image

        pixels, segments = self._parts()
        return overlay_image(
            pixels, segments, self.label(label), positive_only=positive_only, hide_rest=hide_rest
        )

    def plot_image(
        self,
        label: str | None = None,
        kind: str = "overlay",
        ax: Any = None,
        *,
        positive_only: bool = False,
        hide_rest: bool = False,
    ) -> Any:
        """The label's ``"overlay"``, ``"heatmap"`` or ``"segments"`` picture with matplotlib; the Axes."""
        from limecli.render.plot import plot_picture

        return plot_picture(self, label, kind, ax, positive_only=positive_only, hide_rest=hide_rest)

    def mask(self, label: str | None = None, *, positive_only: bool = True) -> np.ndarray:
        """(H, W) int8: 1 supporting superpixel, -1 opposing (unless positive_only), 0 else."""
        from limecli.render.overlay import selection_mask

        _, segments = self._parts()
        return selection_mask(segments, self.label(label), positive_only=positive_only)

    def heatmap(self, label: str | None = None) -> np.ndarray:
        """(H, W) float32: each pixel's superpixel weight (0 outside the explanation)."""
        from limecli.render.overlay import weight_map

        _, segments = self._parts()
        return weight_map(segments, self.label(label))


def library_versions() -> dict[str, str]:
    """Versions that shape an explanation, recorded in ``meta``."""
    import numpy
    import sklearn

    from limecli import __version__

    return {"limecli": __version__, "numpy": numpy.__version__, "scikit-learn": sklearn.__version__}

"""A checked policy as the settings objects the CLI builds from its options (limecli.config).

The audit explains its inputs with the same pipelines and the same settings
types as ``limecli tabular|text|image``; this module is the one place that
maps a policy's ``[model]``, ``[data]`` and ``[explainer]`` keys onto them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from limecli.audit.policy import Policy
from limecli.config.common import Labels, ModelSpec, Sampling
from limecli.config.image import ImageSettings, Segmentation
from limecli.config.tabular import TabularSettings
from limecli.config.text import TextSettings


@dataclass(frozen=True)
class PolicySettings:
    """What a policy asks of the explainer, as settings objects."""

    model: ModelSpec
    sampling: Sampling
    labels: Labels
    jobs: int
    #: The kind's own settings: TabularSettings, TextSettings, or (Segmentation, ImageSettings).
    kind: Any


def model_spec(policy: Policy) -> ModelSpec:
    """The model, its path resolved against the policy's folder (a script's too)."""
    from limecli.model.loading import is_entrypoint

    model = policy.model
    if not is_entrypoint(model):
        model = str(policy.resolve(model))
    elif model.rpartition(":")[0].endswith(".py"):
        script, _, function = model.rpartition(":")
        model = f"{policy.resolve(script)}:{function}"
    names = None if policy.class_names is None else tuple(policy.class_names)
    return ModelSpec(model=model, mode=policy.mode, class_names=names)


def policy_settings(policy: Policy) -> PolicySettings:
    """The settings objects for ``policy`` (already checked by :func:`load_policy`)."""
    explainer = policy.explainer
    data = policy.data_options
    sampling = Sampling(
        num_samples=explainer["num_samples"],
        num_features=explainer["num_features"],
        seed=explainer["seed"],
        kernel_width=explainer["kernel_width"],
        feature_selection=explainer["feature_selection"],
        batch_size=explainer["batch_size"],
    )
    needed = tuple(policy.labels_needed())
    # Rules judge the predicted class by default: explain it besides any named label.
    labels = Labels(labels=needed, top_labels=1 if needed else None)
    kind: Any
    if policy.kind == "tabular":
        discretizer = explainer["discretizer"]
        kind = TabularSettings(
            train=None if data["train"] is None else policy.resolve(data["train"]),
            target=() if data["target"] is None else (data["target"],),
            drop=tuple(data["drop"]),
            categorical=tuple(data["categorical"]),
            discretizer="quartile" if discretizer == "none" else discretizer,
            discretize=discretizer != "none",
            sample_around_instance=explainer["sample_around_instance"],
        )
    elif policy.kind == "text":
        kind = TextSettings(
            column=data["column"],
            encoding=data["encoding"],
            split_expression=explainer["split_expression"],
            char_level=explainer["char_level"],
            bow=explainer["bow"],
            mask_token=explainer["mask_token"],
        )
    else:
        # As `limecli image`: segmentations kept on disk only where the user asked for it.
        cache = os.environ.get("LIMECLI_CACHE_DIR") or None
        segmentation = Segmentation(
            segmenter=explainer["segmenter"] or "quickshift",
            cache_dir=None if cache is None else Path(cache),
        )
        kind = (segmentation, ImageSettings(resize=data["resize"]))
    return PolicySettings(model_spec(policy), sampling, labels, explainer["jobs"], kind)

"""The skeleton every explainer shares; a kind (tabular, text, image) gives only what is its own.

:meth:`Explainer.explain` is a template: check the request (the same
messages for every kind), let the kind prepare the input (:meth:`~Explainer._prepare`),
draw samples around it and ask the model (:meth:`~Explainer._sample`), weight
them by their distance to it (:meth:`~Explainer._distances`), choose the labels,
fit one surrogate per label, and build the :class:`~limecli.explanation.Explanation`
with the record every kind writes (``params`` prefix, ``meta``, prediction).
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import numpy as np

from limecli.errors import ParameterError
from limecli.explainers.common import (
    Prepared,
    choose_labels,
    explain_labels,
    prediction_record,
    validate_common,
)
from limecli.explanation import Explanation, FeatureWeight, library_versions
from limecli.model.predictor import Predictor
from limecli.model.wrap import as_predictor
from limecli.surrogate import exponential_kernel
from limecli.uncertainty import auto_features_params
from limecli.validation import check_float, check_int, check_random_state

if TYPE_CHECKING:
    from limecli.block_moments import MomentsCache

#: The kind's prepared input (an encoded row, a tokenised text, a segmented image).
S = TypeVar("S")


@dataclass(frozen=True)
class Request:
    """What one explain call asks for, the explainer's defaults filled in (and checked)."""

    seed: int | None
    labels: Sequence[str | int] | None
    top_labels: int | None
    #: As asked: an int, or a kind's own policy ("auto" for tabular).
    num_samples: Any
    num_features: int | str


class Explainer(ABC, Generic[S]):
    """A LIME explainer: a model, the sampling settings, and the template of one explanation.

    Subclasses set :attr:`kind` and :attr:`distance` and implement the hooks
    :meth:`_prepare`, :meth:`_sample`, :meth:`_distances`, :meth:`_describer`,
    :meth:`_params`, :meth:`_input` and :meth:`_data`.
    """

    kind: ClassVar[str]
    #: How the sample's distance to the input is measured (recorded in ``params``).
    distance: ClassVar[str]
    kernel: ClassVar[str] = "exponential"
    surrogate: ClassVar[str] = "ridge(alpha=1)"
    #: Classification with neither ``labels`` nor ``top_labels``: explain this many
    #: most probable classes (None: the predicted class only).
    default_top_labels: ClassVar[int | None] = None
    #: Stored as ``batch_size`` when none is given (None: the kind decides per call).
    default_batch_size: ClassVar[int | None] = None
    #: Whether ``kernel_width=None`` means "from the data" (else it is refused).
    kernel_width_from_data: ClassVar[bool] = False

    predictor: Predictor
    kernel_width: float | None

    def __init__(
        self,
        model: Any,
        *,
        mode: str | None,
        num_samples: Any,
        num_features: int | str,
        feature_selection: str,
        kernel_width: float | None,
        batch_size: int | None,
        class_names: Sequence[str] | None = None,
    ) -> None:
        validate_common(self._count(num_samples), num_features, None, feature_selection)
        if kernel_width is not None or not self.kernel_width_from_data:
            kernel_width = check_float("kernel_width", kernel_width, min_value=0)
        if batch_size is not None:
            check_int("batch_size", batch_size, min_value=1)
        self.predictor = as_predictor(model, mode)
        self._class_names: list[str] | None = None
        if class_names is not None:
            self._name_outputs(class_names)
        self.kernel_width = kernel_width
        self.feature_selection = feature_selection
        self.num_samples = num_samples
        self.num_features = num_features
        self.batch_size = batch_size or self.default_batch_size

    # -- the template -------------------------------------------------------

    def explain(
        self,
        instance: Any,
        *,
        seed: int | None = None,
        labels: Sequence[str | int] | None = None,
        top_labels: int | None = None,
        num_samples: Any = None,
        num_features: int | str | None = None,
        input_info: dict[str, Any] | None = None,
    ) -> Explanation:
        """Explain the model's prediction for ``instance``.

        ``seed`` fixes the samples (the same seed gives the same explanation);
        ``labels`` and ``top_labels`` choose the classes explained;
        ``num_samples`` and ``num_features`` override the explainer's settings
        for this call; ``input_info`` is the input's identity in the record
        (see :class:`limecli.inputs.ref.InputRef`).
        """
        self._check_instance(instance)
        request = self.request(
            seed=seed,
            labels=labels,
            top_labels=top_labels,
            num_samples=num_samples,
            num_features=num_features,
        )
        return self._explain(self._prepare(instance, input_info), request)

    def request(
        self,
        *,
        seed: int | None = None,
        labels: Sequence[str | int] | None = None,
        top_labels: int | None = None,
        num_samples: Any = None,
        num_features: int | str | None = None,
    ) -> Request:
        """The call's settings, defaults from the explainer, checked as the constructor does."""
        num_samples = self.num_samples if num_samples is None else num_samples
        num_features = self.num_features if num_features is None else num_features
        validate_common(self._count(num_samples), num_features, top_labels, self.feature_selection)
        return Request(seed, labels, top_labels, num_samples, num_features)

    def _explain(self, subject: S, request: Request) -> Explanation:
        """Sample around the prepared input once, then explain (tabular's "auto" grows)."""
        rng = check_random_state(request.seed)
        data, outputs = self._sample(subject, int(self._count(request.num_samples)), rng)
        return self._finish(subject, data, outputs, request, request.num_samples)

    def _finish(
        self,
        subject: S,
        data: np.ndarray,
        outputs: np.ndarray,
        request: Request,
        num_samples: Any,
        cache: MomentsCache | None = None,
        prepared: Prepared | None = None,
    ) -> Explanation:
        """The explanation of these samples (row 0 is the input itself).

        ``data``: the interpretable representation of each sample; ``outputs``:
        the model's answers on them; ``num_samples`` as recorded in ``params``;
        ``cache``, ``prepared``: see :func:`~limecli.explainers.common.explain_labels`.
        """
        if self._class_names is not None:
            self._check_class_count(outputs.shape[1])
        weights = prepared.weights if prepared is not None else self._weights(data)
        top_labels = request.top_labels
        if (
            not request.labels
            and top_labels is None
            and self.default_top_labels is not None
            and self.predictor.mode == "classification"
        ):
            top_labels = self.default_top_labels
        label_idx = choose_labels(self.predictor, outputs[0], request.labels, top_labels)
        label_explanations = explain_labels(
            self.predictor,
            data,
            outputs,
            weights,
            label_idx,
            request.num_features,
            self.feature_selection,
            self._describer(subject),
            cache,
            prepared,
        )
        params = {
            "num_samples": num_samples,
            "num_features": request.num_features,
            "seed": request.seed,
            "kernel": self.kernel,
            "kernel_width": self.kernel_width,
            "distance": self.distance,
            **self._params(subject),
        }
        if request.num_features == "auto":
            params["num_features_auto"] = auto_features_params()
        return self._record(
            subject,
            kind=self.kind,
            mode=str(self.predictor.mode),
            input=self._input(subject),
            prediction=prediction_record(self.predictor, outputs[0]),
            labels=label_explanations,
            params=params,
            meta={"method": "lime", "model": self.predictor.source, "versions": library_versions()},
            data=self._data(subject),
        )

    def _name_outputs(self, class_names: Sequence[str]) -> None:
        """Name the model's outputs: checked now if their count is known, else at the first answer."""
        names = _check_class_names(class_names)
        known = self.predictor.class_names
        regression = self.predictor.mode == "regression"
        # A copy: the caller's Predictor keeps its own names.
        self.predictor = copy.copy(self.predictor)
        self._class_names = names
        if known is not None or regression:
            self._check_class_count(1 if known is None else len(known))

    def _check_class_count(self, n_outputs: int) -> None:
        names = self._class_names or []
        if len(names) != n_outputs:
            raise ParameterError(
                f"The 'class_names' parameter must name each of the model's {n_outputs} "
                f"output(s). Got {len(names)} name(s) instead.",
                parameters=("class_names",),
            )
        self.predictor.class_names = names
        self._class_names = None

    def _surrogate_params(self) -> dict[str, Any]:
        """The surrogate's entries of ``params``; each kind places them in its own order."""
        return {"feature_selection": self.feature_selection, "surrogate": self.surrogate}

    def _weights(self, data: np.ndarray) -> np.ndarray:
        """The kernel weight of each sample (row 0, the input itself, weighs 1)."""
        return exponential_kernel(self._distances(data), self._kernel_width())

    def _kernel_width(self) -> float:
        assert self.kernel_width is not None  # set by the constructor (or from the data)
        return self.kernel_width

    # -- hooks with a default ----------------------------------------------

    def _check_instance(self, instance: Any) -> None:
        """Refuse an input before anything else is checked (default: accept any)."""

    def _count(self, num_samples: Any) -> Any:
        """The number of samples drawn first for ``num_samples`` (as checked)."""
        return num_samples

    def _record(self, subject: S, **fields: Any) -> Explanation:
        """The result object (a kind may return a subclass carrying more)."""
        return Explanation(**fields)

    # -- what each kind gives ----------------------------------------------

    @abstractmethod
    def _prepare(self, instance: Any, input_info: dict[str, Any] | None) -> S:
        """The input in the kind's terms, checked (InputDataError if it cannot be explained)."""

    @abstractmethod
    def _sample(
        self, subject: S, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n`` samples around the input, row 0 the input: (interpretable data, model outputs)."""

    @abstractmethod
    def _distances(self, data: np.ndarray) -> np.ndarray:
        """Each sample's distance to row 0, from the interpretable data."""

    @abstractmethod
    def _describer(self, subject: S) -> Callable[[int], FeatureWeight]:
        """``describe(j)``: interpretable feature j's record (its weight is filled in later)."""

    @abstractmethod
    def _params(self, subject: S) -> dict[str, Any]:
        """The kind's entries of ``params``, after the shared ones (see :meth:`_surrogate_params`)."""

    @abstractmethod
    def _input(self, subject: S) -> dict[str, Any]:
        """The record's ``input`` object: the input's identity and what else names it."""

    @abstractmethod
    def _data(self, subject: S) -> dict[str, Any]:
        """The record's ``data`` object: kind-specific material."""


def _check_class_names(class_names: Any) -> list[str]:
    ok = not isinstance(class_names, (str, bytes, dict)) and hasattr(class_names, "__len__")
    names = list(class_names) if ok else []
    if not ok or not names or not all(isinstance(n, str) for n in names):
        raise ParameterError(
            f"The 'class_names' parameter must be a non-empty list of str. Got {class_names!r} "
            "instead.",
            parameters=("class_names",),
        )
    if len(set(names)) != len(names):
        raise ParameterError(
            f"The 'class_names' parameter must not repeat a name. Got {names!r} instead.",
            parameters=("class_names",),
        )
    return [str(n) for n in names]

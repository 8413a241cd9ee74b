"""A predict-script entrypoint for images: ``limecli image sample_models/predict_shapes.py:predict ...``.

The function takes what ``limecli image`` sends by default, a float32 batch
``(n, H, W, 3)`` of RGB images with values in 0-1, and returns one
probability per class. Wrapping a CNN looks the same: convert the batch to
the framework's tensor layout (e.g. ``torch.from_numpy(batch).permute(0, 3, 1, 2)``),
normalise, run the network, return softmax probabilities as numpy.
"""

from pathlib import Path

import joblib
import numpy as np
from shapes_features import features

CLASS_NAMES = ["circle", "rectangle", "triangle"]

_model = joblib.load(Path(__file__).with_name("shapes_lr.joblib"))


def predict(batch: np.ndarray) -> np.ndarray:
    return _model.predict_proba(features(batch))

"""A predict-script entrypoint: ``limecli tabular sample_models/predict_breast_cancer.py:predict ...``.

Any framework can sit behind such a function: it takes a batch (here a
2-D numpy array of the CSV's feature columns) and returns class probabilities.
"""

from pathlib import Path

import joblib
import numpy as np

CLASS_NAMES = ["benign", "malignant"]

_model = joblib.load(Path(__file__).with_name("breast_cancer_rf.joblib"))


def predict(batch: np.ndarray) -> np.ndarray:
    # The pickled forest was fitted on a DataFrame; plain arrays are fine for its trees.
    import pandas as pd

    frame = pd.DataFrame(np.asarray(batch, dtype=float), columns=_model.feature_names_in_)
    return _model.predict_proba(frame)

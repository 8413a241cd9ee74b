"""The model layer: whatever the user names as a model becomes one :class:`Predictor`.

Every explainer asks the model through :class:`~limecli.model.predictor.Predictor`
(a batch in, a checked 2-D float array out). The modules, lowest first:

* ``answers``    -- how a model's answer is read: probabilities from any method are
  classification, class labels are explained one-hot, floats are a regression;
* ``guard``      -- model code runs fenced: loading and every call with stdout (fd 1
  and ``sys.stdout``) on stderr and ``sys.argv`` the model's own; ``sys.exit``,
  ``os._exit`` and a KeyboardInterrupt the model raises itself become its errors;
* ``predictor``  -- the Predictor: batching, output checks, the per-call
  ``timeout``, pickling (a script's function travels by its entrypoint spec);
* ``tensor_spec`` -- the tensor an image model takes (layout, size, scale, mean/std,
  dtype), read from an ONNX input or a predict script's ``INPUT_*`` constants;
* ``files``      -- what loaders share: the model-file check, one-line error reasons;
* ``entrypoint`` -- ``script.py:function`` / ``package.module:function``: recognise
  and import one (no Predictor here, so the Predictor can re-import after unpickling);
* ``wrap``       -- in-memory models: ``wrap_model`` (a fitted estimator or a callable)
  and ``as_predictor`` (also accepts a Predictor as it is);
* ``xgboost_format``, ``lightgbm_format``, ``catboost_format`` -- the boosting
  libraries' own files (``.json``/``.ubj``, ``.txt``, ``.cbm``) as scikit-learn-like
  wrappers that read the objective, feature names and categorical columns;
* ``native``     -- ``adapt_native``: a bare Booster or a CatBoost model held in
  memory or a pickle gets the same wrapper;
* ``pickled``    -- pickle/joblib files and skops files (``trust``);
* ``onnx``       -- ONNX files run by onnxruntime (``OnnxModel``);
* ``torchscript_format``, ``keras_format`` -- networks (``.pt``/``.pth``, ``.keras``),
  pickled as their path (``files.FileModel``); their first answer gives the mode;
* ``mlflow_format`` -- MLflow model folders (sklearn flavour, native flavours, pyfunc);
* ``loading``    -- ``load_model``: the dispatcher over ``MODEL_FORMATS`` (suffixes, or a
  folder's marker file -> loader), entrypoints, and the one-line refusal of the rest.

Adding a model format: write ``limecli/model/<format>.py`` with its suffixes and an
``open_<format>(path)`` returning the model as an object -- an estimator with
``predict_proba``/``predict`` (``classes_``, ``feature_names_in_``,
``n_features_in_`` where known) or a callable (with ``feature_names`` if it takes
named columns) -- then add ``ModelFormat(SUFFIXES, opened(open_<format>))`` to
``MODEL_FORMATS`` in ``loading.py`` (or a ``load_<format>(path, *, mode, trust=())
-> Predictor`` of its own). A missing framework is ``files.import_framework``'s
``pip install 'limecli[<extra>]'`` hint. Optional dependencies are imported
inside the loader, so this package stays cheap to import.

Library messages name parameters (``'mode'``, ``'trust'``, ``'timeout'``) and set
``parameters=`` on the error; the CLI maps them to its flags.
"""

"""The model layer: whatever the user names as a model becomes one :class:`Predictor`.

Every explainer asks the model through :class:`~limecli.model.predictor.Predictor`
(a batch in, a checked 2-D float array out). The modules, lowest first:

* ``predictor``  -- the Predictor: batching, output checks, the per-call
  ``timeout``, pickling (a script's function travels by its entrypoint spec);
* ``files``      -- what loaders share: the model-file check, one-line error reasons;
* ``entrypoint`` -- ``script.py:function`` / ``package.module:function``: recognise
  and import one (no Predictor here, so the Predictor can re-import after unpickling);
* ``wrap``       -- in-memory models: ``wrap_model`` (a fitted estimator or a callable)
  and ``as_predictor`` (also accepts a Predictor as it is);
* ``pickled``    -- pickle/joblib files and skops files (``trust``);
* ``onnx``       -- ONNX files run by onnxruntime (``OnnxModel``);
* ``loading``    -- ``load_model``: the dispatcher over ``MODEL_FORMATS`` (suffixes -> loader)
  and entrypoints.

Adding a model format: write ``limecli/model/<format>.py`` with its suffixes and a
``load_<format>(path, *, mode, trust=()) -> Predictor`` (build the Predictor with
``wrap_model`` when the file holds an estimator), then add one ``ModelFormat`` entry
to ``MODEL_FORMATS`` in ``loading.py``. Optional dependencies are imported inside
the loader, so this package stays cheap to import.

Library messages name parameters (``'mode'``, ``'trust'``, ``'timeout'``) and set
``parameters=`` on the error; the CLI maps them to its flags.
"""

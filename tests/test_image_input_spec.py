"""The tensor an image model receives (issue 15): layout, size, scale, mean/std, dtype.

Each setting is checked where a model meets it: a predict script that saves the
first batch it is sent (row 0 is the image itself, so its exact values are
known), ONNX models whose input shape, type and metadata_props say the spec, and
the Python API. Options override what the model says; the defaults are what
limecli always sent (the golden corpus holds those bytes).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from limecli.errors import FlatOutputWarning, ModelLoadError, ParameterError
from limecli.model.tensor_spec import TensorSpec, spec_from_mapping, spec_from_shape

W, H = 24, 16

SCRIPT = """
import numpy as np

RECORD = {record!r}
{constants}

def predict(batch):
    if not __import__("os").path.exists(RECORD):
        np.save(RECORD, batch)
    x = np.asarray(batch, dtype=float).reshape(len(batch), -1).mean(axis=1)
    z = (x - x.mean()) / (x.std() + 1e-9)
    p = 1 / (1 + np.exp(-z))
    return np.column_stack([1 - p, p])
"""


def make_script(folder: Path, constants: str = "") -> tuple[str, Path]:
    record = folder / "batch.npy"
    script = folder / "record.py"
    script.write_text(SCRIPT.format(record=str(record), constants=constants))
    return f"{script}:predict", record


@pytest.fixture
def picture(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A W x H RGB picture with a different value in every channel of every pixel."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    path = tmp_path / "picture.png"
    Image.fromarray(pixels).save(path)
    return path, pixels.astype(np.float32)


def received(run_cli, tmp_path, picture, *options: str, constants: str = "") -> np.ndarray:
    """The first batch a predict script receives for ``picture`` with ``options``."""
    folder = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
    folder.mkdir()
    model, record = make_script(folder, constants)
    result = run_cli(
        "image", model, picture[0], "--segmenter", "slic", "--num-samples", "8", "-q",
        "--format", "json", *options,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return np.load(record)


def test_default_is_nhwc_float32_in_0_1(run_cli, tmp_path, picture):
    batch = received(run_cli, tmp_path, picture)
    assert batch.shape == (8, H, W, 3) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch[0], picture[1] * np.float32(1 / 255))


def test_nchw_puts_channels_first(run_cli, tmp_path, picture):
    batch = received(run_cli, tmp_path, picture, "--layout", "NCHW")
    assert batch.shape == (8, 3, H, W) and batch.dtype == np.float32
    assert batch.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(batch[0], (picture[1] * np.float32(1 / 255)).transpose(2, 0, 1))


def test_mean_and_std_apply_after_scaling(run_cli, tmp_path, picture):
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    batch = received(
        run_cli, tmp_path, picture, "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225"
    )
    assert batch.dtype == np.float32
    np.testing.assert_allclose(batch[0], (picture[1] / 255 - mean) / std, rtol=1e-5, atol=1e-6)
    on_255 = received(
        run_cli, tmp_path, picture, "--scale", "0-255", "--mean", "128", "--std", "64"
    )
    np.testing.assert_allclose(on_255[0], (picture[1] - 128) / 64, rtol=1e-6)


def test_dtypes(run_cli, tmp_path, picture):
    as_uint8 = received(run_cli, tmp_path, picture, "--dtype", "uint8")
    assert as_uint8.dtype == np.uint8  # 0-255 implied
    np.testing.assert_array_equal(as_uint8[0], picture[1].astype(np.uint8))
    as_float64 = received(run_cli, tmp_path, picture, "--dtype", "float64", "--layout", "NCHW")
    assert as_float64.dtype == np.float64 and as_float64.shape == (8, 3, H, W)
    np.testing.assert_allclose(as_float64[0], picture[1].transpose(2, 0, 1) / 255, rtol=1e-6)


def test_resize_sets_the_size_the_model_receives(run_cli, tmp_path, picture):
    batch = received(run_cli, tmp_path, picture, "--resize", "12x10", "--layout", "NCHW")
    assert batch.shape == (8, 3, 10, 12)


def test_a_predict_script_declares_its_input(run_cli, tmp_path, picture):
    constants = (
        'INPUT_LAYOUT = "NCHW"\nINPUT_SIZE = (12, 8)\nINPUT_MEAN = 0.5\n'
        "INPUT_STD = (0.25, 0.5, 0.25)\nINPUT_DTYPE = 'float32'\nINPUT_SCALE = '0-1'\n"
    )
    batch = received(run_cli, tmp_path, picture, constants=constants)
    assert batch.shape == (8, 3, 8, 12) and batch.dtype == np.float32
    image = np.asarray(
        Image.fromarray(picture[1].astype(np.uint8)).resize((12, 8), Image.Resampling.BILINEAR)
    )
    expected = ((image / 255 - 0.5) / np.array([0.25, 0.5, 0.25])).transpose(2, 0, 1)
    np.testing.assert_allclose(batch[0], expected, atol=0.05)  # float resize vs uint8 resize
    # An option overrides what the script says.
    nhwc = received(run_cli, tmp_path, picture, "--layout", "NHWC", constants=constants)
    assert nhwc.shape == (8, 8, 12, 3)
    sized = received(run_cli, tmp_path, picture, "--resize", "6x4", constants=constants)
    assert sized.shape == (8, 3, 4, 6)


def test_the_record_and_a_note_say_what_the_model_received(run_cli, tmp_path, picture):
    model, _ = make_script(tmp_path, 'INPUT_LAYOUT = "NCHW"\nINPUT_MEAN = (0.5, 0.5, 0.5)')
    args = ("image", model, picture[0], "--segmenter", "slic", "--num-samples", "8")
    result = run_cli(*args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    params = json.loads(result.stdout)["params"]
    assert params["layout"] == "NCHW" and params["mean"] == [0.5, 0.5, 0.5]
    assert params["dtype"] == "float32" and params["scale"] == "0-1"
    # Said once, before any image is read: the size is each image's own.
    assert "Note: the model receives NCHW float32 (n, 3, H, W), values 0-1, mean 0.5,0.5,0.5\n" in (
        result.stderr
    )
    plain, _ = make_script(tmp_path / "..", "")
    default = run_cli("image", plain, *args[2:], "--format", "json")
    assert not {"layout", "mean", "std", "dtype"} & set(json.loads(default.stdout)["params"])
    assert "the model receives" not in default.stderr


@pytest.mark.parametrize(
    ("options", "flag"),
    [
        (("--dtype", "uint8", "--mean", "0.5"), "--dtype"),
        (("--dtype", "uint8", "--scale", "0-1"), "--dtype"),
        (("--mean", "1,2"), "--mean"),
        (("--std", "0,1,1"), "--std"),
        (("--std", "a,b,c"), "--std"),
        (("--layout", "CHW"), "--layout"),
    ],
)
def test_bad_settings_are_refused_before_any_work(run_cli, tmp_path, picture, options, flag):
    model, record = make_script(tmp_path)
    result = run_cli("image", model, picture[0], *options)
    assert result.exit_code == 2
    assert flag in result.stderr and not record.exists()


def test_a_bad_script_constant_names_itself(run_cli, tmp_path, picture):
    model, _ = make_script(tmp_path, 'INPUT_LAYOUT = "CHW"')
    result = run_cli("image", model, picture[0])
    assert result.exit_code == 4
    assert "INPUT_LAYOUT must be one of NHWC, NCHW. Got 'CHW' instead." in result.stderr


# -- ONNX models ---------------------------------------------------------------------------


def colour_model(
    path: Path, shape: list, *, elem: str = "float", axes=(2, 3), metadata=None
) -> Path:
    """An ONNX model whose 3 classes are the softmax of the input's channel means."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    kind = {"float": TensorProto.FLOAT, "uint8": TensorProto.UINT8}[elem]
    nodes = [helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT)]
    initializers = []
    if len(shape) == 2:  # flattened pixels: three equal parts stand for the channels
        initializers.append(helper.make_tensor("to3", TensorProto.INT64, [3], [0, 3, -1]))
        nodes.append(helper.make_node("Reshape", ["xf", "to3"], ["x3"]))
        nodes.append(helper.make_node("ReduceMean", ["x3"], ["m"], axes=[2], keepdims=0))
    else:
        nodes.append(helper.make_node("ReduceMean", ["xf"], ["m"], axes=list(axes), keepdims=0))
    nodes.append(helper.make_node("Softmax", ["m"], ["probabilities"], axis=1))
    graph = helper.make_graph(
        nodes,
        "colour",
        [helper.make_tensor_value_info("x", kind, shape)],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 3])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if metadata:
        helper.set_model_props(model, metadata)
    onnx.save(model, path)
    return path


@pytest.mark.parametrize(
    ("shape", "elem", "expected"),
    [
        (["N", 3, 16, 24], "float", TensorSpec("NCHW", (24, 16), channels=3, dtype="float32")),
        ([None, 16, 24, 3], "float", TensorSpec("NHWC", (24, 16), channels=3, dtype="float32")),
        (["N", 3, "h", "w"], "float", TensorSpec("NCHW", None, channels=3, dtype="float32")),
        (["N", 1, 28, 28], "float", TensorSpec("NCHW", (28, 28), channels=1, dtype="float32")),
        (["N", 16, 24, 3], "uint8", TensorSpec("NHWC", (24, 16), channels=3, dtype="uint8")),
        (["N", 3, 8, 3], "float", TensorSpec(dtype="float32")),  # either axis: not said
        (["N", 1152], "float", TensorSpec(dtype="float32")),  # flattened
    ],
)
def test_onnx_input_shape_says_the_spec(tmp_path, shape, elem, expected):
    pytest.importorskip("onnxruntime")
    from limecli.model.onnx import OnnxModel

    axes = (1, 2) if shape[-1] in (1, 3) else (2, 3)
    path = colour_model(tmp_path / "m.onnx", shape, elem=elem, axes=axes)
    assert OnnxModel(str(path)).input_spec == expected


def test_spec_from_shape_and_metadata_directly():
    assert spec_from_shape([1, 3, 224, 224], "tensor(float)").size == (224, 224)
    assert spec_from_shape([1, 224, 224], "tensor(double)") == TensorSpec(dtype="float64")
    declared = spec_from_mapping(
        {"input_mean": "0.5, 0.4,0.3", "input_std": "0.2", "input_size": "32x16"},
        {"mean": "input_mean", "std": "input_std", "size": "input_size"},
        "m.onnx",
    )
    assert declared == TensorSpec(size=(32, 16), mean=(0.5, 0.4, 0.3), std=(0.2,))
    with pytest.raises(ModelLoadError, match=r"m.onnx: input_std must be one or three positive"):
        spec_from_mapping({"input_std": "0"}, {"std": "input_std"}, "m.onnx")


def onnx_picture(tmp_path: Path) -> Path:
    """A 40x30 picture: red on the left, blue on the right."""
    pixels = np.zeros((30, 40, 3), dtype=np.uint8)
    pixels[:, :20, 0] = 230
    pixels[:, 20:, 2] = 200
    path = tmp_path / "halves.png"
    Image.fromarray(pixels).save(path)
    return path


def test_an_nchw_onnx_model_needs_no_options(run_cli, tmp_path):
    pytest.importorskip("onnxruntime")
    model = colour_model(
        tmp_path / "colour.onnx",
        ["N", 3, 16, 16],
        metadata={"input_mean": "0.5,0.5,0.5", "input_std": "0.25,0.25,0.25"},
    )
    picture = onnx_picture(tmp_path)
    args = ("image", model, picture, "--segmenter", "slic", "--segments", "4", "--hide-color", "0")
    result = run_cli(*args, "--num-samples", "200", "--seed", "0", "--format", "json")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert (record["data"]["width"], record["data"]["height"]) == (16, 16)  # resized to the model
    assert record["input"]["original_size"] == [40, 30]
    assert record["params"]["layout"] == "NCHW" and record["params"]["std"] == [0.25] * 3
    assert "the model receives NCHW float32 (n, 3, 16, 16), values 0-1, mean 0.5,0.5,0.5" in (
        result.stderr
    )
    red = next(label for label in record["labels"] if label["label"] == "0")
    # The red class is supported by the left half's superpixels only.
    for feature in red["features"]:
        x1 = feature["bbox"][2]
        assert (feature["weight"] > 0) == (x1 < 8), feature


def test_onnxruntime_errors_reach_stderr_whole_on_one_line(run_cli, tmp_path):
    pytest.importorskip("onnxruntime")
    model = colour_model(tmp_path / "colour.onnx", ["N", 3, 16, 16])
    picture = onnx_picture(tmp_path)
    result = run_cli("image", model, picture, "--layout", "NHWC", "--num-samples", "10", "-q")
    assert result.exit_code == 5
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("Error: the model colour.onnx raised OnnxRunError:")
    assert "index: 1 Got: 16 Expected: 3 index: 3 Got: 3 Expected: 16" in line
    assert "Please fix either the inputs/outputs or the model." in line
    assert "input 'x' takes [N, 3, 16, 16] tensor(float), sent (10, 16, 16, 3) float32" in line


def test_uint8_onnx_model_gets_0_255(tmp_path):
    pytest.importorskip("onnxruntime")
    from limecli import load_model
    from limecli.explainers.image import ImageExplainer

    model = colour_model(tmp_path / "u8.onnx", ["N", 16, 16, 3], elem="uint8", axes=(1, 2))
    explainer = ImageExplainer(load_model(model), segmenter="slic", num_samples=20)
    assert explainer.input_spec == TensorSpec("NHWC", (16, 16), "0-255", None, None, "uint8", 3)
    # A uniform image: hiding a segment by its mean colour changes nothing, so it is flat.
    with pytest.warns(FlatOutputWarning):
        explanation = explainer.explain(np.full((16, 16, 3), 200, dtype=np.uint8), seed=0)
    assert explanation.params["scale"] == "0-255"
    assert explanation.labels[0].flat


def test_python_api_takes_the_same_settings():
    from limecli.explainers.image import ImageExplainer, explain_image

    seen: list[np.ndarray] = []

    def model(batch):
        seen.append(batch)
        return np.tile([0.4, 0.6], (len(batch), 1))

    image = np.random.default_rng(1).integers(0, 256, (20, 30, 3)).astype(np.uint8)
    with pytest.warns(FlatOutputWarning):  # a constant model
        explain_image(
        model, image, segmenter="slic", num_samples=4, seed=0,
            layout="NCHW", resize=(15, 10), mean=(0.5, 0.5, 0.5), std=0.5, dtype="float64",
        )  # fmt: skip
    assert seen[0].shape == (4, 3, 10, 15) and seen[0].dtype == np.float64

    class Declares:
        def __init__(self) -> None:
            self.input_spec = {"layout": "NCHW", "size": (8, 6)}

        def predict_proba(self, batch):
            seen.append(batch)
            return np.tile([0.4, 0.6], (len(batch), 1))

    seen.clear()
    explainer = ImageExplainer(Declares(), segmenter="slic", num_samples=4)
    assert explainer.input_spec.size == (8, 6)
    with pytest.warns(FlatOutputWarning):
        explainer.explain(image, seed=0)  # another size: resized to the model's
    assert seen[0].shape == (4, 3, 6, 8)
    with pytest.raises(ParameterError, match="'mean' has 3 values but the model takes 1"):
        TensorSpec.parse(mean="1,2,3").over(spec_from_shape(["N", 1, 8, 8])).resolved()


def test_a_batch_of_images_sends_the_spec_to_worker_processes(run_cli, tmp_path):
    pytest.importorskip("onnxruntime")
    model = colour_model(tmp_path / "colour.onnx", ["N", 3, 16, 16])
    folder = tmp_path / "pictures"
    folder.mkdir()
    for name in ("a", "b"):
        onnx_picture(tmp_path).rename(folder / f"{name}.png")
    result = run_cli(
        "image", model, folder, "--segmenter", "slic", "--num-samples", "20", "--jobs", "2",
        "--format", "jsonl", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["data"]["width"] for r in records] == [16, 16]
    assert all(r["params"]["layout"] == "NCHW" for r in records)


def test_a_one_channel_model_gets_the_gray_level():
    spec = TensorSpec.parse(mean=0.5, std=0.25).over(spec_from_shape(["N", 1, 4, 5])).resolved()
    batch = np.random.default_rng(2).uniform(0, 1, (2, 4, 5, 3)).astype(np.float32)
    tensor = spec.to_tensor(batch)
    assert tensor.shape == (2, 1, 4, 5) and tensor.dtype == np.float32
    gray = batch @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    np.testing.assert_allclose(tensor[:, 0], (gray - 0.5) / 0.25, rtol=1e-5)
    assert spec.params() == {
        "layout": "NCHW", "dtype": "float32", "channels": 1, "mean": [0.5], "std": [0.25]
    }  # fmt: skip

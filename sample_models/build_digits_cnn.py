"""Build ``digits_cnn.onnx``: a small convolutional network that reads digits drawn in colour.

Data: scikit-learn's 8x8 handwritten digits (shipped inside the package: no
download). Each digit is drawn as a 64x64 RGB picture: the digit upscaled, its
strokes in a colour gradient, on a background gradient of other colours with a
few coloured discs and squares around it, near the middle. The network has to find the digit
among shapes and colours, and superpixels are parts of strokes, of the
background and of the shapes: what a LIME explanation of an image is about.

Network: conv 5x5 (3 -> 16) -> relu -> max-pool 2 -> conv 3x3 (16 -> 32) -> relu ->
max-pool 2 -> dense (16*16*32 -> 10) -> softmax; about 88,000 weights.

The ONNX model takes ``image``, float32 ``[N, 3, 64, 64]`` (NCHW), RGB values in
0-1 normalised per channel, ``(value - mean) / std``, with the training
pictures' mean and std. The normalisation is NOT in the graph: the mean and std
are written to the model's metadata_props (``input_mean``, ``input_std``,
``input_scale``), where limecli reads them, together with the layout and size
from the input's shape. So ``limecli image digits_cnn.onnx photo.png`` needs no
input options. Output: ``probabilities``, ``[N, 10]`` (classes 0-9).

Training uses PyTorch on the CPU (``pip install torch``; it is not a limecli
dependency, and the tests only run the committed ``.onnx`` with onnxruntime).
The graph is written with the ``onnx`` package node by node (no exporter).
Seeded: the pictures are the same on every run, the trained weights nearly so.

    python sample_models/build_digits_cnn.py

writes ``sample_models/digits_cnn.onnx`` and a few pictures of digits the network
was not trained on, ``sample_data/digits/digit_<d>.png`` (128x128: limecli
resizes them to the model's 64x64).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from sklearn.datasets import load_digits

HERE = Path(__file__).resolve().parent
MODEL = HERE / "digits_cnn.onnx"
#: Their own folder: examples and tests explain every picture in sample_data/images.
IMAGES = HERE.parent / "sample_data" / "digits"
SIZE = 64
#: Digits whose pictures are written for the README and the tests (from the held-out set).
SAMPLE_DIGITS = (2, 5, 7)
SAMPLE_SIZE = 128
SEED = 15
EPOCHS = 20
#: Pictures of every training digit per epoch, each in new colours and places.
DRAWINGS = 3
BATCH = 32
#: Channels of the two convolutions.
C1, C2 = 16, 32


def draw_digit(digit: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """One 8x8 digit (values 0-16) drawn as a (size, size, 3) uint8 RGB picture."""
    unit = size / 64
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    # Background: a gradient between two colours, in a random direction.
    b0, b1 = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    angle = rng.uniform(0, 2 * np.pi)
    t = np.cos(angle) * xx + np.sin(angle) * yy
    t = ((t - t.min()) / (t.max() - t.min()))[..., None]
    picture = b0 * (1 - t) + b1 * t
    # Distractors: one to three discs or squares.
    for _ in range(int(rng.integers(1, 4))):
        mask = Image.new("L", (size, size))
        radius = rng.uniform(4, 9) * unit
        cx, cy = rng.uniform(0, size, 2)
        box = (cx - radius, cy - radius, cx + radius, cy + radius)
        draw = ImageDraw.Draw(mask)
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=255)
        alpha = np.asarray(mask, dtype=np.float64)[..., None] / 255
        picture = picture * (1 - alpha) + rng.uniform(0, 1, 3) * alpha
    # The digit: upscaled, sharpened, near the middle, in colours far from the background's
    # so that it can be seen.
    extent = int(rng.uniform(44, 56) * unit)
    strokes = Image.fromarray((digit / 16).astype(np.float32), mode="F")
    ink = np.asarray(strokes.resize((extent, extent), Image.Resampling.BICUBIC))
    ink = np.clip((ink - 0.25) * 2.5, 0, 1)
    x0, y0 = np.clip((size - extent) // 2 + rng.integers(-4, 5, 2) * unit, 0, size - extent)
    x0, y0 = int(x0), int(y0)
    alpha = np.zeros((size, size))
    alpha[y0 : y0 + extent, x0 : x0 + extent] = ink
    background = picture.reshape(-1, 3).mean(axis=0)
    while True:
        f0, f1 = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
        far = min(np.abs(f - background).sum() for f in (f0, f1)) > 0.9
        if far and min(abs(_luma(f) - _luma(background)) for f in (f0, f1)) > 0.25:
            break
    ink_colour = f0 * (1 - yy[..., None]) + f1 * yy[..., None]
    picture = picture * (1 - alpha[..., None]) + ink_colour * alpha[..., None]
    return (np.clip(picture, 0, 1) * 255).round().astype(np.uint8)


def _luma(colour: np.ndarray) -> float:
    return float(colour @ np.array([0.299, 0.587, 0.114]))


def pictures(digits: np.ndarray, rng: np.random.Generator, *, noise: float = 0.0) -> np.ndarray:
    """Digits drawn at the model's size, as float32 (n, 3, 64, 64) in 0-1."""
    drawn = np.stack([draw_digit(d, SIZE, rng) for d in digits]).astype(np.float32) / 255
    if noise:
        drawn = np.clip(drawn + rng.normal(0, noise, drawn.shape).astype(np.float32), 0, 1)
    return drawn.transpose(0, 3, 1, 2)


def train(
    x_digits: np.ndarray, y: np.ndarray, mean: np.ndarray, std: np.ndarray
) -> dict[str, np.ndarray]:
    """Train the network on freshly drawn pictures every epoch; its weights as arrays."""
    import torch
    from torch import nn

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    net = nn.Sequential(
        nn.Conv2d(3, C1, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(C1, C2, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(C2 * 16 * 16, 10),
    )
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, EPOCHS)
    rng = np.random.default_rng(SEED)
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    labels = torch.tensor(y)
    labels = labels.repeat(DRAWINGS)
    for epoch in range(EPOCHS):
        drawn = pictures(np.concatenate([x_digits] * DRAWINGS), rng, noise=0.03)
        x = (torch.tensor(drawn) - m) / s
        order = torch.randperm(len(x))
        net.train()
        total = 0.0
        for start in range(0, len(x), BATCH):
            batch = order[start : start + BATCH]
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(net(x[batch]), labels[batch])
            loss.backward()
            optimiser.step()
            total += float(loss) * len(batch)
        schedule.step()
        print(f"epoch {epoch + 1:2d}: loss {total / len(x):.4f}", flush=True)
    conv1, conv2, dense = net[0], net[3], net[7]
    return {
        "conv1_w": conv1.weight.detach().numpy(),
        "conv1_b": conv1.bias.detach().numpy(),
        "conv2_w": conv2.weight.detach().numpy(),
        "conv2_b": conv2.bias.detach().numpy(),
        "dense_w": dense.weight.detach().numpy(),
        "dense_b": dense.bias.detach().numpy(),
    }


def onnx_model(weights: dict[str, np.ndarray], mean: np.ndarray, std: np.ndarray) -> object:
    """The network as an ONNX graph (opset 17, IR 8: onnxruntime 1.17 and later run it)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Conv", ["image", "conv1_w", "conv1_b"], ["c1"], pads=[2, 2, 2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "conv2_w", "conv2_b"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("MaxPool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p2"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "dense_w", "dense_b"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "digits_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
        initializer=[
            numpy_helper.from_array(np.ascontiguousarray(v, dtype=np.float32), name)
            for name, v in weights.items()
        ],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17)],
        producer_name="limecli sample_models/build_digits_cnn.py",
        doc_string="Digits 0-9 drawn in colour (scikit-learn digits, upscaled).",
    )
    model.ir_version = 8
    # What limecli applies before the graph (see limecli/model/tensor_spec.py).
    helper.set_model_props(
        model,
        {
            "input_scale": "0-1",
            "input_mean": ",".join(f"{v:.4f}" for v in mean),
            "input_std": ",".join(f"{v:.4f}" for v in std),
            "class_names": json.dumps([str(d) for d in range(10)]),
        },
    )
    onnx.checker.check_model(model)
    return model


def main() -> None:
    import onnx
    import onnxruntime as ort

    data = load_digits()
    order = np.random.default_rng(SEED).permutation(len(data.target))
    held_out = order[: len(order) // 5]
    trained = order[len(order) // 5 :]
    x_train, y_train = data.images[trained], data.target[trained]
    x_test, y_test = data.images[held_out], data.target[held_out]
    # The normalisation a user of the model applies: the training pictures' channel statistics,
    # rounded as they are stored.
    sample = pictures(x_train, np.random.default_rng(SEED + 1))
    mean = sample.mean(axis=(0, 2, 3)).round(4).astype(np.float32)
    std = sample.std(axis=(0, 2, 3)).round(4).astype(np.float32)
    weights = train(x_train, y_train, mean, std)
    model = onnx_model(weights, mean, std)
    onnx.save(model, MODEL)
    session = ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])
    test = pictures(x_test, np.random.default_rng(SEED + 2))
    normalised = (test - mean.reshape(1, 3, 1, 1)) / std.reshape(1, 3, 1, 1)
    predicted = session.run(None, {"image": normalised.astype(np.float32)})[0].argmax(axis=1)
    accuracy = float((predicted == y_test).mean())
    print(
        f"held-out accuracy: {accuracy:.3f} on {len(y_test)} digits; model {MODEL.stat().st_size:,} bytes"
    )
    rng = np.random.default_rng(SEED + 3)
    for d in SAMPLE_DIGITS:
        index = held_out[np.flatnonzero(y_test == d)[0]]
        path = IMAGES / f"digit_{d}.png"
        Image.fromarray(draw_digit(data.images[index], SAMPLE_SIZE, rng)).save(path, optimize=True)
        print(f"wrote {path.relative_to(HERE.parent)} (dataset image {index})")


if __name__ == "__main__":
    main()

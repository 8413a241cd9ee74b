"""Image speed-ups change nothing: segmentation cache, perturbed-image builder, batch sizes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_image_api import REGION, overlap, region_texture, textured_image

import limecli.sampling.image as sampling_image
from limecli import ImageExplainer, explain_image
from limecli import segment_cache as cache
from limecli.errors import ParameterError
from limecli.sampling.image import ImageSampler, segment

FAST = {"num_samples": 120, "segmenter": "slic", "mode": "classification"}


@pytest.fixture(autouse=True)
def cold_memory():
    """Every test starts with nothing cached in memory (the cache is process-wide)."""
    cache.clear_memory_cache()
    yield
    cache.clear_memory_cache()


@pytest.fixture
def segmenter_calls(monkeypatch) -> list[str]:
    """Counts the real segmenter's runs (the cache looks it up at call time)."""
    calls: list[str] = []
    real = sampling_image.segment

    def counting(pixels, segmenter="quickshift", **params):
        calls.append(segmenter if isinstance(segmenter, str) else "custom")
        return real(pixels, segmenter, **params)

    monkeypatch.setattr(sampling_image, "segment", counting)
    return calls


def explain(img=None, **kwargs):
    options = {**FAST, "seed": 3, "labels": [1], **kwargs}
    return explain_image(region_texture, textured_image() if img is None else img, **options)


# -- the perturbed-image builder ------------------------------------------------------------


def naive_images(pixels, segments, masks, hide_color, scale):
    """Reference: one sample and one segment at a time, in plain Python."""
    img = np.asarray(pixels, dtype=np.float32)
    out = []
    for mask in masks:
        sample = img.copy()
        for j in range(int(segments.max()) + 1):
            if mask[j]:
                continue
            where = segments == j
            if hide_color == "mean":
                fill = img[where].astype(np.float64).mean(axis=0).astype(np.float32)
            else:
                fill = np.asarray(hide_color, dtype=np.float32)
            sample[where] = fill
        out.append(sample * np.float32(scale))
    return np.stack(out)


@pytest.mark.parametrize("hide_color", ["mean", (0.0, 0.0, 0.0), (12.5, 200.0, 99.0)])
@pytest.mark.parametrize("scale", [1 / 255, 1.0])
@pytest.mark.parametrize("step", [1, 3, 1000])
def test_builder_equals_a_per_sample_per_segment_loop(hide_color, scale, step):
    rng = np.random.default_rng(7)
    pixels = rng.uniform(0, 255, (13, 21, 3)).astype(np.float32)  # odd, not square
    # Scattered, non-contiguous superpixels, including a one-pixel one.
    segments = sampling_image.relabel(rng.integers(0, 6, (13, 21)), (13, 21), "test")
    segments[0, 0] = segments.max() + 1
    sampler = ImageSampler(pixels, segments, hide_color, scale)
    sampler._step = step  # how many samples each step builds must not matter
    masks = sampler.draw(40, rng)
    masks[1] = 0  # everything hidden
    got = sampler.images(masks)
    assert got.dtype == np.float32 and got.shape == (40, 13, 21, 3)
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, naive_images(pixels, segments, masks, hide_color, scale))


def test_builder_on_a_real_segmentation_equals_the_loop():
    pixels = textured_image().astype(np.float32)
    segments = segment(pixels, "slic", n_segments=12)
    sampler = ImageSampler(pixels, segments)
    masks = sampler.draw(30, np.random.default_rng(0))
    np.testing.assert_array_equal(
        sampler.images(masks), naive_images(pixels, segments, masks, "mean", 1 / 255)
    )


def test_batch_size_changes_neither_the_model_inputs_nor_the_explanation():
    runs = {}
    for batch_size in (1, 7, 64, 500):
        seen: list[np.ndarray] = []

        def model(batch, seen=seen):
            # C-contiguous, as lime hands it: frameworks and reshape(n, -1) need no copy.
            assert batch.flags.c_contiguous
            seen.append(np.array(batch))
            return region_texture(batch)

        exp = explain_image(
            model, textured_image(), num_samples=150, seed=5, labels=[1], segmenter="slic",
            batch_size=batch_size, mode="classification",
        )  # fmt: skip
        assert max(len(b) for b in seen) == min(batch_size, 150)
        record = exp.to_dict()
        assert record["params"].pop("batch_size") == batch_size
        runs[batch_size] = (np.concatenate(seen), json.dumps(record, sort_keys=True))
    inputs, text = runs[1]
    for other_inputs, other_text in runs.values():
        np.testing.assert_array_equal(other_inputs, inputs)
        assert other_text == text
    # Ground truth still holds: the model only looks at REGION, and so does the explanation.
    exp = explain(num_samples=300)
    assert overlap(exp.segments, exp.label("1").features[0].feature) > 0.5


# -- the in-memory cache ------------------------------------------------------------------


def test_warm_cache_gives_the_same_bytes_and_skips_the_segmenter(segmenter_calls):
    cold = explain()
    assert segmenter_calls == ["slic"]
    warm = explain()
    assert segmenter_calls == ["slic"]  # no second run
    assert warm.to_json() == cold.to_json()
    np.testing.assert_array_equal(warm.segments, cold.segments)
    # Another label set or seed on the same image reuses the superpixels too.
    explain(labels=[0], seed=9)
    assert segmenter_calls == ["slic"]


def test_cached_result_equals_a_fresh_segmentation():
    pixels = textured_image().astype(np.float32)
    params = sampling_image.resolve_segmenter_params("quickshift", {})
    first = cache.cached_segment(pixels, "quickshift", params)
    again = cache.cached_segment(pixels, "quickshift", params)
    fresh = segment(pixels, "quickshift")
    assert first.dtype == again.dtype == fresh.dtype
    np.testing.assert_array_equal(first, fresh)
    np.testing.assert_array_equal(again, fresh)


@pytest.mark.parametrize("k", [1, 256, 257, 65536, 65537])
def test_many_superpixels_survive_compact_storage(k, tmp_path, monkeypatch):
    side = int(np.ceil(np.sqrt(k)))
    labels = (np.arange(side * side) % k).reshape(side, side).astype(np.int32)
    monkeypatch.setattr(sampling_image, "segment", lambda *args, **kwargs: labels.copy())
    pixels = np.zeros((side, side, 3), dtype=np.float32)
    got = cache.cached_segment(pixels, "slic", {}, tmp_path)  # cold: written to disk
    from_memory = cache.cached_segment(pixels, "slic", {}, tmp_path)
    cache.clear_memory_cache()
    from_disk = cache.cached_segment(pixels, "slic", {}, tmp_path)
    for result in (got, from_memory, from_disk):
        assert result.dtype == np.int32
        np.testing.assert_array_equal(result, labels)


def test_callers_cannot_spoil_the_cache_by_writing_to_their_copy():
    exp = explain()
    kept = exp.segments.copy()
    exp.segments[:] = 0
    np.testing.assert_array_equal(explain().segments, kept)


def test_the_key_changes_with_pixels_segmenter_settings_and_skimage(monkeypatch, segmenter_calls):
    img = textured_image()
    explain(img)
    explain(img, segmenter_params={"n_segments": 20})
    explain(img, segmenter="felzenszwalb")
    touched = img.copy()
    touched[40, 5, 1] ^= 1
    explain(touched)
    assert segmenter_calls == ["slic", "slic", "felzenszwalb", "slic"]
    pixels = img.astype(np.float32)
    params = sampling_image.resolve_segmenter_params("slic", {})
    key = cache.segment_key(pixels, "slic", params)
    assert key == cache.segment_key(pixels.copy(), "slic", dict(reversed(params.items())))
    assert key != cache.segment_key(pixels[:, :-1], "slic", params)
    assert key != cache.segment_key(pixels.astype(np.float64), "slic", params)
    monkeypatch.setattr(cache, "skimage_version", lambda: "0.0.0")
    assert key != cache.segment_key(pixels, "slic", params)


def test_supplied_segments_and_custom_segmenters_are_not_cached(segmenter_calls):
    quads = np.zeros((64, 64), dtype=int)
    quads[32:] = 1
    explain(segments=quads, segmenter="quickshift")
    assert cache.memory_cache_size() == 0

    custom_calls = []

    def halves(image):
        custom_calls.append(1)
        return (np.arange(image.shape[1])[None, :] >= 32).repeat(image.shape[0], axis=0)

    explain(segmenter=halves)
    explain(segmenter=halves)
    assert len(custom_calls) == 2
    assert segmenter_calls == [] and cache.memory_cache_size() == 0


def test_memory_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(cache, "MEMORY_ENTRIES", 3)
    labels = np.zeros((10, 10), dtype=np.int32)
    for i in range(5):
        cache.memory_put(f"k{i}", labels)
    assert cache.memory_cache_size() == 3
    assert cache.memory_get("k0") is None and cache.memory_get("k4") is not None
    assert cache.memory_get("k4").dtype == np.uint8  # kept compact
    monkeypatch.setattr(cache, "MEMORY_BYTES", cache.memory_get("k4").nbytes * 2)
    cache.memory_put("k5", labels)
    assert cache.memory_cache_size() == 2
    cache.memory_put("huge", np.zeros((100, 100), dtype=np.int32))  # over the bound alone
    assert cache.memory_get("huge") is None


# -- the on-disk cache --------------------------------------------------------------------


def cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("segments-*.npy"))


def test_disk_cache_round_trip(tmp_path, monkeypatch, segmenter_calls):
    folder = tmp_path / "made" / "here"
    cold = explain(cache_dir=folder)
    (written,) = cache_files(folder)
    assert np.load(written).dtype == np.uint8  # small: few superpixels
    assert [p.name for p in folder.iterdir()] == [written.name]  # no temporary left
    cache.clear_memory_cache()  # as a new process would be

    def no_segmenter(*args, **kwargs):
        raise AssertionError("the segmenter ran despite the disk cache")

    monkeypatch.setattr(sampling_image, "segment", no_segmenter)
    warm = explain(cache_dir=folder)
    assert warm.to_json() == cold.to_json()
    np.testing.assert_array_equal(warm.segments, cold.segments)
    assert warm.segments.dtype == cold.segments.dtype
    assert segmenter_calls == ["slic"]


def _npy(array) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


DAMAGE = {
    "garbage": lambda good: b"not a numpy file at all",
    "empty": lambda good: b"",
    "truncated": lambda good: good[: len(good) // 2],
    "wrong shape": lambda good: _npy(np.zeros((3, 3), dtype=np.uint8)),
    "gap in labels": lambda good: _npy(np.full((64, 64), 2, dtype=np.uint8)),
    "negative": lambda good: _npy(np.full((64, 64), -1, dtype=np.int32)),
    "floats": lambda good: _npy(np.zeros((64, 64))),
    "object pickle": lambda good: _npy(np.array([[None]] * 64 * 64, dtype=object).reshape(64, 64)),
}


def test_a_memory_hit_still_fills_a_new_disk_cache(tmp_path, segmenter_calls):
    cold = explain()
    warm = explain(cache_dir=tmp_path)
    assert segmenter_calls == ["slic"]
    assert len(cache_files(tmp_path)) == 1
    assert warm.to_json() == cold.to_json()


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_cache_file_is_recomputed_and_replaced(tmp_path, damage, segmenter_calls):
    cold = explain(cache_dir=tmp_path)
    (path,) = cache_files(tmp_path)
    good = path.read_bytes()
    path.write_bytes(DAMAGE[damage](good))
    cache.clear_memory_cache()
    again = explain(cache_dir=tmp_path)
    assert segmenter_calls == ["slic", "slic"]
    assert again.to_json() == cold.to_json()
    assert path.read_bytes() == good


def test_a_folder_in_place_of_a_cache_file_is_a_miss(tmp_path, segmenter_calls):
    cold = explain(cache_dir=tmp_path)
    (path,) = cache_files(tmp_path)
    path.unlink()
    path.mkdir()
    cache.clear_memory_cache()
    assert explain(cache_dir=tmp_path).to_json() == cold.to_json()
    assert segmenter_calls == ["slic", "slic"]


def test_a_cache_that_cannot_be_written_only_loses_the_speed_up(tmp_path, monkeypatch):
    import limecli.atomic

    def refuse(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(limecli.atomic, "write_atomic", refuse)
    assert explain(cache_dir=tmp_path).to_json() == explain().to_json()
    assert cache_files(tmp_path) == []


def test_a_cache_folder_that_is_a_file_is_a_parameter_error(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ParameterError, match="is a file"):
        ImageExplainer(region_texture, cache_dir=path)
    with pytest.raises(ParameterError, match="cannot create"):
        ImageExplainer(region_texture, cache_dir=path / "sub")


# -- the command line ---------------------------------------------------------------------

MODEL_PY = f"""
import numpy as np

REGION = (slice({REGION[0].start}, {REGION[0].stop}), slice({REGION[1].start}, {REGION[1].stop}))


def texture(batch):
    patch = np.asarray(batch)[:, REGION[0], REGION[1], :]
    energy = np.minimum(np.abs(np.diff(patch, axis=2)), 0.25).mean(axis=(1, 2, 3))
    p = np.clip(energy / 0.1, 0.0, 1.0)
    return np.column_stack([1 - p, p])
"""


@pytest.fixture
def cli_setup(tmp_path: Path) -> tuple[str, Path]:
    model = tmp_path / "models.py"
    model.write_text(MODEL_PY)
    picture = tmp_path / "tiles.png"
    Image.fromarray(textured_image()).save(picture)
    return f"{model}:texture", picture


CLI_FAST = ("--num-samples", "120", "--segmenter", "slic", "--format", "json", "-q")


def test_cli_cold_and_warm_runs_print_identical_bytes(run_cli, cli_setup, tmp_path, monkeypatch):
    model, picture = cli_setup
    monkeypatch.delenv("LIMECLI_CACHE_DIR", raising=False)
    folder = tmp_path / "cache"
    plain = run_cli("image", model, picture, *CLI_FAST)
    cold = run_cli("image", model, picture, *CLI_FAST, "--cache-dir", folder)
    assert cold.exit_code == 0, cold.stderr
    assert len(cache_files(folder)) == 1
    cache.clear_memory_cache()
    warm = run_cli("image", model, picture, *CLI_FAST, "--cache-dir", folder)
    assert plain.stdout == cold.stdout == warm.stdout
    assert cold.stderr == warm.stderr == ""


def test_cli_reads_the_cache_folder_from_the_environment(run_cli, cli_setup, tmp_path, monkeypatch):
    model, picture = cli_setup
    folder = tmp_path / "from-env"
    monkeypatch.setenv("LIMECLI_CACHE_DIR", str(folder))
    result = run_cli("image", model, picture, *CLI_FAST)
    assert result.exit_code == 0, result.stderr
    assert len(cache_files(folder)) == 1


def test_cli_writes_no_cache_unless_asked(run_cli, cli_setup, tmp_path, monkeypatch):
    model, picture = cli_setup
    monkeypatch.delenv("LIMECLI_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    assert run_cli("image", model, picture, *CLI_FAST).exit_code == 0
    assert sorted(tmp_path.rglob("*")) == before


def test_cli_cache_folder_that_is_a_file(run_cli, cli_setup, tmp_path):
    model, picture = cli_setup
    result = run_cli("image", model, picture, *CLI_FAST, "--cache-dir", picture)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert "Error:" in result.stderr and "--cache-dir" in result.stderr


def test_cli_help_documents_the_cache(run_cli):
    text = " ".join(run_cli("image", "--help").stdout.split())
    assert "--cache-dir DIR" in text and "LIMECLI_CACHE_DIR" in text
    assert "byte-identical" in text


def test_cli_batch_with_a_duplicate_image_segments_it_once(
    run_cli, cli_setup, tmp_path, segmenter_calls
):
    model, picture = cli_setup
    copy = tmp_path / "copy.png"
    copy.write_bytes(picture.read_bytes())
    result = run_cli(
        "image", model, picture, copy, "--num-samples", "60", "--segmenter", "slic",
        "--format", "jsonl", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 2
    assert segmenter_calls == ["slic"]

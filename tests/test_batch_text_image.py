"""Text and image batches: every input form, JSONL/CSV, --jobs, --resume, errors, --out-dir, Dask."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from conftest import ROOT, SAMPLE_MODELS
from PIL import Image

from limecli import load_model
from limecli.batch import BatchInput, InputRef, StreamSink, derive_seed, per_input, run_batch
from limecli.batch.tasks_image import ImageBatchTask
from limecli.batch.tasks_text import TextBatchTask, text_batch_inputs
from limecli.errors import ParameterError
from limecli.explainers.image import ImageExplainer
from limecli.explainers.text import TextExplainer
from limecli.inputs.discover import FoundFile, expand_paths, output_names

SCHEMA = json.loads((ROOT / "limecli/schema/explanation.schema.json").read_text())
ERROR_SCHEMA = json.loads((ROOT / "limecli/schema/error.schema.json").read_text())
NEWS = SAMPLE_MODELS / "text_newsgroups.joblib"
TEXT_FAST = ("--num-samples", 150, "--num-features", 3)
IMAGE_FAST = ("--num-samples", 60, "--segmenter", "slic", "--segments", 8, "--num-features", 3)

TEXTS = {
    "a.txt": "The shuttle launch was delayed by NASA engineers",
    "b.md": "My doctor prescribed new pills for the pain",
    "sub/c.txt": "Orbit insertion of the probe succeeded",
    "sub/deeper/d.txt": "The patient recovered after surgery",
    "sub/ignored.csv": "not,a,text\n",
    ".hidden.txt": "never read",
}

IMAGE_modelS = """
import numpy as np

CLASS_NAMES = ["dark", "bright"]


def brightness(batch):
    m = (np.asarray(batch, dtype=float) ** 2).mean(axis=(1, 2, 3))  # not flat under mean hiding
    return np.column_stack([1 - m, m])
"""


def records(text: str) -> list[dict]:
    out = [json.loads(line) for line in text.splitlines()]
    for record in out:
        jsonschema.validate(record, ERROR_SCHEMA if "error" in record else SCHEMA)
    return out


def sources(text: str) -> list[str]:
    return [r["input"]["source"] for r in records(text)]


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of texts; the tests run inside tmp_path so that paths are relative."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "docs"
    for name, body in TEXTS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(body, encoding="utf-8")
    return root


@pytest.fixture
def photos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Small images, two of them both named x.png in different folders, and a corrupt one."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "photos"
    rng = np.random.default_rng(0)
    for name in ("x.png", "cats/x.png", "dogs/x.png", "dogs/y.jpg"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        tiles = np.kron(rng.uniform(0, 255, (4, 4, 3)), np.ones((8, 8, 1))).astype(np.uint8)
        Image.fromarray(tiles).save(root / name)
    (root / "dogs" / "broken.png").write_bytes((root / "x.png").read_bytes()[:120])
    (root / "notes.txt").write_text("not an image")
    (tmp_path / "models.py").write_text(IMAGE_modelS)
    return root


@pytest.fixture
def model(photos: Path) -> str:
    # Absolute: joblib reuses worker processes, which keep the folder they started in.
    return f"{photos.parent}/models.py:brightness"


# -- text: input forms ------------------------------------------------------------------
def test_text_folder_is_filtered_by_extension_and_recursive_on_request(run_cli, corpus) -> None:
    flat = run_cli("text", NEWS, "docs", *TEXT_FAST, "--format", "jsonl", "-q")
    assert flat.exit_code == 0, flat.stderr
    assert sources(flat.stdout) == ["docs/a.txt", "docs/b.md"]
    deep = run_cli("text", NEWS, "docs/", "-r", *TEXT_FAST, "--format", "jsonl", "-q")
    assert sources(deep.stdout) == [
        "docs/a.txt",
        "docs/b.md",
        "docs/sub/c.txt",
        "docs/sub/deeper/d.txt",
    ]
    only_md = run_cli("text", NEWS, "docs", "-r", "--ext", "md", *TEXT_FAST, "--format", "jsonl")
    assert sources(only_md.stdout) == ["docs/b.md"]
    # A batch record is the single-text explanation at the input's derived seed.
    first = records(deep.stdout)[2]
    seed = derive_seed(0, {"source": "docs/sub/c.txt", "index": None})
    single = run_cli("text", NEWS, "docs/sub/c.txt", *TEXT_FAST, "--seed", seed, "-q")
    assert json.loads(single.stdout)["labels"] == first["labels"]


def test_text_paths_globs_lists_and_stdin(run_cli, corpus) -> None:
    fmt = ("--format", "jsonl", "-q", *TEXT_FAST)
    several = run_cli("text", NEWS, "docs/sub/c.txt", "docs/a.txt", "./docs/a.txt", *fmt)
    assert sources(several.stdout) == ["docs/sub/c.txt", "docs/a.txt"]  # the same file once
    globbed = run_cli("text", NEWS, "docs/**/*.txt", *fmt)  # quoted: limecli expands it
    assert sources(globbed.stdout) == ["docs/a.txt", "docs/sub/c.txt", "docs/sub/deeper/d.txt"]
    Path("list.txt").write_text("docs/b.md\n\ndocs/sub/c.txt\n")
    listed = run_cli("text", NEWS, "--files-from", "list.txt", *fmt)
    assert sources(listed.stdout) == ["docs/b.md", "docs/sub/c.txt"]
    piped = run_cli("text", NEWS, "--files-from", "-", *fmt, input="docs/b.md\ndocs/sub/c.txt\n")
    assert piped.stdout == listed.stdout
    # "-" is still the text on stdin, also among files.
    mixed = run_cli("text", NEWS, "docs/a.txt", "-", *fmt, input="rocket to the moon")
    assert sources(mixed.stdout) == ["docs/a.txt", "<stdin>"]
    assert records(mixed.stdout)[1]["data"]["text"] == "rocket to the moon"


def test_text_column_rows_of_csv_and_jsonl_tables(run_cli, corpus) -> None:
    with open("posts.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["id", "body"], [1, "rocket launch"], [2, "flu vaccine"]])
    Path("posts.jsonl").write_text('{"body": "orbit"}\n{"body": "the doctor"}\n')
    result = run_cli(
        "text",
        NEWS,
        "posts.csv",
        "posts.jsonl",
        "--column",
        "body",
        "--format",
        "jsonl",
        "-q",
        *TEXT_FAST,
    )
    assert result.exit_code == 0, result.stderr
    got = [
        (r["input"]["source"], r["input"]["index"], r["data"]["text"])
        for r in records(result.stdout)
    ]
    assert got == [
        ("posts.csv", 0, "rocket launch"),
        ("posts.csv", 1, "flu vaccine"),
        ("posts.jsonl", 0, "orbit"),
        ("posts.jsonl", 1, "the doctor"),
    ]


def test_text_csv_output_error_record_and_exit_6(run_cli, corpus) -> None:
    (corpus / "bin.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    out = Path("out.csv")
    result = run_cli("text", NEWS, "docs", "--format", "csv", "-o", out, *TEXT_FAST)
    assert result.exit_code == 6
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: 1 of 3 input(s) failed; each has an error record in out.csv"
    )
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["source"] for r in rows if r["error"]] == ["docs/bin.txt"]
    assert rows[-1]["error"] == (
        "InputDataError (exit 3): docs/bin.txt looks like a binary file, not text "
        "(it contains NUL bytes)"
    )
    assert {r["source"] for r in rows if not r["error"]} == {"docs/a.txt", "docs/b.md"}
    assert all(r["kind"] == "text" and r["index"] == "" for r in rows)


def test_text_model_error_fails_only_that_text(run_cli, corpus) -> None:
    Path("picky.py").write_text(
        "import numpy as np\n"
        "def predict(texts):\n"
        "    if any('NASA' in t for t in texts):\n"
        "        raise RuntimeError('cannot read NASA')\n"
        "    return np.array([[0.3, 0.7] if 'doctor' in t else [0.6, 0.4] for t in texts])\n"
    )
    result = run_cli("text", "picky.py:predict", "docs", "--format", "jsonl", *TEXT_FAST)
    assert result.exit_code == 6
    first, second = records(result.stdout)
    assert first["error"]["exit_code"] == 5 and "cannot read NASA" in first["error"]["message"]
    assert second["input"]["source"] == "docs/b.md" and second["labels"]


def test_text_jobs_1_and_2_are_byte_identical_and_resume_completes(run_cli, corpus) -> None:
    args = ("text", NEWS, "docs", "-r", *TEXT_FAST, "-q")
    one, two = Path("one.jsonl"), Path("two.jsonl")
    assert run_cli(*args, "-o", one).exit_code == 0
    assert run_cli(*args, "-o", two, "--jobs", "2").exit_code == 0
    assert one.read_bytes() == two.read_bytes()
    lines = one.read_bytes().splitlines(keepends=True)
    cut = Path("cut.jsonl")
    cut.write_bytes(b"".join(lines[:2]) + lines[2][:40])  # killed mid-line
    resumed = run_cli(*args[:-1], "-o", cut, "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    assert "2 input(s) already there are skipped" in resumed.stderr
    assert cut.read_bytes() == one.read_bytes()


def test_text_api_batch(corpus) -> None:
    explainer = TextExplainer(load_model(str(NEWS)), num_samples=100, num_features=2)
    items = text_batch_inputs(["docs/a.txt", "docs/missing.txt"])
    out = io.StringIO()
    report = run_batch(
        items, per_input(TextBatchTask(explainer)), StreamSink("jsonl", out), kind="text", seed=1
    )
    assert (report.written, report.failed) == (2, 1)
    ok, bad = records(out.getvalue())
    assert ok["params"]["seed"] == derive_seed(1, {"source": "docs/a.txt", "index": None})
    assert "text file not found" in bad["error"]["message"]


# -- image --------------------------------------------------------------------------------
def test_image_folder_out_dir_names_errors_and_jobs(run_cli, photos, model) -> None:
    base = ("image", model, "photos", "-r", *IMAGE_FAST, "-q", "--masks")
    one = run_cli(*base, "--out-dir", "one", "-o", "one.jsonl")
    assert one.exit_code == 6 and "Traceback" not in one.stderr, one.stderr
    got = records(Path("one.jsonl").read_text())
    assert [r["input"]["source"] for r in got] == [  # sorted by relative path
        "photos/cats/x.png",
        "photos/dogs/broken.png",
        "photos/dogs/x.png",
        "photos/dogs/y.jpg",
        "photos/x.png",
    ]
    assert "corrupt or truncated" in got[1]["error"]["message"]
    assert got[0]["input"]["image_mode"] == "RGB" and got[0]["input"]["original_size"] == [32, 32]
    written = sorted(p.name for p in Path("one").iterdir())
    assert written == sorted(
        f"{stem}.{what}.png"
        for stem in ("x.png", "cats__x.png", "dogs__x.png", "dogs__y.jpg")
        for what in ("overlay", "mask")
    )
    with Image.open("one/cats__x.png.overlay.png") as im:
        assert im.size == (32, 32)
    two = run_cli(*base, "--out-dir", "two", "-o", "two.jsonl", "--jobs", "2")
    assert two.exit_code == 6, two.stderr
    assert Path("two.jsonl").read_bytes() == Path("one.jsonl").read_bytes()
    for name in written:
        assert (Path("two") / name).read_bytes() == (Path("one") / name).read_bytes()
    # An --out-dir inside the input folder is never read back as input.
    again = run_cli(
        "image",
        model,
        "photos",
        *IMAGE_FAST,
        "-q",
        "--out-dir",
        "photos/overlays",
        "--format",
        "jsonl",
    )
    assert again.exit_code == 0 and sources(again.stdout) == ["photos/x.png"]


def test_image_lists_globs_csv_and_resume(run_cli, photos, model) -> None:
    base = ("image", model, *IMAGE_FAST, "-q")
    piped = run_cli(*base, "-", "--format", "jsonl", input="photos/dogs/y.jpg\nphotos/x.png\n")
    assert piped.exit_code == 0, piped.stderr
    assert sources(piped.stdout) == ["photos/dogs/y.jpg", "photos/x.png"]
    Path("list.txt").write_text("photos/dogs/y.jpg\nphotos/gone.png\n")
    listed = run_cli(*base, "--files-from", "list.txt", "--format", "jsonl")
    assert listed.exit_code == 6  # a listed file that is gone is an error record
    assert records(listed.stdout)[1]["error"]["message"] == "image file not found: photos/gone.png"
    globbed = run_cli(*base, "photos/*/x.png", "photos/x.png", "--format", "csv")
    assert globbed.exit_code == 0
    table = list(csv.DictReader(io.StringIO(globbed.stdout)))
    assert list(dict.fromkeys(r["source"] for r in table)) == [
        "photos/cats/x.png",
        "photos/dogs/x.png",
        "photos/x.png",
    ]
    full, cut = Path("full.jsonl"), Path("cut.jsonl")
    run_cli(*base, "photos", "-r", "-o", full)
    cut.write_bytes(b"".join(full.read_bytes().splitlines(keepends=True)[:3]))
    resumed = run_cli(*base[:-1], "photos", "-r", "-o", cut, "--resume")
    assert "3 input(s) already there are skipped" in resumed.stderr
    assert cut.read_bytes() == full.read_bytes()


def test_image_api_task_pickles_and_writes_inside_out_dir(photos, model, tmp_path: Path) -> None:
    import pickle

    explainer = ImageExplainer(
        load_model(model), segmenter="slic", segmenter_params={"n_segments": 8}, num_samples=40
    )
    task = ImageBatchTask(explainer, out_dir=tmp_path / "pics", pictures=("heatmap",))
    (tmp_path / "pics").mkdir()
    task = pickle.loads(pickle.dumps(task))
    explanation = task(BatchInput(InputRef.file("photos/x.png"), ("photos/x.png", "x"), seed=3))
    assert explanation.pixels is None  # nothing heavy travels back
    assert [p.name for p in (tmp_path / "pics").iterdir()] == ["x.heatmap.png"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("photos", "--out", "a.png"), "a batch writes its pictures with --out-dir"),
        (("photos/x.png", "--masks"), "--masks and --heatmaps go with --out-dir"),
        (("photos", "--format", "html"), "not html"),
        (("nowhere/*.png",), "no file matches nowhere/*.png"),
        (("photos", "missing.png"), "no such file or folder: missing.png"),
        (("photos/dogs", "--ext", "gif"), "no image found in photos/dogs: looked for .gif"),
        (("-", "--files-from", "-"), "stdin (-) can be read only once"),
    ],
)
def test_image_batch_usage_errors(run_cli, photos, model, args, fragment) -> None:
    result = run_cli("image", model, *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert fragment in result.stderr.strip().splitlines()[-1]


# -- names and paths ------------------------------------------------------------------------
def test_output_names_are_unique_and_stay_inside_the_folder(tmp_path: Path) -> None:
    files = [
        FoundFile("a/b.png", "a/b.png"),
        FoundFile("a__b.png", "a__b.png"),
        FoundFile("X.PNG", "X.PNG"),
        FoundFile("x.png", "x.png"),
        FoundFile("../../etc/passwd", "../../etc/passwd"),
        FoundFile("/abs/.hidden.png", ".hidden.png"),
        FoundFile("weird name?:*.png", "weird name?:*.png"),
        FoundFile("사진.png", "사진.png"),
    ]
    names = output_names(files)
    assert len({n.casefold() for n in names}) == len(names)
    assert names[4] == "up__up__etc__passwd" and names[5] == "hidden.png"
    assert names[6] == "weird_name_.png" and names[7] == "사진.png"
    assert names[0].startswith("a__b.png-") and names[1].startswith("a__b.png-")
    out = (tmp_path / "out").resolve()
    for name in names:
        assert "/" not in name and not name.startswith(".")
        assert (out / f"{name}.overlay.png").resolve().parent == out


def test_expand_paths_errors_and_exclusions(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("d/o").mkdir(parents=True)
    for name in ("d/1.txt", "d/o/2.txt", "d/.x.txt"):
        Path(name).write_text("w")
    found = expand_paths(["d"], extensions=[".txt"], recursive=True, exclude=["d/o"])
    assert [f.path for f in found] == ["d/1.txt"]
    with pytest.raises(ParameterError, match="add 'recursive'"):
        expand_paths(["d/o/.."], extensions=[".md"])
    assert os.path.isdir("d/o")


# -- Dask -------------------------------------------------------------------------------
def test_image_dask_local_cluster_matches_the_local_run(run_cli, photos, model) -> None:
    distributed = pytest.importorskip("dask.distributed")
    base = ("image", model, "photos", "-r", "--ext", "png", *IMAGE_FAST, "-q")
    local = run_cli(*base, "--format", "jsonl")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        remote = run_cli(
            *base,
            "--format",
            "jsonl",
            "--backend",
            "dask",
            "--scheduler",
            cluster.scheduler_address,
        )
    assert remote.exit_code == local.exit_code == 6
    assert remote.stdout == local.stdout

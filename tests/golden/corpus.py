"""The golden corpus: fixed ``limecli`` commands over every kind, format and batch mode.

Each case is a few steps in a fresh folder holding copies of ``sample_data/``,
``sample_models/`` and ``examples/``: files to create (inputs such as policies, file
lists or a broken CSV), ``limecli`` commands written as in a shell, and cuts of a file
(a killed run, for ``--resume``). ``runner.py`` runs them and records what they print,
exit with and write; ``tests/test_golden_corpus.py`` compares that with the recording
of the pre-refactor code kept here (``regenerate.py`` writes it).
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


# -- case definitions -----------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Cmd:
    """One ``limecli`` command; ``stdin`` is fed to it (else nothing)."""

    args: tuple[str, ...]
    stdin: str | None = None


@dataclasses.dataclass(frozen=True)
class Write:
    """Create a file in the case folder before the next command (an input, not an output)."""

    path: str
    text: str


@dataclasses.dataclass(frozen=True)
class Cut:
    """Cut a file to its first ``lines`` lines plus ``extra`` characters: a killed run."""

    path: str
    lines: int
    extra: int = 0


Step = Cmd | Write | Cut


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    steps: tuple[Step, ...]


def case(name: str, *steps: Step) -> Case:
    return Case(name, steps)


def cmd(line: str, stdin: str | None = None) -> Cmd:
    """A command written as in a shell: ``"limecli tabular MODEL DATA --row 3"``."""
    args = shlex.split(line)
    assert args[0] == "limecli", line
    return Cmd(tuple(args[1:]), stdin)


def sample_lines(path: str, count: int) -> list[str]:
    return (ROOT / path).read_text(encoding="utf-8").splitlines(keepends=True)[:count]


# Models and data, as the cases name them (relative to the case folder).
BC = "sample_models/breast_cancer_rf.joblib sample_data/breast_cancer_test.csv"
BC_TRAIN = "--train sample_data/breast_cancer_train.csv"
LOANS = "sample_models/loans_pipeline.joblib sample_data/loans_test.csv"
LOANS_TRAIN = "--train sample_data/loans_train.csv"
DIAB_MODEL = "sample_models/diabetes_rf.joblib"
DIAB = f"{DIAB_MODEL} sample_data/diabetes_test.csv"
DIAB_TRAIN = "--train sample_data/diabetes_train.csv"
NEWS = "sample_models/text_newsgroups.joblib"
KOREAN = "sample_models/text_korean_sentiment.joblib"
LEAK = "sample_data/text/leak_post.txt"
REVIEW = "sample_data/text/korean_review.txt"
SHAPES = "sample_models/predict_shapes.py:predict"
IMAGES = "sample_data/images"

# The first 9 rows of the diabetes test split, and 5 whose row 2 has text in a numeric column.
_diabetes = sample_lines("sample_data/diabetes_test.csv", 10)
NINE_DIABETES = "".join(_diabetes)
BROKEN_DIABETES = "".join(
    [*_diabetes[:3], "abc" + _diabetes[3][_diabetes[3].index(",") :], *_diabetes[4:6]]
)

# The first 6 posts of the newsgroups test split: a small table for a --column batch.
_news = (ROOT / "sample_data/text/newsgroups_test.csv").read_text(encoding="utf-8")
SIX_POSTS = "text,label\n" + "".join(
    f'"{post}",{label}\n' for post, label in re.findall(r'"((?:[^"]|"")*)",(\w+)\n', _news)[:6]
)

LOANS_POLICY = """\
[model]
path = "sample_models/loans_pipeline.joblib"

[data]
kind = "tabular"
path = "sample_data/loans_test.csv"
train = "sample_data/loans_train.csv"
rows = "0:12"

[explainer]
num_samples = 500
num_features = 6
seed = 0

[[rules]]
id = "no-irrelevant-drivers"
type = "forbidden_features"
description = "Age, region and the noise column must not be among the top 3 reasons."
features = ["age", "region", "noise"]
top_k = 3
max_fraction = 0.2

[[rules]]
id = "real-drivers-lead"
type = "required_features"
features = ["income", "debt_ratio", "employment"]
top_k = 2

[[rules]]
id = "high-debt-pushes-to-reject"
type = "weight_bounds"
label = "rejected"
feature = "debt_ratio"
sign = "positive"
where = { values = { debt_ratio = { min = 0.6 } } }

[[rules]]
id = "noise-stays-small"
type = "weight_bounds"
severity = "warning"
feature = "noise"
min = -0.01
max = 0.01

[[rules]]
id = "faithful-surrogate"
type = "min_fidelity"
min_r2 = 0.1
max_fraction = 0.2
"""

# The first policy's rows 4:10 again, with another seed and fewer samples, against its baseline.
DRIFT_BASE_POLICY = LOANS_POLICY.replace('"0:12"', '"4:10"')
DRIFT_POLICY = DRIFT_BASE_POLICY.split("[[rules]]")[0].replace(
    "num_samples = 500\nnum_features = 6\nseed = 0", "num_samples = 200\nnum_features = 6\nseed = 7"
) + (
    """\
[[rules]]
id = "stable-explanations"
type = "drift"
baseline = "baseline.jsonl"
top_k = 3
min_jaccard = 0.9
min_abs_weight = 0.001
"""
)

TEXT_POLICY = """\
# The header leak, on 8 posts and few samples; paths relative to this file.
[model]
path = "../sample_models/text_newsgroups.joblib"

[data]
kind = "text"
path = "../sample_data/text/newsgroups_test.csv"
column = "text"
rows = [0, 1, 2, 3, 5, 8, 13, 21]

[explainer]
num_samples = 400
num_features = 6
seed = 3

[[rules]]
id = "no-mail-header-tokens"
type = "forbidden_features"
description = "Mail header words must not drive the topic prediction."
features = ["Posting", "Host", "NNTP"]
patterns = ["^(?i:subject|from)$"]
top_k = 5
max_fraction = 0.05

[[rules]]
id = "faithful-surrogate"
type = "min_fidelity"
min_r2 = 0.5
max_fraction = 0.1
"""

IMAGE_POLICY = """\
[model]
path = "sample_models/predict_shapes.py:predict"

[data]
kind = "image"
path = "sample_data/images"
extensions = [".png", ".jpg"]
resize = "64x64"

[explainer]
num_samples = 200
num_features = 4
labels = ["circle"]

[[rules]]
id = "fit"
type = "min_fidelity"
min_r2 = 0.2
max_fraction = 0.5

[[rules]]
id = "segment-zero-quiet"
type = "forbidden_features"
severity = "warning"
features = ["0"]
top_k = 1
max_fraction = 0.0
"""

BROKEN_SCRIPT = """\
CLASS_NAMES = ["approved", "rejected"]


def predict(batch):
    raise RuntimeError("the scoring service is down")
"""

THREE_IMAGES = f"{IMAGES}/shapes.png\n{IMAGES}/cat.jpg\n{IMAGES}/missing.png\n"

# Left out on purpose, as issue 13 changes them: audit reports replacing existing files,
# `rows = "5:"` in a policy, `summary -q`, and a tabular batch with `-o x.html` (exit 1 today).
CASES: tuple[Case, ...] = (
    # -- tabular: one row ------------------------------------------------------------------
    case(
        "tabular_table_breast_cancer",
        cmd(f"limecli tabular {BC} --row 12 {BC_TRAIN} --num-samples 600 --format table"),
    ),
    case(
        "tabular_json_loans_auto_samples",
        cmd(f"limecli tabular {LOANS} --row 3 {LOANS_TRAIN} --num-features 4"),
    ),
    case(
        "tabular_csv_regression_decile_lasso",
        cmd(
            f"limecli tabular {DIAB} --row 0 {DIAB_TRAIN} --num-samples 800 --num-features 5"
            " --discretizer decile --feature-selection lasso_path --format csv"
        ),
    ),
    case(
        "tabular_jsonl_top_labels_no_train",
        cmd(
            f"limecli tabular {BC} --row 40 --num-samples 500 --top-labels 2 --num-features 4"
            " --kernel-width 3 --format jsonl"
        ),
    ),
    case(
        "tabular_html_file",
        cmd(
            f"limecli tabular {LOANS} --row 7 {LOANS_TRAIN} --num-samples 500 --num-features 5"
            " --label approved -o report.html"
        ),
    ),
    case(
        "tabular_txt_file_script_no_discretize",
        cmd(
            "limecli tabular sample_models/predict_breast_cancer.py:predict"
            f" sample_data/breast_cancer_test.csv --row 5 --target diagnosis {BC_TRAIN}"
            " --no-discretize --num-samples 500 --num-features 6 -o explained.txt"
        ),
    ),
    case(
        "tabular_json_file_categorical_around_instance",
        cmd(
            f"limecli tabular {LOANS} --row 11 {LOANS_TRAIN} --no-discretize"
            " --sample-around-instance --categorical age --num-samples 400"
            " --feature-selection forward --num-features 3 -o one.json"
        ),
    ),
    # -- tabular: batches ------------------------------------------------------------------
    case(
        "tabular_batch_rows_jsonl_jobs1",
        cmd(
            f"limecli tabular {BC} --rows 0:6,40 {BC_TRAIN} --num-samples 500 --num-features 4"
            " -o batch.jsonl"
        ),
    ),
    case(
        "tabular_batch_rows_csv_jobs2",
        cmd(
            f"limecli tabular {BC} --rows 0:6,40 {BC_TRAIN} --num-samples 500 --num-features 4"
            " --jobs 2 -o batch.csv"
        ),
    ),
    case(
        "tabular_batch_all_independent_json_stdout",
        Write("nine.csv", NINE_DIABETES),
        cmd(
            f"limecli tabular {DIAB_MODEL} nine.csv {DIAB_TRAIN} --all --independent-samples"
            " --num-samples 300 --num-features 3 --format json"
        ),
    ),
    case(
        "tabular_batch_table_stdout",
        cmd(
            f"limecli tabular {LOANS} --rows 3,9,1 {LOANS_TRAIN} --num-samples 400"
            " --num-features 3 --format table"
        ),
    ),
    case(
        "tabular_batch_resume_jsonl",
        cmd(
            f"limecli tabular {DIAB} --rows 0:7 {DIAB_TRAIN} --num-samples 300 --num-features 4"
            " -o run.jsonl -q"
        ),
        Cut("run.jsonl", lines=3, extra=57),
        cmd(
            f"limecli tabular {DIAB} --rows 0:7 {DIAB_TRAIN} --num-samples 300 --num-features 4"
            " -o run.jsonl --resume"
        ),
    ),
    case(
        "tabular_batch_error_record_csv_exit6",
        Write("broken.csv", BROKEN_DIABETES),
        cmd(
            f"limecli tabular {DIAB_MODEL} broken.csv {DIAB_TRAIN} --all --num-samples 300"
            " --num-features 3 --format csv"
        ),
    ),
    # -- text: one input -------------------------------------------------------------------
    case(
        "text_table_leak",
        cmd(f"limecli text {NEWS} {LEAK} --num-samples 600 --format table"),
    ),
    case(
        "text_json_korean",
        cmd(f"limecli text {KOREAN} {REVIEW} --num-samples 500 --num-features 2"),
    ),
    case(
        "text_stdin_table",
        cmd(
            f"limecli text {NEWS} - --num-samples 300 --format table",
            stdin="The shuttle reached orbit.",
        ),
    ),
    case(
        "text_no_bow_csv",
        cmd(
            f"limecli text {NEWS} {LEAK} --no-bow --mask-token XX --num-features 4"
            " --num-samples 500 --format csv"
        ),
    ),
    case(
        "text_char_level_html_file",
        cmd(
            f"limecli text {KOREAN} {REVIEW} --char-level --num-samples 400 --num-features 5"
            " -o review.html"
        ),
    ),
    case(
        "text_split_expression_labels_jsonl",
        Write("phrases.txt", "orbit and launch; my doctor said; the NNTP host; rest\n"),
        cmd(
            rf"limecli text {NEWS} phrases.txt --split-expression ';\s*' --num-samples 300"
            " --label medicine --label space --format jsonl"
        ),
    ),
    # -- text: batches ---------------------------------------------------------------------
    case(
        "text_batch_files_jsonl",
        Write("posts/a.txt", "The shuttle launch was delayed by weather.\n"),
        Write("posts/b.md", "My doctor changed the treatment.\nNNTP-Posting-Host: x\n"),
        cmd(
            f"limecli text {NEWS} {LEAK} posts/b.md posts/a.txt --num-samples 300"
            " --num-features 3 --format jsonl"
        ),
    ),
    case(
        "text_batch_column_rows_csv",
        cmd(
            f"limecli text {NEWS} sample_data/text/newsgroups_test.csv --column text --row 0"
            " --row 1 --num-features 3 --num-samples 400 --format csv"
        ),
    ),
    case(
        "text_batch_column_jobs2_jsonl_file",
        Write("posts.csv", SIX_POSTS),
        cmd(
            f"limecli text {NEWS} posts.csv --column text --num-features 4 --num-samples 300"
            " --jobs 2 -o posts.jsonl"
        ),
    ),
    case(
        "text_batch_folder_errors_json_file_exit6",
        Write("inbox/one.txt", "The telescope images of the planet are stunning.\n"),
        Write("inbox/sub/two.txt", "The hospital study found the therapy reduced the pain.\n"),
        Write("inbox/empty.txt", " ... !\n"),
        Write("inbox/skip.csv", "text\nnot taken\n"),
        Write("inbox/.hidden.txt", "hidden\n"),
        cmd(f"limecli text {NEWS} inbox -r --num-samples 300 --num-features 3 -o inbox.json"),
    ),
    case(
        "text_batch_glob_files_from_resume_jsonl",
        Write("inbox/1.txt", "The shuttle launch was delayed again.\n"),
        Write("inbox/2.txt", "My doctor changed the treatment for my infection.\n"),
        Write("inbox/3.txt", "Posting from the NNTP host about orbits.\n"),
        Write("inbox/4.txt", "The therapy reduced the pain.\n"),
        Write("list.txt", "inbox/4.txt\ninbox/2.txt\n"),
        cmd(
            f"limecli text {NEWS} 'inbox/[13].txt' --files-from list.txt --num-samples 300"
            " --num-features 3 -o run.jsonl"
        ),
        Cut("run.jsonl", lines=2, extra=80),
        cmd(
            f"limecli text {NEWS} 'inbox/[13].txt' --files-from list.txt --num-samples 300"
            " --num-features 3 -o run.jsonl --resume"
        ),
    ),
    # -- image: one input (photos resized: quickshift on 224x224 is slow) -----------------
    case(
        "image_shapes_both_pictures_table",
        cmd(
            f"limecli image {SHAPES} {IMAGES}/shapes.png --hide-color 0 --both --label circle"
            " --label rectangle --num-samples 400 --out 'shapes_{label}.png'"
            " --mask-out mask.png --heatmap-out heat.png --format table"
        ),
    ),
    case(
        "image_json_resize_heatmap_npy",
        cmd(
            f"limecli image {SHAPES} {IMAGES}/coffee.jpg --resize 96x96 --label circle"
            " --num-samples 300 --out coffee.png --heatmap-out coffee.npy"
        ),
    ),
    case(
        "image_slic_csv_top_labels",
        cmd(
            f"limecli image {SHAPES} {IMAGES}/astronaut.jpg --resize 80x80 --segmenter slic"
            " --segments 20 --compactness 20 --top-labels 2 --hide-color 128"
            " --num-samples 300 --format csv"
        ),
    ),
    case(
        "image_felzenszwalb_hide_rest_jsonl",
        cmd(
            f"limecli image {SHAPES} {IMAGES}/cat.jpg --resize 80x72 --segmenter felzenszwalb"
            " --fz-scale 50 --min-size 20 --hide-rest --num-samples 300 --num-features 3"
            " --scale 0-1 --format jsonl --out cat.png"
        ),
    ),
    case(
        "image_html_file",
        cmd(
            f"limecli image {SHAPES} {IMAGES}/shapes.png --hide-color 0 --label circle"
            " --num-samples 300 -o shapes.html"
        ),
    ),
    # -- image: batches --------------------------------------------------------------------
    case(
        "image_batch_folder_out_dir_jobs1_jsonl",
        cmd(
            f"limecli image {SHAPES} {IMAGES} --resize 64x64 --out-dir overlays --masks"
            " --heatmaps --num-samples 200 --label circle --format jsonl"
        ),
    ),
    case(
        "image_batch_folder_jobs2_csv_file",
        cmd(
            f"limecli image {SHAPES} {IMAGES} --ext .jpg --resize 48x48 --out-dir out"
            " --num-samples 200 --top-labels 1 --jobs 2 -o images.csv"
        ),
    ),
    case(
        "image_batch_stdin_list_resume_jsonl",
        cmd(
            f"limecli image {SHAPES} - --resize 64x64 --num-samples 200 --label rectangle"
            " -o run.jsonl -q",
            stdin=THREE_IMAGES,
        ),
        Cut("run.jsonl", lines=1, extra=40),
        cmd(
            f"limecli image {SHAPES} - --resize 64x64 --num-samples 200 --label rectangle"
            " -o run.jsonl --resume",
            stdin=THREE_IMAGES,
        ),
    ),
    # -- summary ---------------------------------------------------------------------------
    case(
        "summary_table_json_csv_html",
        cmd(
            f"limecli tabular {BC} --rows 0:12 {BC_TRAIN} --num-samples 400 --num-features 5"
            " -o batch.jsonl -q"
        ),
        cmd("limecli summary batch.jsonl --pick 3 --format table"),
        cmd("limecli summary batch.jsonl --top-k 3 --limit 6"),
        cmd("limecli summary batch.jsonl --pick 2 --label benign --format csv"),
        cmd("limecli summary batch.jsonl --format csv -o features.csv"),
        cmd("limecli summary batch.jsonl --pick 2 -o summary.html"),
    ),
    case(
        "summary_text_with_error_records",
        Write("inbox/a.txt", "The shuttle launch was delayed by weather.\n"),
        Write("inbox/b.txt", "!!!\n"),
        Write("inbox/c.txt", "My doctor changed the treatment for my infection.\n"),
        cmd(f"limecli text {NEWS} inbox --num-samples 300 --num-features 4 -o texts.jsonl -q"),
        cmd("limecli summary texts.jsonl texts.jsonl --format json"),
    ),
    # -- audit (report files are new files: replacing existing ones changes in issue 13) -----
    case(
        "audit_tabular_pass_all_reports",
        Write("audit.toml", LOANS_POLICY),
        cmd(
            "limecli audit audit.toml --json report.json --junit report.xml"
            " --markdown report.md --baseline-out baseline.jsonl"
        ),
    ),
    case(
        "audit_text_fail_show_two",
        Write("policies/leak.toml", TEXT_POLICY),
        cmd("limecli audit policies/leak.toml --show 2 --junit leak.xml --markdown leak.md"),
    ),
    case(
        "audit_image_json_stdout",
        Write("image.toml", IMAGE_POLICY),
        cmd("limecli audit image.toml --json -"),
    ),
    case(
        "audit_drift_against_baseline",
        Write("first.toml", DRIFT_BASE_POLICY),
        cmd("limecli audit first.toml -q --baseline-out baseline.jsonl"),
        Write("drift.toml", DRIFT_POLICY),
        cmd("limecli audit drift.toml --markdown -"),
    ),
    # -- clean errors: one `Error:` line, no output file ----------------------------------
    case(
        "error_row_out_of_range_exit3",
        cmd(f"limecli tabular {DIAB} --row 999 -o never.json"),
    ),
    case(
        "error_model_not_found_exit4",
        cmd("limecli tabular nope.joblib sample_data/diabetes_test.csv --row 0"),
    ),
    case(
        "error_model_raises_exit5",
        Write("broken.py", BROKEN_SCRIPT),
        cmd(f"limecli text broken.py:predict {LEAK} --num-samples 50"),
    ),
    case(
        "error_output_is_a_user_file_exit2",
        Write("notes.json", '{"mine": true}\n'),
        cmd(f"limecli tabular {DIAB} --row 0 -o notes.json"),
    ),
    case(
        "error_conflicting_options_exit2",
        cmd(f"limecli text {NEWS} {LEAK} --char-level --split-expression x"),
    ),
    case(
        "error_binary_text_exit3",
        Write("blob.txt", "abc\x00def\n"),
        cmd(f"limecli text {NEWS} blob.txt"),
    ),
    case(
        "error_bad_policy_value_exit2",
        Write("bad.toml", LOANS_POLICY.replace("max_fraction = 0.2", 'max_fraction = "high"', 1)),
        cmd("limecli audit bad.toml"),
    ),
    case(
        "error_glob_matches_nothing_exit2",
        cmd(f"limecli image {SHAPES} 'photos/*.png' --out-dir o"),
    ),
)

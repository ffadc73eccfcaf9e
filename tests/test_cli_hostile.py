"""The command line tried as a hostile or a new user would (issue 18: points 3, 10, 12, 14).

Every command that reads a table for a saved model takes the model's own columns;
labels compare as exact numbers; a header names each column once; a template with an
empty target column can be predicted; built-in datasets are recorded in raw units and
inputs outside the training range are warned of; each run writes into a folder of its
own; a held-out split is the one the model was trained beside, on the data as it was.
"""

import json
import re
import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import Model, Softmax, datasets
from chainrule.cli import _data as _cli_data
from chainrule.cli import _main as cli
from chainrule.cli import _report as _cli_report
from chainrule.cli._tables import ClassLabels, TableError, guess_task, header_names, read_table

pytest.importorskip("matplotlib")

QUICK = ("--epochs", "30", "--l2", "0.01", "--no-progress")


def run(capsys, *argv):
    """``chainrule ARGV`` in-process: (exit code, stdout, stderr)."""
    code = cli.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def figure(out, name):
    return float(re.search(rf"{name} (-?[0-9.]+)", out).group(1))


def write_csv(path, header, columns):
    """A CSV file of ``columns`` (each a list of values) under ``header``."""
    lines = [",".join(header)] if header else []
    lines += [",".join(str(v) for v in row) for row in zip(*columns, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def table(seed=0, n=160):
    """Three features of very different scales; a class and a quantity that depend on them."""
    rng = np.random.default_rng(seed)
    X = np.c_[rng.normal(size=n), rng.normal(50, 10, size=n), rng.uniform(-1, 1, size=n)]
    X = np.round(X, 4)
    classes = np.where(X[:, 0] + (X[:, 1] - 50) / 10 > 0.5, "high",
                       np.where(X[:, 0] < -0.5, "low", "mid"))
    quantity = np.round(3 * X[:, 0] - 0.2 * X[:, 1] + 2 * X[:, 2] + 100, 4)
    return X, {"classification": classes, "regression": quantity}


NAMES = ["width", "height", "tilt"]


@pytest.fixture(params=["classification", "regression"])
def trained(request, tmp_path, capsys):
    """A model trained on width,height,tilt,target (target last), and its data."""
    task = request.param
    X, targets = table()
    path = write_csv(tmp_path / "train.csv", [*NAMES, "target"], [*X.T, targets[task]])
    out = tmp_path / "model"
    code, _, err = run(capsys, "train", "--dataset", path, "--output", out, *QUICK)
    assert code == 0, err
    return task, out / "model.chainrule", X, targets[task]


def score(model_path, X, y, task):
    """The held-out line's figure, computed here from the model itself."""
    model = Model.load(model_path)
    outputs = model.predict(X)
    if task == "classification":
        classes = model.metadata["classes"]
        return np.mean(np.array(classes)[outputs.argmax(axis=1)] == y)
    y = y.astype(float)
    return 1 - np.sum((outputs[:, 0] - y) ** 2) / np.sum((y - y.mean()) ** 2)


# -- point 3: a table read for a saved model is read in the model's columns ---------------------


ORDERS = {  # the columns of the other file, as indices into [*NAMES, "target"]
    "target-first": [3, 0, 1, 2],
    "features-reversed": [2, 1, 0, 3],
    "target-in-the-middle": [1, 3, 2, 0],
}


@pytest.mark.parametrize("order", ORDERS)
def test_evaluate_and_explain_read_the_models_columns_by_name(trained, tmp_path, capsys,
                                                              order):
    task, model, X, y = trained
    columns = [*X.T, y]
    header = [*NAMES, "target"]
    other = write_csv(tmp_path / "other.csv", [header[j] for j in ORDERS[order]],
                      [columns[j] for j in ORDERS[order]])
    metric = "accuracy" if task == "classification" else "R²"
    code, out, err = run(capsys, "evaluate", model, "--dataset", other)
    assert code == 0, err
    assert "all 160 rows of" in out
    # The figure of the model on these rows, computed here (R² −2.3e11 / accuracy 0.333
    # when the target was taken to be the last column and the features by position).
    assert figure(out, metric) == pytest.approx(score(model, X, y, task), abs=6e-4)
    code, same, _ = run(capsys, "evaluate", model, "--dataset", tmp_path / "train.csv",
                        "--all-rows")
    assert code == 0 and figure(same, metric) == figure(out, metric)
    code, explained, err = run(capsys, "explain", model, "--dataset", other, "--layer", "1")
    assert code == 0, err
    code, original, _ = run(capsys, "explain", model, "--dataset", tmp_path / "train.csv",
                            "--layer", "1")
    assert code == 0 and explained == original


@pytest.mark.parametrize("order", ORDERS)
def test_predict_reorders_columns_by_name_too(trained, tmp_path, capsys, order):
    _, model, X, y = trained
    columns = [*X.T, y]
    header = [*NAMES, "target"]
    keep = [j for j in ORDERS[order] if j != 3]  # features only, in the other order
    other = write_csv(tmp_path / "other.csv", [header[j] for j in keep],
                      [columns[j] for j in keep])
    code, out, err = run(capsys, "predict", model, other)
    assert code == 0, err
    code, original, _ = run(capsys, "predict", model, tmp_path / "train.csv")
    assert code == 0 and out == original and len(out.split()) == 160


@pytest.mark.parametrize("header, drop, message", [
    pytest.param(["width", "height", "target"], 2, r"lacks \['tilt'\]", id="missing-feature"),
    pytest.param([*NAMES, "colour", "target"], None, r"not trained on: \['colour'\]",
                 id="unknown-column"),
    pytest.param([*NAMES, "label"], None, r"not trained on: \['label'\]",
                 id="renamed-target"),
    pytest.param(["a", "b", "c", "target"], None, r"lacks \['width', 'height', 'tilt'\]",
                 id="other-names"),
    pytest.param(["a", "b", "c", "y"], None, r"has the columns \['a', 'b', 'c'\]; the model "
                 "was trained on", id="no-name-in-common"),
])
def test_a_table_that_does_not_match_the_model_is_refused(trained, tmp_path, capsys, header,
                                                          drop, message):
    _, model, X, y = trained
    columns = [*X.T, y]
    if drop is not None:
        del columns[drop]
    if len(columns) < len(header):
        columns.insert(3, np.zeros(len(X)))
    path = write_csv(tmp_path / "bad.csv", header, columns)
    for command in (["evaluate", model, "--dataset", path], ["explain", model, "--dataset",
                                                              path]):
        code, out, err = run(capsys, *command)
        assert code == 1 and re.search(message, err), err
        assert out == ""


@pytest.mark.parametrize("command, columns, message", [
    pytest.param("evaluate", 3, "has 3 columns; the model takes 3 features and the target",
                 id="evaluate-without-target"),
    pytest.param("evaluate", 5, "has 5 columns", id="evaluate-too-wide"),
    pytest.param("predict", 2, "has 2 columns; the model takes 3 features", id="predict-narrow"),
    pytest.param("predict", 5, "has 5 columns", id="predict-too-wide"),
])
def test_a_headerless_table_of_another_width_is_refused(trained, tmp_path, capsys, command,
                                                        columns, message):
    _, model, X, _ = trained
    path = write_csv(tmp_path / "bare.csv", None, [X[:, j % 3] for j in range(columns)])
    argv = ["evaluate", model, "--dataset", path] if command == "evaluate" else \
        ["predict", model, path]
    code, _, err = run(capsys, *argv)
    assert code == 1 and message in err, err


def test_a_builtin_dataset_must_fit_the_model(trained, tmp_path, capsys):
    task, model, _, _ = trained
    code, _, err = run(capsys, "evaluate", model, "--dataset",
                       "spiral" if task == "classification" else "sine")
    assert code == 1 and "features; the model takes 3" in err, err
    code, _, err = run(capsys, "explain", model, "--dataset",
                       "sine" if task == "classification" else "spiral")
    assert code == 1 and f"the model is a {task} model" in err, err


def test_a_builtin_datasets_labels_go_through_the_models_classes(tmp_path, capsys):
    """A model of classes [1, 2, 3] on spiral (labels 0, 1, 2): label 0 is not its class,
    not output 0 read as one."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    path = write_csv(tmp_path / "d.csv", None, [*X.T, np.digitize(X[:, 0], [-0.4, 0.4]) + 1])
    assert run(capsys, "train", "--dataset", path, "--output", tmp_path / "m", *QUICK)[0] == 0
    code, _, err = run(capsys, "evaluate", tmp_path / "m" / "model.chainrule", "--dataset",
                       "spiral")
    assert code == 1 and "label '0'" in err and "[1, 2, 3]" in err, err


# -- point 10: table edge cases -----------------------------------------------------------------


@pytest.mark.parametrize("labels, classes", [
    pytest.param(["1", "1.0", "cat"], ["1", "cat"], id="1-and-1.0-among-text"),
    pytest.param(["cat", "01", "1e0", "+1", "1"], ["+1", "cat"], id="many-spellings"),
    pytest.param(["2.50", "2.5", "x", "-0", "0"], ["-0", "2.5", "x"], id="fractions-and-zero"),
    pytest.param(["1", "1.0", "2"], [1, 2], id="numbers-only"),
    pytest.param(["7", "7.000", "-1", "-1e0"], [-1, 7], id="negative-numbers"),
])
def test_labels_equal_as_numbers_are_one_class(labels, classes):
    target = np.array(labels * 3)
    found = ClassLabels.from_target(target)
    assert found.classes == classes
    encoded = found.encode(target)
    # Every class is used: no output that training never sees.
    assert sorted(set(encoded.tolist())) == list(range(len(classes)))
    for a, b in zip(labels, encoded[:len(labels)], strict=True):
        assert found.classes[b] == a or float(found.classes[b]) == float(a)
    assert f"({len(classes)} distinct)" in guess_task(target)[1] or \
        f"{len(classes)} distinct whole" in guess_task(target)[1]


@pytest.mark.parametrize("big", [2**53, 2**63, -(2**53) - 2, 10**20])
def test_whole_number_labels_beyond_float64_stay_distinct(big):
    labels = np.array([str(big), str(big + 1), str(big + 1), str(big)])
    found = ClassLabels.from_target(labels)
    assert found.classes == [big, big + 1] and all(type(c) is int for c in found.classes)
    np.testing.assert_array_equal(found.encode(labels), [0, 1, 1, 0])
    assert found.decode([1, 0]) == [big + 1, big]
    assert guess_task(labels) == ("classification", "the target holds 2 distinct whole numbers")
    # The same numbers written as floats are the same classes (10**20 is exact in float64).
    if big == 10**20:
        np.testing.assert_array_equal(found.encode(np.array(["1e20"])), [0])


def test_a_hostile_exponent_is_read_at_once():
    """'1e-99999999' is a finite float (0.0); an exact fraction of it would need a
    hundred-million-digit integer."""
    found = ClassLabels.from_target(np.array(["1e-99999999", "0", "1"]))
    assert found.classes == [0, 1]


def test_big_integer_labels_through_train_and_predict(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    ids = np.where(X[:, 0] > 0, 2**53 + 1, 2**53)
    path = write_csv(tmp_path / "ids.csv", ["a", "b", "id"], [*X.T, ids])
    code, out, err = run(capsys, "train", "--dataset", path, "--output", tmp_path / "m",
                         *QUICK, "--epochs", "60")
    assert code == 0, err
    assert "2 classes: 9007199254740992, 9007199254740993" in out
    model = tmp_path / "m" / "model.chainrule"
    assert Model.load(model).metadata["classes"] == [2**53, 2**53 + 1]
    code, out, _ = run(capsys, "predict", model, path)
    predicted = [int(label) for label in out.split()]
    assert code == 0 and set(predicted) == {2**53, 2**53 + 1}
    assert np.mean(np.array(predicted) == ids) > 0.9


@pytest.mark.parametrize("header, name, first, second", [
    pytest.param("a,a,y", "a", 1, 2, id="two-features"),
    pytest.param("a,b,a", "a", 1, 3, id="feature-and-target"),
    pytest.param(" a,b,a ,y", "a", 1, 3, id="spaces-around"),
    pytest.param("x,y,z,y", "y", 2, 4, id="target-twice"),
])
def test_two_columns_of_one_name_are_refused(tmp_path, capsys, header, name, first, second):
    width = header.count(",") + 1
    path = tmp_path / "dup.csv"
    path.write_text(header + "\n" + "\n".join(",".join(["1"] * (width - 1) + [str(i % 2)])
                                              for i in range(8)) + "\n")
    message = f"columns {first} and {second} are both named {name!r}"
    with pytest.raises(TableError, match=re.escape(message)):
        read_table(path)
    with pytest.raises(TableError, match=re.escape(message)):
        header_names(path)
    code, _, err = run(capsys, "train", "--dataset", path, "--output", tmp_path / "m", *QUICK)
    assert code == 1 and message in err


@pytest.mark.parametrize("with_header", [True, False], ids=["header", "no-header"])
def test_predict_takes_a_template_whose_target_column_is_empty(trained, tmp_path, capsys,
                                                               with_header):
    _, model, X, _ = trained
    empty = [""] * len(X)
    template = write_csv(tmp_path / "template.csv", [*NAMES, "target"] if with_header else None,
                         [*X.T, empty])
    code, out, err = run(capsys, "predict", model, template)
    assert code == 0, err
    features = write_csv(tmp_path / "features.csv", None, list(X.T))
    code, expected, _ = run(capsys, "predict", model, features)
    assert code == 0 and out == expected and len(out.split()) == len(X)
    # evaluate needs the targets: an empty one is still an error naming its line.
    code, _, err = run(capsys, "evaluate", model, "--dataset", template)
    assert code == 1 and "line " in err and "the target is empty" in err


# Each built-in dataset's model takes its raw values; the metadata says which, and the
# range of each feature on the training rows.
@pytest.mark.parametrize("dataset, words, raw", [
    ("spiral", "spiral_data", lambda: datasets.spiral_data(100, 3, rng=np.random.default_rng(0))),
    ("vertical", "vertical_data",
     lambda: datasets.vertical_data(100, 3, rng=np.random.default_rng(0))),
    ("sine", "sine_data", datasets.sine_data),
    ("digits", "0–16", lambda: datasets.load_digits(raw=True)),
])
def test_builtin_models_record_their_raw_inputs_and_ranges(tmp_path, capsys, dataset, words,
                                                           raw):
    if dataset == "digits":
        pytest.importorskip("sklearn")
    out = tmp_path / dataset
    code, _, err = run(capsys, "train", "--dataset", dataset, "--output", out,
                       "--epochs", "3", "--l2", "0.01", "--no-progress", "--patience", "0")
    assert code == 0, err
    meta = Model.load(out / "model.chainrule").metadata
    assert words in meta["inputs"] and "standardises them itself" in meta["inputs"]
    X = raw()[0]
    record = json.loads((out / "split.json").read_text())
    if record["test_rows"] is not None:
        X = np.delete(X, record["test_rows"], axis=0)
    np.testing.assert_array_equal(meta["range"]["min"], X.min(axis=0))
    np.testing.assert_array_equal(meta["range"]["max"], X.max(axis=0))
    assert meta["n_features"] == X.shape[1]


def test_raw_digit_pixels_are_what_a_digits_model_takes(tmp_path, capsys):
    """scikit-learn's load_digits().data (0–16) straight into predict: right, not 25 of 40."""
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    code, _, err = run(capsys, "train", "--dataset", "digits", "--output", tmp_path / "m",
                       "--epochs", "15", "--l2", "0.01", "--no-progress", "--patience", "0")
    assert code == 0, err
    digits = sklearn_datasets.load_digits()
    rows = np.arange(0, 1797, 45)[:40]
    path = write_csv(tmp_path / "raw.csv", None, list(digits.data[rows].T))
    code, out, err = run(capsys, "predict", tmp_path / "m" / "model.chainrule", path)
    assert code == 0 and err == ""
    assert np.sum(np.array(out.split(), dtype=int) == digits.target[rows]) >= 36
    # The book's scaled pixels given to a model trained without scaling on raw ones, or the
    # raw ones ×16: far outside the training range, and said so.
    path = write_csv(tmp_path / "times16.csv", None, list(digits.data[rows].T * 16))
    code, _, err = run(capsys, "predict", tmp_path / "m" / "model.chainrule", path)
    assert code == 0 and "warning" in err and "far outside the range" in err
    assert re.search(r"column \d+ \(0 to 16\)", err) and "raw pixel intensities 0–16" in err


@pytest.mark.parametrize("factor, column, warned", [
    (1.0, 0, False), (1.4, 0, False), (4.0, 0, True), (-4.0, 2, True), (100.0, 1, True),
])
def test_predict_warns_of_inputs_far_outside_the_training_range(trained, tmp_path, capsys,
                                                                factor, column, warned):
    _, model, X, _ = trained
    X = X.copy()
    # Scale one column about its middle: 1.4× its width stays within the margin of half
    # the width beyond each end (the edges move 0.2 widths out); 4× does not.
    middle = (X[:, column].max() + X[:, column].min()) / 2
    X[:, column] = middle + (X[:, column] - middle) * factor
    path = write_csv(tmp_path / "x.csv", NAMES, list(X.T))
    code, out, err = run(capsys, "predict", model, path)
    assert code == 0 and len(out.split()) == len(X)
    if warned:
        assert f"in {NAMES[column]} (" in err and "far outside the range" in err, err
    else:
        assert err == ""


# -- point 12: each run's files in a folder of its own; a clean --help --------------------------


def test_each_run_writes_into_its_own_folder_and_says_where(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "demo", "--epochs", "20", "--no-progress")
    demo = tmp_path / "chainrule-output" / "demo"
    assert code == 0 and "chainrule-output/demo/model.chainrule" in out
    before = {path.name: path.read_bytes() for path in demo.iterdir()}
    assert {"model.chainrule", "decision_boundary.png", "learning_curves.png"} <= set(before)
    write_csv(tmp_path / "prices.csv", ["a", "price"], [np.arange(40), np.arange(40) * 2.5])
    for dataset, folder in (("sine", "sine"), ("prices.csv", "prices"),
                            ("vertical", "vertical")):
        code, out, err = run(capsys, "train", "--dataset", dataset, *QUICK)
        assert code == 0, err
        assert f"chainrule-output/{folder}/model.chainrule" in out
        assert (tmp_path / "chainrule-output" / folder / "split.json").exists()
    assert {path.name: path.read_bytes() for path in demo.iterdir()} == before
    assert not (tmp_path / "chainrule-output" / "sine" / "decision_boundary.png").exists()
    assert Model.load(tmp_path / "chainrule-output" / "prices" / "model.chainrule").metadata[
        "task"] == "regression"


@pytest.mark.parametrize("first, second, gone", [
    pytest.param(["train", "--dataset", "spiral"], ["train", "--dataset", "sine"],
                 {"decision_boundary.png"}, id="spiral-then-sine"),
    pytest.param(["train", "--dataset", "sine"], ["train", "--dataset", "spiral"],
                 {"regression.png"}, id="sine-then-spiral"),
    pytest.param(["train", "--dataset", "vertical"], ["demo", "--epochs", "20"],
                 {"split.json", "history.csv"}, id="train-then-demo"),
])
def test_a_reused_folder_never_mixes_two_runs(tmp_path, capsys, first, second, gone):
    extra = list(QUICK) if first[0] == "train" else ["--no-progress"]
    assert run(capsys, *first, "--output", tmp_path, *extra)[0] == 0
    assert all((tmp_path / name).exists() for name in gone)
    extra = list(QUICK) if second[0] == "train" else ["--no-progress"]
    assert run(capsys, *second, "--output", tmp_path, *extra)[0] == 0
    assert not any((tmp_path / name).exists() for name in gone)
    if second[0] == "demo":  # no split of another run is taken for the demo's
        code, _, err = run(capsys, "evaluate", tmp_path / "model.chainrule")
        assert code == 1 and "no --dataset given" in err


def test_a_split_left_by_another_run_is_refused(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", ["a", "b", "y"],
                     [*np.random.default_rng(0).normal(size=(2, 80)), np.arange(80) % 2])
    for seed in ("0", "1"):
        assert run(capsys, "train", "--dataset", path, "--output", tmp_path / seed, "--seed",
                   seed, *QUICK)[0] == 0
    shutil.copy(tmp_path / "1" / "split.json", tmp_path / "0" / "split.json")
    code, _, err = run(capsys, "evaluate", tmp_path / "0" / "model.chainrule")
    assert code == 1 and "written by another training run" in err


def test_help_is_plain_whole_sentences():
    parser = cli._parser()
    text = parser.format_help()
    assert "``" not in text and "usage: chainrule" in text
    assert parser.description.endswith(".") and parser.description[0].isupper()
    commands = parser._subparsers._group_actions[0].choices
    for name, command in commands.items():
        assert "``" not in command.format_help(), name
        assert command.description.endswith("."), name


# -- point 14: the held-out split is what it claims to be ---------------------------------------


@pytest.mark.parametrize("name, make", [("spiral", datasets.spiral_data),
                                        ("vertical", datasets.vertical_data)])
@pytest.mark.parametrize("seed", [0, 3])
def test_the_fresh_held_out_draw_is_not_the_training_data(name, make, seed):
    data = _cli_data.load(name, seed=seed)
    rng = np.random.default_rng(seed)
    X, _ = make(100, 3, rng=rng)
    X_fresh, y_fresh = make(100, 3, rng=rng)
    np.testing.assert_array_equal(data.X, X)
    np.testing.assert_array_equal(data.fresh[0], X_fresh)
    np.testing.assert_array_equal(data.fresh[1], y_fresh)
    assert not np.array_equal(data.fresh[0], data.X)


def test_evaluate_scores_the_fresh_draw(tmp_path, capsys):
    assert run(capsys, "train", "--dataset", "spiral", "--output", tmp_path, *QUICK)[0] == 0
    _, out, _ = run(capsys, "evaluate", tmp_path / "model.chainrule")
    rng = np.random.default_rng(0)
    datasets.spiral_data(100, 3, rng=rng)  # the training draw comes first
    X_fresh, y_fresh = datasets.spiral_data(100, 3, rng=rng)
    model = Model.load(tmp_path / "model.chainrule")
    expected = np.mean(model.predict(X_fresh).argmax(axis=1) == y_fresh)
    assert figure(out, "accuracy") == pytest.approx(expected, abs=6e-4)
    assert "a fresh draw of 300 spiral samples" in out


@pytest.mark.parametrize("change", ["one-value", "one-label", "two-rows-swapped"])
def test_a_table_changed_in_place_is_noticed(trained, tmp_path, capsys, change):
    task, model, _, _ = trained
    path = tmp_path / "train.csv"
    lines = path.read_text().splitlines()
    if change == "one-value":
        fields = lines[5].split(",")
        fields[1] = fields[1][:-1] + ("1" if fields[1][-1] != "1" else "2")
        lines[5] = ",".join(fields)
    elif change == "one-label":
        fields = lines[7].split(",")
        fields[-1] = ("low" if fields[-1] != "low" else "mid") if task == "classification" \
            else fields[-1] + "1"
        lines[7] = ",".join(fields)
    else:
        lines[3], lines[4] = lines[4], lines[3]
    path.write_text("\n".join(lines) + "\n")
    for argv in ([], ["--dataset", path]):
        code, out, err = run(capsys, "evaluate", model, *argv)
        assert code == 1 and "has changed since training" in err and out == ""


def test_a_relative_dataset_path_is_the_recorded_one(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    X, targets = table()
    write_csv(data / "t.csv", [*NAMES, "target"], [*X.T, targets["classification"]])
    monkeypatch.chdir(data)
    code, out, _ = run(capsys, "train", "--dataset", "t.csv", "--output", "m", *QUICK)
    assert code == 0
    held = figure(next(line for line in out.splitlines() if line.startswith("held out")),
                  "accuracy")
    (data / "sub").mkdir()
    for where, given in ((data, "t.csv"), (data, "./t.csv"), (data / "sub", "../t.csv"),
                         (data / "sub", None), (tmp_path, "data/t.csv")):
        monkeypatch.chdir(where)
        argv = ["evaluate", data / "m" / "model.chainrule"]
        argv += [] if given is None else ["--dataset", given]
        code, out, err = run(capsys, *argv)
        assert code == 0, (where, given, err)
        assert "the 40 held-out rows of t.csv" in out and figure(out, "accuracy") == held
    # A copy of the file elsewhere holds the same rows: the same split.
    shutil.copy(data / "t.csv", tmp_path / "copy.csv")
    code, out, _ = run(capsys, "evaluate", data / "m" / "model.chainrule", "--dataset",
                       tmp_path / "copy.csv")
    assert code == 0 and "the 40 held-out rows of copy.csv" in out


def test_a_damaged_split_is_refused_with_a_message(trained, tmp_path, capsys):
    _, model, _, _ = trained
    split = model.parent / "split.json"
    record = json.loads(split.read_text())
    rows = record["rows"]
    for bad in ([0, 10_000], [0, rows], [-1, 0]):  # one past the last row is out too
        record["test_rows"] = bad
        split.write_text(json.dumps(record))
        code, _, err = run(capsys, "evaluate", model)
        assert code == 1 and "test_rows must be row numbers" in err, bad
    split.write_text("{}")
    code, _, err = run(capsys, "evaluate", model)
    assert code == 1 and "is not a split written by chainrule train" in err


@pytest.mark.parametrize("key, value, message", [
    pytest.param("features", "width", "not a list of 3 distinct names", id="features-text"),
    pytest.param("features", ["width", "width", "tilt"], "not a list of 3 distinct",
                 id="features-twice"),
    pytest.param("range", {"min": ["a"], "max": [1]}, "not two lists of numbers",
                 id="range-text"),
    pytest.param("classes", [1, 1.0], "name one class twice", id="classes-twice"),
    # hostile pass: before, a TypeError ("unhashable type: 'dict'") or an IndexError
    pytest.param("features", [{"a": 1}, "height", "tilt"], "not a list of 3 distinct",
                 id="features-not-text"),
    pytest.param("target", ["target"], "gives 'target' as ['target']; that is not a column",
                 id="target-list"),
    pytest.param("classes", [["high"], ["low"], ["mid"]], "not a list of class labels",
                 id="classes-lists"),
    pytest.param("classes", ["high"], "names 1 classes ['high']; the model has 3 outputs",
                 id="classes-fewer-than-outputs"),
    pytest.param("n_features", "three", "not a number of features", id="n-features-text"),
    pytest.param("target_column", "z", "not a column number", id="target-column-text"),
    pytest.param("range", {"min": [0], "max": [1]}, "not two lists of 3 numbers",
                 id="range-too-short"),
    pytest.param("split", "x", "gives 'split' as x; that is not an object", id="split-text"),
])
def test_a_model_with_hostile_metadata_is_refused_in_words(trained, tmp_path, capsys, key,
                                                           value, message):
    task, path, X, _ = trained
    if key == "classes" and task != "classification":
        pytest.skip("a regression model has no classes")
    model = Model.load(path)
    model.metadata[key] = value
    model.save(path)
    features = write_csv(tmp_path / "x.csv", NAMES, list(X.T))
    code, out, err = run(capsys, "predict", path, features)
    assert code == 1 and message in err and out == "", err


@pytest.mark.parametrize("low, high, value, warned", [
    pytest.param(-1e308, 1e308, 1e308, False, id="widest-floats"),
    pytest.param(0.0, 0.0, 0.4, False, id="constant-within-half"),
    pytest.param(0.0, 0.0, 0.6, True, id="constant-beyond-half"),
    pytest.param(1e8, 1e8, 1e8 + 0.4, False, id="constant-large-within-half"),
    # σ = 1 for a constant column: 4e7 would reach the network as 4e7 (was not warned of)
    pytest.param(1e8, 1e8, 1.4e8, True, id="constant-large"),
    pytest.param(-7.0, -7.0, -7.6, True, id="constant-negative-beyond-half"),
    pytest.param(1e8 - 9, 1e8 + 9, 1e8 + 100, True, id="timestamp-like"),
])
def test_the_range_check_at_its_edges(capsys, low, high, value, warned):
    columns = _cli_data.Columns("regression", None, 1, ["t"], low=np.array([low]),
                                high=np.array([high]))
    _cli_data.warn_outside(np.array([[value]]), columns, "x.csv")
    err = capsys.readouterr().err
    assert ("in t (" in err) == warned, err


# -- hostile pass: output folders shared with the user and with other runs ----------------------


@pytest.mark.parametrize("command", [
    pytest.param(["demo", "--epochs", "20", "--no-progress"], id="demo"),
    pytest.param(["train", "--dataset", "spiral", *QUICK], id="train-spiral"),
])
def test_a_users_own_files_in_the_output_folder_are_left_alone(tmp_path, capsys, command):
    # ``--output .`` in a project folder: files of the names a run may write, but the
    # user's own (and an earlier run's file the user has since edited), survive a run
    # that does not write them; a file named like the old fixed temporary too.
    own = {"split.json": b'{"mine": 1}\n', "history.csv": b"epoch,mine\n1,2\n",
           "regression.png": b"not a chainrule plot", ".history-0.01.csv": b"mine\n"}
    for name, content in own.items():
        (tmp_path / name).write_bytes(content)
    code, _, err = run(capsys, *command, "--output", tmp_path)
    assert code == 0, err
    for name, content in own.items():
        if name not in ("split.json", "history.csv") or command[0] == "demo":
            assert (tmp_path / name).read_bytes() == content, name
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith((".tmp", ".chainrule"))
                and p.name != "model.chainrule"]


def test_an_earlier_runs_files_go_only_while_they_are_what_it_wrote(tmp_path, capsys):
    assert run(capsys, "train", "--dataset", "sine", "--output", tmp_path, *QUICK)[0] == 0
    edited = tmp_path / "history.csv"
    edited.write_text(edited.read_text() + "# my notes on this run\n")
    (tmp_path / "my.txt").write_text("mine")
    assert run(capsys, "demo", "--epochs", "20", "--no-progress", "--output", tmp_path)[0] == 0
    assert not (tmp_path / "split.json").exists()  # the sine run's: gone
    assert not (tmp_path / "regression.png").exists()
    assert edited.read_text().endswith("# my notes on this run\n")  # edited since: kept
    assert (tmp_path / "my.txt").read_text() == "mine"
    # A manifest tampered with to name a user's file (or one outside the folder) removes
    # nothing but the run's own names, with their own bytes.
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("x")
    digest = __import__("hashlib").sha256(b"x").hexdigest()
    manifest = tmp_path / ".chainrule-run.json"
    manifest.write_text(json.dumps({"files": {"../" + outside.name: digest, "my.txt": digest}}))
    assert run(capsys, "demo", "--epochs", "20", "--no-progress", "--output", tmp_path)[0] == 0
    assert outside.read_text() == "x" and (tmp_path / "my.txt").read_text() == "mine"


def test_two_runs_into_one_folder_at_once_keep_their_own_history(tmp_path, capsys, monkeypatch):
    # The second run starts (and finishes) while the first is training: with one fixed
    # temporary name the second truncated and moved the first's history away.
    X, targets = table()
    path = write_csv(tmp_path / "t.csv", [*NAMES, "target"], [*X.T, targets["regression"]])
    out = tmp_path / "shared"
    nested = []
    original = _cli_report.EpochLines.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        if not nested:
            nested.append("started")  # the nested run's own epochs go on as usual
            nested[0] = cli.main(["train", "--dataset", "sine", "--output", str(out),
                                  "--epochs", "12", "--l2", "0.01", "--patience", "0",
                                  "--no-progress"])
        return original(self, epoch, logs)

    monkeypatch.setattr(_cli_report.EpochLines, "on_epoch_end", on_epoch_end)
    code, _, err = run(capsys, "train", "--dataset", path, "--output", out, "--epochs", "30",
                       "--l2", "0.01", "--patience", "0", "--no-progress")
    assert code == 0 and nested == [0], err
    lines = (out / "history.csv").read_text().splitlines()
    assert lines[0].startswith("epoch") and len(lines) == 31
    loss = Model.load(out / "model.chainrule").history["loss"]
    assert [float(line.split(",")[lines[0].split(",").index("loss")]) for line in lines[1:]] \
        == pytest.approx(loss, rel=1e-6)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [
        ".chainrule-run.json"]


# -- hostile pass: values the model cannot carry; columns a file cannot record ------------------


def test_inputs_the_models_dtype_cannot_carry_are_refused_naming_the_column(tmp_path, capsys):
    # A column constant in training is scaled by σ = 1: 1e39 stays 1e39, beyond float32.
    rng = np.random.default_rng(0)
    labels = np.tile(["a", "b"], 30)
    path = write_csv(tmp_path / "k.csv", ["x", "k", "t"], [rng.normal(size=60), [5] * 60,
                                                           labels])
    assert run(capsys, "train", "--dataset", path, "--output", tmp_path / "m", *QUICK)[0] == 0
    model = tmp_path / "m" / "model.chainrule"
    inputs = write_csv(tmp_path / "p.csv", ["x", "k"], [[0.1, 0.2], [5, 1e39]])
    for argv in (["predict", model, inputs], ["evaluate", model, "--dataset",
                 write_csv(tmp_path / "e.csv", ["x", "k", "t"], [[0.1, 0.2], [5, -1e39],
                                                                  ["a", "b"]])]):
        code, out, err = run(capsys, *argv)
        assert code == 1 and "column 'k' holds" in err and "float32" in err, err
    # Without scaling, the raw value is what must fit, named too, before any training.
    huge = write_csv(tmp_path / "h.csv", ["a", "b", "t"], [rng.normal(size=60) * 1e300,
                                                           rng.normal(size=60), labels])
    code, out, err = run(capsys, "train", "--dataset", huge, "--output", tmp_path / "h",
                         "--no-scaling", *QUICK)
    assert code == 1 and "column 'a' holds" in err and "epoch" not in out, err


@pytest.mark.parametrize("scale", [1e39, 1e300])
def test_a_regression_target_beyond_float32_is_refused_before_training(tmp_path, capsys,
                                                                        scale):
    # Its predictions would all be inf (R² -inf, printed as figures).
    x = np.linspace(-1, 1, 40)
    path = write_csv(tmp_path / "r.csv", ["x", "price"], [x, [repr(float(v)) for v in
                                                              x * scale]])
    code, out, err = run(capsys, "train", "--dataset", path, "--output", tmp_path / "m",
                         *QUICK)
    assert code == 1 and "'price' holds values as large as" in err, err
    assert "epoch" not in out and not (tmp_path / "m" / "model.chainrule").exists()


@pytest.mark.parametrize("header", [
    pytest.param(["x" * 2000, "y"], id="a-name-too-long"),
])
def test_columns_a_model_file_cannot_record_are_refused_before_training(tmp_path, capsys,
                                                                        header):
    # Before: trained, then failed to save (or saved a file that chainrule cannot read),
    # leaving this run's split.json beside the last run's model.
    rng = np.random.default_rng(0)
    columns = [*np.round(rng.normal(size=(len(header), 8)), 2), np.tile(["a", "b"], 4)]
    path = write_csv(tmp_path / "w.csv", [*header, "t"], columns)
    out = tmp_path / "m"
    assert run(capsys, "train", "--dataset", "spiral", "--output", out, *QUICK)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, stdout, err = run(capsys, "train", "--dataset", path, "--output", out, "--layers",
                            "2", *QUICK)
    assert code == 1 and "a model file cannot record its columns" in err, err
    assert "epoch" not in stdout and str(out) not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_many_names_holding_brackets_train_save_and_load(tmp_path, capsys):
    # 10,001 names like "a[0]" once made a file chainrule could not read (the reader counted
    # brackets inside text as containers); the file format now counts containers.
    header = [f"a[{i}]" for i in range(10_001)]
    rng = np.random.default_rng(0)
    columns = [*np.round(rng.normal(size=(len(header), 8)), 2), np.tile(["a", "b"], 4)]
    path = write_csv(tmp_path / "w.csv", [*header, "t"], columns)
    out = tmp_path / "m"
    code, _, err = run(capsys, "train", "--dataset", path, "--output", out, "--layers", "2",
                       *QUICK)
    assert code == 0, err
    assert Model.load(out / "model.chainrule").metadata["features"] == header


def test_a_perfect_score_prints_a_loss_of_zero_not_minus_zero():
    class Certain:
        output_layer_activation = Softmax()

        def predict(self, X):
            return np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)

    text = _cli_report.report_held_out(Certain(), np.zeros((2, 1)), np.array([0, 1]),
                                       "classification")
    assert text.endswith("loss 0")


# -- hostile pass: what a CSV file may hold ------------------------------------------------------


@pytest.mark.parametrize("labels", [
    pytest.param(["lab, one", "lab, two"], id="commas"),
    pytest.param(['"yes" said she', '"no" said he'], id="quotes"),
    pytest.param(["first\nline", "second\r\nline"], id="line-breaks"),
])
@pytest.mark.parametrize("to_file", [False, True])
def test_predictions_are_csv_that_reads_back_one_row_each(tmp_path, capsys, labels, to_file):
    # Before: labels written bare, so two predictions read back as four broken rows.
    import csv

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    target = np.where(X[:, 0] > 0, labels[0], labels[1])
    lines = ["x,y,t"] + ['{:.4f},{:.4f},"{}"'.format(a, b, t.replace('"', '""'))
                         for (a, b), t in zip(X, target, strict=True)]
    path = tmp_path / "q.csv"
    path.write_text("\n".join(lines) + "\n", newline="")
    assert run(capsys, "train", "--dataset", path, "--output", tmp_path / "m", *QUICK)[0] == 0
    inputs = write_csv(tmp_path / "p.csv", ["x", "y"], [[2.0, -2.0, 0.5], [0.0, 0.0, 0.1]])
    model = tmp_path / "m" / "model.chainrule"
    for proba in ([], ["--proba"]):
        extra = ["--output", tmp_path / "out.csv"] if to_file else []
        code, out, err = run(capsys, "predict", model, inputs, *proba, *extra)
        assert code == 0, err
        text = (tmp_path / "out.csv").read_bytes().decode() if to_file else out
        rows = list(csv.reader(text.splitlines(keepends=True)))
        if proba:
            assert sorted(rows[0]) == sorted(labels) and len(rows) == 4
            assert all(len(row) == 2 for row in rows)
        else:
            assert rows[-3:] == [[labels[0]], [labels[1]], [labels[0]]]


@pytest.mark.parametrize("odd", ["nan", "NaN", "inf", "-Infinity"])
def test_a_nan_label_among_number_labels_is_refused_as_missing(tmp_path, capsys, odd):
    # Before: 'nan' became a class of its own, trained without a word.
    labels = [1, 2] * 20
    labels[7] = odd
    path = write_csv(tmp_path / "n.csv", ["x", "t"], [np.arange(40) / 40, labels])
    code, _, err = run(capsys, "train", "--dataset", path, "--output", tmp_path / "m",
                         *QUICK)
    assert code == 1 and f"label {odd!r} (row 8)" in err and "missing" in err, err
    # Among text labels it may be a name (Nan), and stays a class.
    assert ClassLabels.from_target(np.array(["Bob", "Nan", "Bob"])).classes == ["Bob", "Nan"]


@pytest.mark.parametrize("text", ["1_0", "1_000.5", "_1"])
def test_a_python_digit_separator_is_not_a_number_in_a_table(tmp_path, text):
    # float('1_0') is 10 to Python; in a CSV file it is not a number at all.
    path = tmp_path / "u.csv"
    path.write_text(f"x,t\n1,a\n{text},b\n")
    with pytest.raises(TableError, match=f"line 3, column 1 \\('x'\\): '{text}' is not a num"):
        read_table(path)
    assert ClassLabels.from_target(np.array([text, "10", "2"])).classes == sorted(
        [text, "10", "2"])


@pytest.mark.parametrize("names, labels", [
    pytest.param(["x", "$y^$"], ["$a^$", "b_{"], id="unbalanced-math"),
    pytest.param(["cost ($) per $", "y"], ["$\\frac{$", "ok"], id="dollars"),
    pytest.param(["x\ty", "z"], ["a\rb", "c\x01"], id="control-characters"),
])
def test_names_and_labels_are_drawn_as_text(tmp_path, capsys, names, labels):
    # Before: a '$' in a column name or label was matplotlib's math: the run failed
    # after training, with the plots unwritten and a parser's traceback as the error.
    import csv

    rng = np.random.default_rng(0)
    X = np.round(rng.normal(size=(60, 2)), 3)
    path = tmp_path / "d.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*names, "t"])
        writer.writerows([a, b, labels[int(a > 0)]] for a, b in X)
    code, _, err = run(capsys, "train", "--dataset", path, "--output", tmp_path / "m", *QUICK)
    assert code == 0, err
    assert (tmp_path / "m" / "decision_boundary.png").stat().st_size > 1000


def test_a_changed_file_is_refused_without_a_range_warning_first(tmp_path, capsys):
    # Before: a warning about the changed file's rows, then the refusal to use them.
    X, targets = table()
    path = write_csv(tmp_path / "t.csv", [*NAMES, "target"], [*X.T, targets["regression"]])
    assert run(capsys, "train", "--dataset", path, "--output", tmp_path / "m", *QUICK)[0] == 0
    X[0, 1] = 1e6
    write_csv(path, [*NAMES, "target"], [*X.T, targets["regression"]])
    code, _, err = run(capsys, "evaluate", tmp_path / "m" / "model.chainrule")
    assert code == 1 and "has changed since training" in err and "warning" not in err, err


def test_a_model_saved_from_python_predicts_its_class_indices(tmp_path, capsys):
    # No metadata (built and saved in Python): its classes are its outputs' indices 0…k−1.
    X, y = datasets.spiral_data(30, 3, rng=0)
    model = Model([cr.Dense(2, 16, rng=0), cr.ReLU(), cr.Dense(16, 3, rng=1), Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(0.05))
    model.train(X, y, epochs=200, print_every=None, progress=False)
    model.save(tmp_path / "m.chainrule")
    write_csv(tmp_path / "x.csv", None, [X[:, 0].round(6), X[:, 1].round(6)])
    code, out, err = run(capsys, "predict", tmp_path / "m.chainrule", tmp_path / "x.csv")
    assert code == 0, err
    predicted = [int(line) for line in out.split()]
    expected = model.predict(X[:, :].round(6)).argmax(axis=1)
    assert predicted == expected.tolist() and set(predicted) <= {0, 1, 2}


@pytest.mark.parametrize("options, scaled", [((), True), (("--no-scaling",), False)])
def test_the_model_records_whether_it_scales_its_inputs_and_one_l2_is_not_a_contest(
        tmp_path, capsys, options, scaled):
    out = tmp_path / "m"
    code, stdout, err = run(capsys, "train", "--dataset", "vertical", "--output", out,
                            "--l2", "0.01", *options, *QUICK)
    assert code == 0, err
    model = Model.load(out / "model.chainrule")
    assert model.metadata["scaled"] is scaled
    assert isinstance(model.layers[0], cr.Normalization) is scaled
    # One L2 value: nothing was compared, so no "kept L2" verdict is printed.
    assert "kept L2" not in stdout
    code, stdout, err = run(capsys, "train", "--dataset", "vertical", "--output", out,
                            "--epochs", "30", "--no-progress", "--l2", "auto", *options)
    assert code == 0 and "kept L2" in stdout, err


def test_the_playground_without_its_extra_says_how_to_install_it(monkeypatch, capsys):
    import sys

    # As if Starlette were missing: importing the server fails.
    monkeypatch.setitem(sys.modules, "chainrule.playground.server", None)
    code, _, err = run(capsys, "playground", "--no-browser", "--port", "0")
    assert code != 0 and "pip install 'chainrule[playground]'" in err


def test_the_playground_stopped_with_ctrl_c_ends_cleanly(monkeypatch, capsys):
    from chainrule.playground import server

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(server, "serve", interrupted)
    code, _, err = run(capsys, "playground", "--no-browser", "--port", "0")
    assert code == 0, err


def test_fashion_mnist_trains_on_raw_pixels_scaled_in_the_model(monkeypatch):
    # The CLI asks for raw 0–255 pixels (its model scales them itself); offline, a fake
    # download stands in, and records what was asked.
    asked = {}

    def fake(cache_dir=None, *, raw=False):
        asked["raw"] = raw
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (20, 784)).astype(np.float32)
        images = images if raw else images / 255.0
        return images, rng.integers(0, 10, 20), images[:10], rng.integers(0, 10, 10)

    monkeypatch.setattr(_cli_data.datasets, "load_fashion_mnist", fake)
    data = _cli_data.load("fashion-mnist", seed=0)
    assert asked == {"raw": True} and data.X.max() > 1.0


def test_a_model_of_unknown_width_takes_the_files_columns_and_its_last_as_the_target(
        tmp_path, capsys):
    # No Dense layer and no metadata: nothing says how many features; the file decides
    # (evaluate needs the target: the last column).
    model = Model([Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.SGD())
    model.finalize()
    model.save(tmp_path / "m.chainrule")
    X = np.array([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    y = [0, 1, 2, 1]
    write_csv(tmp_path / "t.csv", None, [*X.T, y])
    code, out, err = run(capsys, "evaluate", tmp_path / "m.chainrule", "--dataset",
                         tmp_path / "t.csv")
    assert code == 0, err
    assert "accuracy 0.750" in out


def test_a_model_that_names_no_classes_refuses_labels_that_are_not_indices(tmp_path, capsys):
    model = Model([Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.SGD())
    model.finalize()
    model.save(tmp_path / "m.chainrule")
    write_csv(tmp_path / "t.csv", None, [[1.0, 0.0], [0.0, 1.0], [0.5, -1.0]])
    code, _, err = run(capsys, "evaluate", tmp_path / "m.chainrule", "--dataset",
                       tmp_path / "t.csv")
    assert code == 1 and "must be class indices 0, 1" in err


def test_the_epoch_figures_show_accuracy_for_classes_only():
    from chainrule.cli._report import _figures

    logs = {"data_loss": 0.5, "accuracy": 0.9, "val_loss": 0.25, "val_accuracy": 0.75}
    assert _figures(logs, "", "classification") == "loss 0.5, acc 0.900"
    assert _figures(logs, "val_", "classification") == "loss 0.25, acc 0.750"
    assert _figures(logs, "", "regression") == "loss 0.5"


def test_auto_l2_leaves_no_candidates_log_and_patience_has_a_floor(tmp_path, capsys):
    # Batches of 1: 2,000 steps are fewer than 20 epochs here, and patience is still 20.
    out = tmp_path / "m"
    code, stdout, err = run(capsys, "train", "--dataset", "vertical", "--output", out,
                            "--epochs", "3", "--batch-size", "1", "--l2", "auto",
                            "--no-progress")
    assert code == 0, err
    assert "early stopping after 20 epochs" in stdout
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".") and
                  p.name != ".chainrule-run.json") == []


def test_a_reader_that_stops_reading_ends_the_command_quietly():
    """`chainrule ... | head`: no 'Broken pipe' error and no traceback when head exits."""
    flood = ("import sys, chainrule.cli._main as cli\n"
             "def flood(args):\n"
             "    for _ in range(100_000):\n"
             "        print('a line of output ' * 5)\n"
             "    return 0\n"
             "cli._demo = flood\n"
             "sys.exit(cli.main(['demo']))\n")
    done = subprocess.run(["bash", "-c", f"{shlex.quote(sys.executable)} -c {shlex.quote(flood)}"
                           " | head -1"], capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("a line of output")
    assert done.stderr == ""

"""The command line: the demo, real tables trained with the default options, held-out
evaluation, predictions in the original labels, clear errors, help and defaults."""

import argparse
import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule import Model, Normalization, __version__
from chainrule.cli import _main as cli

pytest.importorskip("matplotlib")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(capsys, *argv):
    """``chainrule ARGV`` in-process: (exit code, stdout, stderr)."""
    code = cli.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def figure(out, name):
    """A number printed after ``name`` (e.g. "accuracy", "R²") on the held-out line."""
    return float(re.search(rf"{name} (-?[0-9.]+)", out).group(1))


# -- the demo ----------------------------------------------------------------------------------


def drawn_curves(monkeypatch):
    """Record what the command's learning-curves figure is asked to draw, and draws."""
    from chainrule import plotting

    calls = []
    real = plotting.plot_history

    def recording(history, **options):
        figure = real(history, **options)
        labels = {line.get_label(): line for ax in figure.axes for line in ax.get_lines()}
        calls.append({"options": options, "labels": labels, "history": history})
        return figure

    monkeypatch.setattr(plotting, "plot_history", recording)
    return calls


def test_demo_trains_the_books_network_and_writes_its_files(tmp_path, capsys, monkeypatch):
    """The full demo: 10,000 epochs of 2-64-3 on the spiral (a few seconds)."""
    curves = drawn_curves(monkeypatch)
    code, out, err = run(capsys, "demo", "--output", tmp_path, "--no-progress")
    assert code == 0
    assert "%|" not in err and "it/s" not in err  # --no-progress: no bar, not even to a pipe
    # Validation points scored every epoch; then the training data and new test points,
    # each line naming its data (the test points are not called validation).
    train_acc = float(out.split("\ntraining, acc: ")[1].split(",")[0])
    val_acc = float(out.split("\nvalidation, acc: ")[1].split(",")[0])
    test_acc = float(out.split("\ntest, acc: ")[1].split(",")[0])
    assert train_acc >= 0.93, out
    assert val_acc >= 0.78 and test_acc >= 0.78, out
    assert "epoch: 10000, acc: " in out and ", val_acc: " in out
    # The learning curves: validation beside training, the kept (last) epoch marked.
    (drawn,) = curves
    assert drawn["options"]["kept_epoch"] == 10_000 and drawn["options"]["accuracy"]
    assert {"training loss", "validation loss", "training accuracy", "validation accuracy",
            "kept: epoch 10000 (the last)"} <= set(drawn["labels"])
    assert drawn["labels"]["validation loss"].get_ydata()[-1] == pytest.approx(
        float(out.split("\nvalidation, acc: ")[1].split("loss: ")[1].split()[0]), abs=5e-4)
    for name in ("model.chainrule", "learning_curves.png", "decision_boundary.png"):
        assert (tmp_path / name).stat().st_size > 1000, name
        assert str(tmp_path / name) in out
    assert (tmp_path / "decision_boundary.png").read_bytes()[:4] == b"\x89PNG"
    model = Model.load(tmp_path / "model.chainrule")
    assert model.epoch == 10_000
    # Issue 13, item 6: the 387-parameter model's 10,000-epoch history is float64 arrays
    # (8 bytes per epoch and series), not JSON text; it was 982 KB.
    series = len(model.history)
    assert series == 7 and sum(p.size for pair in model.get_parameters() for p in pair) == 387
    assert (tmp_path / "model.chainrule").stat().st_size < 8 * 10_000 * series + 20_000
    # The spiral's training range is recorded, so predict warns of points far outside it.
    low, high = model.metadata["range"]["min"], model.metadata["range"]["max"]
    assert len(low) == len(high) == 2 and all(-1.01 < a < -0.5 < 0.5 < b < 1.01
                                               for a, b in zip(low, high, strict=True))
    (tmp_path / "far.csv").write_text("0.1,0.2\n40,-40\n")
    code, _, err = run(capsys, "predict", tmp_path / "model.chainrule", tmp_path / "far.csv")
    assert code == 0 and "outside" in err


# -- real tables with the default options -------------------------------------------------------


@pytest.fixture(scope="module")
def real_tables(tmp_path_factory):
    """scikit-learn's bundled tables as CSV files with a header; iris with text labels
    (written by examples/07_tables.py, which the README's figures come from)."""
    pytest.importorskip("sklearn")
    example = runpy.run_path(str(EXAMPLES / "07_tables.py"))
    return example["write_tables"](tmp_path_factory.mktemp("tables"))


# Issue 13: held-out accuracy ≥ 0.95 (breast cancer), ≥ 0.93 (wine, iris); R² ≥ 0.40 (diabetes).
@pytest.mark.parametrize("name, metric, threshold, task", [
    ("breast_cancer", "accuracy", 0.95, "classification"),
    ("wine", "accuracy", 0.93, "classification"),
    ("iris", "accuracy", 0.93, "classification"),
    ("diabetes", "R²", 0.40, "regression"),
])
def test_real_tables_with_the_default_options(real_tables, tmp_path, capsys, name, metric,
                                              threshold, task):
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "train", "--dataset", real_tables[name], "--output", out_dir,
                         "--no-progress")
    assert code == 0, err
    assert f"task: {task} (guessed: " in out
    held_out = next(line for line in out.splitlines() if line.startswith("held out: "))
    score = figure(held_out, metric)
    assert score >= threshold, out
    assert "step:" not in out and len(re.findall(r"^epoch ", out, re.M)) <= 40
    # evaluate: the same held-out rows, found through split.json, and it says so
    code, again, _ = run(capsys, "evaluate", out_dir / "model.chainrule")
    assert code == 0 and "held-out rows of" in again and "split.json" in again
    assert figure(again, metric) == score
    model = Model.load(out_dir / "model.chainrule")
    assert isinstance(model.layers[0], Normalization)
    assert model.metadata["task"] == task and model.metadata["target"] == "target"


def test_iris_predictions_are_the_original_labels(real_tables, tmp_path, capsys):
    out_dir = tmp_path / "out"
    assert run(capsys, "train", "--dataset", real_tables["iris"], "--output", out_dir,
               "--no-progress", "--l2", "0.01")[0] == 0
    model = Model.load(out_dir / "model.chainrule")
    assert model.metadata["classes"] == ["setosa", "versicolor", "virginica"]
    assert model.metadata["features"][0] == "sepal length (cm)"
    # The training file itself (its target column is recognised and ignored) ...
    code, out, _ = run(capsys, "predict", out_dir / "model.chainrule", real_tables["iris"])
    labels = out.split()
    table = real_tables["iris"].read_text().splitlines()[1:]
    truth = [line.rsplit(",", 1)[1] for line in table]
    assert code == 0 and len(labels) == 150 and set(labels) <= set(truth)
    assert np.mean(np.array(labels) == np.array(truth)) > 0.93
    # ... or features only, without a header; probabilities with the classes as header.
    rows = [line.rsplit(",", 1)[0] for line in table]
    (tmp_path / "inputs.csv").write_text("\n".join(rows[:5]) + "\n")
    code, out, _ = run(capsys, "predict", out_dir / "model.chainrule", tmp_path / "inputs.csv",
                       "--proba")
    lines = out.split()
    assert code == 0 and lines[0] == "setosa,versicolor,virginica"
    probabilities = np.array([[float(p) for p in line.split(",")] for line in lines[1:]])
    assert probabilities.shape == (5, 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert np.all(probabilities.argmax(axis=1) == 0)  # the first rows are setosa
    code, out, _ = run(capsys, "predict", out_dir / "model.chainrule", tmp_path / "inputs.csv",
                       "--output", tmp_path / "predicted.csv")
    assert code == 0 and (tmp_path / "predicted.csv").read_text().split() == [
        "target", *["setosa"] * 5]
    (tmp_path / "renamed.csv").write_text("a,b,c,d\n" + rows[0] + "\n")
    code, _, err = run(capsys, "predict", out_dir / "model.chainrule", tmp_path / "renamed.csv")
    assert code == 1 and "the model was trained on" in err


def test_diabetes_predictions_are_in_the_targets_units(real_tables, tmp_path, capsys):
    out_dir = tmp_path / "out"
    assert run(capsys, "train", "--dataset", real_tables["diabetes"], "--output", out_dir,
               "--no-progress", "--l2", "0.1")[0] == 0
    code, out, _ = run(capsys, "predict", out_dir / "model.chainrule", real_tables["diabetes"])
    predictions = np.array(out.split(), dtype=float)
    truth = np.array([float(line.rsplit(",", 1)[1])
                      for line in real_tables["diabetes"].read_text().splitlines()[1:]])
    assert code == 0 and len(predictions) == 442
    assert abs(predictions.mean() - truth.mean()) < 15  # ≈ 152, the target's own units
    assert 1 - np.sum((predictions - truth) ** 2) / np.sum((truth - truth.mean()) ** 2) > 0.4


# -- the built-in datasets with the default options ---------------------------------------------


# The README's figures: the spiral's held-out accuracy as the book's network (≥ 0.78), digits
# ≥ 0.96 (04_digits.py), sine MSE < 0.005 (05_sine.py); vertical ≥ 0.9.
@pytest.mark.parametrize("dataset, check", [
    ("spiral", lambda out: figure(out, "accuracy") >= 0.78),
    ("vertical", lambda out: figure(out, "accuracy") >= 0.90),
    ("sine", lambda out: figure(out, "RMSE") ** 2 < 0.005),
    ("digits", lambda out: figure(out, "accuracy") >= 0.96),
])
def test_builtin_datasets_train_with_no_option(tmp_path, capsys, dataset, check):
    code, out, err = run(capsys, "train", "--dataset", dataset, "--output", tmp_path,
                         "--no-progress")
    assert code == 0, err
    held_out = next(line for line in out.splitlines() if line.startswith("held out: "))
    assert check(held_out), out
    assert (tmp_path / "learning_curves.png").exists() and (tmp_path / "split.json").exists()
    assert (tmp_path / ("regression.png" if dataset == "sine" else "model.chainrule")).exists()
    code, again, _ = run(capsys, "evaluate", tmp_path / "model.chainrule")
    assert code == 0 and held_out.split(": ", 1)[1] in again


def test_trains_learning_curves_draw_the_printed_loss_and_mark_the_kept_epoch(tmp_path, capsys,
                                                                             monkeypatch):
    curves = drawn_curves(monkeypatch)
    code, out, err = run(capsys, "train", "--dataset", "vertical", "--output", tmp_path,
                         "--no-progress", "--l2", "0.01", "--epochs", "60", "--patience", "20",
                         "--print-every", "1")
    assert code == 0, err
    kept = int(re.search(r"kept the weights of epoch (\d+)", out).group(1))
    (drawn,) = curves
    assert drawn["options"]["kept_epoch"] == kept and drawn["options"]["accuracy"]
    labels = drawn["labels"]
    assert {"training loss", "validation loss", "training loss + L1/L2 penalty",
            f"kept: epoch {kept}"} <= set(labels)
    # The figure's losses are the console's: "epoch k/n: loss L, …; validation loss V, …".
    for epoch, loss, val_loss in re.findall(
            r"epoch +(\d+)/\d+: loss ([0-9.e-]+), .*validation loss ([0-9.e-]+)", out):
        k = int(epoch) - 1
        assert float(f"{labels['training loss'].get_ydata()[k]:.4g}") == float(loss)
        assert float(f"{labels['validation loss'].get_ydata()[k]:.4g}") == float(val_loss)
    # The penalty's curve is the data loss plus the penalty, above the data loss.
    history = drawn["history"]
    np.testing.assert_allclose(labels["training loss + L1/L2 penalty"].get_ydata(),
                               np.add(history["data_loss"], history["reg_loss"]))
    assert min(history["reg_loss"]) > 0


def test_regressions_learning_curves_show_the_loss_alone(tmp_path, capsys, monkeypatch):
    curves = drawn_curves(monkeypatch)
    code, _, err = run(capsys, "train", "--dataset", "sine", "--output", tmp_path,
                       "--no-progress", "--epochs", "20")
    assert code == 0, err
    (drawn,) = curves
    assert drawn["options"]["accuracy"] is False
    assert drawn["options"]["title"] == "learning curves (standardised targets)"
    assert not any("accuracy" in label for label in drawn["labels"])


# -- tasks, labels and splits ---------------------------------------------------------------


def quick(*extra):
    return ["--epochs", "30", "--l2", "0.01", "--no-progress", *extra]


def test_many_distinct_whole_numbers_are_regression_never_a_huge_softmax(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    price = np.round(50_000 + 20_000 * X[:, 0] + 5_000 * X[:, 1]).astype(int)
    np.savetxt(tmp_path / "prices.csv", np.c_[X, price], delimiter=",", fmt="%.6g",
               header="area,age,price", comments="")
    code, out, _ = run(capsys, "train", "--dataset", tmp_path / "prices.csv", "--output",
                       tmp_path / "out", *quick())
    assert code == 0
    assert re.search(r"task: regression \(guessed: the target holds 2\d\d distinct whole "
                     r"numbers, more than 20: a quantity", out), out
    model = Model.load(tmp_path / "out" / "model.chainrule")
    assert model.predict(X[:1]).shape == (1, 1)
    # --task decides: the same whole numbers as classes are refused as absurd ...
    code, _, err = run(capsys, "train", "--dataset", tmp_path / "prices.csv", "--task",
                       "classification", "--output", tmp_path / "out2", *quick())
    assert code == 1 and "try --task regression" in err
    # ... and a few whole numbers can be made a regression target.
    np.savetxt(tmp_path / "few.csv", np.c_[X, price % 3], delimiter=",", fmt="%.6g")
    code, out, _ = run(capsys, "train", "--dataset", tmp_path / "few.csv", "--output",
                       tmp_path / "out3", *quick("--task", "regression"))
    assert code == 0 and "task: regression (--task)" in out


def test_any_numbers_as_labels_and_the_class_count_from_all_the_data(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 2))
    labels = np.where(X[:, 0] > 0.5, 10, np.where(X[:, 0] < -0.5, -1, 7))
    np.savetxt(tmp_path / "d.csv", np.c_[X, labels], delimiter=",", fmt="%.6g")
    code, out, _ = run(capsys, "train", "--dataset", tmp_path / "d.csv", "--output",
                       tmp_path / "out", *quick("--epochs", "100"))
    assert code == 0 and "3 classes: -1, 7, 10" in out
    model = Model.load(tmp_path / "out" / "model.chainrule")
    assert model.metadata["classes"] == [-1, 7, 10] and model.predict(X[:1]).shape == (1, 3)
    np.savetxt(tmp_path / "x.csv", X[:20], delimiter=",")
    code, out, _ = run(capsys, "predict", tmp_path / "out" / "model.chainrule", tmp_path / "x.csv")
    assert code == 0 and np.mean(np.array(out.split(), dtype=int) == labels[:20]) >= 0.8
    # A file holding a class that only a few rows have: the count is still all three.
    rare = np.r_[np.c_[X, np.where(X[:, 0] > 0, 1, 0)], [[5.0, 5.0, 2], [5.1, 5.1, 2],
                                                         [5.2, 4.9, 2]]]
    np.savetxt(tmp_path / "rare.csv", rare, delimiter=",", fmt="%.6g")
    assert run(capsys, "train", "--dataset", tmp_path / "rare.csv", "--output",
               tmp_path / "rare", *quick())[0] == 0
    assert Model.load(tmp_path / "rare" / "model.chainrule").metadata["classes"] == [0, 1, 2]


def test_evaluate_says_which_rows(real_tables, tmp_path, capsys):
    out_dir = tmp_path / "out"
    assert run(capsys, "train", "--dataset", real_tables["wine"], "--output", out_dir,
               *quick())[0] == 0
    model = out_dir / "model.chainrule"
    _, out, _ = run(capsys, "evaluate", model, "--dataset", real_tables["wine"])
    assert "the 45 held-out rows of wine.csv (the split train made" in out
    _, out, _ = run(capsys, "evaluate", model, "--dataset", real_tables["wine"], "--all-rows")
    assert "all 178 rows of" in out and "(the dataset you gave)" in out
    lines = real_tables["wine"].read_text().splitlines()
    (tmp_path / "some.csv").write_text("\n".join(lines[:30]) + "\n")
    _, out, _ = run(capsys, "evaluate", model, "--dataset", tmp_path / "some.csv")
    assert "all 29 rows of" in out
    # A changed training file: its held-out rows are unknown, said so.
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "wine.csv").write_text("\n".join(lines) + "\n")
    assert run(capsys, "train", "--dataset", changed / "wine.csv", "--output", changed,
               *quick())[0] == 0
    (changed / "wine.csv").write_text("\n".join(lines[:-1]) + "\n")
    code, _, err = run(capsys, "evaluate", changed / "model.chainrule")
    assert code == 1 and "has changed since training" in err
    (out_dir / "split.json").unlink()
    code, _, err = run(capsys, "evaluate", model)
    assert code == 1 and "give --dataset" in err


# -- errors, before anything is trained -----------------------------------------------------


@pytest.mark.parametrize("content, arguments, message", [
    pytest.param("1,2,0\n3,4,1\n", ["--epochs", "0"], "--epochs must be a whole number >= 1",
                 id="epochs-0"),
    pytest.param("1,2,0\n3,4,1\n", ["--epochs", "ten"], "--epochs", id="epochs-text"),
    pytest.param("1,2,0\n3,4,1\n", ["--test-size", "0"], "--test-size must be in (0, 1): "
                 "evaluate reports on held-out rows", id="test-size-0"),
    pytest.param("1,2,0\n3,4,1\n", ["--test-size", "1"], "--test-size", id="test-size-1"),
    pytest.param("1,2,0\n3,4,1\n", ["--l2", "-1"], "--l2 must be a number >= 0", id="l2"),
    pytest.param("1,2,0\n3,4,1\n", ["--patience", "-2"], "--patience", id="patience"),
    pytest.param("1,2,0\n3,4,1\n1,1,0\n", [], "too few to hold out", id="three-rows"),
    pytest.param("", [], "holds no rows", id="empty"),
    pytest.param("a,b,y\n", [], "no data rows", id="header-only"),
    pytest.param("1,2,a\n3,4,a\n5,6,a\n7,8,a\n", [], "a single class", id="one-class"),
    pytest.param("1,2,0\n3,4,1\n5,x,0\n", [], "line 3, column 2: 'x' is not a number",
                 id="bad-field"),
    pytest.param("1,2,0\n3,4,1\n5,6\n", [], "line 3: 2 fields", id="short-row"),
    pytest.param("1,2,cat\n3,4,dog\n", ["--task", "regression"],
                 "line 1, column 3: 'cat' is not a number", id="text-regression"),
    pytest.param("1,2,0\n3,4,1\n", ["--task", "regression", "--dataset", "spiral"],
                 "the spiral dataset is classification", id="builtin-task"),
])
def test_clear_errors(tmp_path, capsys, content, arguments, message):
    path = tmp_path / "data.csv"
    path.write_text(content)
    argv = ["train", "--dataset", path, "--output", tmp_path / "out", "--no-progress"]
    code, out, err = run(capsys, *argv, *arguments)
    assert code == 1 and message in err, err
    assert not (tmp_path / "out" / "model.chainrule").exists() and "epoch" not in out


def test_the_output_folder_is_checked_before_training(tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    code, out, err = run(capsys, "train", "--dataset", "spiral", "--output",
                         tmp_path / "a-file", "--no-progress")
    assert code == 1 and "is a file, not a folder" in err and out == ""
    code, _, err = run(capsys, "train", "--dataset", "spiral", "--output",
                       tmp_path / "a-file" / "below", "--no-progress")
    assert code == 1 and "cannot create the folder" in err


def test_unknown_dataset_and_damaged_model(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--dataset", "nope")
    assert code == 1 and "--dataset must be one of" in err
    code, _, err = run(capsys, "train", "--layers", "a,b", "--output", tmp_path)
    assert code == 1 and "--layers" in err
    (tmp_path / "bad.model").write_bytes(b"not a model")
    code, _, err = run(capsys, "evaluate", tmp_path / "bad.model", "--dataset", "spiral")
    assert code == 1 and "not a chainrule file" in err


# -- help, defaults, version ----------------------------------------------------------------


def test_every_option_has_help_and_shows_its_default():
    parser = cli._parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"demo", "train", "evaluate", "predict", "explain", "export", "playground"} <= set(
        commands)
    for name, command in commands.items():
        formatter = command._get_formatter()
        options = [action for action in command._actions if action.option_strings
                   and not isinstance(action, argparse._HelpAction)]
        for action in options:
            assert action.help, f"{name} {action.option_strings}"
            shown = formatter._get_help_string(action) % {"default": action.default}
            assert "default: " in shown, f"{name} {action.option_strings}"
        assert " ".join(command.format_help().split()).count("(default: ") >= len(options)


def test_no_command_prints_the_help_and_exits_2(capsys):
    assert cli.main([]) == 2  # a usage error, as argparse's own
    assert "usage: chainrule" in capsys.readouterr().out


def test_help_everywhere_and_version():
    for command in ([], ["demo"], ["train"], ["evaluate"], ["predict"], ["explain"]):
        result = subprocess.run([sys.executable, "-m", "chainrule", *command, "--help"],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        assert "usage: chainrule" in result.stdout
    result = subprocess.run([sys.executable, "-m", "chainrule", "--version"],
                            capture_output=True, text=True, check=False)
    assert result.stdout.strip() == f"chainrule {__version__}"


# -- the decision boundary ------------------------------------------------------------------


def test_decision_boundary_uses_one_colour_per_class_names_and_axes(tmp_path):
    from chainrule.plotting import class_colours, plot_decision_boundary

    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    y = np.digitize(X[:, 0], [-0.4, 0.4])
    model = Model([Normalization().adapt(X)])
    from chainrule import Adam, CategoricalCrossentropy, Dense, ReLU, Softmax

    for layer in (Dense(2, 16, rng=0), ReLU(), Dense(16, 3, rng=1), Softmax()):
        model.add(layer)
    model.set(loss=CategoricalCrossentropy(), optimizer=Adam(0.05))
    model.train(X, y, epochs=200, print_every=None)
    fig = plot_decision_boundary(model, X, y, class_names=["low", "mid", "high"],
                                 feature_names=["x-ray", "yield"], resolution=50)
    ax = fig.axes[0]
    colours = class_colours(3)
    mesh = next(c for c in ax.collections if type(c).__name__ == "QuadMesh")
    regions = np.asarray(mesh.get_array()).ravel().astype(int)
    drawn = mesh.to_rgba(mesh.get_array().ravel())
    assert set(regions) == {0, 1, 2}
    for k in range(3):
        cells = drawn[regions == k][:, :3]
        np.testing.assert_allclose(cells, np.broadcast_to(colours[k][:3], cells.shape))
    points = next(c for c in ax.collections if type(c).__name__ == "PathCollection")
    np.testing.assert_allclose(points.get_facecolors()[:, :3], colours[y][:, :3])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["low", "mid", "high"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x-ray", "yield")
    fig.savefig(tmp_path / "boundary.png")


def test_evaluate_all_rows_says_the_training_rows_are_among_them(real_tables, tmp_path, capsys):
    """--all-rows on the file train split: its figures mix the rows the model learned from with
    the held-out ones, and the line says how many of each, so they are not read as a test."""
    out_dir = tmp_path / "out"
    assert run(capsys, "train", "--dataset", real_tables["wine"], "--output", out_dir,
               *quick())[0] == 0
    model = out_dir / "model.chainrule"
    _, out, _ = run(capsys, "evaluate", model, "--dataset", real_tables["wine"], "--all-rows")
    assert out.splitlines()[0] == ("evaluated on all 178 rows of "
                                   f"{real_tables['wine']} (the dataset you gave): the 133 rows "
                                   "train used and the 45 it held out")
    # Another file: nothing to say about training rows.
    lines = real_tables["wine"].read_text().splitlines()
    (tmp_path / "some.csv").write_text("\n".join(lines[:30]) + "\n")
    _, out, _ = run(capsys, "evaluate", model, "--dataset", tmp_path / "some.csv", "--all-rows")
    assert out.splitlines()[0].endswith("(the dataset you gave)")


@pytest.mark.parametrize("path", ["numba", "numpy"])
def test_the_readme_quotes_the_demos_figures_on_each_path(tmp_path, capsys, path):
    """The README's sentence "prints training accuracy 0.973, validation 0.810 and 0.857 on new
    test points (NumPy's path: 0.970, 0.803, 0.837)": what `make demo` prints, with numba's
    kernels and without (where numba has no wheel)."""
    import chainrule

    if path == "numba":
        pytest.importorskip("numba")
    text = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text(
        encoding="utf-8").split())
    quoted = re.search(r"prints training accuracy ([0-9.]+), validation ([0-9.]+) and ([0-9.]+) "
                       r"on new test points \(NumPy's path: ([0-9.]+), ([0-9.]+), ([0-9.]+)\)",
                       text)
    assert quoted, "the README no longer quotes the demo's figures as this test reads them"
    figures = quoted.groups()[:3] if path == "numba" else quoted.groups()[3:]
    previous = chainrule.use_kernels(path)
    try:
        code, out, _ = run(capsys, "demo", "--output", tmp_path, "--no-progress")
    finally:
        chainrule.use_kernels(previous)
    assert code == 0
    printed = tuple(out.split(f"\n{name}, acc: ")[1].split(",")[0]
                    for name in ("training", "validation", "test"))
    assert printed == figures, out

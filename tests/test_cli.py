import subprocess
import sys

import numpy as np
import pytest

from chainrule import Model, cli

pytest.importorskip("matplotlib")


def test_demo_trains_the_books_network_and_writes_its_files(tmp_path, capsys):
    """The full demo: 10,000 epochs of 2-64-3 on the spiral (a few seconds)."""
    assert cli.main(["demo", "--output", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    train_acc = float(out.split("training accuracy: ")[1].split()[0])
    val_acc = float(out.split("validation, acc: ")[1].split(",")[0])
    assert train_acc >= 0.93, out
    assert val_acc >= 0.78, out
    assert "epoch: 10000, acc: " in out
    for name in ("model.chainrule", "learning_curves.png", "decision_boundary.png"):
        assert (tmp_path / name).stat().st_size > 1000, name
        assert str(tmp_path / name) in out
    assert (tmp_path / "decision_boundary.png").read_bytes()[:4] == b"\x89PNG"
    assert Model.load(tmp_path / "model.chainrule").epoch == 10_000


def test_train_evaluate_predict_on_a_csv_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    np.savetxt(tmp_path / "data.csv", np.c_[X, y], delimiter=",")
    out_dir = tmp_path / "out"
    code = cli.main(["train", "--dataset", str(tmp_path / "data.csv"), "--layers", "16",
                     "--epochs", "200", "--learning-rate", "0.01", "--output", str(out_dir),
                     "--no-progress"])
    assert code == 0
    assert (out_dir / "learning_curves.png").exists()
    capsys.readouterr()
    assert cli.main(["evaluate", str(out_dir / "model.chainrule"), "--dataset",
                     str(tmp_path / "data.csv")]) == 0
    accuracy = float(capsys.readouterr().out.split("acc: ")[1].split(",")[0])
    assert accuracy > 0.9
    np.savetxt(tmp_path / "inputs.csv", X, delimiter=",")
    assert cli.main(["predict", str(out_dir / "model.chainrule"),
                     str(tmp_path / "inputs.csv")]) == 0
    predicted = np.array([int(line) for line in capsys.readouterr().out.split()])
    assert len(predicted) == 200
    assert np.mean(predicted == y) == pytest.approx(accuracy)


def test_train_sine_regression_writes_a_fit_plot(tmp_path, capsys):
    code = cli.main(["train", "--dataset", "sine", "--layers", "32,32", "--epochs", "20",
                     "--batch-size", "64", "--output", str(tmp_path), "--no-progress"])
    assert code == 0
    assert (tmp_path / "regression.png").exists()


def test_errors_are_reported_not_raised(tmp_path, capsys):
    assert cli.main(["train", "--dataset", "nope"]) == 1
    assert "--dataset must be one of" in capsys.readouterr().err
    assert cli.main(["train", "--layers", "a,b", "--output", str(tmp_path)]) == 1
    assert "--layers" in capsys.readouterr().err
    (tmp_path / "bad.model").write_bytes(b"not a model")
    assert cli.main(["evaluate", str(tmp_path / "bad.model")]) == 1
    assert "not a chainrule file" in capsys.readouterr().err


def test_help_everywhere():
    for command in ([], ["demo"], ["train"], ["evaluate"], ["predict"]):
        result = subprocess.run([sys.executable, "-m", "chainrule", *command, "--help"],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        assert "usage: chainrule" in result.stdout

"""The examples run and reach the results the README reports."""

import re
import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example(name: str) -> dict:
    return runpy.run_path(str(EXAMPLES / name))


def test_spiral_reaches_the_books_accuracy():
    result = example("03_spiral.py")["main"](verbose=False)
    assert result["train_accuracy"] >= 0.93
    assert result["test_accuracy"] >= 0.78


def test_digits_test_accuracy():
    pytest.importorskip("sklearn")
    assert example("04_digits.py")["main"](verbose=False)["test_accuracy"] >= 0.96


def test_sine_regression_mse():
    assert example("05_sine.py")["main"](verbose=False)["mse"] < 0.005


def test_sine_says_what_the_books_regression_accuracy_counts(capsys):
    result = example("05_sine.py")["main"](epochs=200)
    out = capsys.readouterr().out
    # The precision is the book's std(y)/250 (0.707/250 for this sine), said before the
    # first "acc" line, and the closing count is the accuracy printed beside it.
    assert result["precision"] == pytest.approx(np.sqrt(0.5) / 250)
    assert out.index("within std(y)/250 = 0.0028 of their target") < out.index("acc: ")
    right = int(re.search(r"book's acc [0-9.]+: (\d+) of 1000 predictions within ±0.0028 ",
                          out).group(1))
    assert right / 1000 == result["accuracy"] and 0 < right < 1000
    assert f"loss (MSE) {result['mse']:.6f}: RMSE {np.sqrt(result['mse']):.4f}" in out
    assert result["largest_error"] > result["rmse"] > 0


def test_fashion_mnist_example_is_importable():
    namespace = example("06_fashion_mnist.py")
    assert callable(namespace["main"]) and len(namespace["LABELS"]) == 10

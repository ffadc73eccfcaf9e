"""The examples run and reach the results the README reports."""

import runpy
from pathlib import Path

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


def test_fashion_mnist_example_is_importable():
    namespace = example("06_fashion_mnist.py")
    assert callable(namespace["main"]) and len(namespace["LABELS"]) == 10

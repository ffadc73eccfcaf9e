"""Book-style scripts run on chainrule with one import line, in two set-ups:

* ``chainrule``: the script's ``nnfs.init()`` is chainrule's (seeds only);
* ``nnfs-patched``: the real ``nnfs`` package's ``init()`` ran first, as when a reader
  keeps ``import nnfs``: NumPy's ``dot``, ``zeros`` and ``randn`` then return float32.

The scripts in ``tests/book_style`` are ours, written in the book's style; the book's
published numbers they are compared with are quoted here.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).parent / "book_style"
MODES = ["chainrule", "nnfs-patched"]


def run(script: str, mode: str) -> list[str]:
    source = (SCRIPTS / script).read_text()
    if mode == "nnfs-patched":
        pytest.importorskip("nnfs")
        source = "import nnfs as _book_nnfs\n_book_nnfs.init()\n" + source
    result = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True,
                            check=False, timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def floats(line: str) -> list[float]:
    return [float(v) for v in line.replace("[", " ").replace("]", " ").split()]


@pytest.mark.parametrize("mode", MODES)
def test_forward_and_backward_print_the_books_numbers(mode):
    lines = run("ch09_backprop.py", mode)
    # Chapter 9's printed output.
    book_rows = [[0.33333334, 0.33333334, 0.33333334], [0.3333332, 0.3333332, 0.33333364],
                 [0.3333329, 0.33333293, 0.3333342], [0.3333326, 0.33333263, 0.33333477],
                 [0.33333233, 0.3333324, 0.33333528]]
    np.testing.assert_allclose([floats(line) for line in lines[:5]], book_rows, rtol=1e-6)
    assert float(lines[5].split()[1]) == pytest.approx(1.0986104, rel=1e-6)
    assert lines[6] == "acc: 0.34"
    grads = np.array(floats(" ".join(lines[7:14])))
    book_grads = [1.5766358e-04, 7.8368575e-05, 4.7324404e-05, 1.8161036e-04, 1.1045571e-05,
                  -3.3096316e-05, -3.6055347e-04, 9.6611722e-05, -1.0367142e-04,
                  5.4410957e-05, 1.0741142e-04, -1.6182236e-04, -4.0791339e-05, -7.1678100e-05,
                  1.1246944e-04, -5.3011299e-05, 8.5817286e-05, -3.2805994e-05,
                  -1.0732794e-05, -9.4590941e-06, 2.0027626e-05]
    # float32 precision of a 300-sample sum whose partial sums reach ~0.2 before they
    # cancel to ~1e-5: each addition rounds at ~1.5e-8, so ~3e-7 absolute.
    np.testing.assert_allclose(grads, book_grads, rtol=0, atol=3e-7)
    assert float(lines[14].split()[-1]) < 1e-8


@pytest.mark.parametrize("mode", MODES)
def test_ten_thousand_epochs_of_adam_land_near_the_books_accuracy(mode):
    lines = run("ch10_adam.py", mode)
    assert lines[0].startswith("epoch: 0, acc: 0.3")
    final = lines[-2]
    assert final.startswith("epoch: 10000, acc: ")
    train_acc = float(final.split("acc: ")[1].split(",")[0])
    val_acc = float(lines[-1].split("acc: ")[1].split(",")[0])
    # The book prints acc 0.967 after 10,000 epochs and validation acc 0.803.
    assert abs(train_acc - 0.967) <= 0.04, final
    assert abs(val_acc - 0.803) <= 0.05, lines[-1]


def test_regularization_dropout_optimizers_binary_and_regression_loops():
    lines = run("ch14_17_regularization.py", "chainrule")
    assert [line.split(":")[0] for line in lines] == ["SGD", "Adagrad", "RMSprop", "Adam",
                                                      "binary", "regression"]
    for line in lines[:4]:
        reg_loss = float(line.split("reg_loss: ")[1].rstrip(")"))
        assert reg_loss > 0
        assert float(line.split("acc: ")[1].split(",")[0]) > 0.4
    assert float(lines[4].split("acc: ")[1].split(",")[0]) > 0.7
    assert float(lines[5].split("loss: ")[1]) < 1e-3


def test_the_model_api_of_chapters_18_and_19():
    lines = run("ch18_19_model.py", "chainrule")
    assert lines[0].startswith("epoch: 500, acc: ") and "(data_loss: " in lines[0]
    validation = [line for line in lines if line.startswith("validation, acc: ")]
    # After training, evaluate, set_parameters, load_parameters and Model.load: one result.
    assert len(validation) == 5 and len(set(validation)) == 1
    assert len(floats(lines[-3])) == 5 and floats(lines[-2]) == [0, 0, 0, 0, 0]
    assert lines[-1].startswith("epoch: 500, acc: ")

"""Reliability: bad input is refused before anything changes, numbers stay finite at the
extremes, divergence stops cleanly, runs are reproducible, killed runs resume."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import (
    Adam,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Dense,
    Dropout,
    MeanSquaredError,
    Model,
    ReLU,
    Sigmoid,
    Softmax,
)
from chainrule.datasets import spiral_data

ROOT = Path(__file__).resolve().parent.parent


def classifier(rng=0):
    model = Model([Dense(2, 16, init="he", rng=rng), ReLU(), Dense(16, 3, rng=rng), Softmax()])
    model.set(loss=CategoricalCrossentropy(), optimizer=Adam(0.01))
    return model


X, Y = spiral_data(20, 3, rng=0)


def with_nan(a):
    a = a.copy()
    a[3, 1] = np.nan
    return a


def with_inf(a):
    a = a.copy()
    a[0, 0] = np.inf
    return a


# (id, call, arguments, error, words the message must contain)
BAD_INPUT = [
    ("nan-in-X", "train", (with_nan(X), Y), {}, ValueError, ["X", "finite", "NaN"]),
    ("inf-in-X", "train", (with_inf(X), Y), {}, ValueError, ["X", "finite", "infinite"]),
    ("length-mismatch", "train", (X, Y[:-1]), {}, ValueError, ["same number of samples",
                                                               "60", "59"]),
    ("empty", "train", (X[:0], Y[:0]), {}, ValueError, ["X", "empty"]),
    ("batch-size-zero", "train", (X, Y), {"batch_size": 0}, ValueError, ["batch_size", ">= 1",
                                                                          "0"]),
    ("batch-size-negative", "train", (X, Y), {"batch_size": -5}, ValueError, ["batch_size"]),
    ("batch-size-float", "train", (X, Y), {"batch_size": 2.5}, TypeError, ["batch_size",
                                                                            "integer"]),
    ("epochs-negative", "train", (X, Y), {"epochs": -1}, ValueError, ["epochs", ">= 0", "-1"]),
    ("label-out-of-range", "train", (X, np.where(Y == 2, 3, Y)), {}, ValueError,
     ["y", "[0, 2]", "3"]),
    ("label-negative", "train", (X, Y.astype(int) - 1), {}, ValueError, ["y", "[0, 2]", "-1"]),
    ("label-fractional", "train", (X, Y + 0.5), {}, TypeError, ["y", "integer"]),
    ("label-float-dtype", "train", (X, Y.astype(float)), {}, TypeError, ["y", "integer"]),
    ("label-wrong-shape", "train", (X, Y.reshape(-1, 2)), {}, ValueError, ["y", "samples"]),
    ("one-hot-wrong-width", "train", (X, np.eye(4)[Y % 4]), {}, ValueError, ["y", "(60, 3)",
                                                                          "(60, 4)"]),
    ("wrong-feature-count", "train", (np.c_[X, X], Y), {}, ValueError,
     ["X", "2 features", "(60, 4)", "Dense(2, 16"]),
    ("one-dimensional-X", "train", (X[:, 0], Y), {}, ValueError, ["X", "2-D", "(60,)"]),
    ("string-X", "train", (np.array([["a", "b"]]), Y[:1]), {}, TypeError, ["X", "numeric"]),
    ("validation-nan", "train", (X, Y), {"validation_data": (with_nan(X), Y)}, ValueError,
     ["validation_data X", "finite"]),
    ("validation-not-a-pair", "train", (X, Y), {"validation_data": X}, TypeError,
     ["validation_data", "(X_val, y_val)"]),
    ("evaluate-nan", "evaluate", (with_nan(X), Y), {}, ValueError, ["X", "finite"]),
    ("evaluate-bad-labels", "evaluate", (X, Y + 7), {}, ValueError, ["y", "[0, 2]"]),
    ("evaluate-batch-size", "evaluate", (X, Y), {"batch_size": 0}, ValueError, ["batch_size"]),
    ("predict-1d", "predict", (X[:, 0],), {}, ValueError, ["X", "2-D"]),
    ("predict-features", "predict", (X[:, :1],), {}, ValueError, ["X", "2 features"]),
    ("predict-inf", "predict", (with_inf(X),), {}, ValueError, ["X", "finite"]),
    ("predict-empty", "predict", (X[:0],), {}, ValueError, ["X", "empty"]),
    # Values a float32 model cannot hold would become inf after the cast.
    ("X-beyond-float32", "train", (np.where(X > 0.5, 1e300, X), Y), {}, ValueError,
     ["X", "float32", "1e+300"]),
    ("evaluate-beyond-float32", "evaluate", (X * 1e39, Y), {}, ValueError, ["X", "float32"]),
    ("predict-beyond-float32", "predict", (np.array([[1e300, 0.0]]),), {}, ValueError,
     ["X", "(0, 0)", "float32"]),
    ("multi-hot-targets", "train", (X, np.c_[np.ones((60, 2)), np.zeros(60)]), {}, ValueError,
     ["y", "sum to 1", "row 0"]),
    ("targets-negative", "train", (X, np.eye(3)[Y] - 0.5), {}, ValueError, ["y", "[0, 1]"]),
    ("epochs-float", "train", (X, Y), {"epochs": 2.0}, TypeError, ["epochs", "integer"]),
    ("print-every-zero", "train", (X, Y), {"print_every": 0}, ValueError, ["print_every"]),
    ("shuffle-not-bool", "train", (X, Y), {"shuffle": "yes"}, TypeError, ["shuffle"]),
    ("rng-not-a-generator", "train", (X, Y), {"rng": 1.5}, TypeError, ["rng"]),
    ("callbacks-not-callbacks", "train", (X, Y), {"callbacks": [print]}, TypeError,
     ["callbacks", "Callback"]),
    ("checkpoint-folder-missing", "train", (X, Y),
     {"checkpoint": "/nonexistent/folder/run.ckpt"}, ValueError, ["checkpoint", "not exist"]),
    ("checkpoint-is-a-folder", "train", (X, Y), {"checkpoint": "."}, ValueError,
     ["checkpoint", "folder"]),
    ("checkpoint-not-a-path", "train", (X, Y), {"checkpoint": 3}, TypeError, ["checkpoint"]),
    ("validation-split-one", "train", (X, Y), {"validation_split": 1.0}, ValueError,
     ["validation_split", "(0, 1)"]),
    ("validation-split-and-data", "train", (X, Y),
     {"validation_split": 0.2, "validation_data": (X, Y)}, ValueError, ["not both"]),
    # Validation data is checked like training data, one-hot labels included.
    ("validation-one-hot-wrong-width", "train", (X, Y), {"validation_data": (X, np.eye(4)[Y])},
     ValueError, ["validation_data y", "(60, 3)"]),
    ("validation-length", "train", (X, Y), {"validation_data": (X, Y[:-1])}, ValueError,
     ["validation_data", "same number of samples"]),
    ("validation-labels", "train", (X, Y), {"validation_data": (X, Y + 1)}, ValueError,
     ["validation_data y", "[0, 2]"]),
    ("validation-beyond-float32", "train", (X, Y), {"validation_data": (X * 1e300, Y)},
     ValueError, ["validation_data X", "float32"]),
    ("validation-features", "train", (X, Y), {"validation_data": (X[:, :1], Y)}, ValueError,
     ["validation_data X", "2 features"]),
]


@pytest.mark.parametrize("call, args, kwargs, error, words",
                         [pytest.param(*case[1:], id=case[0]) for case in BAD_INPUT])
def test_bad_input_is_refused_before_anything_changes(call, args, kwargs, error, words):
    model = classifier()
    model.train(X, Y, epochs=1, print_every=None)  # optimizer state exists too
    before = model.get_parameters()
    state = {k: v.copy() for k, v in model.optimizer.get_state(model.layers[0], "weights").items()}
    history = {k: list(v) for k, v in model.history.items()}
    with pytest.raises(error) as raised:
        getattr(model, call)(*args, **kwargs)
    message = str(raised.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    for a, b in zip(before, model.get_parameters(), strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    for key, value in model.optimizer.get_state(model.layers[0], "weights").items():
        np.testing.assert_array_equal(value, state[key])
    assert model.history == history and model.optimizer.iterations == 1


LOSS_BAD_INPUT = [
    ("cce-nan", CategoricalCrossentropy(), np.array([[np.nan, 1.0]]), np.array([0]), ValueError),
    ("cce-1d-predictions", CategoricalCrossentropy(), np.array([0.5, 0.5]), np.array([0]),
     ValueError),
    ("bce-broadcast", BinaryCrossentropy(), np.full((4, 2), 0.5), np.ones((4, 1)), ValueError),
    ("mse-broadcast", MeanSquaredError(), np.ones((4, 3)), np.ones(4), ValueError),
    ("mse-strings", MeanSquaredError(), np.ones((1, 1)), np.array([["x"]]), TypeError),
    ("cce-empty", CategoricalCrossentropy(), np.ones((0, 3)), np.zeros(0, int), ValueError),
    ("cce-multi-hot", CategoricalCrossentropy(), np.full((2, 3), 1 / 3),
     np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]), ValueError),
    ("bce-empty", BinaryCrossentropy(), np.ones((0, 1)), np.ones((0, 1)), ValueError),
    ("bce-target-above-one", BinaryCrossentropy(), np.full((2, 1), 0.5), np.array([[1.0], [2.0]]),
     ValueError),
    ("bce-target-negative", BinaryCrossentropy(), np.full((2, 1), 0.5),
     np.array([[0.0], [-0.5]]), ValueError),
    ("mse-empty", MeanSquaredError(), np.ones((0, 1)), np.ones((0, 1)), ValueError),
    ("mae-empty", cr.MeanAbsoluteError(), np.ones((0, 2)), np.ones((0, 2)), ValueError),
]


@pytest.mark.parametrize("loss, y_pred, y_true, error",
                         [pytest.param(*case[1:], id=case[0]) for case in LOSS_BAD_INPUT])
def test_losses_refuse_bad_input(loss, y_pred, y_true, error):
    for method in (loss.forward, loss.backward, loss.calculate):
        with pytest.raises(error):
            method(y_pred, y_true)


EXTREMES = [
    pytest.param(Softmax, np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]]), id="softmax-1e4"),
    pytest.param(Sigmoid, np.array([[1e3, -1e3], [-1e3, 1e3]]), id="sigmoid-1e3"),
    pytest.param(cr.Tanh, np.array([[1e4, -1e4]]), id="tanh-1e4"),
]


@pytest.mark.parametrize("layer, x", EXTREMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_at_extremes_are_finite(layer, x, dtype):
    # filterwarnings = error: any RuntimeWarning would fail this test.
    layer = layer()
    out = layer.forward(x.astype(dtype))
    assert np.isfinite(out).all()
    assert np.isfinite(layer.backward(np.ones_like(out))).all()


@pytest.mark.parametrize("p", [0.0, 1.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_crossentropies_at_zero_and_one_are_finite(p, dtype):
    y_pred = np.array([[p, 1 - p], [1 - p, p]], dtype=dtype)
    for loss, y in ((CategoricalCrossentropy(), np.array([0, 1])),
                    (CategoricalCrossentropy(), np.eye(2)),
                    (BinaryCrossentropy(), np.array([[1, 0], [0, 1]]))):
        assert np.isfinite(loss.forward(y_pred, y)).all()
        assert np.isfinite(loss.backward(y_pred, y)).all()
    fused = cr.SoftmaxCategoricalCrossentropy()
    assert np.isfinite(fused.forward(np.array([[1e4, -1e4]], dtype=dtype), np.array([1])))
    assert np.isfinite(fused.backward(fused.output, np.array([1]))).all()


def test_training_on_extreme_logits_stays_finite():
    model = classifier()
    big = X * 1e3  # saturating logits, probabilities of exactly 0 and 1
    history = model.train(big, Y, epochs=5, print_every=None)
    assert np.isfinite(history["loss"]).all()


def test_divergence_names_epoch_and_step_and_keeps_finite_parameters():
    rng = np.random.default_rng(0)
    X_reg = rng.normal(size=(32, 3)).astype(np.float32) * 1e3
    y_reg = rng.normal(size=(32, 1)) * 1e3
    model = Model([Dense(3, 8, init="he", rng=0), ReLU(), Dense(8, 1, rng=1), cr.Linear()])
    model.set(loss=MeanSquaredError(), optimizer=cr.SGD(learning_rate=10.0))
    with pytest.raises(cr.TrainingDiverged) as raised:
        model.train(X_reg, y_reg, epochs=200, batch_size=8, print_every=None)
    message = str(raised.value)
    assert "epoch" in message and "step" in message and "lower learning rate" in message
    for weights, biases in model.get_parameters():
        assert np.isfinite(weights).all() and np.isfinite(biases).all()
    assert issubclass(cr.TrainingDiverged, FloatingPointError)


SCRIPT = """
import hashlib, sys
import numpy as np
from chainrule import Adam, CategoricalCrossentropy, Dense, Dropout, Model, ReLU, Softmax
from chainrule.datasets import spiral_data
X, y = spiral_data(50, 3, rng=1)
model = Model([Dense(2, 32, init="he", rng=2), ReLU(), Dropout(0.2, rng=3), Dense(32, 3, rng=4),
               Softmax()])
model.set(loss=CategoricalCrossentropy(), optimizer=Adam(0.01))
history = model.train(X, y, epochs=5, batch_size=16, rng=5, print_every=None)
digest = hashlib.sha256()
for entry in model.get_parameters():
    for array in entry:
        digest.update(array.tobytes())
digest.update(repr(history).encode())
digest.update(model.predict(X).tobytes())
print(digest.hexdigest())
"""


def test_identical_seeds_are_bit_identical_across_processes():
    digests = {subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                              check=True).stdout for _ in range(2)}
    assert len(digests) == 1


KILL_SCRIPT = """
import sys
import numpy as np
from chainrule import Adam, CategoricalCrossentropy, Dense, Model, ReLU, Softmax
rng = np.random.default_rng(0)
X = rng.normal(size=(400, 20)).astype(np.float32)
y = rng.integers(0, 5, 400)
model = Model([Dense(20, 256, init="he", rng=1), ReLU(), Dense(256, 5, rng=2), Softmax()])
model.set(loss=CategoricalCrossentropy(), optimizer=Adam(0.001))
# A first training run loads the numba kernels (chainrule[fast]), which takes longer than
# the kill window below; warm them on a throwaway model first.
warm = Model([Dense(20, 8), ReLU(), Dense(8, 5), Softmax()])
warm.set(loss=CategoricalCrossentropy(), optimizer=Adam(0.001))
warm.train(X, y, epochs=1, batch_size=200, print_every=None, progress=False)
print("ready", flush=True)
model.train(X, y, epochs=10_000, batch_size=200, rng=3, print_every=None, progress=False,
            checkpoint=sys.argv[1])
"""


def test_a_checkpoint_killed_at_any_moment_still_loads(tmp_path):
    path = tmp_path / "run.ckpt"
    rng = np.random.default_rng(7)
    loaded_epochs = []
    for _ in range(12):
        process = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(path)],
                                   stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.6))  # somewhere inside an epoch or a write
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
        if path.exists():
            model = Model.load(path)  # never a half-written file
            loaded_epochs.append(model.epoch)
            assert model.epoch == len(model.history["loss"])
    assert loaded_epochs, "no checkpoint was ever written"
    assert max(loaded_epochs) > 0
    # The next write clears the temporaries that killed writers left behind.
    Model.load(path).save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.ckpt"]
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~current_umask())


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_resume_continues_with_its_saved_history(tmp_path):
    model = classifier()
    model.train(X, Y, epochs=2, print_every=None, checkpoint=tmp_path / "c")
    resumed = Model.load(tmp_path / "c")
    resumed.train(X, Y, epochs=4, print_every=None)
    assert resumed.epoch == 4 and len(resumed.history["accuracy"]) == 4


def test_saved_file_digest_is_stable(tmp_path):
    a, b = classifier(), classifier()
    a.save(tmp_path / "a")
    b.save(tmp_path / "b")
    digest = [hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in "ab"]
    assert digest[0] == digest[1]


def test_dropout_masks_reproduce_from_the_layers_rng():
    x = np.ones((5, 7))
    a = Dropout(0.3, rng=11).forward(x)
    b = Dropout(0.3, rng=11).forward(x)
    np.testing.assert_array_equal(a, b)

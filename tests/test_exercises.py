"""The exercises (issue 22): references pass, each named mistake is caught and named,
a half-finished file reads as "not finished", start never overwrites, watch notices a save,
grade survives hostile solutions."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from chainrule import exercises
from chainrule.cli import main
from chainrule.exercises import EXERCISES, check, check_file, start, watch

SOLUTIONS = Path(__file__).parent / "exercise_solutions"
NAMES = [e.name for e in EXERCISES]


def solution(name):
    from chainrule.exercises._runner import load  # the file as the runner imports it

    return load(SOLUTIONS, name)


@pytest.mark.parametrize("name", NAMES)
def test_every_reference_solution_passes(name):
    result = check_file(SOLUTIONS, name)
    assert result.passed, str(result)
    assert result.status == "passing" and "cases" in str(result)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "spiral"])
def test_chainrules_own_class_passes_as_the_reference(name):
    # A finished exercise is a drop-in for chainrule's class: and chainrule's passes too.
    import chainrule
    from chainrule import nn

    own = {"dense_backward": chainrule.Dense, "relu_backward": chainrule.ReLU,
           "softmax_backward": chainrule.Softmax, "cce_backward": chainrule.CategoricalCrossentropy,
           "softmax_cce_backward": nn.SoftmaxCategoricalCrossentropy, "sgd": chainrule.SGD,
           "adam": chainrule.Adam, "regularization": chainrule.Dense,
           "dropout": chainrule.Dropout, "sigmoid_bce": nn.SigmoidBinaryCrossentropy,
           "mse": chainrule.MeanSquaredError}
    if name == "neuron":
        pytest.skip("chainrule has no neuron function; the reference is Dense + ReLU + MSE")
    cls = own[name]
    if name in ("dense_backward", "regularization"):
        def cls(n_inputs, n_neurons, **kw):
            return chainrule.Dense(n_inputs, n_neurons, dtype=np.float64, **kw)
    assert check(name, cls).passed, str(check(name, cls))


# -- each named mistake -------------------------------------------------------------------

def _dense_mistake(kind):
    Dense = solution("dense_backward")

    class Wrong(Dense):
        def backward(self, dvalues):
            super().backward(dvalues)
            if kind == "transposed":
                self.dweights = dvalues.T @ self.inputs
            elif kind == "unsummed":
                self.dbiases = dvalues.copy()
            elif kind == "mean":
                self.dbiases = np.mean(dvalues, axis=0, keepdims=True)
            elif kind == "in place":
                dvalues *= 1.0 + 1e-3
            return self.dinputs
    return Wrong


def _relu_from_gradient():
    ReLU = solution("relu_backward")

    class Wrong(ReLU):
        def backward(self, dvalues):
            self.dinputs = dvalues.copy()
            self.dinputs[dvalues <= 0] = 0
            return self.dinputs
    return Wrong


def _softmax_whole_batch():
    Softmax = solution("softmax_backward")

    class Wrong(Softmax):
        def backward(self, dvalues):
            s = self.output.reshape(-1, 1)
            jacobian = np.diagflat(s) - s @ s.T
            self.dinputs = (jacobian @ dvalues.reshape(-1)).reshape(dvalues.shape)
            return self.dinputs
    return Wrong


def _loss_scaled(name, factor_of_n):
    Loss = solution(name)

    class Wrong(Loss):
        def backward(self, dvalues, y_true):
            super().backward(dvalues, y_true)
            self.dinputs = self.dinputs * len(dvalues) ** factor_of_n
            return self.dinputs
    return Wrong


def _softmax_cce_in_place():
    Loss = solution("softmax_cce_backward")

    class Wrong(Loss):
        def backward(self, dvalues, y_true):
            if len(y_true.shape) == 2:
                y_true = np.argmax(y_true, axis=1)
            dvalues[range(len(dvalues)), y_true] -= 1  # the book copies first
            self.dinputs = dvalues / len(dvalues)
            return self.dinputs
    return Wrong


def _adam_uncorrected():
    Adam = solution("adam")

    class Wrong(Adam):
        def update_params(self, layer):
            b1, b2 = self.beta_1, self.beta_2
            for name in layer.params:
                param, grad = getattr(layer, name), getattr(layer, "d" + name)
                m, v = self.moments.setdefault((id(layer), name),
                                               (np.zeros_like(param), np.zeros_like(param)))
                m[...] = b1 * m + (1 - b1) * grad
                v[...] = b2 * v + (1 - b2) * grad ** 2
                param -= self.current_learning_rate * m / (np.sqrt(v) + self.epsilon)
    return Wrong


def _sgd_wrong_momentum_sign():
    SGD = solution("sgd")

    class Wrong(SGD):
        def update_params(self, layer):
            for name in layer.params:
                param, grad = getattr(layer, name), getattr(layer, "d" + name)
                u = self.momentums.setdefault((id(layer), name), np.zeros_like(param))
                u[...] = -self.momentum * u - self.current_learning_rate * grad
                param += u
    return Wrong


MISTAKES = [
    pytest.param("dense_backward", lambda: _dense_mistake("transposed"),
                 "dweights", "transposed product", id="transposed-product"),
    pytest.param("dense_backward", lambda: _dense_mistake("unsummed"),
                 "dbiases", "dbiases not summed over the batch", id="dbiases-not-summed"),
    pytest.param("dense_backward", lambda: _dense_mistake("mean"),
                 "dbiases", "1/n applied twice", id="dbiases-mean"),
    pytest.param("dense_backward", lambda: _dense_mistake("in place"),
                 "dvalues", "dvalues modified in place", id="dense-in-place"),
    pytest.param("relu_backward", _relu_from_gradient, "dinputs",
                 "ReLU mask from the gradient", id="relu-mask-from-gradient"),
    pytest.param("softmax_backward", _softmax_whole_batch, "dinputs",
                 "softmax Jacobian built for the whole batch", id="softmax-whole-batch"),
    pytest.param("cce_backward", lambda: _loss_scaled("cce_backward", 1), "dinputs",
                 "1/n not applied", id="cce-no-mean"),
    pytest.param("cce_backward", lambda: _loss_scaled("cce_backward", -1), "dinputs",
                 "1/n applied twice", id="cce-mean-twice"),
    pytest.param("mse", lambda: _loss_scaled("mse", 1), "dinputs", "1/n not applied",
                 id="mse-no-mean"),
    pytest.param("sigmoid_bce", lambda: _loss_scaled("sigmoid_bce", -1), "dinputs",
                 "1/n applied twice", id="bce-mean-twice"),
    pytest.param("softmax_cce_backward", _softmax_cce_in_place, "dvalues",
                 "dvalues modified in place", id="softmax-cce-in-place"),
    pytest.param("adam", _adam_uncorrected, "weights after step 1",
                 "Adam without bias correction", id="adam-no-bias-correction"),
    pytest.param("sgd", _sgd_wrong_momentum_sign, "weights after step 2",
                 "momentum applied with the wrong sign", id="sgd-momentum-sign"),
]


@pytest.mark.parametrize(("name", "make", "output", "mistake"), MISTAKES)
def test_each_named_mistake_is_caught_and_named(name, make, output, mistake):
    result = check(name, make())
    assert not result.passed and result.status == "failing"
    assert result.output == output
    assert result.mistake is not None and result.mistake.startswith(mistake), result.mistake
    assert f"common mistake: {result.mistake}" in str(result)
    assert "<pre>" in result._repr_html_()


def test_the_diagnosis_names_the_worst_elements_the_rule_and_the_chain():
    result = check("dense_backward", _dense_mistake("transposed"))
    text = str(result)
    # The first case is 1 × 3 → 2: a transposed dweights is a shape mismatch, by name.
    assert "dweights has shape (2, 3); expected (3, 2)" in text
    assert "the expected shape transposed" in text
    assert "the rule: Dense" in text

    Dense = solution("dense_backward")

    class OffByOne(Dense):
        def backward(self, dvalues):
            super().backward(dvalues)
            self.dweights = self.dweights.copy()
            self.dweights[1, 0] += 1.0
            return self.dinputs
    text = str(check("dense_backward", OffByOne))
    assert "dweights is wrong" in text and "at [1, 0]: expected" in text
    # the chain as explain prints it, for that element, and the learner's number
    assert "∂L/∂W0[1, 0]" in text and "yours: dweights[1, 0]" in text


def test_a_half_finished_file_reads_as_not_finished(tmp_path):
    for name in NAMES:
        start(tmp_path, name)
        result = check_file(tmp_path, name)
        assert result.status == "not finished", str(result)
        assert "not finished" in str(result) and "Traceback" not in str(result)
    assert main(["exercises", "check", "--dir", str(tmp_path)]) == 1


def test_a_crashing_solution_is_an_error_not_a_crash_of_the_checker():
    def neuron(*args):
        raise ZeroDivisionError("mine")
    result = check("neuron", neuron)
    assert result.status == "error" and "ZeroDivisionError: mine" in str(result)

    def leaves(*args):
        sys.exit(3)
    assert check("neuron", leaves).status == "error"


def test_start_never_overwrites(tmp_path, capsys):
    path = start(tmp_path)  # the first one
    assert path.name == "neuron.py"
    path.write_text("my work")
    assert main(["exercises", "start", "neuron", "--dir", str(tmp_path)]) == 1
    assert path.read_text() == "my work"
    with pytest.raises(FileExistsError):
        start(tmp_path, "neuron")
    assert start(tmp_path).name == "dense_backward.py"  # the next one
    assert "is there already" in capsys.readouterr().err


def test_the_cli_exit_codes_and_list(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(SOLUTIONS / "mse.py", folder / "mse.py")
    assert main(["exercises", "check", "mse", "--dir", str(folder)]) == 0
    assert main(["exercises", "check", "nope", "--dir", str(folder)]) == 2
    assert main(["exercises", "check", "adam", "--dir", str(folder)]) == 2  # not started
    assert main(["exercises", "check", "--dir", str(tmp_path / "empty")]) == 2
    (folder / "mse.py").write_text((SOLUTIONS / "mse.py").read_text().replace("-2", "2"))
    assert main(["exercises", "check", "mse", "--dir", str(folder)]) == 1
    assert "the gradient's sign flipped" in capsys.readouterr().out
    assert main(["exercises", "list", "--dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "mse" in out and "failing" in out and "not started" in out
    assert main(["exercises", "hint", "adam", "--step", "1"]) == 0
    assert capsys.readouterr().out.startswith("hint 1/3")
    with pytest.raises(SystemExit) as exit_:
        main(["exercises", "bogus"])
    assert exit_.value.code == 2


def test_watch_notices_a_save(tmp_path):
    start(tmp_path, "mse")
    seen, stop = [], threading.Event()
    thread = threading.Thread(target=watch, args=(tmp_path,),
                              kwargs={"interval": 0.05, "out": seen.append, "stop": stop})
    thread.start()
    try:
        time.sleep(0.3)
        shutil.copy(SOLUTIONS / "mse.py", tmp_path / "mse.py")  # the learner saves
        deadline = time.monotonic() + 10
        while not any("mse: passing" in line for line in seen) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(5)
    assert any("mse: passing" in line for line in seen), seen


HOSTILE = {
    "loop": "while True:\n    pass\n",
    "memory": "import numpy as np\nx = np.ones((10**6, 10**6))\n",
    "remove": ("import os\nos.remove(os.path.join(os.path.dirname(os.path.abspath(__file__)), "
               "'..', 'victim.txt'))\nos.remove('mse.py')\n"),
    "exit": "import sys\nsys.exit(0)\n",
}


def test_grade_survives_hostile_solutions(tmp_path, capsys):
    folders = []
    for kind, code in HOSTILE.items():
        folder = tmp_path / kind
        folder.mkdir()
        (folder / "neuron.py").write_text(code)
        shutil.copy(SOLUTIONS / "mse.py", folder / "mse.py")
        (tmp_path / "victim.txt").write_text("keep me")
        folders.append(folder)
    good = tmp_path / "good"
    good.mkdir()
    for name in ("neuron", "mse"):
        shutil.copy(SOLUTIONS / f"{name}.py", good / f"{name}.py")
    folders.append(good)
    table = exercises.grade(folders, csv_path=tmp_path / "grades.csv", time_limit=8,
                            memory_limit=1024 ** 3)
    assert (tmp_path / "victim.txt").read_text() == "keep me"
    for folder in folders[:-1]:
        assert (folder / "mse.py").exists() and (folder / "neuron.py").exists()
    row = table[str(good)]
    assert row["neuron"] == "passing" and row["mse"] == "passing" and row["adam"] == "not started"
    assert table[str(tmp_path / "loop")]["neuron"] == "time limit"
    assert table[str(tmp_path / "memory")]["neuron"] == "error"  # MemoryError, caught
    assert table[str(tmp_path / "exit")]["neuron"] == "error"
    for kind in HOSTILE:  # the learner's other exercise is graded all the same
        assert table[str(tmp_path / kind)]["mse"] == "passing", kind
    csv = (tmp_path / "grades.csv").read_text().splitlines()
    assert csv[0].startswith("learner,neuron,dense_backward") and len(csv) == 1 + len(folders)
    assert "2/13" in capsys.readouterr().out

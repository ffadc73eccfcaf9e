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


# -- hostile pass: correct solutions written differently pass --------------------------------

def _dense_book_forward():
    # The book's Dense: forward sets self.output and returns nothing.
    Dense = solution("dense_backward")

    class Book(Dense):
        def forward(self, inputs, training=True):
            self.inputs = inputs
            self.output = np.dot(inputs, self.weights) + self.biases
    return Book


def _dense_float32():
    Dense = solution("dense_backward")

    class Single(Dense):
        def backward(self, dvalues):
            x, d, w = (a.astype(np.float32) for a in (self.inputs, dvalues, self.weights))
            self.dweights, self.dinputs = x.T @ d, d @ w.T
            self.dbiases = d.sum(axis=0, keepdims=True)
    return Single


def _dense_einsum_loops():
    Dense = solution("dense_backward")

    class Written(Dense):
        def backward(self, dvalues):  # einsum and plain lists, no return
            self.dweights = np.einsum("ni,nj->ij", self.inputs, dvalues)
            self.dbiases = [[float(sum(column)) for column in dvalues.T]]
            self.dinputs = np.einsum("nj,ij->ni", dvalues, self.weights)
    return Written


def _softmax_float32():
    Softmax = solution("softmax_backward")

    class Single(Softmax):
        def forward(self, inputs, training=True):
            self.inputs = np.asarray(inputs, dtype=np.float32)
            e = np.exp(self.inputs - self.inputs.max(axis=1, keepdims=True))
            self.output = e / e.sum(axis=1, keepdims=True)
            return self.output

        def backward(self, dvalues):
            s, d = self.output, dvalues.astype(np.float32)
            self.dinputs = s * (d - (s * d).sum(axis=1, keepdims=True))
    return Single


def _softmax_book_loop():
    Softmax = solution("softmax_backward")

    class Book(Softmax):
        def backward(self, dvalues):
            self.dinputs = np.empty_like(dvalues)
            for index, (single, row) in enumerate(zip(self.output, dvalues, strict=True)):
                single = single.reshape(-1, 1)
                self.dinputs[index] = (np.diagflat(single) - single @ single.T) @ row
    return Book


def _relu_in_place_ufunc():
    ReLU = solution("relu_backward")

    class Ufunc(ReLU):
        def backward(self, dvalues):
            self.dinputs = np.array(dvalues)
            np.multiply(self.dinputs, self.inputs > 0, out=self.dinputs)
            self.extra = "an attribute of my own"
    return Ufunc


def _neuron_as_list(inputs, weights, bias, target):
    z = float(np.dot(weights, inputs) + bias)
    a, step = max(z, 0.0), 1.0 if z > 0 else 0.0
    d = 2 * (a - target) * step
    return [(a - target) ** 2, d * np.asarray(inputs, float), d]


def _neuron_as_columns(inputs, weights, bias, target):
    x = np.asarray(inputs, float).reshape(1, -1)
    z = x @ np.asarray(weights, float).reshape(-1, 1) + bias  # (1, 1)
    a = np.maximum(z, 0)
    d = 2 * (a - target) * (z > 0)
    return (a - target) ** 2, (x.T @ d).ravel(), d  # loss and dbias as (1, 1) arrays


def _sgd_other_sign_convention():
    SGD = solution("sgd")

    class Other(SGD):  # u ← μu + lr·g; θ ← θ − u: the same steps
        def update_params(self, layer):
            for name in layer.params:
                param, grad = getattr(layer, name), getattr(layer, "d" + name)
                u = self.momentums.setdefault((id(layer), name), np.zeros_like(param))
                u[...] = self.momentum * u + self.current_learning_rate * grad
                param -= u
    return Other


@pytest.mark.parametrize(("name", "make"), [
    pytest.param("dense_backward", _dense_book_forward, id="dense-forward-returns-None"),
    pytest.param("dense_backward", _dense_float32, id="dense-float32"),
    pytest.param("dense_backward", _dense_einsum_loops, id="dense-einsum-lists"),
    pytest.param("softmax_backward", _softmax_float32, id="softmax-float32"),
    pytest.param("softmax_backward", _softmax_book_loop, id="softmax-book-loop"),
    pytest.param("relu_backward", _relu_in_place_ufunc, id="relu-ufunc-out-extra-attribute"),
    pytest.param("neuron", lambda: _neuron_as_list, id="neuron-returns-a-list"),
    pytest.param("neuron", lambda: _neuron_as_columns, id="neuron-1x1-arrays"),
    pytest.param("sgd", _sgd_other_sign_convention, id="sgd-other-sign-convention"),
])
def test_correct_solutions_written_differently_pass(name, make):
    result = check(name, make())
    assert result.passed, str(result)


def test_a_float32_result_is_held_to_float32_not_let_off():
    # The looser float32 tolerance still catches a real mistake at float32.
    Dense = _dense_float32()

    class Unsummed(Dense):
        def backward(self, dvalues):
            super().backward(dvalues)
            self.dbiases = self.dbiases * np.float32(1.001)
    result = check("dense_backward", Unsummed)
    assert result.output == "dbiases" and not result.passed, str(result)


def test_a_1d_dbiases_says_the_numbers_are_right_but_not_the_shape():
    Dense = solution("dense_backward")

    class Flat(Dense):
        def backward(self, dvalues):
            super().backward(dvalues)
            self.dbiases = np.sum(dvalues, axis=0)
            return self.dinputs
    text = str(check("dense_backward", Flat))
    assert "dbiases has shape (2,); expected (1, 2)" in text
    assert "the numbers are right" in text and "keepdims=True" in text


# -- hostile pass: more mistakes, named right ------------------------------------------------

def _override(name, method, body):
    base = solution(name)
    return type("Wrong", (base,), {method: body})


def _softmax_axis0(self, dvalues):
    s = self.output
    self.dinputs = s * (dvalues - np.sum(s * dvalues, axis=0, keepdims=True))
    return self.dinputs


def _softmax_forward_axis0(self, inputs, training=True):
    self.inputs = inputs
    e = np.exp(inputs - inputs.max(axis=0, keepdims=True))
    self.output = e / e.sum(axis=0, keepdims=True)
    return self.output


def _mse_no_two(self, dvalues, y_true):
    self.dinputs = -(y_true - dvalues) / dvalues.size
    return self.dinputs


def _bce_sigmoid_again(self, dvalues, y_true):
    self.dinputs = (1 / (1 + np.exp(-dvalues)) - y_true) / dvalues.size
    return self.dinputs


def _bce_derivative_again(self, dvalues, y_true):
    self.dinputs = (dvalues - y_true) * dvalues * (1 - dvalues) / dvalues.size
    return self.dinputs


def _bias_l2_no_two(self, dvalues):
    solution("regularization").backward(self, dvalues)
    self.dbiases = self.dbiases - self.bias_regularizer_l2 * self.biases
    return self.dinputs


def _adam_t_from_zero(self, layer):
    self.iterations -= 1
    try:
        solution("adam").update_params(self, layer)
    finally:
        self.iterations += 1


def _decay_early(self):
    self.current_learning_rate = self.learning_rate / (1 + self.decay * (self.iterations + 1))


def _dropout_rate_kept(self, inputs, training=True):
    self.inputs = inputs
    if not training:
        self.binary_mask, self.output = None, inputs.copy()
        return self.output
    self.binary_mask = np.random.binomial(1, self.rate, size=inputs.shape) / self.rate
    self.output = inputs * self.binary_mask
    return self.output


MORE_MISTAKES = [
    pytest.param("softmax_backward", "backward", _softmax_axis0, "dinputs", "Σ_i s_i·d_i "
                 "summed over the batch (axis=0)", id="softmax-backward-axis0"),
    pytest.param("softmax_backward", "forward", _softmax_forward_axis0, "output",
                 "softmax over the batch (axis=0)", id="softmax-forward-axis0"),
    pytest.param("mse", "backward", _mse_no_two, "dinputs", "the square's factor 2 left out",
                 id="mse-no-factor-2"),
    pytest.param("sigmoid_bce", "backward", _bce_sigmoid_again, "dinputs", "σ applied again",
                 id="bce-sigmoid-of-the-output"),
    pytest.param("sigmoid_bce", "backward", _bce_derivative_again, "dinputs",
                 "multiplied by σ·(1 − σ) again", id="bce-derivative-twice"),
    pytest.param("regularization", "backward", _bias_l2_no_two, "dbiases",
                 "L2's factor 2 left out", id="bias-l2-no-factor-2"),
    pytest.param("adam", "update_params", _adam_t_from_zero, "weights after step 1",
                 "bias correction with t = iterations", id="adam-t-from-zero"),
    pytest.param("sgd", "pre_update_params", _decay_early, "current_learning_rate",
                 "decay one step early", id="sgd-decay-early"),
    pytest.param("dropout", "forward", _dropout_rate_kept, "output",
                 "rate taken as the fraction kept", id="dropout-rate-as-kept"),
]


@pytest.mark.parametrize(("name", "method", "body", "output", "mistake"), MORE_MISTAKES)
def test_more_mistakes_are_caught_and_named(name, method, body, output, mistake):
    result = check(name, _override(name, method, body))
    assert result.status == "failing" and result.output == output, str(result)
    assert mistake in (result.mistake or ""), str(result)
    assert f"common mistake: {result.mistake}" in str(result)


def test_the_worst_list_names_only_elements_that_differ_with_digits_that_differ():
    Adam = solution("adam")

    class EpsilonInside(Adam):  # ε inside the root: off in the 6th digit, in one element
        def update_params(self, layer):
            b1, b2, t = self.beta_1, self.beta_2, self.iterations + 1
            for name in layer.params:
                p, g = getattr(layer, name), getattr(layer, "d" + name)
                m, v = self.moments.setdefault((id(layer), name),
                                               (np.zeros_like(p), np.zeros_like(p)))
                m[...] = b1 * m + (1 - b1) * g
                v[...] = b2 * v + (1 - b2) * g ** 2
                p -= self.current_learning_rate * (m / (1 - b1 ** t)) / np.sqrt(
                    v / (1 - b2 ** t) + self.epsilon)
    text = str(check("adam", EpsilonInside))
    head = text.split("elements differ")[0].rsplit("\n", 1)[-1]
    differing = int(head.split()[0])
    listed = [line for line in text.splitlines() if line.strip().startswith("at [")]
    assert 1 <= len(listed) <= min(differing, 3), text
    for line in listed:  # each listed pair prints two different numbers
        expected, got = line.split("expected ")[1].split(", got ")
        assert expected != got, line


# -- hostile pass: files in every state read clearly -----------------------------------------

@pytest.mark.parametrize(("code", "status", "words"), [
    ("def broken(:\n", "error", "SyntaxError"),
    ("class MSE:\n    pass\n", "error", "defines no MeanSquaredError (it defines MSE)"),
    ("raise RuntimeError('boom')\n", "error", "RuntimeError: boom (mse.py, line 1)"),
    ("class MeanSquaredError:\n    def backward(self, d, y):\n        raise NotImplementedError\n",
     "not finished", "a part still raises NotImplementedError"),
])
def test_a_broken_file_reads_as_a_clear_state(tmp_path, code, status, words):
    (tmp_path / "mse.py").write_text(code)
    result = check_file(tmp_path, "mse")
    assert result.status == status and words in str(result), str(result)
    assert "frozen" not in str(result) and "Traceback" not in str(result)


def test_a_folder_named_like_the_file_is_not_read_as_not_started(tmp_path):
    (tmp_path / "mse.py").mkdir()
    result = check_file(tmp_path, "mse")
    assert result.status == "error" and "is not a file" in str(result)


def test_watch_checks_an_atomic_save_once_and_a_slow_save_only_when_done(tmp_path):
    import os

    start(tmp_path, "mse")
    seen, stop = [], threading.Event()
    thread = threading.Thread(target=watch, args=(tmp_path,),
                              kwargs={"interval": 0.3, "out": seen.append, "stop": stop})
    thread.start()
    try:
        time.sleep(0.5)
        text = (SOLUTIONS / "mse.py").read_text()
        for _ in range(3):  # saves in two writes, 0.1 s apart (less than a poll)
            with open(tmp_path / "mse.py", "w") as file:
                file.write(text[:30])
                file.flush()
                time.sleep(0.1)
                file.write(text[30:])
            time.sleep(0.05)
        time.sleep(1.0)
        os.remove(tmp_path / "mse.py")  # deleted and saved again (write temp + rename)
        time.sleep(0.3)
        (tmp_path / ".mse.py.tmp").write_text(text)
        os.replace(tmp_path / ".mse.py.tmp", tmp_path / "mse.py")
        deadline = time.monotonic() + 10
        while sum("mse: passing" in line for line in seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(5)
    checked = [line for line in seen if line.startswith("mse:")]
    assert [line.split("\n")[0][:12] for line in checked] == ["mse: passing"] * 2, seen


# -- hostile pass: grade ----------------------------------------------------------------------

GRADE_HOSTILE = {
    "binary": "import os, sys\nos.write(1, bytes(range(256)) * 64 + b'\\n')\n"
              "sys.stdout.write('\\x00\\udcff')\n",
    "closes": "import os\nos.close(1)\n",
    "straggler": "import os, time\nif os.fork() == 0:\n    os.close(1)\n"
                 "    open(os.environ['MARK'], 'w').write(str(os.getpid()))\n"
                 "    time.sleep(60)\n    os._exit(0)\n",
    "bigfile": "with open('big.bin', 'wb') as f:\n    for _ in range(12):\n"
               "        f.write(b'0' * 2 ** 23)\n",
    "forge": "print('0' * 32 + ' [\"mse\", \"passing\"]')\nimport os\nos._exit(0)\n",
}


def test_grade_survives_binary_output_stragglers_and_big_files(tmp_path, monkeypatch):
    import os

    from chainrule.exercises import _grade

    monkeypatch.setattr(_grade, "FILE_LIMIT", 32 * 1024 ** 2)
    mark = tmp_path / "straggler.pid"
    monkeypatch.setenv("MARK", str(mark))
    folders = []
    for kind, code in GRADE_HOSTILE.items():
        folder = tmp_path / kind
        folder.mkdir()
        (folder / "neuron.py").write_text(code + (SOLUTIONS / "neuron.py").read_text())
        (folder / "mse.py").write_text((SOLUTIONS / "mse.py").read_text().replace("-2", "2"))
        folders.append(folder)
    csv_path = tmp_path / "grades.csv"
    csv_path.write_text("the old table\n")
    table = exercises.grade(folders, csv_path=csv_path, time_limit=20, out=lambda line: None)
    assert table[str(tmp_path / "binary")]["neuron"] == "passing"  # its prints went nowhere
    assert table[str(tmp_path / "closes")]["neuron"] == "passing"
    assert table[str(tmp_path / "straggler")]["neuron"] == "passing"
    assert table[str(tmp_path / "bigfile")]["neuron"] == "error"  # 96 MiB > the 32 MiB limit
    assert table[str(tmp_path / "forge")]["neuron"] == "exited"
    for kind in GRADE_HOSTILE:  # a forged line did not pass mse; the real check failed it
        assert table[str(tmp_path / kind)]["mse"] == "failing", kind
    pid = int(mark.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if Path("/proc").is_dir():
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(
            f"/proc/{pid}/stat").read_text().split()[2], "the child outlived its worker"
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("learner,neuron") and len(lines) == 1 + len(folders)
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".grades.csv")]


def test_start_into_a_file_says_it_is_not_a_folder(tmp_path, capsys):
    (tmp_path / "notes").write_text("mine")
    assert main(["exercises", "start", "--dir", str(tmp_path / "notes")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert (tmp_path / "notes").read_text() == "mine"


def test_the_capstone_names_a_forward_that_returns_none():
    import chainrule

    Book = _dense_book_forward()
    assert check("dense_backward", Book).passed  # the values are right: the layer passes

    def build_model():
        model = chainrule.Model([Book(2, 8), solution("relu_backward")(), Book(8, 3),
                                 solution("softmax_backward")()])
        model.set(loss=chainrule.CategoricalCrossentropy(), optimizer=solution("adam")())
        return model
    result = check("spiral", build_model)
    assert result.status == "failing" and result.output == "model", str(result)
    assert "Book.forward returns None" in str(result) and "return self.output" in str(result)


# -- what the mutation run found unguarded -----------------------------------------------------


@pytest.mark.parametrize("name", ["cce_backward", "softmax_cce_backward", "dense_backward"])
def test_a_pass_names_every_case_it_ran(name):
    text = str(check_file(SOLUTIONS, name))
    cases = text.split("passing (", 1)[1].rstrip(")").split(": ", 1)
    count = int(cases[0].split()[0])
    assert count >= 3 and len(cases[1].split(", ")) >= count


def test_targets_given_as_class_indices_only_fail_on_the_one_hot_case(tmp_path):
    # A fused loss that misreads one-hot rows (their first column as the labels): the case
    # the check names is the one-hot one.
    source = (SOLUTIONS / "softmax_cce_backward.py").read_text()
    wrong = source.replace(
        "def backward(self, dvalues, y_true):",
        "def backward(self, dvalues, y_true):\n        if np.ndim(y_true) == 2:\n"
        "            y_true = y_true[:, 0].astype(int)", 1)
    assert wrong != source
    (tmp_path / "softmax_cce_backward.py").write_text(wrong)
    result = check_file(tmp_path, "softmax_cce_backward")
    assert not result.passed and "one-hot" in str(result), str(result)


def test_l2_without_its_factor_2_on_the_weights_is_named(tmp_path):
    source = (SOLUTIONS / "regularization.py").read_text()
    wrong = source.replace("self.dweights += 2 * self.weight_regularizer_l2 * self.weights",
                           "self.dweights += self.weight_regularizer_l2 * self.weights")
    assert wrong != source
    (tmp_path / "regularization.py").write_text(wrong)
    result = check_file(tmp_path, "regularization")
    assert not result.passed and "L2's factor 2 left out" in str(result), str(result)


def test_a_learners_file_may_use_dataclasses_with_postponed_annotations(tmp_path):
    # dataclasses look the module up in sys.modules: the runner registers it while importing.
    source = (SOLUTIONS / "dense_backward.py").read_text()
    (tmp_path / "dense_backward.py").write_text(
        "from __future__ import annotations\n\nfrom dataclasses import dataclass\n\n\n"
        "@dataclass\nclass Shape:\n    rows: int\n\n\n" + source)
    result = check_file(tmp_path, "dense_backward")
    assert result.passed, str(result)


def test_watch_on_a_folder_that_does_not_exist_is_a_usage_error(tmp_path, capsys):
    assert main(["exercises", "watch", "--dir", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err

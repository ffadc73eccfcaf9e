"""The checks: each exercise's cases, run against chainrule's own classes.

Each ``check_<name>(obj)`` runs the learner's class (or function) and the reference on
several cases — batch size 1, non-square shapes, float64, inputs at and near the ReLU kink,
large and tiny logits — and raises ``Wrong`` at the first difference, with what each known
mistake would have given on that case so the diagnosis can name it. It returns the names of
the cases that agreed. The references are chainrule's classes: no solution is written here.
"""

from __future__ import annotations

import numpy as np

from ..datasets import spiral_data
from ..inspection import explain
from ..nn import (
    CategoricalCrossentropy,
    Dense,
    Dropout,
    MeanSquaredError,
    ReLU,
    SigmoidBinaryCrossentropy,
    Softmax,
    SoftmaxCategoricalCrossentropy,
)
from ..optim import SGD, Adam
from ._diagnosis import Wrong, as_array, compare, unchanged

SEED = 20


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng([SEED, *name.encode()])


def _forward(layer, *args, **kwargs):
    """The layer's output: what forward returns, or, as in the book, ``layer.output`` when
    forward only sets it (the values are checked here; the capstone checks the return)."""
    returned = layer.forward(*args, **kwargs)
    return returned if returned is not None else getattr(layer, "output", None)


# -- neuron -------------------------------------------------------------------------------

def check_neuron(neuron) -> list[str]:
    rng = _rng("neuron")
    cases = [("the seed's neuron", [1.0, -2.0, 3.0], [-3.0, -1.0, 2.0], 1.0, 0.0),
             ("a neuron whose ReLU is off (z < 0)", [1.0, 2.0, 3.0], [-1.0, -1.0, -1.0], 0.5, 1.0),
             ("five inputs, random", *(rng.normal(size=5) for _ in range(2)), 0.3, -0.2)]
    names = []
    for case, x, w, b, target in cases:
        x, w = np.asarray(x, float), np.asarray(w, float)
        dense, relu, loss = Dense(len(x), 1, dtype=np.float64), ReLU(), MeanSquaredError()
        dense.set_parameters(w.reshape(-1, 1), [[b]])
        a = relu.forward(dense.forward(x.reshape(1, -1)))
        expected_loss = loss.calculate(a, [[target]])
        dense.backward(relu.backward(loss.backward(a, np.array([[target]]))))
        z = float(dense.output[0, 0])
        got = neuron(x.copy(), w.copy(), b, target)
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            raise Wrong("return value", case, "neuron must return (loss, dweights, dbias); "
                        f"got {got!r}")
        step = 1.0 if z > 0 else 0.0
        upstream = 2 * (max(z, 0) - target)
        compare("loss", got[0], expected_loss, case=case, rule="L = (ReLU(w·x + b) − target)²")
        chain = _neuron_chain(x, z, upstream, step)
        compare("dweights", got[1], dense.dweights[:, 0], case=case, chain=chain,
                rule=f"∂L/∂w_i = 2(a − target)·ReLU'(z)·x_i; {relu.local_rule()}",
                mistakes=[("the square's factor 2 left out", dense.dweights[:, 0] / 2),
                          ("ReLU's derivative left out (∂a/∂z taken as 1)", upstream * x)])
        compare("dbias", got[2], dense.dbiases[0, 0], case=case,
                rule="∂L/∂b = 2(a − target)·ReLU'(z)·1",
                mistakes=[("the square's factor 2 left out", dense.dbiases[0, 0] / 2),
                          ("ReLU's derivative left out (∂a/∂z taken as 1)", upstream)])
        names.append(case)
    return names


def _neuron_chain(x, z, upstream, step):
    def chain(index, got):
        i = index[0]
        return [f"∂L/∂a = 2(a − target) = {upstream:.6g}",
                f"× ∂a/∂z = ReLU'({z:.6g}) = {step:g}",
                f"× ∂z/∂w{i} = x{i} = {x[i]:.6g}",
                f"= ∂L/∂w{i} = {upstream * step * x[i]:.6g}; yours: {got:.6g}"]
    return chain


# -- layers -------------------------------------------------------------------------------

def _dense_case(rng, n, n_inputs, n_neurons, **regularizers):
    reference = Dense(n_inputs, n_neurons, dtype=np.float64, **regularizers)
    reference.set_parameters(rng.normal(size=(n_inputs, n_neurons)),
                             rng.normal(size=(1, n_neurons)))
    X, y = rng.normal(size=(n, n_inputs)), rng.normal(size=(n, n_neurons))
    return reference, X, y


DENSE_CASES = [("batch size 1, 3 inputs → 2 neurons", 1, 3, 2),
               ("non-square: 5 samples, 4 inputs → 3 neurons", 5, 4, 3),
               ("square: 4 samples, 4 inputs → 4 neurons", 4, 4, 4)]


def _learner_dense(cls, reference, **kwargs):
    layer = cls(reference.n_inputs, reference.n_neurons, **kwargs)
    layer.weights = reference.weights.copy()
    layer.biases = reference.biases.copy()
    return layer


def _run_dense(layer, reference, X, y, case):
    """Forward and backward through the learner's layer and the reference, from the
    gradient of a mean squared error on random targets (so ``explain`` can walk it)."""
    compare("output", _forward(layer, X.copy()), reference.forward(X), case=case,
            rule="Z = X·W + B")
    dvalues = MeanSquaredError().backward(reference.output, y)
    mine = dvalues.copy()
    layer.backward(mine)
    unchanged(dvalues, mine, case=case)
    reference.backward(dvalues)
    return dvalues


def _explained(reference, X, y, param):
    def chain(index, got):
        index = index if param == "weights" else (0, index[1])
        text = str(explain([reference], X, y, layer=0, param=param, index=index,
                           loss=MeanSquaredError()))
        lines = [line for line in text.splitlines() if line.strip()][:-1]
        return [*lines, f"yours: d{param}{list(index)} = {got:.6g}"]
    return chain


def check_dense_backward(cls) -> list[str]:
    rng, names = _rng("dense_backward"), []
    for case, n, n_inputs, n_neurons in DENSE_CASES:
        reference, X, y = _dense_case(rng, n, n_inputs, n_neurons)
        layer = _learner_dense(cls, reference)
        dvalues = _run_dense(layer, reference, X, y, case)
        _compare_dense_gradients(layer, reference, X, y, dvalues, case)
        names.append(case)
    return names


def _compare_dense_gradients(layer, reference, X, y, dvalues, case, rule_extra=""):
    n = len(X)
    compare("dweights", getattr(layer, "dweights", None), reference.dweights, case=case,
            rule="Dense: ∂z_j/∂W[i, j] = x_i, so ∂L/∂W = Xᵀ·∂L/∂Z" + rule_extra,
            chain=_explained(reference, X, y, "weights"),
            mistakes=[("transposed product (dvalues.T @ inputs)", dvalues.T @ X)])
    compare("dbiases", getattr(layer, "dbiases", None), reference.dbiases, case=case,
            rule="Dense: ∂z_j/∂b_j = 1, so ∂L/∂B = Σ over the samples of ∂L/∂Z" + rule_extra,
            chain=_explained(reference, X, y, "biases"),
            mistakes=[("dbiases not summed over the batch", dvalues),
                      ("dbiases not summed over the batch (summed over the neurons)",
                       dvalues.sum(axis=1, keepdims=True)),
                      ("1/n applied twice (the mean over the batch; the loss already "
                       "divided by n)", reference.dbiases / n)])
    compare("dinputs", getattr(layer, "dinputs", None), reference.dinputs, case=case,
            rule=reference.local_rule(), chain=_dense_inputs_chain(reference.weights, dvalues),
            mistakes=[("transposed product (dvalues @ weights)",
                       dvalues @ reference.weights if reference.weights.shape[0]
                       == reference.weights.shape[1] else np.zeros(0)),
                      ("transposed product (weights @ dvalues.T)", reference.weights @ dvalues.T)])


def _dense_inputs_chain(weights, dvalues):
    def chain(index, got):
        s, i = index
        terms = " + ".join(f"{dvalues[s, j]:.4g}·{weights[i, j]:.4g}"
                           for j in range(weights.shape[1]))
        return [f"∂L/∂x[{s}, {i}] = Σ_j ∂L/∂z[{s}, j]·W[{i}, j] = {terms}",
                f"= {dvalues[s] @ weights[i]:.6g}; yours: {got:.6g}"]
    return chain


def check_relu_backward(cls) -> list[str]:
    rng, names = _rng("relu_backward"), []
    kink = np.array([[0.0, 1e-12, -1e-12, 2.0, -3.0, 0.5]])
    cases = [("batch size 1, at and near the kink (0, ±1e-12)", kink),
             ("non-square: 4 samples × 5 units", rng.normal(size=(4, 5))),
             ("a zero row and a positive row", np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]))]
    for case, inputs in cases:
        layer, reference = cls(), ReLU()
        compare("output", _forward(layer, inputs.copy()), reference.forward(inputs),
                case=case, rule="a = max(0, z)")
        # Upstream gradients of both signs, so a mask taken from them shows.
        dvalues = rng.normal(size=inputs.shape) + np.where(inputs > 0, -0.5, 0.5)
        mine = dvalues.copy()
        layer.backward(mine)
        unchanged(dvalues, mine, case=case)
        reference.backward(dvalues)

        def chain(index, got, inputs=inputs, dvalues=dvalues):
            z, d = inputs[index], dvalues[index]
            factor = "—" if d == 0 else f"{got / d:.6g}"
            return [f"∂L/∂a{list(index)} = {d:.6g} (dvalues, from the layer above)",
                    f"× ∂a/∂z at z = {z:.6g}: {1.0 if z > 0 else 0.0:g}",
                    f"= ∂L/∂z{list(index)} = {d * (z > 0):.6g}; yours: {got:.6g} "
                    f"(your factor: {factor})"]
        compare("dinputs", getattr(layer, "dinputs", None), reference.dinputs, case=case,
                rule=reference.local_rule(), chain=chain,
                mistakes=[("ReLU mask from the gradient (dvalues > 0) instead of the inputs",
                           dvalues * (dvalues > 0)),
                          ("the kink: ∂ReLU/∂z at z = 0 is 0 here, as in the book (z ≥ 0 "
                           "was used)", dvalues * (inputs >= 0))])
        names.append(case)
    return names


def check_softmax_backward(cls) -> list[str]:
    rng, names = _rng("softmax_backward"), []
    cases = [("batch size 1, 3 classes", rng.normal(size=(1, 3))),
             ("non-square: 4 samples × 3 classes", rng.normal(size=(4, 3))),
             ("large logits (±1000)", np.array([[1000.0, 999.0, -1000.0], [5.0, 1000.0, 2.0]])),
             ("tiny logits (1e-8)", 1e-8 * rng.normal(size=(3, 5)))]
    for case, inputs in cases:
        layer, reference = cls(), Softmax()
        shifted = np.exp(inputs - inputs.max(axis=0, keepdims=True))
        compare("output", _forward(layer, inputs.copy()), reference.forward(inputs), case=case,
                rule="s_i = e^{z_i} / Σ_k e^{z_k}, over each sample's classes (axis=1)",
                mistakes=[("softmax over the batch (axis=0) instead of over each sample's "
                           "classes (axis=1)", shifted / shifted.sum(axis=0, keepdims=True))])
        dvalues = rng.normal(size=inputs.shape)
        mine = dvalues.copy()
        layer.backward(mine)
        unchanged(dvalues, mine, case=case)
        reference.backward(dvalues)
        s = reference.output
        flat = s.reshape(-1, 1)
        whole_batch = ((np.diagflat(flat) - flat @ flat.T) @ dvalues.reshape(-1)).reshape(s.shape)
        jacobians = reference.jacobian(inputs)

        def chain(index, got, jacobians=jacobians, dvalues=dvalues):
            sample, j = index
            terms = " + ".join(f"{dvalues[sample, i]:.4g}·{jacobians[sample, i, j]:.4g}"
                               for i in range(dvalues.shape[1]))
            return [f"sample {sample}'s Jacobian column {j}: ∂s_i/∂z_{j} = s_i·(δ_i{j} − s_{j})",
                    f"∂L/∂z[{sample}, {j}] = Σ_i ∂L/∂s_i·∂s_i/∂z_{j} = {terms}",
                    f"= {dvalues[sample] @ jacobians[sample, :, j]:.6g}; yours: {got:.6g}"]
        compare("dinputs", getattr(layer, "dinputs", None), reference.dinputs, case=case,
                rule=reference.local_rule(), chain=chain,
                mistakes=[("softmax Jacobian built for the whole batch instead of per sample",
                           whole_batch),
                          ("only the Jacobian's diagonal s·(1 − s)", dvalues * s * (1 - s)),
                          ("Σ_i s_i·d_i summed over the batch (axis=0) instead of over each "
                           "sample's classes (axis=1)",
                           s * (dvalues - np.sum(s * dvalues, axis=0, keepdims=True)))])
        names.append(case)
    return names


# -- losses -------------------------------------------------------------------------------

def _labels(rng, n, k):
    return rng.integers(0, k, size=n)


def check_cce_backward(cls) -> list[str]:
    rng, names = _rng("cce_backward"), []
    for case, n, k, onehot in [("batch size 1, class indices", 1, 3, False),
                               ("5 samples × 3 classes, class indices", 5, 3, False),
                               ("4 samples × 4 classes, one-hot rows", 4, 4, True)]:
        y = _labels(rng, n, k)
        y_true = np.eye(k)[y] if onehot else y
        predictions = Softmax().forward(rng.normal(size=(n, k)))
        reference = CategoricalCrossentropy()
        reference.backward(predictions, y_true)
        mine = predictions.copy()
        layer = cls()
        layer.backward(mine, y_true.copy())
        unchanged(predictions, mine, case=case)
        _compare_loss_gradient(layer, reference, case, n, n, k)
        names.append(case)
    return names


def _compare_loss_gradient(layer, reference, case, n, divisor, k, extra=()):
    expected = reference.dinputs
    mistakes = [*extra, ("1/n not applied (the gradient of the summed loss)", expected * n),
                ("1/n applied twice", expected / n)]
    if divisor != n:
        mistakes += [(f"divided by n_samples only, not by n_outputs = {k}", expected * k),
                     ("1/n not applied (the gradient of the summed loss)", expected * n * k)]
    compare("dinputs", getattr(layer, "dinputs", None), expected, case=case,
            rule=reference.local_rule(),
            mistakes=[*mistakes, ("the gradient's sign flipped", -expected)])


def check_softmax_cce_backward(cls) -> list[str]:
    rng, names = _rng("softmax_cce_backward"), []
    for case, n, k, onehot in [("batch size 1, class indices", 1, 3, False),
                               ("6 samples × 3 classes, class indices", 6, 3, False),
                               ("3 samples × 4 classes, one-hot rows", 3, 4, True)]:
        y = _labels(rng, n, k)
        y_true = np.eye(k)[y] if onehot else y
        logits = rng.normal(size=(n, k))
        reference = SoftmaxCategoricalCrossentropy()
        layer = cls()
        compare("loss", layer.forward(logits.copy(), y_true.copy()),
                reference.forward(logits, y_true), case=case)
        probabilities = reference.output.copy()
        mine = probabilities.copy()
        layer.backward(mine, y_true.copy())
        unchanged(probabilities, mine, case=case)
        reference.backward(probabilities, y_true)
        _compare_loss_gradient(layer, reference, case, n, n, k)
        names.append(case)
    return names


def check_sigmoid_bce(cls) -> list[str]:
    rng, names = _rng("sigmoid_bce"), []
    for case, n, k in [("batch size 1, one output", 1, 1), ("5 samples × 2 outputs", 5, 2),
                       ("4 samples × 3 outputs, logits up to ±30", 4, 3)]:
        logits = rng.normal(size=(n, k)) * (15 if k == 3 else 1)
        y_true = rng.integers(0, 2, size=(n, k)).astype(float)
        reference, layer = SigmoidBinaryCrossentropy(), cls()
        compare("loss", layer.forward(logits.copy(), y_true.copy()),
                reference.forward(logits, y_true), case=case,
                rule="mean of −(y·log σ + (1 − y)·log(1 − σ)), σ clipped to [1e-7, 1 − 1e-7]")
        compare("output", getattr(layer, "output", None), reference.output, case=case,
                rule=reference.activation.local_rule())
        sigma = reference.output.copy()
        mine = sigma.copy()
        layer.backward(mine, y_true.copy())
        unchanged(sigma, mine, case=case)
        reference.backward(sigma, y_true)
        # dvalues are σ already; the fused gradient holds the sigmoid's derivative
        _compare_loss_gradient(layer, reference, case, n, n * k, k, extra=[
            ("σ applied again: dvalues are the sigmoid's outputs σ, not the logits",
             (1 / (1 + np.exp(-sigma)) - y_true) / (n * k)),
            ("multiplied by σ·(1 − σ) again: the fused gradient σ − y already holds the "
             "sigmoid's derivative", reference.dinputs * sigma * (1 - sigma))])
        names.append(case)
    return names


def check_mse(cls) -> list[str]:
    rng, names = _rng("mse"), []
    for case, n, k in [("batch size 1, one output", 1, 1), ("6 samples × 1 output", 6, 1),
                       ("4 samples × 3 outputs", 4, 3)]:
        predictions, y_true = rng.normal(size=(n, k)), rng.normal(size=(n, k))
        reference, layer = MeanSquaredError(), cls()
        reference.backward(predictions, y_true)
        mine = predictions.copy()
        layer.backward(mine, y_true.copy())
        unchanged(predictions, mine, case=case)
        _compare_loss_gradient(layer, reference, case, n, n * k, k, extra=[
            ("the square's factor 2 left out", reference.dinputs / 2)])
        names.append(case)
    return names


# -- regularization and dropout -----------------------------------------------------------

def check_regularization(cls) -> list[str]:
    rng, names = _rng("regularization"), []
    strengths = [("L1 on the weights, some exactly 0", dict(weight_regularizer_l1=0.1)),
                 ("L2 on the weights and biases", dict(weight_regularizer_l2=0.05,
                                                       bias_regularizer_l2=0.02)),
                 ("all four", dict(weight_regularizer_l1=0.01, weight_regularizer_l2=0.2,
                                   bias_regularizer_l1=0.03, bias_regularizer_l2=0.04))]
    for case, regularizers in strengths:
        reference, X, y = _dense_case(rng, 4, 3, 2, **regularizers)
        reference.weights[0, :] = 0.0  # where sign(w) is not np.sign(w)
        layer = _learner_dense(cls, reference, **regularizers)
        compare("regularization_loss", layer.regularization_loss(),
                reference.regularization_loss(), case=case,
                rule="λ₁·Σ|w| + λ₂·Σw² (and the same for the biases)")
        dvalues = _run_dense(layer, reference, X, y, case)
        plain = X.T @ dvalues
        weights = reference.weights
        l1, l2 = reference.weight_regularizer_l1, reference.weight_regularizer_l2
        compare("dweights", getattr(layer, "dweights", None), reference.dweights, case=case,
                rule="∂L/∂w += λ₁·sign(w) (+1 at w = 0) + 2λ₂·w",
                chain=_explained(reference, X, y, "weights"),
                mistakes=[("np.sign(0) is 0: the book takes +1 at w = 0",
                           plain + l1 * np.sign(weights) + 2 * l2 * weights),
                          ("L2's factor 2 left out", plain + l1 * np.where(weights < 0, -1, 1)
                           + l2 * weights),
                          ("the regularization gradients left out", plain)])
        compare("dbiases", getattr(layer, "dbiases", None), reference.dbiases, case=case,
                rule="∂L/∂b += λ₁·sign(b) (+1 at b = 0) + 2λ₂·b",
                chain=_explained(reference, X, y, "biases"),
                mistakes=[("the regularization gradients left out",
                           dvalues.sum(axis=0, keepdims=True)),
                          ("L2's factor 2 left out", reference.dbiases
                           - reference.bias_regularizer_l2 * reference.biases)])
        compare("dinputs", getattr(layer, "dinputs", None), reference.dinputs, case=case,
                rule=reference.local_rule())
        names.append(case)
    return names


def check_dropout(cls) -> list[str]:
    rng, names = _rng("dropout"), []
    for case, rate, shape in [("rate 0.2, 200 × 50 inputs", 0.2, (200, 50)),
                              ("rate 0.5, batch size 1", 0.5, (1, 4000))]:
        inputs = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1, 1], size=shape)
        layer, reference = cls(rate), Dropout(rate)
        keep = 1 - rate
        output = as_array(_forward(layer, inputs.copy()))
        if output is None:
            raise Wrong("output", case, f"forward gave no array of numbers — case: {case}")
        if output.shape != inputs.shape:
            raise Wrong("output", case, f"output has shape {output.shape}; expected "
                        f"{inputs.shape} — case: {case}")
        mask = output / inputs
        kept = mask != 0
        if np.allclose(mask[kept], 1.0):
            raise Wrong("output", case, f"the kept inputs are not scaled by 1/(1 − rate) = "
                        f"{1 / keep:g} — case: {case}\nthe rule: {reference.local_rule()}",
                        mistake="mask not scaled by 1/(1 − rate)")
        if not np.allclose(mask[kept], 1 / keep):
            swapped = np.allclose(mask[kept], 1 / rate)
            raise Wrong("output", case, f"output / inputs should be 0 or 1/(1 − rate) = "
                        f"{1 / keep:g}; got values such as "
                        f"{np.unique(np.round(mask[kept], 6))[:3]} — case: {case}\n"
                        f"the rule: {reference.local_rule()}"
                        + ("\nthis is a common mistake: rate taken as the fraction kept"
                           if swapped else ""),
                        mistake="rate taken as the fraction kept" if swapped else None)
        fraction = kept.mean()
        spread = 5 * np.sqrt(keep * rate / inputs.size)
        if abs(fraction - keep) > spread:
            mistake = "rate taken as the fraction kept" if abs(fraction - rate) < spread else None
            raise Wrong("output", case, f"{fraction:.3f} of the inputs were kept; with rate "
                        f"{rate} about {keep:.3f} should be — case: {case}", mistake=mistake)
        dvalues = rng.normal(size=shape)
        mine = dvalues.copy()
        layer.backward(mine)
        unchanged(dvalues, mine, case=case)
        compare("dinputs", getattr(layer, "dinputs", None), dvalues * mask, case=case,
                rule=reference.local_rule() + " — the forward pass's mask",
                mistakes=[("a new mask drawn in backward", np.zeros(0))])
        inference = _forward(cls(rate), inputs.copy(), training=False)
        plain = as_array(inference)
        compare("output with training=False", inference, inputs, case=case,
                rule="inference is the identity: the scaling was done while training",
                mistakes=[("dropping at inference", plain)] if (
                    plain is not None and plain.shape == inputs.shape
                    and not np.allclose(plain, inputs)) else ())
        names.append(case)
    return names


# -- optimizers ---------------------------------------------------------------------------

def _trajectory(optimizer, layer, gradients):
    """Parameters after each step (and the learning rate each step used)."""
    steps = []
    for dweights, dbiases in gradients:
        layer.dweights, layer.dbiases = dweights.copy(), dbiases.copy()
        optimizer.pre_update_params()
        rate = float(optimizer.current_learning_rate)
        optimizer.update_params(layer)
        optimizer.post_update_params()
        steps.append((rate, layer.weights.copy(), layer.biases.copy()))
    return steps


def _simulate(start, gradients, rates, update):
    params, state, out = [p.copy() for p in start], [{}, {}], []
    for t, (grads, rate) in enumerate(zip(gradients, rates, strict=True), start=1):
        for p, g, s in zip(params, grads, state, strict=True):
            update(p, g, s, rate, t)
        out.append([p.copy() for p in params])
    return out


def _check_optimizer(cls, name, reference_cls, settings, variants) -> list[str]:
    rng, names = _rng(name), []
    for case, kwargs in settings:
        base, _, _ = _dense_case(rng, 1, 3, 2)
        gradients = [(rng.normal(size=(3, 2)), rng.normal(size=(1, 2))) for _ in range(6)]
        layer, reference_layer = (Dense(3, 2, dtype=np.float64) for _ in range(2))
        layer.set_parameters(base.weights, base.biases)
        reference_layer.set_parameters(base.weights, base.biases)
        start = (base.weights.copy(), base.biases.copy())
        expected = _trajectory(reference_cls(**kwargs), reference_layer, gradients)
        got = _trajectory(cls(**kwargs), layer, gradients)
        rates = [rate for rate, _, _ in expected]
        simulated = {label: _simulate(start, gradients, rates, update(**kwargs))
                     for label, update in variants}
        for t, ((rate, w, b), (got_rate, got_w, got_b)) in enumerate(
                zip(expected, got, strict=True)):
            step = f"{case}, step {t + 1}"
            decay = kwargs.get("decay", 0.0)
            compare("current_learning_rate", got_rate, rate, case=step,
                    rule="learning_rate · 1 / (1 + decay · iterations)",
                    mistakes=[("decay not applied", kwargs.get("learning_rate", 1.0)),
                              ("decay one step early (1 + decay · (iterations + 1))",
                               rate * (1 + decay * t) / (1 + decay * (t + 1)))])
            for param, got_value, value, k in (("weights", got_w, w, 0), ("biases", got_b, b, 1)):
                compare(f"{param} after step {t + 1}", got_value, value, case=step,
                        rule=_OPTIMIZER_RULES[name],
                        mistakes=[(label, sim[t][k]) for label, sim in simulated.items()])
        names.append(case)
    return names


_OPTIMIZER_RULES = {
    "sgd": "u ← momentum·u − lr·g; θ ← θ + u",
    "adam": "m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; θ ← θ − lr·m̂/(√v̂ + ε), "
            "m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)",
}


def _sgd_variant(sign_momentum, sign_step):
    def make(learning_rate=1.0, decay=0.0, momentum=0.0):
        def update(p, g, s, rate, t):
            u = s.setdefault("u", np.zeros_like(p))
            u[...] = sign_momentum * momentum * u + sign_step * rate * g
            p += u
        return update
    return make


def check_sgd(cls) -> list[str]:
    settings = [("plain SGD, lr 0.1", dict(learning_rate=0.1)),
                ("decay 0.1", dict(learning_rate=0.5, decay=0.1)),
                ("momentum 0.9, decay 0.01", dict(learning_rate=0.1, decay=0.01, momentum=0.9))]
    variants = [("momentum applied with the wrong sign (u ← −momentum·u − lr·g)",
                 _sgd_variant(-1, -1)),
                ("the step climbs the gradient (θ ← θ + lr·g)", _sgd_variant(1, 1))]
    return _check_optimizer(cls, "sgd", SGD, settings, variants)


def _adam_variant(correct: bool, shift: int = 0):
    def make(learning_rate=0.001, decay=0.0, epsilon=1e-7, beta_1=0.9, beta_2=0.999):
        def update(p, g, s, rate, t):
            m = s.setdefault("m", np.zeros_like(p))
            v = s.setdefault("v", np.zeros_like(p))
            m[...] = beta_1 * m + (1 - beta_1) * g
            v[...] = beta_2 * v + (1 - beta_2) * g ** 2
            m_hat = m / (1 - beta_1 ** (t + shift)) if correct else m
            v_hat = v / (1 - beta_2 ** (t + shift)) if correct else v
            p -= rate * m_hat / (np.sqrt(v_hat) + epsilon)
        return update
    return make


def check_adam(cls) -> list[str]:
    settings = [("Adam's defaults", {}),
                ("lr 0.05, decay 1e-3", dict(learning_rate=0.05, decay=1e-3)),
                ("β₁ 0.5, β₂ 0.9", dict(learning_rate=0.01, beta_1=0.5, beta_2=0.9))]
    variants = [("Adam without bias correction", _adam_variant(False)),
                ("bias correction with t = iterations (0 at the first step): t is "
                 "iterations + 1", _adam_variant(True, shift=-1))]
    return _check_optimizer(cls, "adam", Adam, settings, variants)


# -- the capstone -------------------------------------------------------------------------

MAX_EPOCHS = 10_000
TARGET = 0.9


def check_spiral(build_model) -> list[str]:
    epochs = build_model.__globals__.get("EPOCHS", MAX_EPOCHS) if hasattr(
        build_model, "__globals__") else MAX_EPOCHS
    case = f"300 spiral points, {epochs} epochs"
    if not isinstance(epochs, int) or not 1 <= epochs <= MAX_EPOCHS:
        raise Wrong("EPOCHS", case, f"EPOCHS must be a whole number from 1 to {MAX_EPOCHS}; "
                    f"got {epochs!r}")
    np.random.seed(0)
    model = build_model()
    borrowed = [type(part).__name__ for part in [*model.layers, model.optimizer]
                if type(part).__module__.startswith("chainrule.")]
    if borrowed:
        raise Wrong("model", case, f"these are chainrule's classes, not yours: {borrowed}; "
                    "import your own from your exercise files")
    X, y = spiral_data(100, 3, rng=0)
    _probe_returns(model.layers, X[:4], case)
    model.train(X, y, epochs=epochs, print_every=None, progress=False)
    accuracy = model.evaluate(X, y, verbose=False)["accuracy"]
    if accuracy < TARGET:
        raise Wrong("accuracy", case, f"training accuracy {accuracy:.3f}; the capstone wants "
                    f"≥ {TARGET} — case: {case}\ncheck every exercise it uses passes; then try "
                    "more epochs, a wider layer or Adam with learning_rate=0.05")
    return [f"{case}: accuracy {accuracy:.3f}"]


def _probe_returns(layers, X, case) -> None:
    """chainrule.Model passes what forward and backward *return* to the next layer (the
    layer checks accept a forward that only sets ``output``, as the book's does): say so
    by name before training, not as a TypeError deep inside it."""
    values = X
    for layer in layers:
        returned = layer.forward(values, training=True)
        if returned is None:
            raise Wrong("model", case, f"{type(layer).__name__}.forward returns None — case: "
                        f"{case}\nchainrule.Model passes what forward returns to the next layer:"
                        " end forward with return self.output")
        values = returned
    dvalues = np.full(np.shape(values), 1.0 / np.size(values))
    for layer in reversed(layers):
        returned = layer.backward(dvalues)
        if returned is None:
            raise Wrong("model", case, f"{type(layer).__name__}.backward returns None — case: "
                        f"{case}\nchainrule.Model passes what backward returns to the layer "
                        "below: end backward with return self.dinputs")
        dvalues = returned

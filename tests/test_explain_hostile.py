"""explain tried as a hostile user would: it must leave the model exactly as it found it,
and its numerical check must differentiate the function backward differentiates, however
saturated the model (float32 and float64)."""

import copy

import numpy as np
import pytest

import chainrule as cr
import chainrule.nnfs

KINDS = {  # one hidden "layer kind" each, between Dense layers
    "relu": lambda: [cr.ReLU()],
    "leaky": lambda: [cr.LeakyReLU(0.1)],
    "sigmoid": lambda: [cr.Sigmoid()],
    "tanh": lambda: [cr.Tanh()],
    "linear": lambda: [cr.Linear()],
    "dropout-rng": lambda: [cr.ReLU(), cr.Dropout(0.3, rng=4)],
    "dropout-global": lambda: [cr.Tanh(), cr.Dropout(0.3)],  # the book's global-state mask
}
HEADS = {
    "softmax-cce": (cr.Softmax, cr.CategoricalCrossentropy),
    "sigmoid-bce": (cr.Sigmoid, cr.BinaryCrossentropy),
    "linear-mse": (cr.Linear, cr.MeanSquaredError),
}


def data(head, n=40):
    rng = np.random.default_rng(1)
    X = rng.normal(scale=3.0, size=(n, 2)) + 100.0  # far from 0: Normalization matters
    if head == "softmax-cce":
        return X, rng.integers(0, 3, n)
    if head == "sigmoid-bce":
        return X, rng.integers(0, 2, (n, 3)).astype(float)
    return X, rng.normal(size=(n, 3))


def build(kind, head, X):
    last, loss = HEADS[head]
    layers = [cr.Normalization().adapt(X), cr.Dense(2, 8, init="he", rng=0,
                                                    weight_regularizer_l2=1e-3),
              *KINDS[kind](), cr.Dense(8, 3, rng=1), last()]
    model = cr.Model(layers)
    model.set(loss=loss(), optimizer=cr.Adam(0.01))
    return model


def everything(model):
    """What a pass or an optimizer can change, as plain values: every array attribute of
    every layer, loss and metric (with its identity), generator states, optimizer state,
    NumPy's global stream."""
    parts = {f"layers[{i}]": layer for i, layer in enumerate(model.layers)}
    parts.update(loss=model.loss, fused=model.fused_loss, accuracy=model.accuracy,
                 optimizer=model.optimizer)
    state = {"global": np.random.get_state()[1].tolist(), "epoch": model.epoch}
    for label, part in parts.items():
        for name, value in (vars(part) if part is not None else {}).items():
            key = f"{label}.{name}"
            if isinstance(value, np.ndarray):
                state[key] = (id(value), value.dtype.str, value.tobytes())
            elif isinstance(value, np.random.Generator):
                state[key] = str(value.bit_generator.state)
            elif isinstance(value, dict):
                state[key] = sorted(map(str, value))
            elif isinstance(value, (int, float, str, bool, type(None))):
                state[key] = value
    return state


@pytest.mark.parametrize("head", list(HEADS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_train_explain_train_is_train_train_bit_for_bit(kind, head):
    X, y = data(head)
    np.random.seed(7)
    plain = build(kind, head, X)
    plain.train(X, y, epochs=3, batch_size=16, rng=2, print_every=None, progress=False)
    plain.train(X, y, epochs=3, batch_size=16, print_every=None, progress=False)
    expected = (plain.get_parameters(), dict(plain.history), np.random.get_state()[1].copy())

    np.random.seed(7)
    model = build(kind, head, X)
    model.train(X, y, epochs=3, batch_size=16, rng=2, print_every=None, progress=False)
    before = everything(model)
    for k in (1, len(model.layers) - 2):
        cr.explain(model, X[:10], y[:10], layer=k, index=(0, 1))
    assert everything(model) == before
    model.train(X, y, epochs=3, batch_size=16, print_every=None, progress=False)
    for a, b in zip(model.get_parameters(), expected[0], strict=True):
        for p, q in zip(a, b, strict=True):
            np.testing.assert_array_equal(p, q)
    assert model.history == expected[1]
    np.testing.assert_array_equal(np.random.get_state()[1], expected[2])


def test_explaining_from_a_callback_mid_training_changes_nothing():
    """While the Model trains, its layers write into reused buffers; explain must not."""
    X, y = data("softmax-cce")
    seen = []

    class Explainer(cr.Callback):
        def on_batch_end(self, step, logs=None):
            seen.append(cr.explain(self.model, X[:5], y[:5], layer=1, index=(1, 2)).value)

    runs = []
    for callbacks in ([], [Explainer()]):
        np.random.seed(3)
        model = build("dropout-global", "softmax-cce", X)
        model.train(X, y, epochs=4, batch_size=8, rng=1, print_every=None, progress=False,
                    callbacks=callbacks)
        runs.append(model.get_parameters())
    assert len(seen) == 4 * 5 and all(np.isfinite(seen))
    for a, b in zip(*runs, strict=True):
        for p, q in zip(a, b, strict=True):
            np.testing.assert_array_equal(p, q)


# -- the numerical check differentiates what backward differentiates -------------------------


def saturated(head, dtype, scale=60.0):
    """A network whose last layer is so large that some samples are certain, rightly or
    wrongly: p = 0 or 1 in float32, and far beyond the loss's clip at 1e-7 in float64."""
    rng = np.random.default_rng(11)
    last, loss = HEADS[head]
    first = cr.Dense(2, 6, init="glorot", rng=2, dtype=dtype)
    out = cr.Dense(6, 3, init="glorot", rng=3, dtype=dtype, weight_regularizer_l2=1e-3)
    out.weights *= scale
    model = cr.Model([first, cr.Tanh(), out, last()])
    model.set(loss=loss(), optimizer=cr.SGD(0.1))
    X = rng.normal(size=(30, 2))
    if head == "softmax-cce":
        y = rng.integers(0, 3, 30)
    else:
        y = rng.integers(0, 2, (30, 3)).astype(float)
    return model, X, y


def true_gradient(model, X, y, k, param, index):
    """∂L/∂θ of the unclipped loss, in float64 by autograd-free calculus: for softmax +
    cross-entropy and sigmoid + binary cross-entropy, ∂L/∂z = (p − y)/n (per output for
    the binary one), chained back through the Dense layers by hand."""
    w1, b1 = (np.asarray(a, np.float64) for a in model.layers[0].get_params()) \
        if hasattr(model.layers[0], "get_params") else \
        (model.layers[0].weights.astype(np.float64), model.layers[0].biases.astype(np.float64))
    w2 = model.layers[2].weights.astype(np.float64)
    b2 = model.layers[2].biases.astype(np.float64)
    h = np.tanh(X @ w1 + b1)
    z = h @ w2 + b2
    n = len(X)
    if isinstance(model.loss, cr.CategoricalCrossentropy):
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        dz = (p - np.eye(3)[y]) / n
    else:
        p = 1 / (1 + np.exp(-z))
        dz = (p - y) / (n * 3)
    grads = {2: {"weights": h.T @ dz + 2 * 1e-3 * w2, "biases": dz.sum(axis=0, keepdims=True)}}
    dh = dz @ w2.T * (1 - h * h)
    grads[0] = {"weights": X.T @ dh, "biases": dh.sum(axis=0, keepdims=True)}
    return grads[k][param][index]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("k, param, index", [(2, "weights", (3, 1)), (2, "biases", (0, 2)),
                                             (0, "weights", (1, 4)), (0, "biases", (0, 0))])
def test_softmax_crossentropy_check_agrees_however_confident(dtype, k, param, index):
    model, X, y = saturated("softmax-cce", dtype)
    e = cr.explain(model, X, y, layer=k, param=param, index=index)
    # The case of the issue: some samples have p = 0 for their class (the loss clips them).
    assert len(e.clipped) >= 3 and e.fused
    assert e.relative_error < (1e-5 if dtype == np.float32 else 1e-6)
    # ... and both are the true derivative of −log softmax(z)_y, which the clip hides.
    assert e.value == pytest.approx(true_gradient(model, X, y, k, param, index), rel=1e-4)
    text = str(e)
    assert f"clipped: {len(e.clipped)} of 30 samples" in text
    assert ", ".join(map(str, e.clipped[:3])) in text and "log softmax" in text
    assert e.to_dict()["clipped"] == list(e.clipped)


@pytest.mark.parametrize("scale", [60.0, 100.0, 200.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("k, param, index", [(2, "weights", (3, 1)), (2, "biases", (0, 2)),
                                             (0, "weights", (1, 4)), (0, "biases", (0, 0))])
def test_sigmoid_binary_crossentropy_check_agrees_however_saturated(dtype, k, param, index,
                                                                  scale):
    # Scale 60 has samples with 16 < |z| < 19, where float32 rounds 1 − ŷ to an ulp or two:
    # the unfused backward ŷ(1 − ŷ)·∂L/∂ŷ at the clip multiplied 1/(1 − ŷ) ≈ 1e7 by that
    # rounded difference (relative error 1.9 here). The Model now fuses sigmoid + binary
    # cross-entropy as it fuses softmax + cross-entropy: (σ − y)/n, no clip, no rounding.
    model, X, y = saturated("sigmoid-bce", dtype, scale=scale)
    e = cr.explain(model, X, y, layer=k, param=param, index=index)
    assert len(e.clipped) >= 3 and e.fused
    assert e.relative_error < (1e-5 if dtype == np.float32 else 1e-6)
    # ... and both are the true derivative of the unclipped loss, however saturated.
    assert e.value == pytest.approx(true_gradient(model, X, y, k, param, index), rel=1e-4)
    text = str(e)
    assert f"clipped: {len(e.clipped)} of 30 samples" in text and "log σ" in text
    assert "(σ − y)" in e.steps[0].rule


def backward_gradients(model, X, y):
    """The Model's own training step's gradients: forward, backward, every d<param>."""
    model.finalize()
    output = model.forward(X.astype(model.dtype), training=True)
    model.backward(output, y.astype(model.dtype))
    return [getattr(layer, "d" + name).copy() for layer in model.layers for name in layer.params]


def unfused_gradients(model, X, y):
    """The book's chain by hand: Loss_BinaryCrossentropy.backward, then every layer's."""
    output = X.astype(model.dtype)
    for layer in model.layers:
        output = layer.forward(output, training=True)
    dvalues = chainrule.nnfs.Loss_BinaryCrossentropy().backward(output, y)
    for layer in reversed(model.layers):
        dvalues = layer.backward(dvalues)
    return [getattr(layer, "d" + name).copy() for layer in model.layers for name in layer.params]


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-5), (np.float64, 1e-12)],
                         ids=["float32", "float64"])
@pytest.mark.parametrize("scale", [0.1, 1.0, 3.0])
def test_the_fused_sigmoid_step_is_the_unfused_one_where_nothing_saturates(dtype, rtol, scale):
    model, X, y = saturated("sigmoid-bce", dtype, scale=scale)
    y = np.where(np.arange(y.size).reshape(y.shape) % 5 == 0, 0.3, y)  # soft targets too
    fused = backward_gradients(model, X, y)
    assert type(model.fused_loss).__name__ == "SigmoidBinaryCrossentropy"
    assert model.softmax_classifier_output is None  # the book's name is for softmax only
    for a, b in zip(fused, unfused_gradients(model, X, y), strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_a_confidently_wrong_sigmoid_sample_keeps_its_gradient(dtype):
    """Beyond the clip the unfused chain gives −ŷ·1e7/n → 0 for a confidently wrong sample;
    (σ − y)/n gives it −1/n, as Keras and PyTorch's BCEWithLogitsLoss do."""
    model, X, y = saturated("sigmoid-bce", dtype, scale=200.0)
    gradients = backward_gradients(model, X, y)
    for (k, param), gradient in zip([(0, "weights"), (0, "biases"), (2, "weights"),
                                     (2, "biases")], gradients, strict=True):
        for index in np.ndindex(gradient.shape):
            assert gradient[index] == pytest.approx(
                true_gradient(model, X, y, k, param, index), rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("scale", [1.0, 60.0, 200.0])
def test_the_sigmoid_step_is_pytorchs_bce_with_logits(scale):
    """The outside reference: PyTorch's BCEWithLogitsLoss (Keras fuses a sigmoid output
    the same way), float64, on the same network; L2 added by hand."""
    torch = pytest.importorskip("torch")
    model, X, y = saturated("sigmoid-bce", np.float64, scale=scale)
    ours = backward_gradients(model, X, y)
    params = [torch.tensor(p, requires_grad=True) for p in
              (model.layers[0].weights, model.layers[0].biases, model.layers[2].weights,
               model.layers[2].biases)]
    w1, b1, w2, b2 = params
    z = torch.tanh(torch.tensor(X) @ w1 + b1) @ w2 + b2
    loss = torch.nn.BCEWithLogitsLoss()(z, torch.tensor(y)) + 1e-3 * (w2 * w2).sum()
    loss.backward()
    for a, p in zip(ours, params, strict=True):
        np.testing.assert_allclose(a, p.grad.numpy(), rtol=1e-10, atol=1e-14)


class HotSigmoid(cr.Sigmoid):
    """σ(2x), forward and backward its own: (σ − y) is not its gradient."""

    def forward(self, inputs, training=True):
        return super().forward(2 * inputs, training)

    def backward(self, dvalues):
        return super().backward(dvalues) * 2


class HotSoftmax(cr.Softmax):
    """Softmax at temperature 1/2, forward and backward its own."""

    def forward(self, inputs, training=True):
        return super().forward(2 * inputs, training)

    def backward(self, dvalues):
        return super().backward(dvalues) * 2


@pytest.mark.parametrize("last, loss", [(HotSigmoid, cr.BinaryCrossentropy),
                                        (HotSoftmax, cr.CategoricalCrossentropy)])
def test_a_subclass_with_its_own_math_is_not_fused(last, loss):
    model, X, y = saturated("sigmoid-bce", np.float64, scale=0.5)
    if loss is cr.CategoricalCrossentropy:
        y = np.eye(3)[np.argmax(y, axis=1)]
    model.layers[-1] = last()
    model.set(loss=loss())
    gradients = backward_gradients(model, X, y)
    assert model.fused_loss is None
    e = cr.explain(model, X, y, layer=2, index=(3, 1))
    assert not e.fused and e.relative_error < 1e-6
    assert e.value == pytest.approx(gradients[2][3, 1], rel=1e-12)


def test_the_check_of_an_unsaturated_model_is_the_plain_loss():
    """Nothing clipped: nothing said, and the fused form equals the clipped loss there."""
    model, X, y = saturated("softmax-cce", np.float64, scale=0.5)
    e = cr.explain(model, X, y, layer=2, index=(3, 1))
    assert e.clipped == () and "clipped" not in str(e)
    assert e.relative_error < 1e-8
    binary, Xb, yb = saturated("sigmoid-bce", np.float64, scale=0.5)
    assert cr.explain(binary, Xb, yb, layer=2, index=(3, 1)).clipped == ()


def test_soft_targets_and_one_hot_rows_are_checked_alike():
    model, X, y = saturated("softmax-cce", np.float64)
    labels = cr.explain(model, X, y, layer=2, index=(1, 0))
    onehot = cr.explain(model, X, np.eye(3)[y], layer=2, index=(1, 0))
    assert onehot.value == pytest.approx(labels.value, rel=1e-12)
    assert onehot.clipped == labels.clipped and onehot.relative_error < 1e-6
    soft = 0.85 * np.eye(3)[y] + 0.05
    smoothed = cr.explain(model, X, soft, layer=2, index=(1, 0))
    assert smoothed.relative_error < 1e-6
    assert set(smoothed.clipped) >= set(labels.clipped)  # every class now has weight


def test_the_model_is_not_copied_deeply():
    """Twins share the parameters (no copy of a large model per explanation)."""
    model, X, y = saturated("softmax-cce", np.float32)
    weights = model.layers[2].weights
    cr.explain(model, X, y, layer=2, index=(0, 0))
    assert model.layers[2].weights is weights
    copy.deepcopy(model)  # still an ordinary object


# -- near zero: an absolute floor, as gradient checkers use ------------------------------------


def fitted(dtype, head="linear-mse"):
    """A model whose targets are its own predictions: every gradient is 0 (up to rounding)."""
    rng = np.random.default_rng(0)
    model = cr.Model([cr.Dense(2, 4, rng=1, dtype=dtype), cr.Tanh(),
                      cr.Dense(4, 2, rng=2, dtype=dtype), cr.Linear()])
    model.set(loss=cr.MeanSquaredError(), optimizer=cr.SGD())
    X = rng.normal(size=(20, 2))
    return model, X, model.predict(X)


@pytest.mark.parametrize("dtype, floor", [(np.float32, np.finfo(np.float32).eps),
                                          (np.float64, 1e-8)], ids=["float32", "float64"])
@pytest.mark.parametrize("k, param, index", [(0, "weights", (1, 2)), (2, "biases", (0, 1)),
                                             (2, "weights", (3, 0))])
def test_a_gradient_of_zero_is_not_reported_as_a_relative_error_of_one(dtype, floor, k, param,
                                                                      index):
    # value 0 (float32: ŷ − y is exactly 0) against a numerical −5e-13 (the float64 twin's
    # ŷ differs from the float32 targets by rounding) read "relative error 1".
    model, X, y = fitted(dtype)
    e = cr.explain(model, X, y, layer=k, param=param, index=index)
    assert max(abs(e.value), abs(e.numerical)) < e.resolution
    assert e.resolution >= floor
    assert e.relative_error == pytest.approx(abs(e.value - e.numerical) / e.resolution)
    assert e.relative_error < 1e-4
    text = str(e)
    assert "below the check's resolution" in text and f"{e.resolution:.2g}" in text
    assert e.to_dict()["resolution"] == e.resolution


def test_the_floor_changes_nothing_above_it():
    model, X, y = saturated("softmax-cce", np.float64, scale=0.5)
    e = cr.explain(model, X, y, layer=2, index=(3, 1))
    assert abs(e.value) > 100 * e.resolution
    assert e.relative_error == abs(e.value - e.numerical) / max(abs(e.value), abs(e.numerical))
    assert "resolution" not in str(e)


def test_the_resolution_grows_with_the_loss():
    """The central difference rounds L(θ ± ε) at float64's 2.2e-16·|L|: with |L| ≈ 1e4
    (an L2 penalty on large weights) it resolves no better than ~2e-6."""
    model, X, y = saturated("sigmoid-bce", np.float64, scale=1000.0)
    e = cr.explain(model, X, y, layer=2, param="biases", index=(0, 2))
    penalty = model.loss.regularization_loss(model.layers[2])
    assert penalty > 1e3
    assert e.resolution >= np.finfo(np.float64).eps * penalty / 1e-6


# -- the text rendering's pieces, at their limits (what the mutation run found unguarded) -------


def test_a_step_without_numbers_renders_as_empty_text():
    from chainrule.inspection._explanation import numbers

    assert numbers(None) == ""
    assert numbers(np.float64(-0.0)) == "0"


def test_a_vector_shows_its_first_units_then_an_ellipsis():
    from chainrule.inspection._explanation import SHOWN_UNITS, numbers

    assert SHOWN_UNITS == 4
    assert numbers(np.arange(10.0).reshape(2, 5)) == "[0, 1, 2, 3, …]"
    assert numbers(np.arange(8.0).reshape(2, 4)) == "[0, 1, 2, 3]"
    assert numbers(np.array([1.5, 2.0, 3.0, 4.0])) == "1.5   2   3   …"


def test_many_clipped_samples_are_named_up_to_ten():
    from types import SimpleNamespace

    from chainrule.inspection._explanation import clipping_note

    many = SimpleNamespace(clipped=tuple(range(0, 24, 2)), n_samples=30, fused=True,
                           loss="SoftmaxCategoricalCrossentropy")
    first = clipping_note(many)[0]
    assert "clipped: 12 of 30 samples (samples 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, …)" in first
    one = SimpleNamespace(clipped=(7,), n_samples=1, fused=True,
                          loss="SoftmaxCategoricalCrossentropy")
    assert "clipped: 1 of 1 sample (sample 7) has" in clipping_note(one)[0]


def test_every_step_of_the_chain_is_a_row_of_the_text():
    from chainrule.inspection._explanation import rows

    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(6, 2)), rng.integers(0, 3, 6)
    model = cr.Model([cr.Dense(2, 4, dtype=np.float64, rng=0), cr.Tanh(),
                      cr.Dense(4, 4, dtype=np.float64, rng=1), cr.ReLU(),
                      cr.Dense(4, 3, dtype=np.float64, rng=2), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.SGD())
    model.finalize()
    explanation = cr.explain(model, X, y, layer=0, index=(1, 2))
    assert {"loss", "factor", "sum", "parameter"} <= {s.kind for s in explanation.steps}
    shown = [(operator, quantity) for operator, quantity, *_ in rows(explanation)]
    for step in explanation.steps:
        if step.kind in ("factor", "sum", "parameter"):
            assert ("×", step.quantity) in shown, step.quantity
        if step.kind == "sum":
            assert ("Σ", step.result) in shown

"""Details of the layers, losses and optimizers that no other test looked at.

Each test here kills mutants that survived a mutation run (``tools/mutants.py``):
a change to the code that the rest of the suite would not have noticed.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Dense,
    Dropout,
    Layer,
    LeakyReLU,
    Linear,
    Loss,
    MeanAbsoluteError,
    MeanSquaredError,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from chainrule.nn._layers import Input


class Identity(Layer):
    """A user's layer that states its Jacobian but no rule of its own."""

    def forward(self, inputs, training=True):
        self.inputs = self.output = inputs
        return inputs

    def backward(self, dvalues):
        self.dinputs = dvalues
        return dvalues

    def jacobian(self, inputs):
        return np.broadcast_to(np.eye(inputs.shape[1]), (len(inputs), *inputs.shape[1:] * 2))


class HalfSquares(Loss):
    """A user's loss, ½·Σ(ŷ − y)² per sample, with no rule of its own."""

    def sample_losses(self, y_pred, y_true):
        return 0.5 * np.sum((y_pred - y_true) ** 2, axis=1)

    def gradient(self, dvalues, y_true):
        return (dvalues - y_true) / len(dvalues)


RULES = [Dense(2, 3), Dropout(0.5), Input(), ReLU(), LeakyReLU(), Sigmoid(), Tanh(), Softmax(),
         Linear(), CategoricalCrossentropy(), BinaryCrossentropy(), MeanSquaredError(),
         MeanAbsoluteError(), Identity(), HalfSquares()]


@pytest.mark.parametrize("part", RULES, ids=lambda part: type(part).__name__)
def test_every_layer_and_loss_states_its_local_rule(part):
    rule = part.local_rule()
    assert isinstance(rule, str) and rule.startswith(f"{type(part).__name__}: ∂")


def test_explain_shows_the_rules_of_a_users_layer_and_loss():
    rng = np.random.default_rng(0)
    layers = [Dense(2, 3, dtype=np.float64, rng=0), Identity(), Dense(3, 2, dtype=np.float64,
                                                                       rng=1)]
    e = cr.explain(layers, rng.normal(size=(4, 2)), rng.normal(size=(4, 2)), layer=0,
                   index=(1, 2), loss=HalfSquares())
    rules = [step.rule for step in e.steps]
    assert rules[0] == "HalfSquares: ∂L/∂ŷ as backward() computes it"
    assert "Identity: ∂output/∂inputs as jacobian() states it" in rules
    assert e.relative_error < 1e-7


def test_fused_loss_states_its_rule():
    assert cr.SoftmaxCategoricalCrossentropy().local_rule() == (
        "softmax + cross-entropy: ∂L/∂z = (p − y) / n_samples")


def test_dense_promotes_to_the_wider_dtype_forward_and_backward():
    layer = Dense(3, 2, rng=0)  # float32 parameters
    rng = np.random.default_rng(0)
    x, dvalues = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))  # float64 data
    w, b = layer.weights.astype(np.float64), layer.biases.astype(np.float64)
    output = layer.forward(x)
    assert output.dtype == np.float64
    np.testing.assert_allclose(output, x @ w + b, rtol=1e-12)
    dinputs = layer.backward(dvalues)
    assert dinputs.dtype == np.float64
    np.testing.assert_allclose(dinputs, dvalues @ w.T, rtol=1e-12)


def test_dense_repr_lists_init_then_the_penalties_in_order():
    layer = Dense(2, 3, init="he", weight_regularizer_l2=5e-4, bias_regularizer_l1=0.1,
                  dtype=np.float64)
    assert repr(layer) == ("Dense(2, 3, init='he', weight_regularizer_l2=0.0005, "
                           "bias_regularizer_l1=0.1, dtype='float64')")


@pytest.mark.parametrize("param", ["weights", "biases"])
def test_regularization_gradients_are_what_backward_adds(param):
    """Negative, zero and positive values: sign(0) counts as +1, as the book's backward."""
    layer = Dense(1, 3, dtype=np.float64, weight_regularizer_l1=0.1, weight_regularizer_l2=0.2,
                  bias_regularizer_l1=0.3, bias_regularizer_l2=0.4)
    layer.weights[...] = [[-0.5, 0.0, 0.7]]
    layer.biases[...] = [[0.25, -1.0, 0.0]]
    layer.forward(np.zeros((2, 1)))
    layer.backward(np.zeros((2, 3)))  # no data gradient: only the penalties' terms are left
    value = getattr(layer, param)
    l1, l2 = (0.1, 0.2) if param == "weights" else (0.3, 0.4)
    (_, first), (_, second) = layer.regularization_gradients(param)
    np.testing.assert_array_equal(first, l1 * np.where(value < 0, -1.0, 1.0))
    np.testing.assert_allclose(second, 2 * l2 * value, rtol=1e-15)
    np.testing.assert_allclose(first + second, getattr(layer, "d" + param), rtol=1e-15)


@pytest.mark.parametrize("part", [MeanSquaredError(), cr.CategoricalAccuracy()],
                         ids=["loss", "accuracy"])
def test_an_accumulated_figure_needs_something_accumulated(part):
    part.new_pass()
    with pytest.raises(ValueError, match=r"calculate_accumulated: .* since new_pass"):
        part.calculate_accumulated()


def test_the_accumulated_loss_with_the_penalty_is_the_books_pair():
    # The book's validation line asks for (data_loss, regularization_loss) after a pass.
    dense = Dense(2, 3, weight_regularizer_l2=0.5, bias_regularizer_l1=0.25, dtype=np.float64,
                  rng=0)
    dense.biases[...] = [[1.0, -2.0, 0.5]]
    loss = MeanSquaredError()
    loss.remember_trainable_layers([dense])
    loss.new_pass()
    predictions, targets = np.arange(6.0).reshape(3, 2), np.zeros((3, 2))
    loss.calculate(predictions[:2], targets[:2])
    loss.calculate(predictions[2:], targets[2:])
    data_loss, reg_loss = loss.calculate_accumulated(include_regularization=True)
    assert data_loss == np.mean(predictions**2)  # over the 3 samples, not the 2 batches
    assert reg_loss == pytest.approx(0.5 * np.sum(dense.weights**2) + 0.25 * 3.5, rel=1e-15)
    assert loss.calculate_accumulated() == data_loss


def test_the_input_layer_passes_data_and_gradients_through_unchanged():
    layer, values = Input(), np.arange(6.0).reshape(3, 2)
    assert layer.forward(values) is values and layer.output is values
    gradient = -values
    assert layer.backward(gradient) is gradient and layer.dinputs is gradient


# -- optimizers ------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer, config", [
    (cr.SGD(), {"learning_rate": 1.0, "decay": 0.0, "momentum": 0.0}),
    (cr.Adagrad(), {"learning_rate": 1.0, "decay": 0.0, "epsilon": 1e-7}),
    (cr.RMSprop(), {"learning_rate": 0.001, "decay": 0.0, "epsilon": 1e-7, "rho": 0.9}),
    (cr.Adam(), {"learning_rate": 0.001, "decay": 0.0, "epsilon": 1e-7, "beta_1": 0.9,
                 "beta_2": 0.999}),
], ids=lambda value: type(value).__name__ if isinstance(value, cr.Optimizer) else "")
def test_optimizer_defaults_are_the_books_and_rebuild_from_config(optimizer, config):
    assert optimizer.config() == config
    rebuilt = type(optimizer)(**optimizer.config())
    assert rebuilt.config() == config
    assert repr(rebuilt) == f"{type(optimizer).__name__}(" + ", ".join(
        f"{k}={v!r}" for k, v in config.items()) + ")"


@pytest.mark.parametrize("arrays, problem", [
    pytest.param({"momentums": np.zeros((2, 3)), "cache": np.zeros(3)}, "shape",
                 id="broadcastable-shape"),
    pytest.param({"momentums": np.zeros((2, 3))}, "missing", id="missing-slot"),
    pytest.param({"momentums": np.zeros((2, 3)), "cache": np.full((2, 3), "x")}, "dtype",
                 id="text"),
    pytest.param([np.zeros((2, 3))] * 2, "not-a-dict", id="list"),
])
def test_set_state_refuses_arrays_that_do_not_fit_and_changes_nothing(arrays, problem):
    layer = Dense(2, 3, dtype=np.float64, rng=0)
    optimizer = cr.Adam(0.1)
    layer.dweights, layer.dbiases = np.ones((2, 3)), np.ones((1, 3))
    optimizer.step([layer])
    before = {k: v.copy() for k, v in optimizer.get_state(layer, "weights").items()}
    with pytest.raises(ValueError, match=r"state '(momentums|cache)' for Dense\(2, 3.*weights "
                                         r"must be a numeric array of shape \(2, 3\)"):
        optimizer.set_state(layer, "weights", arrays)
    for slot, value in optimizer.get_state(layer, "weights").items():
        np.testing.assert_array_equal(value, before[slot])


class Kernel:
    """Parameters that are not a Dense buffer: each one is updated as its own group."""

    params = ("kernel",)

    def __init__(self, rng):
        self.kernel = rng.standard_normal((2, 2))


@pytest.fixture
def fresh_parameter_memory(monkeypatch):
    """Layers built from here on get a block of their own, so they lie back to back."""
    from chainrule.nn._buffers import parameter_memory

    monkeypatch.setattr(parameter_memory, "blocks", {})


def test_dense_layers_built_one_after_another_update_as_one_flat_array(fresh_parameter_memory):
    layers = [Dense(2, 3, dtype=np.float64), ReLU(), Dense(3, 4, dtype=np.float64), ReLU(),
              Dense(4, 2, dtype=np.float64)]
    for layer in layers[::2]:
        layer.dweights, layer.dbiases = np.ones_like(layer.weights), np.ones_like(layer.biases)
    optimizer = cr.SGD(0.5)
    optimizer.step(layers)
    (group,) = optimizer._groups.groups
    assert group.params.size == (2 * 3 + 3) + (3 * 4 + 4) + (4 * 2 + 2)
    assert all(np.shares_memory(layer.dweights, group.grads) for layer in layers[::2])


@pytest.mark.parametrize("group, element", [(0, 0), (0, 6), (0, 8), (1, 3), (2, 0), (2, 7)],
                         ids=lambda value: str(value))
def test_an_overflowing_step_puts_every_parameter_back(monkeypatch, fresh_parameter_memory,
                                                       group, element):
    """Groups [Dense], [Kernel], [Dense], the Dense ones cut into chunks of 4 (4 + 4 + 1 and
    4 + 4): wherever the update overflows, the chunks updated before it are restored from
    this step's backup, and no chunk after it is touched (their backups hold the step
    before)."""
    monkeypatch.setattr(cr.optim._groups, "CHUNK", 4)
    rng = np.random.default_rng(0)
    layers = [Dense(2, 3, dtype=np.float64, rng=0), Kernel(rng), Dense(3, 2, dtype=np.float64,
                                                                       rng=1)]
    gradients = [(layer, "d" + name) for layer in layers for name in layer.params]

    def set_gradients(scale):  # into the arrays the layers hold (after a step: group views)
        for layer, name in gradients:
            values = scale * rng.standard_normal(getattr(layer, name[1:]).shape)
            if hasattr(layer, name):
                getattr(layer, name)[...] = values
            else:
                setattr(layer, name, values)

    optimizer = cr.SGD(1e300)
    set_gradients(1e-300)  # a finite step first, so every backup holds the values before it
    optimizer.step(layers)
    assert [len(g.chunks) for g in optimizer._groups.groups] == [3, 1, 2]
    before = [getattr(layer, name[1:]).copy() for layer, name in gradients]
    set_gradients(1e-3)  # updates of about 1e297: finite, and their sums stay finite
    target = optimizer._groups.groups[group].grads.reshape(-1)
    target[element] = -2e8  # one update of 2e308: beyond float64
    # (the training loop silences overflow warnings the same way: it reports them itself)
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(
            FloatingPointError, match="would make parameters NaN or infinite"):
        optimizer.step(layers)
    for (layer, name), value in zip(gradients, before, strict=True):
        np.testing.assert_array_equal(getattr(layer, name[1:]), value, err_msg=name)
    assert optimizer.iterations == 1


def test_an_optimizer_without_an_update_rule_says_so():
    class Unfinished(cr.Optimizer):
        pass

    layer = Dense(2, 3, rng=0)
    layer.dweights, layer.dbiases = np.ones_like(layer.weights), np.ones_like(layer.biases)
    with pytest.raises(NotImplementedError):
        Unfinished(0.1).step([layer])

"""explain: the chain rule from the loss back to one parameter, with the model's own numbers."""

import copy
import itertools
import json
import zlib

import numpy as np
import pytest

import chainrule as cr
from chainrule.inspection._explain import Explanation

HIDDEN = {"relu": cr.ReLU, "leaky_relu": lambda: cr.LeakyReLU(0.1), "sigmoid": cr.Sigmoid,
          "tanh": cr.Tanh, "linear": cr.Linear}
# (last layer, loss, target kind): every loss, the softmax with its fused loss and without.
HEADS = {
    "softmax-cce": (cr.Softmax, cr.CategoricalCrossentropy, "labels"),
    "softmax-cce-onehot": (cr.Softmax, cr.CategoricalCrossentropy, "onehot"),
    "softmax-mse": (cr.Softmax, cr.MeanSquaredError, "real"),
    "sigmoid-bce": (cr.Sigmoid, cr.BinaryCrossentropy, "binary"),
    "linear-mse": (cr.Linear, cr.MeanSquaredError, "real"),
    "linear-mae": (cr.Linear, cr.MeanAbsoluteError, "real"),
    "tanh-mse": (cr.Tanh, cr.MeanSquaredError, "real"),
}


def seed_neuron():
    """The seed's neuron: inputs [1, −2, 3], weights [−3, −1, 2], bias 1, ReLU, (ŷ − 0)²."""
    dense = cr.Dense(3, 1, dtype=np.float64)
    dense.weights[...] = [[-3.0], [-1.0], [2.0]]
    dense.biases[...] = 1.0
    model = cr.Model([dense, cr.ReLU()])
    model.set(loss=cr.MeanSquaredError(), optimizer=cr.SGD(0.001))
    return model, np.array([[1.0, -2.0, 3.0]]), np.array([[0.0]])


def targets(kind, rng, n, k):
    if kind == "labels":
        return rng.integers(0, k, n)
    if kind == "onehot":
        return np.eye(k)[rng.integers(0, k, n)]
    if kind == "binary":
        return rng.integers(0, 2, (n, k)).astype(float)
    return rng.normal(size=(n, k))


def network(hidden, head, depth, rng, *, dtype=np.float64, dropout=False, regularize=True):
    """depth hidden layers of 4 units, then 3 outputs; regularised, biases not zero.

    Glorot weights and inputs of scale 1/2 keep the probabilities away from the
    cross-entropy's clipping at 1e-7, where the fused p − y is not its derivative.
    """
    sizes = [2] + [4] * depth + [3]
    layers = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        strengths = dict(weight_regularizer_l1=1e-3 * (i % 2), weight_regularizer_l2=1e-2,
                         bias_regularizer_l1=2e-3, bias_regularizer_l2=3e-3 * (i % 2))
        dense = cr.Dense(n_in, n_out, init="glorot", dtype=dtype, rng=int(rng.integers(1e6)),
                         **(strengths if regularize else {}))
        dense.biases[...] = rng.normal(scale=0.3, size=dense.biases.shape)
        layers.append(dense)
        if i < depth:
            layers.append(HIDDEN[hidden]())
            if dropout:
                layers.append(cr.Dropout(0.3, rng=int(rng.integers(1e6))))
    last, loss, kind = HEADS[head]
    layers.append(last())
    model = cr.Model(layers)
    model.set(loss=loss(), optimizer=cr.SGD(0.01))
    return model, rng.normal(scale=0.5, size=(6, 2)), targets(kind, rng, 6, 3)


def some_elements(model, rng):
    """(layer index, param, index) for a weight and a bias of every Dense layer."""
    for k, layer in enumerate(model.layers):
        if layer.params:
            rows, cols = layer.weights.shape
            yield k, "weights", (int(rng.integers(rows)), int(rng.integers(cols)))
            yield k, "biases", (0, int(rng.integers(cols)))


def test_the_seed_neuron_gives_the_seed_numbers():
    model, X, y = seed_neuron()
    weights = [cr.explain(model, X, y, layer=0, index=(i, 0)) for i in range(3)]
    assert [e.value for e in weights] == [12.0, -24.0, 36.0]
    bias = cr.explain(model, X, y, layer=0, param="biases", index=0)
    assert bias.value == 12.0
    for e in [*weights, bias]:
        assert e.relative_error < 1e-8
        assert e.numerical == pytest.approx(e.value, rel=1e-8)
    # 12 · 1 · x: ∂L/∂ŷ = 2(6 − 0) = 12, ReLU'(6) = 1, ∂z/∂w = x.
    loss_step, relu_step, weight_step = weights[2].steps
    assert (loss_step.kind, relu_step.kind, weight_step.kind) == ("loss", "factor", "parameter")
    assert loss_step.gradient.tolist() == [12.0]
    assert relu_step.local.tolist() == [1.0] and relu_step.gradient.tolist() == [12.0]
    assert weight_step.local.tolist() == [3.0] and weight_step.gradient.tolist() == [36.0]
    assert "ReLU: ∂a/∂z = 1 where z > 0" in relu_step.rule
    assert "x_i" in weight_step.rule
    assert bias.steps[-1].local.tolist() == [1.0]


def test_the_seed_neuron_prints_as_the_seed_writes_it():
    model, X, y = seed_neuron()
    text = str(cr.explain(model, X, y, layer=0, index=(1, 0)))
    lines = [line.split() for line in text.splitlines()]
    assert ["∂L/∂ŷ[0]", "12"] == lines[2][:2]
    assert ["×", "∂ŷ[0]/∂z0[0]", "1"] == lines[3][:3]
    assert ["=", "∂L/∂z0[0]", "12"] == lines[4]
    assert ["×", "∂z0[0]/∂W0[1,", "0]", "-2"] == lines[5][:4]
    assert ["=", "∂L/∂W0[1,", "0]", "-24"] == lines[6][:4]
    assert text.splitlines()[-1].startswith("numerical check")
    assert "relative error" in text


@pytest.mark.parametrize("head", list(HEADS))
@pytest.mark.parametrize("hidden", list(HIDDEN))
def test_value_agrees_with_pytorch_at_every_depth(hidden, head):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(zlib.crc32(f"{hidden} {head}".encode()))
    for depth in (0, 1, 3):
        model, X, y = network(hidden, head, depth, rng, dropout=depth == 1)
        for k, param, index in some_elements(model, rng):
            e = cr.explain(model, X, y, layer=k, param=param, index=index)
            reference = torch_gradient(torch, model, X, y, k, param)
            assert e.value == pytest.approx(reference[index], rel=1e-9, abs=1e-15), (depth, k)
            assert e.relative_error < 1e-5


def after_a_pass(model, X):
    """The layers of a copy of ``model`` after its own training forward pass: the outputs
    and dropout masks explain's pass had (explain leaves the model's streams as they were,
    so the copy draws the same masks)."""
    twin = copy.deepcopy(model)
    twin.forward(X, training=True)
    return twin.layers


def gradients_of_a_step(model, X, y):
    """The layers of a copy of ``model`` after one full-batch training step: their
    ``d<param>`` are the gradients at ``model``'s parameters."""
    twin = copy.deepcopy(model)
    twin.train(X, y, epochs=1, print_every=None, progress=False)
    return twin.layers


def torch_gradient(torch, model, X, y, k, param):
    """∂L/∂(layers[k].param) by PyTorch autograd, with the masks of explain's own pass."""
    masks = after_a_pass(model, X)
    output = torch.from_numpy(X)
    leaves = {}
    penalty = 0
    for i, layer in enumerate(model.layers):
        if isinstance(layer, cr.Dense):
            w = torch.tensor(layer.weights, requires_grad=True)
            b = torch.tensor(layer.biases, requires_grad=True)
            leaves[i] = {"weights": w, "biases": b}
            output = output @ w + b
            for t, l1, l2 in ((w, layer.weight_regularizer_l1, layer.weight_regularizer_l2),
                              (b, layer.bias_regularizer_l1, layer.bias_regularizer_l2)):
                penalty = penalty + l1 * t.abs().sum() + l2 * (t * t).sum()
        elif isinstance(layer, cr.ReLU):
            output = torch.relu(output)
        elif isinstance(layer, cr.LeakyReLU):
            output = torch.nn.functional.leaky_relu(output, layer.alpha)
        elif isinstance(layer, cr.Sigmoid):
            output = torch.sigmoid(output)
        elif isinstance(layer, cr.Tanh):
            output = torch.tanh(output)
        elif isinstance(layer, cr.Softmax):
            output = torch.softmax(output, dim=1)
        elif isinstance(layer, cr.Dropout):
            output = output * torch.from_numpy(masks[i].binary_mask)
    loss = model.loss
    target = torch.from_numpy(np.asarray(y, dtype=np.float64))
    if isinstance(loss, cr.CategoricalCrossentropy):
        if target.ndim == 1:
            target = torch.nn.functional.one_hot(torch.from_numpy(y), output.shape[1]).double()
        data = -(target * output.clamp(1e-7, 1 - 1e-7).log()).sum(dim=1).mean()
    elif isinstance(loss, cr.BinaryCrossentropy):
        p = output.clamp(1e-7, 1 - 1e-7)
        data = -(target * p.log() + (1 - target) * (1 - p).log()).mean()
    elif isinstance(loss, cr.MeanSquaredError):
        data = ((target - output) ** 2).mean()
    else:
        data = (target - output).abs().mean()
    (data + penalty).backward()
    return leaves[k][param].grad.numpy()


def test_value_is_what_the_models_own_training_pass_computes():
    rng = np.random.default_rng(5)
    model, X, y = network("tanh", "softmax-cce", 2, rng)
    for k, param, index in some_elements(model, rng):
        before = model.get_parameters()
        model.train(X, y, epochs=1, print_every=None, progress=False)
        trained = getattr(model.layers[k], "d" + param).copy()
        model.set_parameters(before)
        e = cr.explain(model, X, y, layer=k, param=param, index=index)
        assert e.value == pytest.approx(trained[index], rel=1e-12, abs=1e-18)
        # explain leaves the model's gradients as the training pass left them
        np.testing.assert_array_equal(getattr(model.layers[k], "d" + param), trained)


def test_value_with_dropout_is_that_of_the_same_mask():
    rng = np.random.default_rng(6)
    model, X, y = network("relu", "linear-mse", 2, rng)
    model.layers.insert(2, cr.Dropout(0.5))          # the book's mask, from the global state
    model.set(loss=cr.MeanSquaredError())
    before = model.get_parameters()
    np.random.seed(3)
    model.train(X, y, epochs=1, print_every=None, progress=False)
    trained = model.layers[0].dweights.copy()
    model.set_parameters(before)
    np.random.seed(3)
    e = cr.explain(model, X, y, layer=0, index=(1, 2))
    assert e.value == pytest.approx(trained[1, 2], rel=1e-12)
    assert e.relative_error < 1e-7
    dropout = next(step for step in e.steps if step.layer == 2)
    assert dropout.kind == "factor" and "Dropout" in dropout.rule
    np.testing.assert_array_equal(dropout.local, model.layers[2].binary_mask[:, 2])


@pytest.mark.parametrize("head", ["softmax-cce", "softmax-mse", "linear-mse"])
def test_steps_multiply_and_sum_to_the_value(head):
    rng = np.random.default_rng(7)
    model, X, y = network("sigmoid", head, 2, rng)
    e = cr.explain(model, X, y, layer=2, index=(3, 1))
    gradient = None
    for step in e.steps:
        if step.kind == "factor":
            np.testing.assert_allclose(step.gradient, gradient * step.local, rtol=1e-12)
        elif step.kind == "sum" and step.local is not None:
            np.testing.assert_allclose(step.gradient, np.sum(gradient * step.local, axis=1),
                                       rtol=1e-12)
        elif step.kind == "parameter":
            np.testing.assert_allclose(step.gradient, gradient * step.local, rtol=1e-12)
            np.testing.assert_array_equal(step.local, after_a_pass(model, X)[1].output[:, 3])
        if step.kind != "regularization":
            gradient = step.gradient
    total = e.terms.sum() + sum(s.gradient for s in e.steps if s.kind == "regularization")
    assert total == pytest.approx(e.value, rel=1e-12)
    kinds = [step.kind for step in e.steps]
    assert kinds[0] == "loss" and kinds[-2:] == ["regularization", "regularization"]
    if head == "softmax-cce":
        assert "p − y" in e.steps[0].rule          # the fused loss, as the Model uses it
    if head == "softmax-mse":
        assert "Softmax" in e.steps[1].rule        # the softmax Jacobian, not fused


def test_a_float32_model_is_checked_in_float64_and_left_untouched():
    rng = np.random.default_rng(8)
    model, X, y = network("tanh", "linear-mse", 1, rng, dtype=np.float32)
    before = [p.copy() for pair in model.get_parameters() for p in pair]
    e = cr.explain(model, X, y, layer=0, index=(0, 1))
    after = [p for pair in model.get_parameters() for p in pair]
    for old, new in zip(before, after, strict=True):
        assert new.dtype == np.float32
        np.testing.assert_array_equal(old, new)
    # a training step sums in another order (its buffers, its kernels): float32's last bits
    assert e.value == pytest.approx(gradients_of_a_step(model, X, y)[0].dweights[0, 1],
                                    rel=1e-6)
    assert e.relative_error < 1e-4


def test_layer_may_be_given_as_object_or_negative_index_and_bias_as_j():
    rng = np.random.default_rng(9)
    model, X, y = network("relu", "linear-mse", 1, rng)
    last = model.layers[2]
    a = cr.explain(model, X, y, layer=last, param="biases", index=1)
    b = cr.explain(model, X, y, layer=-2, param="biases", index=(0, 1))
    assert a.value == b.value == gradients_of_a_step(model, X, y)[2].dbiases[0, 1]
    assert a.layer == b.layer == 2


def test_a_list_of_layers_with_a_loss():
    rng = np.random.default_rng(10)
    model, X, y = network("tanh", "sigmoid-bce", 1, rng)
    from_model = cr.explain(model, X, y, layer=0, index=(1, 1))
    from_list = cr.explain(model.layers, X, y, layer=0, index=(1, 1),
                           loss=cr.BinaryCrossentropy())
    assert from_list.value == from_model.value


def test_a_batch_prints_per_sample_terms_and_their_sum():
    rng = np.random.default_rng(11)
    model, X, y = network("relu", "softmax-cce", 1, rng)
    e = cr.explain(model, X, y, layer=0, index=(0, 2))
    text = str(e)
    assert "samples 0–2 of 6" in text
    assert "sum over 6 samples" in text
    per_sample = next(line for line in text.splitlines() if "per sample" in line)
    for term in e.terms[:3]:
        assert f"{term:.6g}" in per_sample
    assert "…" in per_sample
    assert f"{e.terms.sum():.6g}" in text
    html = e._repr_html_()
    assert html.count("<tr>") == len(text.splitlines()) - 5 + 1  # body rows + the header row
    assert "softmax + cross-entropy" in html and "<table>" in html


def test_to_dict_is_json_ready():
    rng = np.random.default_rng(12)
    model, X, y = network("leaky_relu", "softmax-cce", 2, rng)
    e = cr.explain(model, X, y, layer=2, index=(2, 3))
    data = json.loads(json.dumps(e.to_dict()))
    assert data["value"] == e.value and data["numerical"] == e.numerical
    assert data["parameter"] == "layers[2].weights[2, 3]"
    assert [step["kind"] for step in data["steps"]] == [step.kind for step in e.steps]
    assert data["steps"][-3]["gradient"] == e.terms[:5].tolist()
    assert isinstance(e, Explanation)


@pytest.mark.parametrize("kwargs, error, message", [
    pytest.param(dict(layer=1), ValueError, "has no parameters", id="activation-layer"),
    pytest.param(dict(layer=7), ValueError, r"index in \[0, 3\]", id="layer-out-of-range"),
    pytest.param(dict(layer="0"), TypeError, "an index or a Layer", id="layer-string"),
    pytest.param(dict(layer=cr.Dense(2, 2)), ValueError, "not one of", id="foreign-layer"),
    pytest.param(dict(param="gamma"), ValueError, "one of", id="unknown-param"),
    pytest.param(dict(index=(2, 0)), ValueError, "within weights's shape", id="row-too-big"),
    pytest.param(dict(index=3), TypeError, "pair", id="weights-need-a-pair"),
    pytest.param(dict(index=(0, 1.0)), TypeError, "pair", id="float-index"),
    pytest.param(dict(X=np.ones((2, 3))), ValueError, "2 features", id="wrong-features"),
    pytest.param(dict(X=np.ones((0, 2))), ValueError, "empty", id="empty-X"),
    pytest.param(dict(y=np.array([0, 5])), ValueError, "class indices", id="bad-labels"),
    pytest.param(dict(loss="mse"), ValueError, "needs a loss", id="no-loss"),
])
def test_bad_arguments_are_refused(kwargs, error, message):
    model = cr.Model([cr.Dense(2, 4, dtype=np.float64, rng=0), cr.ReLU(),
                      cr.Dense(4, 3, dtype=np.float64, rng=1), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy())
    arguments = dict(X=np.ones((2, 2)), y=np.array([0, 1]), layer=0, index=(0, 1))
    arguments.update(kwargs)
    if arguments.get("loss") == "mse":
        model.loss = None
        arguments["loss"] = None
    X, y = arguments.pop("X"), arguments.pop("y")
    with pytest.raises(error, match=message):
        cr.explain(model, X, y, **arguments)


def test_a_model_without_layers_is_refused():
    with pytest.raises(TypeError, match="a Model or a non-empty list of layers"):
        cr.explain([], np.ones((1, 1)), np.ones((1, 1)), layer=0, index=(0, 0),
                   loss=cr.MeanSquaredError())


def saved_spiral_model(path):
    rng = np.random.default_rng(0)
    model = cr.Model([cr.Dense(2, 5, init="he", dtype=np.float64, rng=rng), cr.ReLU(),
                      cr.Dense(5, 3, init="glorot", dtype=np.float64, rng=rng), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(0.01))
    model.save(path)
    return cr.Model.load(path)


def test_the_cli_prints_the_chain_for_a_saved_model(tmp_path, capsys):
    from chainrule.cli import _main as cli
    from chainrule.datasets import spiral_data

    path = tmp_path / "spiral.chainrule"
    model = saved_spiral_model(path)
    assert cli.main(["explain", str(path), "--dataset", "spiral", "--layer", "2",
                     "--index", "3,1", "--samples", "7"]) == 0
    X, y = spiral_data(100, 3, rng=np.random.default_rng(1))
    expected = cr.explain(model, X[:7], y[:7], layer=2, index=(3, 1))
    assert capsys.readouterr().out == str(expected) + "\n"
    assert cli.main(["explain", str(path), "--layer", "0", "--param", "biases",
                     "--index", "4"]) == 0
    expected = cr.explain(model, X, y, layer=0, param="biases", index=4)
    out = capsys.readouterr().out
    assert out == str(expected) + "\n" and "300 samples" in out


@pytest.mark.parametrize("arguments, message", [
    pytest.param(["--index", "a,b"], "--index must be I,J", id="not-numbers"),
    pytest.param(["--index", "1,2,3"], "--index must be I,J", id="three-numbers"),
    pytest.param(["--layer", "1"], "has no parameters", id="activation"),
    pytest.param(["--samples", "0"], "--samples must be >= 1", id="no-samples"),
    pytest.param(["--dataset", "nope"], "--dataset must be one of", id="unknown-dataset"),
])
def test_the_cli_refuses_bad_arguments(tmp_path, capsys, arguments, message):
    from chainrule.cli import _main as cli

    path = tmp_path / "spiral.chainrule"
    saved_spiral_model(path)
    assert cli.main(["explain", str(path), *arguments]) == 1
    assert message in capsys.readouterr().err

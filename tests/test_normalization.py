"""Normalization: statistics learned by adapt, never trained, saved in model files;
gradient-checked like every layer; regression targets standardised and back."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import ModelFileError, Normalization

RNG = np.random.default_rng(0)
X = RNG.normal([5.0, -300.0, 0.01], [2.0, 50.0, 0.001], size=(64, 3))


def test_adapt_learns_each_columns_mean_and_population_std():
    layer = Normalization().adapt(X)
    np.testing.assert_allclose(layer.mean, X.mean(axis=0, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(layer.std, X.std(axis=0, keepdims=True), rtol=1e-12)
    assert layer.mean.dtype == np.float64 and layer.mean.shape == (1, 3)
    output = layer.forward(X)
    np.testing.assert_allclose(output.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(output.std(axis=0), 1, rtol=1e-12)
    assert layer.n_inputs == 3 and "std" not in layer.params and layer.params == ()


def test_a_constant_column_is_centred_not_blown_up_and_1d_targets_adapt():
    data = np.c_[X[:, 0], np.full(len(X), 7.0)]
    layer = Normalization().adapt(data)
    assert layer.std[0, 1] == 1.0
    np.testing.assert_array_equal(layer.forward(data)[:, 1], 0.0)
    target = Normalization().adapt(X[:, 1])
    assert target.mean.shape == (1, 1)
    np.testing.assert_allclose(target.transform(X[:, 1]), (X[:, 1] - X[:, 1].mean())
                               / X[:, 1].std(), rtol=1e-12)
    assert target.transform(X[:, 1]).shape == (64,)


def test_inverted_undoes_the_scaling():
    layer = Normalization().adapt(X)
    back = layer.inverted()
    assert back.invert and back.config() == {"n_features": 3, "invert": True}
    np.testing.assert_allclose(back.forward(layer.forward(X)), X, rtol=1e-12)
    np.testing.assert_allclose(layer.inverse_transform(layer.transform(X)), X, rtol=1e-12)
    np.testing.assert_allclose(back.forward(X), X * layer.std + layer.mean, rtol=1e-15)


@pytest.mark.parametrize("invert", [False, True], ids=["standardise", "invert"])
def test_gradients_are_checked_and_backward_is_dvalues_times_the_jacobian(invert):
    layer = Normalization(mean=[1.0, -2.0, 0.5], std=[0.5, 3.0, 2.0], invert=invert)
    inputs = RNG.normal(size=(5, 3))
    assert cr.gradcheck(layer, inputs) < 1e-7
    dvalues = RNG.normal(size=(5, 3))
    layer.forward(inputs)
    dinputs = layer.backward(dvalues)
    jacobian = layer.jacobian(inputs)
    assert jacobian.shape == (5, 3, 3)
    np.testing.assert_allclose(dinputs, np.einsum("si,sij->sj", dvalues, jacobian), rtol=1e-12)
    scale = layer.std if invert else 1 / layer.std
    np.testing.assert_allclose(layer.derivative(inputs), np.broadcast_to(scale, (5, 3)))
    assert ("σ" in layer.local_rule()) and ("1/σ" in layer.local_rule()) != invert


def test_a_float32_model_stays_float32_and_training_never_moves_the_statistics():
    y = (X[:, 0] > 5).astype(int)
    norm = Normalization().adapt(X)
    mean, std = norm.mean.copy(), norm.std.copy()
    model = cr.Model([norm, cr.Dense(3, 8, rng=0), cr.ReLU(), cr.Dense(8, 2, rng=1),
                      cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(0.05))
    model.train(X, y, epochs=50, batch_size=16, print_every=None, rng=0)
    np.testing.assert_array_equal(norm.mean, mean)
    np.testing.assert_array_equal(norm.std, std)
    assert len(model.get_parameters()) == 2  # the two Dense layers only
    assert model.predict(X).dtype == np.float32 and norm.output.dtype == np.float32
    assert model.evaluate(X, y, verbose=False)["accuracy"] > 0.9


def test_raw_inputs_predict_the_same_after_load(tmp_path):
    y = (X[:, 1] > -300).astype(int)
    model = cr.Model([Normalization().adapt(X), cr.Dense(3, 8, rng=0), cr.Tanh(),
                      cr.Dense(8, 2, rng=1), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(0.05))
    model.train(X, y, epochs=30, print_every=None)
    model.save(tmp_path / "m.chainrule")
    loaded = cr.Model.load(tmp_path / "m.chainrule")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.layers[0].mean, model.layers[0].mean)
    assert isinstance(loaded.layers[0], Normalization) and loaded.layers[0].params == ()
    with pytest.raises(ValueError, match="3 features"):
        loaded.predict(X[:, :2])
    assert "layers[0] Normalization" in loaded.summary(print_fn=None)
    assert "fixed by adapt" in loaded.summary(print_fn=None)


def test_files_refuse_an_unadapted_layer_and_damaged_statistics(tmp_path):
    model = cr.Model([cr.Dense(3, 2, rng=0), Normalization()])
    with pytest.raises(ValueError, match=r"adapt\(X\)"):
        model.save(tmp_path / "never.chainrule")
    assert not (tmp_path / "never.chainrule").exists()
    model = cr.Model([Normalization().adapt(X), cr.Dense(3, 2, rng=0)])
    model.save(tmp_path / "ok.chainrule")
    header, arrays = cr.files.read_archive(tmp_path / "ok.chainrule")
    assert sorted(arrays) == ["layers/0/mean", "layers/0/std", "layers/1/biases",
                              "layers/1/weights"]
    for name, value in (("std", np.zeros((1, 3))), ("std", np.ones((1, 4))),
                        ("mean", np.full((1, 3), np.nan))):
        damaged = dict(arrays, **{f"layers/0/{name}": value})
        cr.files._io._write_archive(tmp_path / "bad.chainrule", header, damaged)
        with pytest.raises(ModelFileError):
            cr.Model.load(tmp_path / "bad.chainrule")


@pytest.mark.parametrize("make, error, message", [
    pytest.param(lambda: Normalization(mean=[0.0, 1.0]), ValueError, "both", id="mean-no-std"),
    pytest.param(lambda: Normalization(mean=[0.0], std=[0.0]), ValueError, "std must be > 0",
                 id="zero-std"),
    pytest.param(lambda: Normalization(mean=[0.0, 1.0], std=[1.0]), ValueError, "shape",
                 id="shapes-differ"),
    pytest.param(lambda: Normalization(invert="yes"), TypeError, "invert", id="invert-str"),
    pytest.param(lambda: Normalization(2).adapt(X), ValueError, "expects 2 features",
                 id="wrong-width"),
    pytest.param(lambda: Normalization().adapt(np.empty((0, 3))), ValueError, "one sample",
                 id="empty"),
    pytest.param(lambda: Normalization().adapt([[1.0, np.inf]]), ValueError, "finite",
                 id="infinite"),
    pytest.param(lambda: Normalization().forward(X), RuntimeError, r"adapt\(X\)",
                 id="forward-before-adapt"),
    pytest.param(lambda: Normalization().adapt(X).forward(X[:, :2]), ValueError,
                 r"\(n_samples, 3\)", id="forward-wrong-width"),
])
def test_bad_input_is_refused_by_name(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_explain_walks_through_an_inverted_output_layer():
    """σ of the targets is one link of the chain, stated by the layer and checked."""
    y = X[:, :1] * 3.0
    targets = Normalization().adapt(y)
    model = cr.Model([Normalization().adapt(X), cr.Dense(3, 4, dtype=np.float64, rng=0),
                      cr.Tanh(), cr.Dense(4, 1, dtype=np.float64, rng=1), targets.inverted()])
    model.set(loss=cr.MeanSquaredError())
    explanation = cr.explain(model, X[:8], y[:8], layer=3, index=(2, 0))
    assert explanation.relative_error < 1e-7
    assert "Normalization (inverted)" in str(explanation)


def test_regression_targets_with_mean_1e4_and_std_1e3_train_standardised(tmp_path):
    rng = np.random.default_rng(1)
    inputs = rng.uniform(-2, 2, size=(400, 2))
    y = 1e4 + 1e3 * (np.sin(inputs[:, 0]) + 0.5 * inputs[:, 1]) + rng.normal(0, 50, 400)
    targets = Normalization().adapt(y)
    assert targets.mean[0, 0] == pytest.approx(1e4, rel=0.05)
    assert targets.std[0, 0] == pytest.approx(1e3, rel=0.3)
    model = cr.Model([Normalization().adapt(inputs), cr.Dense(2, 32, init="he", rng=0),
                      cr.ReLU(), cr.Dense(32, 1, rng=1), cr.Linear()])
    model.set(loss=cr.MeanSquaredError(), optimizer=cr.Adam(0.01))
    history = model.train(inputs, targets.transform(y), epochs=400, print_every=None,
                          validation_split=0.2, rng=0)
    # The loss is that of standardised targets: about 1 at the start, not about 1e8.
    assert 0.3 < history["loss"][0] < 3 and history["val_loss"][-1] < 0.05
    model.add(targets.inverted())
    model.save(tmp_path / "regression.chainrule")
    predictions = cr.Model.load(tmp_path / "regression.chainrule").predict(inputs)[:, 0]
    assert predictions.mean() == pytest.approx(1e4, rel=0.01)
    r2 = 1 - np.sum((predictions - y) ** 2) / np.sum((y - y.mean()) ** 2)
    assert r2 > 0.97
    assert np.sqrt(np.mean((predictions - y) ** 2)) < 200  # in the targets' units


@pytest.mark.parametrize("where, value", [("max", 1e39), ("min", -1e39)])
def test_a_value_standardising_beyond_float32_is_named_with_its_end(where, value):
    # The refusal names the column's end that does not fit (its largest or its smallest).
    layer = Normalization()
    layer.adapt(np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]]))
    X = np.array([[0.5, 1.0], [1.5, 2.0]])
    X[0, 1] = value
    model = cr.Model([layer, cr.Dense(2, 2, rng=0), cr.Softmax()])
    with pytest.raises(ValueError, match=re.escape(f"column 1 holds {value:g}")):
        model.predict(X)

"""Scaling inside the model, tried by someone who wants it to fail: large offsets, values
beyond float32 and float64's squares, re-adapted statistics, one-hot validation splits."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import Normalization


def offset_column(offset, spread, n=399, seed=0):
    """A column of ``offset + N(0, spread)`` and the sign of its noise as the class."""
    noise = np.random.default_rng(seed).normal(0, spread, n)
    return (offset + noise).reshape(-1, 1), (noise > 0).astype(int)


def classifier(X, dtype=np.float32):
    n = X.shape[1]
    model = cr.Model([Normalization().adapt(X), cr.Dense(n, 2, dtype=dtype, rng=0),
                      cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(0.05))
    return model


@pytest.mark.parametrize("offset, spread", [
    pytest.param(1e8, 3.0, id="1e8+N(0,3)"),
    pytest.param(-1e8, 3.0, id="-1e8+N(0,3)"),
    pytest.param(1.7e9, 60.0, id="timestamps"),
    pytest.param(4.2e12, 100.0, id="prices-in-cents"),
    pytest.param(2.0**60, 2.0**20, id="ids-2^60"),
])
def test_a_column_with_a_large_offset_trains_as_well_as_logistic_regression(offset, spread):
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = offset_column(offset, spread)
    reference = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y).score(X, y)
    model = classifier(X)
    model.train(X, y, epochs=300, print_every=None)
    accuracy = model.evaluate(X, y, verbose=False)["accuracy"]
    assert reference == 1.0
    assert accuracy >= reference - 0.01
    # The layer hands the model's dtype on: the float32 network stays float32.
    assert model.layers[0].output.dtype == np.float32 == model.predict(X).dtype


def rest_of(model):
    """The same network without its first (Normalization) layer, sharing its parameters."""
    rest = cr.Model(model.layers[1:])
    rest.set(loss=model.loss, optimizer=model.optimizer)
    return rest


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("offset", [0.0, 1e8, -3e15, 1e200])
def test_predict_and_evaluate_on_raw_values_equal_the_network_on_standardised_ones(dtype,
                                                                                   offset):
    """(x − μ)/σ computed in float64 and rounded once to the model's dtype: exactly what the
    rest of the network gets from ``transform`` in float64, cast."""
    X, y = offset_column(offset, 3.0 if offset < 1e100 else 1e190, n=64, seed=1)
    X = np.c_[X, np.random.default_rng(2).normal(5, 2, len(X))]
    model = classifier(X, dtype)
    norm = model.layers[0]
    standardised = norm.transform(X)
    assert np.unique(standardised[:, 0]).size == len(np.unique(X[:, 0]))
    expected = rest_of(model).predict(standardised.astype(dtype))
    np.testing.assert_array_equal(model.predict(X), expected)
    np.testing.assert_array_equal(model.predict(X, batch_size=7), expected)
    full = cr.Model([norm, *model.layers[1:]])
    full.set(loss=cr.CategoricalCrossentropy())
    assert full.evaluate(X, y, verbose=False) == rest_of(model).evaluate(
        standardised.astype(dtype), y, verbose=False)


@pytest.mark.parametrize("batch_size", [None, 16])
def test_training_on_raw_values_equals_training_on_standardised_ones(batch_size):
    X, y = offset_column(1e8, 3.0, n=96)
    raw = classifier(X)
    norm = raw.layers[0]
    standardised = cr.Model([cr.Dense(1, 2, rng=0), cr.Softmax()])
    standardised.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(0.05))
    a = raw.train(X, y, epochs=20, batch_size=batch_size, print_every=None, rng=3)
    b = standardised.train(norm.transform(X).astype(np.float32), y, epochs=20,
                           batch_size=batch_size, print_every=None, rng=3)
    assert a == b
    for left, right in zip(raw.get_parameters(), standardised.get_parameters(), strict=True):
        for p, q in zip(left, right, strict=True):
            np.testing.assert_array_equal(p, q)


def test_float32_inputs_are_standardised_against_the_float64_mean():
    """float32 data (already rounded by the user) is not rounded again by a float32 mean:
    μ = 1e8 + 0.3 would round to 1e8 and shift every value by 0.3/σ."""
    X = (1e8 + np.array([-8.0, 0.0, 8.0, 16.0])).astype(np.float32).reshape(-1, 1)
    norm = Normalization().adapt(X)
    expected = ((X.astype(np.float64) - norm.mean) / norm.std).astype(np.float32)
    model = cr.Model([norm, cr.Dense(1, 1, rng=0), cr.Linear()])
    np.testing.assert_array_equal(norm.forward(X), expected)
    model.predict(X)
    np.testing.assert_array_equal(norm.output, expected)


@pytest.mark.parametrize("scale", [1e39, 1e100, 1e300])
def test_values_beyond_float32_are_fine_when_their_standardised_values_fit(scale):
    X, y = offset_column(0.0, 1.0, n=64)
    X = X * scale
    model = classifier(X)
    model.train(X, y, epochs=100, print_every=None)
    assert model.evaluate(X, y, verbose=False)["accuracy"] == 1.0
    assert np.isfinite(model.predict(X)).all()
    # Without Normalization first the same values are refused: float32 cannot hold them.
    bare = cr.Model([cr.Dense(1, 2, rng=0), cr.Softmax()])
    with pytest.raises(ValueError, match="beyond what the model's float32"):
        bare.predict(X)


@pytest.mark.parametrize("invert", [False, True], ids=["standardise", "invert"])
def test_values_whose_standardised_value_overflows_are_refused_naming_the_column(invert):
    norm = Normalization(mean=[0.0, 0.0], std=[1.0, 1e-30], invert=invert)
    model = cr.Model([norm, cr.Dense(2, 1, rng=0), cr.Linear()])
    model.set(loss=cr.MeanSquaredError(), optimizer=cr.SGD(0.1))
    # Standardised, 1e10 / 1e-30 = 1e40 is beyond float32; inverted, 1e40 · 1 is.
    bad = np.array([[1.0, 0.5], [2.0, 1e10]]) if not invert else np.array([[1.0, 0.5],
                                                                           [1e40, 1.0]])
    column = 1 if not invert else 0
    before = [p.copy() for layer in model.get_parameters() for p in layer]
    for call in (lambda: model.predict(bad), lambda: model.train(bad, np.zeros((2, 1)),
                                                                 print_every=None),
                 lambda: model.evaluate(bad, np.zeros((2, 1)), verbose=False)):
        with pytest.raises(ValueError, match=rf"column {column}.*float32"):
            call()
    after = [p for layer in model.get_parameters() for p in layer]
    for p, q in zip(before, after, strict=True):
        np.testing.assert_array_equal(p, q)
    assert model.epoch == 0 and model.history == {}


def test_values_that_overflow_even_float64_on_the_way_are_refused_not_warned():
    norm = Normalization(mean=[-1.5e308], std=[1e-300])
    model = cr.Model([norm, cr.Dense(1, 1, dtype=np.float64, rng=0), cr.Linear()])
    with pytest.raises(ValueError, match="column 0"):
        model.predict([[1.5e308]])


@pytest.mark.parametrize("magnitude", [1e154, 1e200, 1e307, np.finfo(np.float64).max / 4])
def test_adapt_computes_std_of_huge_values_without_overflow(magnitude):
    base = np.array([-3.0, -1.0, 1.0, 3.0, 0.5, -0.5])
    X = np.c_[base * magnitude, base + 7.0]
    norm = Normalization().adapt(X)
    # base has mean 0 and population std sqrt(20/6): both scale exactly with the column.
    expected = np.sqrt(np.mean(base**2))
    np.testing.assert_allclose(norm.std[0], [expected * magnitude, expected], rtol=1e-14)
    assert abs(norm.mean[0, 0]) <= 1e-15 * magnitude and norm.mean[0, 1] == pytest.approx(7)
    np.testing.assert_allclose(norm.transform(X)[:, 0], base / expected, rtol=1e-14)


@pytest.mark.parametrize("offset", [1e15, -2.0**52, 1e300])
def test_adapt_finds_the_mean_and_std_of_a_small_spread_on_a_large_offset(offset):
    """The four values offset + (−3, −1, 1, 3)·u, u one unit in the last place there, have
    mean ``offset`` and std √5·u exactly; a constant column keeps σ = 1."""
    ulp = np.spacing(abs(offset))
    X = np.c_[offset + np.array([-3.0, -1.0, 1.0, 3.0]) * ulp, np.full(4, offset)]
    norm = Normalization().adapt(X)
    assert norm.mean[0, 0] == offset and norm.mean[0, 1] == offset
    assert norm.std[0, 0] == pytest.approx(np.sqrt(5) * ulp, rel=1e-15)
    assert norm.std[0, 1] == 1.0
    np.testing.assert_allclose(norm.transform(X)[:, 0], np.array([-3, -1, 1, 3]) / np.sqrt(5),
                               rtol=1e-15)


@pytest.mark.parametrize("bad, column, what", [
    pytest.param(np.nan, 2, "NaN", id="nan"),
    pytest.param(np.inf, 1, "inf", id="inf"),
    pytest.param(-np.inf, 0, "inf", id="-inf"),
])
def test_adapt_refuses_non_finite_values_naming_the_column(bad, column, what):
    X = np.ones((5, 3))
    X[3, column] = bad
    norm = Normalization()
    with pytest.raises(ValueError, match=rf"column {column}.*row 3.*{what}"):
        norm.adapt(X)
    assert norm.mean is None


def test_a_re_adapted_layer_forgets_its_old_statistics():
    """Every computation after a second adapt uses the new μ and σ (no cached cast kept),
    in every dtype and direction it has already run in."""
    old = np.random.default_rng(0).normal(5, 2, size=(50, 2))
    new = np.random.default_rng(1).normal(-40, 9, size=(50, 2))
    norm = Normalization().adapt(old)
    back = Normalization().adapt(old).inverted()
    for dtype in (np.float32, np.float64):
        norm.forward(old.astype(dtype))
        norm.backward(np.ones((50, 2), dtype))
        back.forward(old.astype(dtype))
        back.backward(np.ones((50, 2), dtype))
    norm.adapt(new)
    back.set_statistics(norm.mean, norm.std)
    for dtype in (np.float32, np.float64):
        np.testing.assert_allclose(norm.forward(new.astype(dtype)),
                                   (new - new.mean(0)) / new.std(0), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(norm.backward(np.ones((50, 2), dtype)),
                                   np.broadcast_to(1 / new.std(0), (50, 2)), rtol=1e-6)
        np.testing.assert_allclose(back.forward(np.zeros((3, 2), dtype)),
                                   np.broadcast_to(new.mean(0), (3, 2)), rtol=1e-6)
        np.testing.assert_allclose(back.backward(np.ones((3, 2), dtype)),
                                   np.broadcast_to(new.std(0), (3, 2)), rtol=1e-6)
    # And inside a model, where the layer is first and takes raw values.
    model = cr.Model([norm, cr.Dense(2, 1, rng=0), cr.Linear()])
    model.predict(old)
    norm.adapt(old)
    np.testing.assert_allclose(model.layers[0].forward(old), (old - old.mean(0)) / old.std(0),
                               rtol=1e-6)


def plan_of(model, X, y, fraction, rng=0):
    from chainrule.training._plan import make_plan

    return make_plan(model, X, y, 1, None, None, None, True, rng, False, None, None, fraction)


@pytest.mark.parametrize("counts, fraction", [
    pytest.param((30, 30, 30), 0.2, id="balanced"),
    pytest.param((50, 7, 20, 3), 0.25, id="imbalanced-4"),
    pytest.param((12, 40), 0.5, id="two-classes"),
    pytest.param((9, 9, 9, 9, 9, 9), 1 / 3, id="six-classes"),
])
def test_validation_split_of_one_hot_targets_is_the_split_of_their_labels(counts, fraction):
    """Stratified by class: each class gives round(count · fraction) samples, the same
    samples whether ``y`` holds labels or one-hot rows (classes along axis 1)."""
    labels = np.repeat(np.arange(len(counts)), counts)
    labels = np.random.default_rng(5).permutation(labels)
    X = np.random.default_rng(6).normal(size=(len(labels), 3))
    one_hot = np.eye(len(counts))[labels]
    model = cr.Model([cr.Dense(3, len(counts), rng=0), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.SGD(0.1))
    by_label, by_row = plan_of(model, X, labels, fraction), plan_of(model, X, one_hot, fraction)
    np.testing.assert_array_equal(by_row.validation[0], by_label.validation[0])
    np.testing.assert_array_equal(by_row.validation[2], by_label.validation[2])
    np.testing.assert_array_equal(by_row.X, by_label.X)
    held_out = np.bincount(by_label.validation[2], minlength=len(counts))
    np.testing.assert_array_equal(held_out, np.round(np.array(counts) * fraction))
    np.testing.assert_array_equal(held_out + np.bincount(by_label.labels, minlength=len(counts)),
                                  counts)
    # And through train: the two give the same figures, epoch by epoch.
    twin = cr.Model([cr.Dense(3, len(counts), rng=0), cr.Softmax()])
    twin.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.SGD(0.1))
    a = model.train(X, labels, epochs=3, validation_split=fraction, rng=1, print_every=None)
    b = twin.train(X, one_hot, epochs=3, validation_split=fraction, rng=1, print_every=None)
    assert a == b


# -- the hostile pass: explain, the checks before training, the global stream -------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("as_layers", [False, True], ids=["model", "layers"])
def test_explain_takes_raw_values_as_predict_does(dtype, as_layers):
    """explain's pass is the model's: a first Normalization gets X as given and standardises
    it in float64 (a float32 cast first would leave 3 distinct values of 64 here)."""
    X, y = offset_column(1e8, 3.0, n=64)
    model = classifier(X, dtype)
    rest = rest_of(model)
    standardised = model.layers[0].transform(X).astype(dtype)
    expected = cr.explain(rest, standardised, y, layer=0, index=(0, 1))
    target = model if not as_layers else list(model.layers)
    found = cr.explain(target, X, y, layer=1, index=(0, 1), loss=model.loss)
    assert found.value == expected.value
    assert found.numerical == pytest.approx(expected.numerical, rel=1e-6)
    assert found.value != 0.0
    # Values beyond float32 after standardising are refused as predict refuses them.
    if dtype == np.float32:
        with pytest.raises(ValueError, match="column 0"):
            cr.explain(target, np.array([[1e8], [1e50]]), [0, 1], layer=1, index=(0, 1),
                       loss=model.loss)


def overflowing_model(dtype):
    """A network whose forward pass overflows ``dtype`` on ordinary inputs."""
    big = np.finfo(dtype).max / 2
    model = cr.Model([cr.Dense(2, 2, dtype=dtype, rng=0), cr.ReLU(),
                      cr.Dense(2, 2, dtype=dtype, rng=0), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.SGD(0.1))
    model.layers[0].weights[...] = big
    model.layers[2].weights[...] = big
    return model


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("with_validation", [False, True])
def test_training_a_model_whose_forward_overflows_raises_without_a_warning(dtype,
                                                                        with_validation):
    """The check of the data runs a sample through the network (to learn the output's
    width): an overflow there is the training's to report, as TrainingDiverged, not a
    RuntimeWarning printed (an error under pytest) before it starts."""
    from chainrule.training import TrainingDiverged

    model = overflowing_model(dtype)
    X, y = np.ones((8, 2)), np.arange(8) % 2
    validation = (X, y) if with_validation else None
    with pytest.raises(TrainingDiverged):
        model.train(X, y, epochs=2, print_every=None, validation_data=validation)


def refusals_after_the_data_checks():
    """Ways ``train`` with validation_split is refused once X and y are fine."""
    def monitor(model, X, y, rng):
        model.train(X, y, validation_split=0.25, rng=rng, print_every=None,
                    callbacks=[cr.callbacks.EarlyStopping("val_los")])

    def plateau(model, X, y, rng):
        model.train(X, y, validation_split=0.25, rng=rng, print_every=None,
                    callbacks=[cr.callbacks.ReduceLROnPlateau("val_acuracy")])

    def nothing_to_train(model, X, y, rng):
        model.train(X, y, validation_split=0.99, rng=rng, print_every=None)

    def nothing_held_out(model, X, y, rng):
        model.train(X, y, validation_split=0.01, rng=rng, print_every=None)

    def csv_folder(model, X, y, rng):
        model.train(X, y, validation_split=0.25, rng=rng, print_every=None,
                    callbacks=[cr.callbacks.CSVLogger("/nonexistent-folder/log.csv")])

    return [monitor, plateau, nothing_to_train, nothing_held_out, csv_folder]


@pytest.mark.parametrize("stream", ["global", "generator"])
@pytest.mark.parametrize("refusal", refusals_after_the_data_checks(),
                         ids=lambda f: f.__name__)
def test_a_refused_training_with_validation_split_leaves_the_random_stream_as_it_was(refusal,
                                                                                   stream):
    """rng=None: NumPy's global state; rng=Generator: the caller's generator. The split's
    seed is drawn from it, but a run refused before its first change must not move it."""
    X = np.random.default_rng(0).normal(size=(20, 2))
    y = np.arange(20) % 2
    model = cr.Model([cr.Dense(2, 2, rng=0), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.SGD(0.1))
    np.random.seed(1234)
    np.random.normal()  # a cached Gaussian is part of the state too
    state = np.random.get_state(legacy=False)
    generator = np.random.default_rng(99) if stream == "generator" else None
    generator_state = None if generator is None else generator.bit_generator.state
    with pytest.raises(ValueError):
        refusal(model, X, y, generator)
    after = np.random.get_state(legacy=False)
    assert after["state"]["pos"] == state["state"]["pos"]
    np.testing.assert_array_equal(after["state"]["key"], state["state"]["key"])
    assert (after["has_gauss"], after["gauss"]) == (state["has_gauss"], state["gauss"])
    if generator is not None:
        assert generator.bit_generator.state == generator_state
    assert model.epoch == 0 and model.history == {}


def test_a_training_with_validation_split_and_no_rng_still_draws_from_the_global_stream():
    """The split's seed still comes from NumPy's global state (the documented rng=None),
    drawn once: the same seed gives the same run, and the stream moves on after it."""
    X = np.random.default_rng(0).normal(size=(40, 2))
    y = np.arange(40) % 2
    runs = []
    for _ in range(2):
        model = cr.Model([cr.Dense(2, 2, rng=0), cr.Softmax()])
        model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.SGD(0.1))
        np.random.seed(7)
        runs.append((model.train(X, y, epochs=2, batch_size=8, validation_split=0.25,
                                 print_every=None), np.random.random()))
    assert runs[0] == runs[1]
    np.random.seed(7)
    assert runs[0][1] != np.random.random()  # the run drew from it


def test_a_training_with_validation_split_and_a_generator_draws_its_split_from_it():
    """The caller's Generator moves on by the split's draw (and the run's shuffles): two
    runs from equal generators agree, and leave their generators equal."""
    X = np.random.default_rng(0).normal(size=(40, 2))
    y = np.arange(40) % 2
    runs, generators = [], []
    for _ in range(2):
        model = cr.Model([cr.Dense(2, 2, rng=0), cr.Softmax()])
        model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.SGD(0.1))
        generator = np.random.default_rng(5)
        runs.append(model.train(X, y, epochs=2, batch_size=8, validation_split=0.25,
                                rng=generator, print_every=None))
        generators.append(generator.bit_generator.state)
    assert runs[0] == runs[1] and generators[0] == generators[1]
    assert generators[0] != np.random.default_rng(5).bit_generator.state


# -- the scikit-learn estimators ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("value", [1e39, -3.5e38, 1e300])
def test_an_estimator_refuses_values_beyond_its_dtype_in_chainrules_words(kind, value):
    """float32 estimators: X beyond float32 is refused naming X and the value, by the model's
    own check, without NumPy's cast warning first (scikit-learn's validate_data used to cast
    X to float32 itself: 'overflow encountered in cast', then its own message); the
    estimator keeps its previous fit, and predict refuses the same way."""
    pytest.importorskip("sklearn")
    from chainrule.sklearn import ChainruleClassifier, ChainruleRegressor

    X = np.random.default_rng(0).normal(size=(30, 3))
    y = np.arange(30) % 2
    estimator = (ChainruleClassifier if kind == "classifier" else ChainruleRegressor)(
        (4,), max_iter=3, random_state=0).fit(X, y)
    before = estimator.predict(X)
    bad = X.copy()
    bad[4, 2] = value
    with pytest.raises(ValueError, match=r"X holds .*float32"):
        estimator.fit(bad, y)
    with pytest.raises(ValueError, match=r"X holds .*float32"):
        estimator.predict(bad)
    np.testing.assert_array_equal(estimator.predict(X), before)
    # A float64 estimator takes them as they are.
    wide = (ChainruleClassifier if kind == "classifier" else ChainruleRegressor)(
        (4,), max_iter=1, random_state=0, dtype="float64")
    if abs(value) < 1e100:
        assert wide.fit(bad / 1e30, y).predict(bad / 1e30).shape[0] == 30


# -- an inverted Normalization last: predictions in the targets' own units ---------------------


def regression_with_targets_of(offset, spread, dtype=np.float32, n=200):
    """The README's recipe: train on standardised targets, then append targets.inverted()."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(n, 2))
    y = offset + spread * (X[:, 0] + 0.5 * X[:, 1]) + rng.normal(0, spread / 10, n)
    targets = Normalization().adapt(y)
    model = cr.Model([Normalization().adapt(X), cr.Dense(2, 8, dtype=dtype, rng=0), cr.Tanh(),
                      cr.Dense(8, 1, dtype=dtype, rng=1), cr.Linear()])
    model.set(loss=cr.MeanSquaredError(), optimizer=cr.Adam(0.01))
    model.train(X, targets.transform(y), epochs=60, print_every=None)
    network = model.predict(X)
    model.add(targets.inverted())
    return model, X, y.reshape(-1, 1), targets, network


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("offset, spread", [(1e8, 3.0), (1.7e9, 60.0), (-4.2e12, 100.0),
                                            (1e200, 1e190), (0.0, 1.0)])
def test_an_inverted_last_layer_predicts_in_the_targets_units_without_rounding(dtype, offset,
                                                                                spread):
    """x·σ + μ in float64 and kept: a float32 output would round 1e8 + N(0, 3) predictions to
    multiples of 8 (3 distinct values of 200, RMSE 2.3 where the network's is 0.3)."""
    model, X, y, targets, network = regression_with_targets_of(offset, spread, dtype)
    expected = network.astype(np.float64) * targets.std + targets.mean
    predictions = model.predict(X)
    assert predictions.dtype == np.float64
    np.testing.assert_array_equal(predictions, expected)
    assert np.unique(predictions).size == np.unique(network).size
    # In batches: the network's batched outputs (BLAS may round them otherwise), mapped.
    batched = cr.Model(model.layers[:-1]).predict(X, batch_size=7)
    np.testing.assert_array_equal(model.predict(X, batch_size=7),
                                  batched.astype(np.float64) * targets.std + targets.mean)
    # evaluate compares with y in its own units, in float64: y is not rounded either
    # (while the squared errors fit float64).
    if spread < 1e100:
        loss = model.evaluate(X, y, verbose=False)["loss"]
        assert loss == pytest.approx(np.mean((expected - y) ** 2), rel=1e-12)
    # The network below keeps the model's dtype.
    assert model.layers[-2].output.dtype == dtype


def test_training_through_an_inverted_last_layer_keeps_the_network_in_its_dtype(tmp_path):
    """Trained with the inverted layer in place (targets in their own units), the gradients
    below it are float32, and a saved model predicts exactly what it predicted."""
    model, X, y, _, _ = regression_with_targets_of(1e8, 3.0)
    model.set(optimizer=cr.SGD(1e-3))
    history = model.train(X, y, epochs=3, print_every=None)
    assert all(np.isfinite(history["loss"]))
    dense = model.layers[3]
    assert dense.dweights.dtype == dense.weights.dtype == np.float32
    assert model.layers[-1].dinputs.dtype == np.float32
    model.save(tmp_path / "m.chainrule")
    loaded = cr.Model.load(tmp_path / "m.chainrule")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.predict(X).dtype == np.float64

"""The training loop's promises: the figures it reports, the data it checks, divergence,
callbacks, held-out data, and that a parameter you hold is the parameter that trains."""

import math
import pickle

import numpy as np
import pytest
from conftest import FirstRows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import (
    SGD,
    Adagrad,
    Adam,
    BinaryCrossentropy,
    Callback,
    CategoricalCrossentropy,
    Dense,
    Dropout,
    EarlyStopping,
    Layer,
    Linear,
    MeanSquaredError,
    Model,
    ReLU,
    RMSprop,
    Sigmoid,
    Softmax,
    TrainingDiverged,
)
from chainrule.datasets import sine_data, spiral_data

X, Y = spiral_data(20, 3, rng=0)


def classifier(rng=0, optimizer=None, l2=0.0):
    model = Model([Dense(2, 16, init="he", rng=rng, weight_regularizer_l2=l2,
                         bias_regularizer_l2=l2), ReLU(), Dense(16, 3, rng=rng), Softmax()])
    model.set(loss=CategoricalCrossentropy(), optimizer=optimizer or Adam(0.01))
    return model


def parameters_equal(a, b):
    return all(np.array_equal(x, y) for pa, pb in zip(a, b, strict=True)
               for x, y in zip(pa, pb, strict=True))


class Batches(Callback):
    """Records each step's figures as the loop reports them."""

    def __init__(self):
        self.steps = []

    def on_batch_end(self, step, logs=None):
        self.steps.append(dict(logs))


# -- the figures --------------------------------------------------------------------------------


def test_epoch_figures_are_means_over_samples_not_batches():
    model = classifier()
    batches = Batches()
    history = model.train(X, Y, epochs=1, batch_size=25, print_every=None, callbacks=[batches],
                          shuffle=False)
    sizes = np.array([b["size"] for b in batches.steps])
    losses = np.array([b["data_loss"] for b in batches.steps])
    assert list(sizes) == [25, 25, 10]  # an uneven last batch makes the two means differ
    per_sample = float(np.sum(losses * sizes) / np.sum(sizes))
    assert history["data_loss"][0] == pytest.approx(per_sample, rel=1e-12)
    assert abs(per_sample - losses.mean()) > 1e-4
    accuracies = np.array([b["accuracy"] for b in batches.steps])
    assert history["accuracy"][0] == pytest.approx(np.sum(accuracies * sizes) / 60, rel=1e-12)


def test_evaluate_is_the_same_whatever_the_batch_size():
    model = classifier()
    model.train(X, Y, epochs=5, print_every=None)
    whole = model.evaluate(X, Y, verbose=False)
    for batch_size in (1, 7, 59, 60, 1000):
        parts = model.evaluate(X, Y, batch_size=batch_size, verbose=False)
        assert parts["loss"] == pytest.approx(whole["loss"], rel=1e-6)
        assert parts["accuracy"] == whole["accuracy"]


def test_reg_loss_is_the_penalty_of_the_parameters_the_epoch_ends_with():
    l2 = 1e-3
    model = classifier(l2=l2)
    history = model.train(X, Y, epochs=3, batch_size=16, print_every=None)
    w, b = model.get_parameters()[0]
    penalty = l2 * float(np.sum(w.astype(np.float64) ** 2) + np.sum(b.astype(np.float64) ** 2))
    assert history["reg_loss"][-1] == pytest.approx(penalty, rel=1e-5)
    assert history["loss"][-1] == pytest.approx(history["data_loss"][-1] + penalty, rel=1e-5)


def test_the_book_step_lines_with_batches(capsys):
    model = classifier()
    model.train(X, Y, epochs=2, batch_size=25, print_every=2, validation_data=(X, Y))
    lines = capsys.readouterr().out.splitlines()
    kinds = [line.split(",")[0].split(":")[0] for line in lines]
    assert kinds == ["epoch", "step", "step", "training", "validation"] * 2
    assert lines[0] == "epoch: 1" and lines[5] == "epoch: 2"
    assert lines[1].startswith("step: 0, acc: ") and lines[2].startswith("step: 2, acc: ")
    assert "(data_loss: " in lines[3] and ", lr: 0.01" in lines[3]


# -- validation data ------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [None, 1, 16])
def test_one_hot_validation_labels_give_the_same_figures_as_indices(batch_size):
    sparse, dense = classifier(), classifier()
    a = sparse.train(X, Y, epochs=2, batch_size=batch_size, validation_data=(X, Y),
                     print_every=None, rng=0)
    b = dense.train(X, Y, epochs=2, batch_size=batch_size, validation_data=(X, np.eye(3)[Y]),
                    print_every=None, rng=0)
    assert a["val_accuracy"] == b["val_accuracy"]
    np.testing.assert_allclose(a["val_loss"], b["val_loss"], rtol=1e-6)
    expected = sparse.evaluate(X, Y, verbose=False)
    assert a["val_accuracy"][-1] == expected["accuracy"]


def test_zero_epochs_with_validation_trains_nothing():
    model = classifier()
    before = model.get_parameters()
    assert model.train(X, Y, epochs=0, validation_data=(X, Y), print_every=1) == {}
    assert parameters_equal(before, model.get_parameters()) and model.epoch == 0


def test_validation_split_is_stratified_and_seeded():
    labels = np.repeat([0, 1, 2], [40, 15, 5])
    data = np.random.default_rng(0).normal(size=(60, 2))
    seen = []

    class Rows(Layer):
        def forward(self, inputs, training=True):
            if not training:
                seen.append(inputs.copy())
            self.output = inputs
            return inputs

        def backward(self, dvalues):
            self.dinputs = dvalues
            return dvalues

    for _ in range(2):
        model = Model([Rows(), Dense(2, 3, rng=0), Softmax()])
        model.set(loss=CategoricalCrossentropy(), optimizer=Adam(0.01))
        model.train(data, labels, epochs=1, validation_split=0.2, rng=3, print_every=None)
    first, second = seen[-3], seen[-1]  # the validation forward passes of the two runs
    np.testing.assert_array_equal(first, second)
    data32 = data.astype(np.float32)
    held_out = [labels[np.flatnonzero((data32 == row).all(axis=1))[0]] for row in first]
    assert np.bincount(held_out, minlength=3).tolist() == [8, 3, 1]


# -- divergence ----------------------------------------------------------------------------------


OPTIMIZERS = [lambda lr: SGD(lr), lambda lr: SGD(lr, momentum=0.9), lambda lr: Adagrad(lr),
              lambda lr: RMSprop(lr), lambda lr: Adam(lr)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exponent=st.floats(-3, 38), optimizer=st.sampled_from(OPTIMIZERS),
       task=st.sampled_from(["classification", "regression"]), validation=st.booleans(),
       batch_size=st.sampled_from([None, 8]))
def test_divergence_always_keeps_finite_parameters(exponent, optimizer, task, validation,
                                                   batch_size):
    if task == "classification":
        model = classifier(optimizer=optimizer(10.0**exponent))
        data, target = X, Y
    else:
        model = Model([Dense(1, 8, init="he", rng=0), ReLU(), Dense(8, 1, rng=0), Linear()])
        model.set(loss=MeanSquaredError(), optimizer=optimizer(10.0**exponent))
        data, target = sine_data(40)
        target = target * 1e3
    kwargs = {"validation_data": (data, target)} if validation else {}
    try:
        model.train(data, target, epochs=4, batch_size=batch_size, print_every=None, **kwargs)
    except TrainingDiverged as error:
        assert "Try a lower learning rate" in str(error)
    for params in model.get_parameters():
        for array in params:
            assert np.isfinite(array).all()


def test_a_nan_gradient_changes_neither_parameters_nor_state():
    model = classifier()
    model.train(X, Y, epochs=2, print_every=None)
    before = model.get_parameters()
    state = {k: v.copy() for k, v in model.optimizer.get_state(model.layers[2], "weights").items()}

    class Poison(Callback):
        def on_batch_begin(self, step, logs=None):
            model.layers[2].weights[0, 0] = np.nan  # the forward pass turns NaN ...

    with pytest.raises(TrainingDiverged, match="epoch 3, step 1"):
        model.train(X, Y, epochs=1, print_every=None, callbacks=[Poison()])
    model.layers[2].weights[0, 0] = before[1][0][0, 0]
    assert parameters_equal(before, model.get_parameters())
    for key, value in model.optimizer.get_state(model.layers[2], "weights").items():
        np.testing.assert_array_equal(value, state[key])
    assert model.optimizer.iterations == 2 and model.epoch == 2


def test_an_overflowing_update_is_undone_and_reported():
    model = Model([Dense(1, 1, rng=0), Linear()])
    model.set(loss=MeanSquaredError(), optimizer=SGD(1e38))
    data = np.ones((4, 1))
    before = model.get_parameters()
    with pytest.raises(TrainingDiverged, match="NaN or infinite"):
        model.train(data, data * 1e3, epochs=3, print_every=None)
    for params in model.get_parameters():
        assert all(np.isfinite(a).all() for a in params)
    assert model.epoch < 3 and len(model.history.get("loss", [])) == model.epoch
    if model.epoch == 0:
        assert parameters_equal(before, model.get_parameters())


def test_adam_state_does_not_overflow_before_textbook_adam():
    # g² = 1e36 fits float32 (max 3.4e38): textbook v = (1 − β₂)·g² is finite, so the
    # parameter keeps moving; a state scaled by 1/(1 − β₂) would have overflowed.
    layer = Dense(1, 1, rng=0)
    optimizer = Adam(0.1)
    for _ in range(3):
        layer.dweights = np.full((1, 1), 1e18, np.float32)
        layer.dbiases = np.zeros((1, 1), np.float32)
        before = layer.weights.copy()
        optimizer.step([layer])
        assert np.isfinite(layer.weight_cache).all()
        assert layer.weights[0, 0] == pytest.approx(before[0, 0] - 0.1, rel=1e-3)


# -- parameters stay put ---------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: Adam(0.01), lambda: SGD(0.5, momentum=0.9),
                                  lambda: RMSprop(0.01), lambda: Adagrad(0.1)])
def test_an_array_taken_from_a_layer_is_the_parameter_that_trains(make):
    model = classifier(optimizer=make())
    w, b = model.layers[0].weights, model.layers[2].biases
    start = w.copy()
    model.train(X, Y, epochs=3, batch_size=16, print_every=None)
    assert w is model.layers[0].weights and b is model.layers[2].biases
    assert not np.array_equal(w, start)
    # ... and the optimizer's state is where the book keeps it, the same arrays
    for layer in (model.layers[0], model.layers[2]):
        for name, book in (("weights", "weight"), ("biases", "bias")):
            for slot, array in model.optimizer.get_state(layer, name).items():
                assert getattr(layer, f"{book}_{slot}") is array


def test_a_rebound_parameter_still_trains():
    model = classifier()
    model.train(X, Y, epochs=1, print_every=None)
    model.layers[0].weights = model.layers[0].weights.copy()  # the user replaces the array
    mine = model.layers[0].weights
    before = mine.copy()
    model.train(X, Y, epochs=2, print_every=None)
    assert model.layers[0].weights is mine and not np.array_equal(mine, before)


def test_pickled_models_train_exactly_as_the_original():
    model = classifier()
    model.train(X, Y, epochs=2, batch_size=16, print_every=None, rng=1)
    copy = pickle.loads(pickle.dumps(model))
    model.train(X, Y, epochs=2, batch_size=16, print_every=None, rng=2)
    copy.train(X, Y, epochs=2, batch_size=16, print_every=None, rng=2)
    assert parameters_equal(model.get_parameters(), copy.get_parameters())
    assert model.history == copy.history


# -- refused calls change nothing ------------------------------------------------------------------


def test_set_parameters_checks_every_array_before_writing():
    model = classifier()
    before = model.get_parameters()
    bad = [before[0], (np.full((16, 3), np.nan), before[1][1])]
    with pytest.raises(ValueError, match=r"parameters\[1\] weights"):
        model.set_parameters(bad)
    changed = [(before[0][0] + 1, before[0][1]), (before[1][0], np.zeros((2, 3)))]
    with pytest.raises(ValueError, match="shape"):
        model.set_parameters(changed)
    with pytest.raises(ValueError, match="float32"):
        model.set_parameters([(before[0][0].astype(np.float64) * 1e300, before[0][1]), before[1]])
    assert parameters_equal(before, model.get_parameters())


def test_set_state_checks_every_slot_before_writing():
    model = classifier()
    model.train(X, Y, epochs=1, print_every=None)
    layer, optimizer = model.layers[0], model.optimizer
    saved = {k: v.copy() for k, v in optimizer.get_state(layer, "weights").items()}
    with pytest.raises(ValueError, match="cache"):
        optimizer.set_state(layer, "weights", {"momentums": saved["momentums"] + 1,
                                               "cache": np.full((2, 16), np.inf)})
    for key, value in optimizer.get_state(layer, "weights").items():
        np.testing.assert_array_equal(value, saved[key])


def test_dense_set_parameters_is_the_books_and_checks_both_first():
    layer = Dense(2, 3, rng=0)
    w, b = layer.get_parameters()
    assert w is layer.weights and b is layer.biases
    before = w.copy()
    with pytest.raises(ValueError, match="biases"):
        layer.set_parameters(np.zeros((2, 3)), np.zeros((3, 1)))
    np.testing.assert_array_equal(layer.weights, before)
    layer.set_parameters(np.ones((2, 3)), np.full((1, 3), 2.0))
    assert w is layer.weights and (w == 1).all() and (layer.biases == 2).all()


# -- losses and metrics that the loop relies on ---------------------------------------------------


def test_soft_targets_give_the_true_cross_entropy():
    p = np.array([[0.7, 0.2, 0.1]])
    y = np.array([[0.9, 0.05, 0.05]])
    expected = -(0.9 * np.log(0.7) + 0.05 * np.log(0.2) + 0.05 * np.log(0.1))
    assert expected == pytest.approx(0.5166, abs=1e-4)
    assert CategoricalCrossentropy().calculate(p, y) == pytest.approx(expected, rel=1e-12)
    assert cr.gradcheck(CategoricalCrossentropy(), p, y) < 1e-7


def test_soft_targets_train_through_the_fused_gradient():
    rng = np.random.default_rng(0)
    soft = rng.dirichlet(np.ones(3), size=len(X))
    # He weights: the book's 0.01 scale makes gradients so small that rounding dominates.
    layers = [Dense(2, 5, init="he", dtype=np.float64, rng=0), ReLU(),
              Dense(5, 3, init="he", dtype=np.float64, rng=1), Softmax()]
    inputs = rng.normal(size=(7, 2))  # away from ReLU's kink at 0 (spiral_data starts there)
    assert cr.gradcheck(layers, inputs, soft[:7], loss=CategoricalCrossentropy()) < 1e-6
    model = classifier()
    history = model.train(X, soft, epochs=30, print_every=None)
    assert history["loss"][-1] < history["loss"][0]


def test_a_binary_model_trained_without_accuracy_evaluates():
    model = Model([Dense(2, 8, rng=0), ReLU(), Dense(8, 1, rng=0), Sigmoid()])
    model.set(loss=BinaryCrossentropy(), optimizer=Adam(0.01))
    target = (Y == 1).astype(float).reshape(-1, 1)
    model.train(X, target, epochs=20, print_every=None)
    result = model.evaluate(X, target, verbose=False)
    predictions = (model.predict(X) > 0.5).astype(float)
    assert result["accuracy"] == pytest.approx(float(np.mean(predictions == target)))


# -- shuffling -------------------------------------------------------------------------------------


@pytest.mark.parametrize("shuffle", [True, False])
def test_shuffling_reorders_every_epoch_and_only_when_asked(shuffle):
    recorder = FirstRows()
    model = Model([recorder, Dense(2, 3, rng=0), Softmax()])
    model.set(loss=CategoricalCrossentropy(), optimizer=Adam(0.01))
    model.train(X, Y, epochs=3, batch_size=10, shuffle=shuffle, rng=0, print_every=None)
    epochs = [recorder.rows[i:i + 6] for i in range(0, 18, 6)]
    in_order = [tuple(X[i].astype(np.float32)) for i in range(0, 60, 10)]
    if shuffle:
        assert epochs[0] != in_order and epochs[0] != epochs[1] != epochs[2]
    else:
        assert epochs == [in_order] * 3


# -- callbacks -------------------------------------------------------------------------------------


def test_callback_hooks_run_in_order_and_can_stop_training():
    calls = []

    class Log(Callback):
        def on_train_begin(self, logs=None):
            calls.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(f"epoch_begin {epoch}")

        def on_batch_begin(self, step, logs=None):
            calls.append(f"batch_begin {step}")

        def on_batch_end(self, step, logs=None):
            calls.append(f"batch_end {step}")

        def on_epoch_end(self, epoch, logs=None):
            calls.append(f"epoch_end {epoch} {sorted(logs)}")
            if epoch == 2:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            calls.append("train_end")

    model = classifier()
    model.train(X, Y, epochs=5, batch_size=40, print_every=None, callbacks=[Log()])
    keys = "['accuracy', 'data_loss', 'loss', 'lr', 'reg_loss']"
    epoch = ["batch_begin 0", "batch_end 0", "batch_begin 1", "batch_end 1"]
    assert calls == ["train_begin", "epoch_begin 1", *epoch, f"epoch_end 1 {keys}",
                     "epoch_begin 2", *epoch, f"epoch_end 2 {keys}", "train_end"]
    assert model.epoch == 2


def test_early_stopping_restores_the_best_weights():
    model = classifier(optimizer=Adam(0.05))
    X_val, y_val = spiral_data(20, 3, rng=1)
    kept = []

    class Keep(Callback):
        def on_epoch_end(self, epoch, logs=None):
            kept.append((logs["val_loss"], self.model.get_parameters()))

    stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = model.train(X, Y, epochs=400, validation_data=(X_val, y_val), print_every=None,
                          callbacks=[Keep(), stop])
    assert model.epoch < 400 and model.epoch == stop.stopped_epoch
    best = int(np.argmin(history["val_loss"]))
    assert stop.best_epoch == best + 1 and model.epoch - stop.best_epoch == 3  # Keras
    assert parameters_equal(model.get_parameters(), kept[best][1])


def test_early_stopping_needs_its_figure():
    model = classifier()
    with pytest.raises(ValueError, match=r"val_loss.*validation_data or validation_split"):
        model.train(X, Y, epochs=2, print_every=None, callbacks=[EarlyStopping()])


def test_dropout_rate_is_the_fraction_dropped_and_the_books_is_kept():
    from chainrule.nnfs import Layer_Dropout

    assert Dropout(0.1).rate == 0.1 and Layer_Dropout(0.1).rate == 0.9
    assert Layer_Dropout(0.1).config() == Dropout(0.1).config()
    x = np.ones((2000, 50))
    kept = np.mean(Layer_Dropout(0.2, rng=0).forward(x) > 0)
    assert kept == pytest.approx(0.8, abs=0.01) and math.isclose(
        np.mean(Dropout(0.2, rng=0).forward(x) > 0), kept)


def test_a_progress_bar_only_when_asked_for(capsys):
    # tqdm draws on stderr; without it (progress=False) nothing goes there.
    pytest.importorskip("tqdm")
    X, y = spiral_data(20, 3, rng=0)
    model = Model([Dense(2, 8, rng=0), ReLU(), Dense(8, 3, rng=1), Softmax()])
    model.set(loss=CategoricalCrossentropy(), optimizer=Adam())
    model.train(X, y, epochs=3, print_every=None, progress=True)
    err = capsys.readouterr().err
    assert "training" in err and "3/3" in err
    model.train(X, y, epochs=3, print_every=None, progress=False)
    assert capsys.readouterr().err == ""

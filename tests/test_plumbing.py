"""The plumbing around the math, where seeded bugs once went unnoticed (issue 9, item 10).

Each test here kills a bug that a mutation run (``tools/mutants.py``) or a seeded
bug (``tools/seeded_bugs.py``) showed the rest of the suite would let through.
"""

import math

import numpy as np
import pytest
from conftest import FirstRows

import chainrule as cr
from chainrule import (
    SGD,
    Adagrad,
    Adam,
    BinaryCrossentropy,
    Dense,
    Layer,
    Linear,
    MeanSquaredError,
    Model,
    ReLU,
    RMSprop,
    Sigmoid,
    TrainingDiverged,
)

OPTIMIZERS = [
    pytest.param(lambda: SGD(0.1), id="sgd"),
    pytest.param(lambda: SGD(0.1, momentum=0.9), id="sgd-momentum"),
    pytest.param(lambda: Adagrad(0.1), id="adagrad"),
    pytest.param(lambda: RMSprop(0.01), id="rmsprop"),
    pytest.param(lambda: Adam(0.01), id="adam"),
]


class Kernel:
    """A layer with one parameter that is not a Dense buffer: updated on its own."""

    params = ("kernel",)

    def __init__(self):
        self.kernel = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
        self.dkernel = np.zeros_like(self.kernel)


def snapshot(optimizer, layers):
    params = [getattr(layer, name).copy() for layer in layers for name in layer.params]
    state = [{slot: value.copy() for slot, value in optimizer.get_state(layer, name).items()}
             for layer in layers for name in layer.params]
    return params, state, optimizer.iterations


def assert_same(before, after):
    (params_a, state_a, steps_a), (params_b, state_b, steps_b) = before, after
    for a, b in zip(params_a, params_b, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(state_a, state_b, strict=True):
        assert a.keys() == b.keys()
        for slot in a:
            np.testing.assert_array_equal(a[slot], b[slot], err_msg=slot)
    assert steps_a == steps_b


@pytest.mark.parametrize("make", OPTIMIZERS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("kind", ["dense", "single-parameter"])
def test_a_non_finite_gradient_is_refused_before_anything_changes(make, bad, kind):
    """Parameters, momentums, caches and the step count stay as they were.

    (Without the check, the update would run, the parameters would be put back when they
    turn NaN, but the state would keep the NaN and poison every later step.)
    """
    rng = np.random.default_rng(0)
    layers = [Dense(2, 3, dtype=np.float64, rng=0), Dense(3, 2, dtype=np.float64, rng=1)] \
        if kind == "dense" else [Kernel()]
    optimizer = make()

    def gradients():
        for layer in layers:
            for name in layer.params:
                setattr(layer, "d" + name, rng.standard_normal(getattr(layer, name).shape))

    for _ in range(2):  # a state that is not zero
        gradients()
        optimizer.step(layers)
    before = snapshot(optimizer, layers)
    gradients()
    getattr(layers[-1], "d" + layers[-1].params[-1])[0, -1] = bad
    with pytest.raises(FloatingPointError, match="gradient holds NaN or infinite"):
        optimizer.step(layers)
    assert_same(before, snapshot(optimizer, layers))
    gradients()  # ... and the next finite step goes on from there
    optimizer.step(layers)
    assert optimizer.iterations == 3
    assert all(np.isfinite(getattr(layer, name)).all() for layer in layers
               for name in layer.params)


class NaNGradient(Layer):
    """The identity; once ``active``, its backward turns one gradient NaN while the
    forward pass, and so the loss, stays finite."""

    active = False

    def forward(self, inputs, training=True):
        self.output = inputs
        return inputs

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        if self.active:
            self.dinputs[0, 0] = np.nan
        return self.dinputs


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_training_stops_on_a_nan_gradient_with_a_finite_loss(make):
    poison = NaNGradient()
    model = Model([Dense(2, 4, init="he", rng=0), poison, ReLU(), Dense(4, 1, rng=1), Linear()])
    model.set(loss=MeanSquaredError(), optimizer=make())
    X = np.random.default_rng(0).normal(size=(8, 2))
    y = X[:, :1] - X[:, 1:]
    model.train(X, y, epochs=2, print_every=None)
    before = snapshot(model.optimizer, model.trainable_layers)
    poison.active = True
    with pytest.raises(TrainingDiverged, match="epoch 3, step 1: a gradient holds NaN"):
        model.train(X, y, epochs=1, print_every=None)
    assert_same(before, snapshot(model.optimizer, model.trainable_layers))
    assert model.epoch == 2 and len(model.history["loss"]) == 2


# -- the Model's building and checks ---------------------------------------------------------


def spiral_classifier(hidden=8, rng=0):
    from chainrule.datasets import spiral_data

    X, y = spiral_data(20, 3, rng=0)
    model = Model([Dense(2, hidden, init="he", rng=rng), ReLU(), Dense(hidden, 3, rng=rng + 1),
                   cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=Adam(0.01))
    return model, X, y


def test_train_runs_one_epoch_by_default():
    model, X, y = spiral_classifier()
    history = model.train(X, y, print_every=None)
    assert model.epoch == 1 and len(history["loss"]) == 1


def test_evaluate_finalizes_a_model_never_trained():
    """The loss of the initial weights, exactly as the loss computes it by hand."""
    model, X, y = spiral_classifier()
    result = model.evaluate(X, y, verbose=False)
    probabilities = model.predict(X)
    expected = cr.CategoricalCrossentropy().calculate(probabilities, y)
    assert result["loss"] == pytest.approx(expected, rel=1e-6)
    assert result["accuracy"] == float(np.mean(np.argmax(probabilities, axis=1) == y))


def test_a_layer_added_after_finalize_is_wired_in_and_trained():
    model = Model([Dense(2, 8, init="he", rng=0), ReLU()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=Adam(0.05))
    model.finalize()
    last = Dense(8, 3, rng=1)
    model.add(last)
    model.add(cr.Softmax())
    start = last.weights.copy()
    from chainrule.datasets import spiral_data

    history = model.train(*spiral_data(20, 3, rng=0), epochs=5, print_every=None)
    assert model.trainable_layers[-1] is last and model.fused_loss is not None
    assert not np.array_equal(last.weights, start) and history["loss"][-1] < history["loss"][0]


def test_a_model_without_layers_is_refused_by_name():
    assert Model().softmax_classifier_output is None  # not finalized: nothing fused yet
    model = Model()
    model.set(loss=MeanSquaredError(), optimizer=SGD())
    for call in (model.finalize, lambda: model.train(np.ones((2, 1)), np.ones((2, 1))),
                 lambda: model.evaluate(np.ones((2, 1)), np.ones((2, 1))),
                 lambda: model.predict(np.ones((2, 1)))):
        with pytest.raises(ValueError, match="Model has no layers"):
            call()


def test_a_model_without_parameters_works_in_float32():
    model = Model([ReLU()])
    assert model.dtype == np.float32
    output = model.predict([[1.5, -2.0]])
    assert output.dtype == np.float32 and output.tolist() == [[1.5, 0.0]]


@pytest.mark.parametrize("loss", [BinaryCrossentropy, MeanSquaredError])
def test_a_sigmoid_model_with_constant_targets_evaluates_as_binary(loss):
    """Without ``accuracy=``, a sigmoid output (whatever the loss) counts thresholded
    predictions equal to the targets. A regression metric would agree on mixed 0/1
    targets, but with constant ones its precision std(y)/250 is 0: nothing would count."""
    X = np.random.default_rng(0).normal(size=(40, 2))
    target = np.ones((40, 1))
    model = Model([Dense(2, 4, rng=0), ReLU(), Dense(4, 1, rng=1), Sigmoid()])
    model.set(loss=loss(), optimizer=Adam(0.05))
    history = model.train(X, target, epochs=20, print_every=None)
    result = model.evaluate(X, target, verbose=False)
    assert result["accuracy"] == float(np.mean((model.predict(X) > 0.5) == target)) == 1.0
    assert history["accuracy"][-1] == 1.0


class ArgmaxAccuracy(cr.Accuracy):
    """The predicted class against the most likely class of target rows."""

    def compare(self, predictions, y):
        return predictions == np.argmax(y, axis=1)


def test_softmax_with_another_loss_backpropagates_through_the_softmax():
    """The fused p − y gradient belongs to cross-entropy only: with mean squared error the
    Model's step equals the book's loop through Softmax.backward."""
    rng = np.random.default_rng(0)
    X, target = rng.normal(size=(6, 2)), rng.dirichlet(np.ones(3), size=6)

    def layers():
        return [Dense(2, 3, dtype=np.float64, init="glorot", rng=0), cr.Softmax()]

    model = Model(layers())
    # (Neither the default metric nor CategoricalAccuracy can score probability targets
    # under MSE in the training loop today, so this test brings its own.)
    model.set(loss=MeanSquaredError(), optimizer=SGD(0.5), accuracy=ArgmaxAccuracy())
    model.train(X, target, epochs=2, print_every=None)
    dense, softmax = manual = layers()
    loss, optimizer = MeanSquaredError(), SGD(0.5)
    for _ in range(2):
        loss.backward(softmax.forward(dense.forward(X)), target)
        dense.backward(softmax.backward(loss.dinputs))
        optimizer.step([dense])
    for got, want in zip(model.get_parameters()[0], (manual[0].weights, manual[0].biases),
                         strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_regression_targets_are_checked_and_a_flat_column_is_accepted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 2))
    y = X[:, 0] - 2 * X[:, 1]

    def regressor():
        model = Model([Dense(2, 1, dtype=np.float64, rng=0), Linear()])
        model.set(loss=MeanSquaredError(), optimizer=SGD(0.1))
        return model

    flat, column = regressor(), regressor()
    assert flat.train(X, y, epochs=3, print_every=None) == column.train(
        X, y.reshape(-1, 1), epochs=3, print_every=None)
    np.testing.assert_array_equal(flat.get_parameters()[0][0], column.get_parameters()[0][0])
    before = flat.get_parameters()
    for bad, message in ((np.c_[y, y], r"y must have the predictions' shape \(16, 1\)"),
                         (np.where(y > 0, np.nan, y), "y must be finite")):
        with pytest.raises(ValueError, match=message):
            flat.train(X, bad, epochs=1, print_every=None)
        with pytest.raises(ValueError, match=message):
            flat.evaluate(X, bad)
    assert flat.epoch == 3
    np.testing.assert_array_equal(before[0][0], flat.get_parameters()[0][0])


@pytest.mark.parametrize("validation_data", [
    pytest.param("three", id="three-items"), pytest.param(np.ones((2, 2)), id="array-of-two"),
    pytest.param({"X": 1, "y": 2}, id="dict")])
def test_validation_data_must_be_a_pair(validation_data):
    model, X, y = spiral_classifier()
    if isinstance(validation_data, str):
        validation_data = (X, y, y)
    before = model.get_parameters()
    with pytest.raises(TypeError, match=r"validation_data must be a tuple \(X_val, y_val\)"):
        model.train(X, y, epochs=1, validation_data=validation_data, print_every=None)
    assert model.epoch == 0 and all(
        np.array_equal(a, b) for pa, pb in zip(before, model.get_parameters(), strict=True)
        for a, b in zip(pa, pb, strict=True))


# -- resuming: callbacks, book names, statistics ----------------------------------------------


def early_stopping_run(path, epochs, callbacks):
    from chainrule.datasets import spiral_data

    model, X, y = spiral_classifier(hidden=16)
    model.set(optimizer=Adam(0.05))
    model.train(X, y, epochs=epochs, validation_data=spiral_data(20, 3, rng=1),
                print_every=None, checkpoint=path, callbacks=callbacks)
    return model


def test_a_resumed_run_keeps_its_early_stopping_state(tmp_path):
    """Patience counted before the interruption still counts, and the best weights kept
    before it are the ones restored at the end."""
    straight_stop = cr.EarlyStopping(patience=3, restore_best_weights=True)
    straight = early_stopping_run(tmp_path / "straight.ckpt", 400, [straight_stop])
    stopped = straight.epoch
    assert stopped < 400 and straight_stop.wait == 3  # patience, as Keras
    # the same script, killed two epochs before the stop (mid-patience), then run again
    path = tmp_path / "run.ckpt"
    early_stopping_run(path, stopped - 2, [cr.EarlyStopping(patience=3,
                                                            restore_best_weights=True)])
    again = cr.EarlyStopping(patience=3, restore_best_weights=True)
    resumed = early_stopping_run(path, 400, [again])
    assert resumed.epoch == stopped and again.best_epoch == straight_stop.best_epoch
    assert straight_stop.best_epoch < stopped - 2  # the best weights came from the first run
    for a, b in zip(resumed.get_parameters(), straight.get_parameters(), strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)


class Recorder(cr.Callback):
    """A callback with state of its own: what it was given back, if anything."""

    def __init__(self):
        self.restored = None

    def get_state(self):
        return {"seen": 1}

    def set_state(self, state):
        self.restored = state


def test_a_callback_gets_back_only_its_own_state(tmp_path):
    path = tmp_path / "run.ckpt"
    early_stopping_run(path, 2, [cr.EarlyStopping(patience=50), Recorder()])
    swapped = Recorder()
    early_stopping_run(path, 4, [swapped, cr.EarlyStopping(patience=50)])
    assert swapped.restored is None  # position 0 held an EarlyStopping's state
    same = Recorder()  # the file now holds [Recorder, EarlyStopping]
    early_stopping_run(path, 6, [same, cr.EarlyStopping(patience=50)])
    assert same.restored == {"seen": 1}


def test_a_book_named_model_resumes_its_own_checkpoint(tmp_path):
    """Files save Layer_Dense as Dense; the same script run again must still resume."""
    from chainrule.datasets import spiral_data
    from chainrule.nnfs import Layer_Dense

    def run(epochs):
        model = Model([Layer_Dense(2, 8), ReLU(), Layer_Dense(8, 3), cr.Softmax()])
        model.set(loss=cr.CategoricalCrossentropy(), optimizer=Adam(0.01))
        np.random.seed(0)
        model.train(*spiral_data(20, 3, rng=0), epochs=epochs, print_every=None,
                    checkpoint=tmp_path / "run.ckpt")
        return model

    run(2)
    resumed = run(3)
    assert resumed.epoch == 3 and len(resumed.history["loss"]) == 3


def test_resuming_takes_the_normalization_statistics_from_the_checkpoint(tmp_path):
    from chainrule.nn._normalization import Normalization

    rng = np.random.default_rng(0)
    X, y = rng.normal(3.0, 2.0, size=(32, 2)), rng.normal(size=(32, 1))

    def run(adapt_on, epochs):
        model = Model([Normalization().adapt(adapt_on), Dense(2, 1, rng=0), Linear()])
        model.set(loss=MeanSquaredError(), optimizer=SGD(0.01))
        model.train(X, y, epochs=epochs, print_every=None, checkpoint=tmp_path / "run.ckpt")
        return model

    first = run(X, 2)
    resumed = run(X * 10, 3)  # adapted on other data: the file's statistics win
    assert resumed.epoch == 3
    np.testing.assert_array_equal(resumed.layers[0].mean, first.layers[0].mean)
    np.testing.assert_array_equal(resumed.layers[0].std, first.layers[0].std)


# -- the loop's details -----------------------------------------------------------------------


def test_shuffling_from_the_global_state_reorders_and_reproduces():
    from chainrule.datasets import spiral_data

    X, y = spiral_data(20, 3, rng=0)
    seen = []
    for _ in range(2):
        recorder = FirstRows()
        model = Model([recorder, Dense(2, 3, rng=0), cr.Softmax()])
        model.set(loss=cr.CategoricalCrossentropy(), optimizer=Adam(0.01))
        np.random.seed(5)
        model.train(X, y, epochs=2, batch_size=10, print_every=None)  # rng=None: the book's
        seen.append(recorder.rows)
    in_order = [tuple(X[i].astype(np.float32)) for i in range(0, 60, 10)]
    assert seen[0] == seen[1] and seen[0][:6] != in_order and seen[0][:6] != seen[0][6:]


def test_one_batch_holding_every_sample_is_the_full_batch_in_order():
    """Nothing to shuffle when one step sees every sample: batch_size ≥ n equals the full
    batch bit for bit (the order of the sums is the data's), and draws no random numbers."""
    model, X, y = spiral_classifier()
    whole, _, _ = spiral_classifier()
    generator = np.random.default_rng(3)
    model.train(X, y, epochs=3, batch_size=len(X) + 5, rng=generator, print_every=None)
    whole.train(X, y, epochs=3, print_every=None)
    for a, b in zip(model.get_parameters(), whole.get_parameters(), strict=True):
        for x, w in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, w)
    assert generator.integers(1 << 30) == np.random.default_rng(3).integers(1 << 30)


def test_the_first_layer_computes_no_input_gradient_while_training():
    """Nothing upstream of the first layer needs ∂L/∂inputs: the loop skips that product."""
    model, X, y = spiral_classifier()
    model.train(X, y, epochs=1, print_every=None)
    assert not hasattr(model.layers[0], "dinputs") and hasattr(model.layers[2], "dinputs")
    assert model.layers[0].compute_dinputs  # a direct call afterwards computes it again
    model.layers[0].backward(np.ones((len(X), 8), np.float32))
    assert model.layers[0].dinputs.shape == (len(X), 2)


def test_step_lines_include_the_last_step_whatever_print_every(capsys):
    model, X, y = spiral_classifier()
    model.train(X, y, epochs=1, batch_size=15, print_every=2)  # steps 0 to 3
    steps = [line.split(",")[0] for line in capsys.readouterr().out.splitlines()
             if line.startswith("step:")]
    assert steps == ["step: 0", "step: 2", "step: 3"]


def test_a_full_batch_epoch_line_ends_with_the_validation_figures(capsys):
    model, X, y = spiral_classifier()
    history = model.train(X, y, epochs=2, validation_data=(X, y), print_every=2)
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("epoch: 2, acc: ") and line.endswith(
        f", val_acc: {history['val_accuracy'][-1]:.3f}, val_loss: {history['val_loss'][-1]:.3f}")
    model.train(X, y, epochs=2, print_every=2)
    assert "val_" not in capsys.readouterr().out


def test_a_nan_loss_is_reported_as_the_loss():
    model, X, y = spiral_classifier()
    model.train(X, y, epochs=1, print_every=None)
    model.layers[2].weights[0, 0] = np.nan
    with pytest.raises(TrainingDiverged, match=r"epoch 2, step 1: the loss became nan\. Try"):
        model.train(X, y, epochs=1, print_every=None)


@pytest.mark.parametrize("callbacks", [pytest.param("tuple", id="tuple"),
                                       pytest.param("list", id="list")])
def test_callbacks_may_come_as_a_list_or_a_tuple(callbacks):
    model, X, y = spiral_classifier()
    recorders = [Recorder(), Recorder()]
    given = tuple(recorders) if callbacks == "tuple" else recorders
    model.train(X, y, epochs=1, print_every=None, callbacks=given)
    assert all(r.model is model for r in recorders)


@pytest.mark.parametrize("callbacks", [
    pytest.param(lambda: (c for c in [Recorder()]), id="generator"),
    pytest.param(lambda: {Recorder()}, id="set"),
    pytest.param(lambda: [Recorder(), "stop"], id="not-a-callback")])
def test_other_callback_containers_are_refused(callbacks):
    model, X, y = spiral_classifier()
    with pytest.raises(TypeError, match=r"callbacks must be a list of chainrule\.callbacks"):
        model.train(X, y, epochs=1, print_every=None, callbacks=callbacks())
    assert model.epoch == 0


# -- files ------------------------------------------------------------------------------------


def test_atomic_write_flushes_the_data_before_syncing_it(tmp_path, monkeypatch):
    """fsync makes durable what the OS holds: the file's bytes must reach it first."""
    import os

    from chainrule.files import atomic_write

    synced, real_fsync = [], os.fsync

    def fsync(fd):
        synced.append(os.fstat(fd).st_size)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    atomic_write(tmp_path / "f", lambda f: f.write(b"x" * 100))
    assert synced[0] == 100 and (tmp_path / "f").read_bytes() == b"x" * 100


def saved_classifier(tmp_path, name="m"):
    model, X, y = spiral_classifier()
    model.train(X, y, epochs=2, print_every=None)
    model.save(tmp_path / name)
    return model, tmp_path / name


def test_every_member_carries_the_zip_epoch_as_its_date(tmp_path):
    """Fixed dates make the same model the same bytes; 1980-01-01 00:00 is the earliest a
    ZIP can hold, so no tool shows a date that means something."""
    import zipfile

    _, path = saved_classifier(tmp_path)
    with zipfile.ZipFile(path) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.testzip() is None


@pytest.mark.parametrize("spoil, error, message", [
    pytest.param(lambda m: setattr(m, "metadata", {"labels": {1, 2}}), TypeError,
                 r"model\.metadata\['labels'\] must be a JSON value", id="metadata-set"),
    pytest.param(lambda m: setattr(m, "metadata", {"scale": math.nan}), ValueError,
                 r"model\.metadata\['scale'\] is nan", id="metadata-nan"),
    pytest.param(lambda m: setattr(m.optimizer, "iterations", -1), ValueError,
                 r"optimizer\.iterations must be a whole number", id="iterations-negative"),
])
def test_a_value_refused_at_save_is_the_callers_error_not_a_damaged_file(tmp_path, spoil,
                                                                        error, message):
    model, path = saved_classifier(tmp_path)
    spoil(model)
    with pytest.raises(error, match=message) as caught:
        model.save(path)
    assert not isinstance(caught.value, cr.ModelFileError)


def test_an_npy_member_of_format_version_2_loads(tmp_path):
    """NumPy writes version 2.0 for headers beyond 64 KiB; the reader takes it as 1.0."""
    import io as bytes_io
    import zipfile

    model, path = saved_classifier(tmp_path)
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    buffer = bytes_io.BytesIO()
    np.lib.format.write_array(buffer, model.layers[0].weights, version=(2, 0))
    members["arrays/layers/0/weights.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
    np.testing.assert_array_equal(Model.load(path).layers[0].weights, model.layers[0].weights)


def test_the_largest_file_chainrule_writes_it_reads_back(tmp_path):
    """10,000 members (the header and 9,999 arrays) are written and read; one more is
    refused at save."""
    import zipfile

    model, path = saved_classifier(tmp_path)
    model.save_checkpoint(path)
    with zipfile.ZipFile(path) as archive:
        room = 10_000 - len(archive.namelist())
    model.training_arrays = {f"k{i}": np.full(1, float(i)) for i in range(room)}
    model.save_checkpoint(path)
    loaded = Model.load(path)
    assert len(loaded.training_arrays) == room
    assert loaded.training_arrays[f"k{room - 1}"].tolist() == [room - 1]
    model.training_arrays[f"k{room}"] = np.zeros(1)
    with pytest.raises(ValueError, match="too large for one file"):
        model.save_checkpoint(path)


def nested(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("spoil, read_back", [
    pytest.param(lambda m: setattr(m, "epoch", 2**53), lambda m: m.epoch, id="epoch-2**53"),
    pytest.param(lambda m: setattr(m.optimizer, "iterations", 2**53),
                 lambda m: m.optimizer.iterations, id="iterations-2**53"),
    pytest.param(lambda m: setattr(m, "history", {f"s{i}": [float(i)] for i in range(1000)}),
                 lambda m: len(m.history), id="1000-history-series"),
    pytest.param(lambda m: setattr(m, "metadata", {"n": 2**128 - 1, "m": -(2**128 - 1)}),
                 lambda m: m.metadata, id="128-bit-integers"),
    pytest.param(lambda m: setattr(m, "metadata", {"deep": nested(30)}),
                 lambda m: m.metadata, id="32-levels-deep"),
])
def test_values_at_the_file_format_limits_round_trip(tmp_path, spoil, read_back):
    model, path = saved_classifier(tmp_path)
    spoil(model)
    model.save(path)
    assert read_back(Model.load(path)) == read_back(model)


@pytest.mark.parametrize("spoil, error, message", [
    pytest.param(lambda m: setattr(m, "epoch", 2**53 + 1), ValueError,
                 r"epoch must be a whole number in \[0, 2\*\*53\]", id="epoch-2**53+1"),
    pytest.param(lambda m: setattr(m, "history", {f"s{i}": [1.0] for i in range(1001)}),
                 TypeError, "at most 1000 lists", id="1001-history-series"),
    pytest.param(lambda m: setattr(m, "metadata", {"n": 2**128}), ValueError,
                 "at most 128 are allowed", id="129-bit-integer"),
    pytest.param(lambda m: setattr(m, "metadata", {"n": -(2**128)}), ValueError,
                 "at most 128 are allowed", id="129-bit-negative"),
    pytest.param(lambda m: setattr(m, "metadata", {"deep": nested(31)}), ValueError,
                 "nests deeper than 32", id="33-levels-deep"),
])
def test_values_just_beyond_the_limits_are_refused_at_save(tmp_path, spoil, error, message):
    model, path = saved_classifier(tmp_path)
    before = path.read_bytes()
    spoil(model)
    with pytest.raises(error, match=message):
        model.save(path)
    assert path.read_bytes() == before


def test_a_version_1_file_with_1000_history_series_loads(tmp_path):
    import json
    import zipfile

    model, path = saved_classifier(tmp_path)
    model.history = {f"s{i}": [float(i), 0.5] for i in range(1000)}
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()
                   if not name.startswith("arrays/history/")}
    header = json.loads(members["chainrule.json"])
    header["version"], header["history"] = 1, model.history
    members["chainrule.json"] = json.dumps(header).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
    assert Model.load(path).history == model.history


def test_a_loaded_model_is_finalized_as_the_saved_one(tmp_path):
    _, path = saved_classifier(tmp_path)
    loaded = Model.load(path)
    assert isinstance(loaded.softmax_classifier_output, cr.SoftmaxCategoricalCrossentropy)
    assert [type(layer) for layer in loaded.trainable_layers] == [Dense, Dense]
    assert loaded.layers[0].prev is loaded.input_layer and loaded.layers[-1].next is loaded.loss


@pytest.mark.parametrize("name, accepted", [
    pytest.param("", False, id="empty"), pytest.param("x", True, id="1-byte"),
    pytest.param("a" * 255, True, id="255-bytes"), pytest.param("a" * 256, False, id="256-bytes")])
def test_member_names_of_1_to_255_bytes_pass_the_archive_check(tmp_path, name, accepted):
    """The layout check bounds each name (1 to 255 bytes); what a name means is checked
    later (an unknown member is refused by the reader, by name)."""
    import zipfile

    from chainrule.files._archive import Archive

    with zipfile.ZipFile(tmp_path / "a", "w") as archive:
        archive.writestr(zipfile.ZipInfo(name), b"data")
    if not accepted:
        with pytest.raises(cr.ModelFileError, match="bad name length"):
            Archive(tmp_path / "a")
        return
    with Archive(tmp_path / "a") as archive:
        assert list(archive.members) == [name] and archive.read(name) == b"data"
    with pytest.raises(cr.ModelFileError, match=r"missing chainrule\.json"):
        Model.load(tmp_path / "a")


@pytest.mark.parametrize("batch_size", [None, 7])
def test_validation_figures_are_what_evaluate_reports(batch_size):
    """The held-out loss and accuracy of an epoch, batch by batch and without dropout, are
    those of ``evaluate`` on the parameters the epoch ends with."""
    from chainrule.datasets import spiral_data

    model = Model([Dense(2, 16, init="he", rng=0), ReLU(), cr.Dropout(0.3, rng=1),
                   Dense(16, 3, rng=2), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=Adam(0.02))
    X, y = spiral_data(20, 3, rng=0)
    X_val, y_val = spiral_data(15, 3, rng=1)
    history = model.train(X, y, epochs=3, batch_size=batch_size,
                          validation_data=(X_val, y_val), print_every=None)
    expected = model.evaluate(X_val, y_val, verbose=False)
    assert history["val_loss"][-1] == pytest.approx(expected["loss"], rel=1e-6)
    assert history["val_accuracy"][-1] == expected["accuracy"]
    assert history["val_loss"][-1] > 0.1  # a loss, not a rounding of zero


def test_reading_a_file_holds_each_array_once(tmp_path):
    """An array is parsed where its member's bytes were read (no copy of the member for
    its .npy header), so reading costs the file's size and little more."""
    import tracemalloc

    from chainrule.files import read_archive

    model = Model([Dense(1024, 2048, rng=0), Linear()])  # 8 MiB of float32 weights
    model.set(loss=MeanSquaredError(), optimizer=SGD())
    model.save(tmp_path / "m")
    size = (tmp_path / "m").stat().st_size
    tracemalloc.start()
    try:
        _, arrays = read_archive(tmp_path / "m")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.1 * size
    np.testing.assert_array_equal(arrays["layers/0/weights"], model.layers[0].weights)


# -- what the mutation run found untested (tools/mutants.py) -------------------------------


def test_a_fresh_model_is_not_asked_to_stop():
    # Callbacks and the CLI read model.stop_training; it exists before any training.
    assert Model([Dense(2, 3)]).stop_training is False


def test_a_validation_split_too_small_to_hold_a_sample_is_refused_before_training():
    model, X, y = spiral_classifier()
    before = [array.copy() for pair in model.get_parameters() for array in pair]
    with pytest.raises(ValueError, match=r"validation_split=0\.01 leaves 60 training and 0 "):
        model.train(X, y, epochs=1, validation_split=0.01, print_every=None)
    after = [array for pair in model.get_parameters() for array in pair]
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_progress_bar_is_closed_before_on_train_end():
    tqdm = pytest.importorskip("tqdm")

    class OpenBars(cr.Callback):
        def on_train_end(self, logs=None):
            self.open = len(tqdm.tqdm._instances)

    model, X, y = spiral_classifier()
    watcher = OpenBars()
    model.train(X, y, epochs=3, print_every=None, progress=True, callbacks=[watcher])
    assert watcher.open == 0


def test_a_checkpoint_of_the_same_shapes_with_another_activation_is_refused(tmp_path):
    """ReLU and Tanh have the same (empty) config: the class must differ to refuse."""
    model, X, y = spiral_classifier()
    model.train(X, y, epochs=1, print_every=None, checkpoint=tmp_path / "run.ckpt")
    other = Model([Dense(2, 8, init="he", rng=0), cr.Tanh(), Dense(8, 3, rng=1), cr.Softmax()])
    other.set(loss=cr.CategoricalCrossentropy(), optimizer=Adam(0.01))
    written = (tmp_path / "run.ckpt").read_bytes()
    with pytest.raises(ValueError, match=r"holds another model \(layers: "):
        other.train(X, y, epochs=2, print_every=None, checkpoint=tmp_path / "run.ckpt")
    assert (tmp_path / "run.ckpt").read_bytes() == written


def test_objects_and_lists_together_count_against_the_header_limit():
    from chainrule.files._values import MAX_CONTAINERS, parse_json

    half = MAX_CONTAINERS // 2 + 1  # each kind alone is within the limit, both are not
    blob = ("[" + ",".join(["{}"] * half + ["[]"] * half) + "]").encode()
    with pytest.raises(cr.ModelFileError, match=f"holds {2 * half + 1} objects or lists"):
        parse_json(blob)
    assert len(parse_json(("[" + ",".join(["{}"] * (half - 2)) + "]").encode())) == half - 2


def test_a_header_without_an_epoch_loads_at_epoch_0(tmp_path):
    import json
    import zipfile

    model, path = saved_classifier(tmp_path)
    assert model.epoch == 2
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(members["chainrule.json"])
    del header["epoch"]
    members["chainrule.json"] = json.dumps(header).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
    assert Model.load(path).epoch == 0


def test_atomic_write_syncs_the_folder_after_the_rename(tmp_path, monkeypatch):
    """The rename lives in the folder's entries: without syncing the folder, a power cut
    can lose the new name even though the file's bytes were synced."""
    import os
    import stat

    from chainrule.files import atomic_write

    synced, real_fsync = [], os.fsync

    def fsync(fd):
        synced.append((stat.S_ISDIR(os.fstat(fd).st_mode), (tmp_path / "f").exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    atomic_write(tmp_path / "f", lambda f: f.write(b"x"))
    assert synced[0] == (False, False)  # the temporary file's bytes, before the rename
    assert (True, True) in synced  # the folder, once the file has its name


def test_checking_the_data_runs_one_sample_through_the_network_not_all():
    """The output's width comes from one sample: a probe of the whole set would double the
    cost (and the memory) of every evaluate and train call on a large X."""

    class CountingDense(Dense):
        def forward(self, inputs, training=True):
            self.seen.append(len(inputs))
            return super().forward(inputs, training)

    dense = CountingDense(2, 3, rng=0)
    dense.seen = []
    model = Model([dense, cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=SGD())
    X, y = np.zeros((60, 2)), np.zeros(60, dtype=int)
    model.train(X, y, epochs=1, print_every=None)
    model.evaluate(X, y, verbose=False)
    assert dense.seen == [1, 60, 1, 60]

"""Callbacks tried as a hostile (or careless) user would: refusals before anything changes,
runs that start clean, and the values Keras' documentation gives for its callbacks and
schedules, on hand-computed sequences."""

import csv
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.callbacks import (
    Callback,
    CosineDecay,
    CSVLogger,
    EarlyStopping,
    ExponentialDecay,
    GradientMonitor,
    LinearWarmup,
    ReduceLROnPlateau,
    StepDecay,
)
from chainrule.datasets import spiral_data
from chainrule.training import _loop as training


@pytest.fixture
def spiral():
    return spiral_data(20, 3, rng=0)


def small_model(optimizer=None, dropout=False):
    layers = [cr.Dense(2, 8, init="he", rng=0), cr.ReLU()]
    if dropout:
        layers.append(cr.Dropout(0.2, rng=3))
    model = cr.Model([*layers, cr.Dense(8, 3, rng=1), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=optimizer or cr.Adam(0.02))
    return model


def snapshot(model):
    return [tuple(p.copy() for p in params) for params in model.get_parameters()]


def assert_same(a, b):
    for x, y in zip(a, b, strict=True):
        for p, q in zip(x, y, strict=True):
            np.testing.assert_array_equal(p, q)


class ModelCheckpointLike(Callback):
    """A user's callback with a ``monitor``, as Keras' ModelCheckpoint has."""

    def __init__(self, monitor):
        self.monitor = monitor

    def on_epoch_end(self, epoch, logs=None):
        raise AssertionError("never reached: the monitor is refused first")


MISSPELT = [
    pytest.param(lambda: EarlyStopping("val_los"), False, "val_los", id="early-val_los"),
    pytest.param(lambda: EarlyStopping("val_loss"), False, "validation", id="early-no-val"),
    pytest.param(lambda: EarlyStopping("acc"), True, "accuracy", id="early-acc"),
    pytest.param(lambda: ReduceLROnPlateau("val_los"), True, "val_loss", id="plateau-val_los"),
    pytest.param(lambda: ReduceLROnPlateau("val_accuracy"), False, "validation",
                 id="plateau-no-val"),
    pytest.param(lambda: ReduceLROnPlateau("learning_rate"), False, "learning_rate",
                 id="plateau-learning_rate"),
    pytest.param(lambda: ModelCheckpointLike("val_acc"), True, "val_accuracy",
                 id="user-callback"),
]


@pytest.mark.parametrize("make, validation, message", MISSPELT)
def test_a_monitor_the_run_will_not_log_is_refused_before_anything_changes(
        tmp_path, spiral, make, validation, message):
    X, y = spiral
    model = small_model(dropout=True)
    model.train(X, y, epochs=2, print_every=None, rng=0)  # a model with a past
    log = tmp_path / "log.csv"
    log.write_text("kept\n")
    before = snapshot(model)
    state = (model.epoch, model.optimizer.iterations, dict(model.optimizer.config()),
             {k: list(v) for k, v in model.history.items()})
    global_state = np.random.get_state()[1].copy()
    extra = {"validation_split": 0.25} if validation else {}
    with pytest.raises(ValueError, match=message):
        model.train(X, y, epochs=3, print_every=None, rng=5,
                    callbacks=[CSVLogger(log), make()], **extra)
    assert_same(snapshot(model), before)
    assert state == (model.epoch, model.optimizer.iterations, dict(model.optimizer.config()),
                     {k: list(v) for k, v in model.history.items()})
    np.testing.assert_array_equal(np.random.get_state()[1], global_state)
    assert log.read_text() == "kept\n"  # the logger before it did not start its file


class Names(Callback):
    """Records the names ``check_run`` is given."""

    def check_run(self, figures):
        self.figures = figures


@pytest.mark.parametrize("extra", [{}, {"validation_split": 0.25}], ids=["train", "held-out"])
def test_the_names_checked_are_the_names_logged(spiral, extra):
    names = Names()
    history = small_model().train(*spiral, epochs=1, print_every=None, callbacks=[names],
                                  **extra)
    assert list(names.figures) == list(history)


def test_the_refusal_suggests_the_figure_meant(spiral):
    with pytest.raises(ValueError, match=r"did you mean 'val_loss'\?.*validation_split"):
        small_model().train(*spiral, epochs=1, print_every=None,
                            callbacks=[EarlyStopping("val_los")])
    with pytest.raises(ValueError, match=r"did you mean 'accuracy'\?"):
        small_model().train(*spiral, epochs=1, print_every=None,
                            callbacks=[EarlyStopping("acuracy")])


def test_csv_append_with_other_columns_is_refused_before_epoch_one(tmp_path, spiral):
    path = tmp_path / "log.csv"
    model = small_model()
    model.train(*spiral, epochs=1, print_every=None, validation_split=0.25,
                callbacks=[CSVLogger(path)])
    text = path.read_text()
    before = snapshot(model)
    with pytest.raises(ValueError, match="columns"):
        model.train(*spiral, epochs=2, print_every=None, callbacks=[CSVLogger(path, append=True)])
    assert_same(snapshot(model), before) and path.read_text() == text
    assert model.epoch == 1


@pytest.mark.parametrize("where", ["folder", "missing"])
def test_a_csv_path_that_cannot_be_written_is_refused_before_epoch_one(tmp_path, spiral, where):
    path = tmp_path if where == "folder" else tmp_path / "nowhere" / "log.csv"
    model = small_model()
    before = snapshot(model)
    with pytest.raises(ValueError, match="folder"):
        model.train(*spiral, epochs=1, print_every=None, callbacks=[CSVLogger(path)])
    assert_same(snapshot(model), before) and model.optimizer.iterations == 0


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("same_model", [False, True], ids=["new-model", "same-model"])
def test_a_reused_csv_logger_starts_a_new_file_for_a_new_run(tmp_path, spiral, same_model):
    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    first = small_model()
    first.train(*spiral, epochs=3, print_every=None, callbacks=[logger])
    second = first if same_model else small_model(cr.SGD(0.5))
    history = second.train(*spiral, epochs=2, print_every=None, callbacks=[logger])
    rows = read_rows(path)
    epochs = [4, 5] if same_model else [1, 2]
    assert rows[0][0] == "epoch" and [int(row[0]) for row in rows[1:]] == epochs
    assert [float(row[1]) for row in rows[1:]] == history["loss"][-2:]
    # append=True keeps what is there: the next run's rows go below.
    appending = CSVLogger(path, append=True)
    second.train(*spiral, epochs=1, print_every=None, callbacks=[appending])
    second.train(*spiral, epochs=1, print_every=None, callbacks=[appending])
    assert [int(row[0]) for row in read_rows(path)[1:]] == [*epochs, epochs[-1] + 1,
                                                            epochs[-1] + 2]


def test_a_checkpoint_resume_continues_the_file_and_only_it(tmp_path, spiral):
    path, ckpt = tmp_path / "log.csv", tmp_path / "run.ckpt"
    model = small_model()
    model.train(*spiral, epochs=2, print_every=None, checkpoint=ckpt, callbacks=[CSVLogger(path)])
    resumed = cr.Model.load(ckpt)
    resumed.train(*spiral, epochs=4, print_every=None, checkpoint=ckpt,
                  callbacks=[CSVLogger(path)])
    assert [int(row[0]) for row in read_rows(path)[1:]] == [1, 2, 3, 4]


@pytest.mark.parametrize("make", [
    pytest.param(lambda: EarlyStopping("loss", patience=1), id="early"),
    pytest.param(lambda: ReduceLROnPlateau("loss", factor=0.5, patience=1), id="plateau"),
])
def test_a_reused_callback_starts_clean(spiral, make):
    callback = make()
    X, y = spiral
    first = small_model(cr.SGD(50.0))  # a rate that makes the loss stall and jump
    first.train(X, y, epochs=30, print_every=None, callbacks=[callback])
    assert callback.wait or callback.best < math.inf
    fresh, other = make(), small_model(cr.Adam(0.01))
    twin = small_model(cr.Adam(0.01))
    a = other.train(X, y, epochs=8, print_every=None, callbacks=[callback])
    b = twin.train(X, y, epochs=8, print_every=None, callbacks=[fresh])
    assert a == b
    assert callback.get_state() == fresh.get_state()


# -- Keras' semantics, on hand-computed sequences ---------------------------------------------


def run_epochs(callback, values, monitor="loss", lr=0.01):
    """Feed ``values`` to ``callback`` epoch by epoch; return the epochs it ran and the
    learning-rate factor after each."""
    model = small_model(cr.SGD(lr))
    model.finalize()
    callback.set_model(model)
    model.callbacks = [callback]
    model.stop_training = False
    callback.on_train_begin({})
    factors, ran = [], 0
    for epoch, value in enumerate(values, start=1):
        ran = epoch
        callback.on_epoch_end(epoch, {monitor: value})
        factors.append(getattr(callback, "factor", 1.0))
        if model.stop_training:
            break
    return ran, factors


@pytest.mark.parametrize("patience, values, stops_at", [
    # Keras: wait grows every epoch, returns to 0 on an improvement; stop when wait ≥ patience.
    (0, [1.0, 0.9, 0.95, 0.8], 3),
    (1, [1.0, 0.9, 0.95, 0.8], 3),  # patience 0 and 1 stop alike, as in Keras
    (2, [1.0, 0.9, 0.95, 0.92, 0.85], 4),
    (2, [1.0, 0.9, 0.95, 0.85, 0.86, 0.84, 0.9, 0.9], 8),
    (3, [1.0] * 10, 4),  # Keras' doc: patience 3 on a flat loss runs 4 epochs
    (3, [1.0, 0.9, 0.8, 0.7, 0.6], None),
])
def test_early_stopping_patience_as_keras(patience, values, stops_at):
    stop = EarlyStopping("loss", patience=patience)
    ran, _ = run_epochs(stop, values)
    assert stop.stopped_epoch == (stops_at or 0)
    assert ran == (stops_at or len(values))


def test_early_stopping_min_delta_mode_and_baseline_as_keras():
    # min_delta 0.05: 0.96 is no improvement on 1.0, 0.94 is (by more than 0.05 below it).
    stop = EarlyStopping("loss", patience=2, min_delta=0.05)
    assert run_epochs(stop, [1.0, 0.96, 0.94, 0.93, 0.93, 0.5])[0] == 5
    assert (stop.best, stop.best_epoch) == (0.94, 3)
    # accuracy improves upwards ("auto"); mode="min" turns it round, "max" turns a loss round.
    assert run_epochs(EarlyStopping("accuracy", patience=1), [0.5, 0.6, 0.55], "accuracy")[0] == 3
    assert run_epochs(EarlyStopping("accuracy", patience=1, mode="min"),
                      [0.5, 0.6, 0.55], "accuracy")[0] == 2
    assert run_epochs(EarlyStopping("loss", patience=1, mode="max"), [1.0, 0.9])[0] == 2
    # baseline: improving on the best but not on the baseline still waits (Keras).
    assert run_epochs(EarlyStopping("loss", patience=2, baseline=0.5), [0.9, 0.95])[0] == 2
    assert run_epochs(EarlyStopping("loss", patience=2), [0.9, 0.95, 0.96])[0] == 3
    assert run_epochs(EarlyStopping("loss", patience=3, baseline=0.5),
                      [0.9, 0.8, 0.7, 0.75])[0] == 4
    assert run_epochs(EarlyStopping("loss", patience=2, baseline=0.5),
                      [0.9, 0.4, 0.45, 0.44, 0.46])[0] == 4


def test_early_stopping_restores_the_best_epoch_or_else_the_first(spiral):
    X, y = spiral
    model = small_model(cr.SGD(1e-9))  # no later epoch improves by min_delta
    stop = EarlyStopping("loss", patience=2, restore_best_weights=True, min_delta=1.0)
    model.train(X, y, epochs=10, print_every=None, callbacks=[stop])
    assert model.epoch == 3 and stop.best_epoch == 1
    kept = []

    class Keep(Callback):
        def on_epoch_end(self, epoch, logs=None):
            kept.append((logs["loss"], snapshot(self.model)))

    model = small_model(cr.SGD(20.0))
    stop = EarlyStopping("loss", patience=3, restore_best_weights=True)
    history = model.train(X, y, epochs=200, print_every=None, callbacks=[Keep(), stop])
    best = int(np.argmin(history["loss"]))
    assert stop.best_epoch == best + 1 and stop.stopped_epoch == model.epoch < 200
    assert model.epoch - stop.best_epoch == 3
    assert_same(snapshot(model), kept[best][1])


def test_reduce_on_plateau_min_lr_is_a_rate_not_a_factor():
    # base rate 0.01, min_lr 0.002: the factor stops at 0.2 (Keras: lr never below min_lr).
    plateau = ReduceLROnPlateau("loss", factor=0.5, patience=1, min_lr=0.002)
    _, factors = run_epochs(plateau, [1.0] * 6, lr=0.01)
    assert factors == [1.0, 0.5, 0.25, 0.2, 0.2, 0.2]
    # min_lr above the base rate: never reduced.
    plateau = ReduceLROnPlateau("loss", factor=0.5, patience=1, min_lr=0.05)
    assert run_epochs(plateau, [1.0] * 4, lr=0.01)[1] == [1.0] * 4


def test_reduce_on_plateau_sequences_as_keras():
    # patience 2, cooldown 1, min_delta 0.1: Keras' counting by hand.
    # e1 1.0 best; e2 0.95 (not by 0.1) w1; e3 0.92 w2 → ×0.5, cooldown 1;
    # e4 in cooldown (w 0), 0.85 improves on 1.0 by 0.15 → best; e5 0.84 w1; e6 0.9 w2 → ×0.5.
    plateau = ReduceLROnPlateau("loss", factor=0.5, patience=2, cooldown=1, min_delta=0.1)
    _, factors = run_epochs(plateau, [1.0, 0.95, 0.92, 0.85, 0.84, 0.9, 0.2])
    assert factors == [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]
    plateau = ReduceLROnPlateau("val_accuracy", factor=0.1, patience=1, min_delta=0.0,
                                mode="auto")
    assert run_epochs(plateau, [0.5, 0.5, 0.7, 0.6], "val_accuracy")[1] == pytest.approx(
        [1, 0.1, 0.1, 0.01])
    plateau = ReduceLROnPlateau("loss", factor=0.1, patience=1, min_delta=0.0, mode="max")
    assert run_epochs(plateau, [0.5, 0.4])[1] == pytest.approx([1, 0.1])


@pytest.mark.parametrize("cut", [1, 2, 3, 4])
def test_reduce_on_plateau_state_survives_a_checkpoint_at_any_epoch(cut):
    values = [1.0, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7, 0.8]
    straight = ReduceLROnPlateau("loss", factor=0.5, patience=2, cooldown=1, min_delta=0.0)
    _, expected = run_epochs(straight, values)
    first = ReduceLROnPlateau("loss", factor=0.5, patience=2, cooldown=1, min_delta=0.0)
    run_epochs(first, values[:cut])
    state = first.get_state()
    assert state["wait"] == first.wait and state["cooldown_counter"] == first.cooldown_counter
    second = ReduceLROnPlateau("loss", factor=0.5, patience=2, cooldown=1, min_delta=0.0)
    second.set_state(state)
    model = small_model(cr.SGD(0.01))
    model.finalize()
    second.set_model(model)
    model.callbacks = [second]
    second.on_train_begin({})  # resumed: the state is kept, not reset
    factors = []
    for epoch, value in enumerate(values[cut:], start=cut + 1):
        second.on_epoch_end(epoch, {"loss": value})
        factors.append(second.factor)
    assert factors == expected[cut:]


@pytest.mark.parametrize("bad, message", [
    (lambda: EarlyStopping(mode="maximum"), "mode"),
    (lambda: ReduceLROnPlateau(mode="up"), "mode"),
    (lambda: EarlyStopping(baseline=float("nan")), "baseline"),
    (lambda: EarlyStopping(baseline="0.5"), "baseline"),
])
def test_bad_modes_and_baselines_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        bad()


# Keras' schedules (keras.optimizers.schedules), values computed by hand from their formulas.
@pytest.mark.parametrize("schedule, step, factor", [
    # ExponentialDecay: decay_rate ** (step / decay_steps)
    (ExponentialDecay(100_000, 0.96), 50_000, 0.96 ** 0.5),
    (ExponentialDecay(100_000, 0.96), 100_000, 0.96),
    (ExponentialDecay(10, 0.5), 25, 0.5 ** 2.5),
    # ExponentialDecay(staircase=True): decay_rate ** floor(step / decay_steps)
    (StepDecay(10, gamma=0.5), 9, 1.0),
    (StepDecay(10, gamma=0.5), 10, 0.5),
    (StepDecay(10, gamma=0.5), 25, 0.25),
    # CosineDecay: alpha + (1 − alpha) · ½ · (1 + cos(π · min(step, decay_steps) / decay_steps))
    (CosineDecay(1000, alpha=0.1), 0, 1.0),
    (CosineDecay(1000, alpha=0.1), 250, 0.1 + 0.9 * 0.5 * (1 + math.sqrt(0.5))),
    (CosineDecay(1000, alpha=0.1), 500, 0.55),
    (CosineDecay(1000, alpha=0.1), 1000, 0.1),
    (CosineDecay(1000, alpha=0.1), 5000, 0.1),
    (CosineDecay(1000), 750, 0.5 * (1 - math.sqrt(0.5))),
    # LinearWarmup: min(1, (step + 1) / warmup_steps)
    (LinearWarmup(4), 0, 0.25),
    (LinearWarmup(4), 2, 0.75),
    (LinearWarmup(4), 3, 1.0),
    (LinearWarmup(4), 100, 1.0),
])
def test_schedules_give_keras_values(schedule, step, factor):
    assert schedule.factor_at(step) == pytest.approx(factor, rel=1e-12)


def test_the_figures_of_a_plan_are_exported_for_callbacks(spiral):
    """``training.figures`` is what ``check_run`` receives (a single source of names)."""
    model = small_model()
    plan = training.make_plan(model, *spiral, 1, None, None, None, True, None, False, None,
                              None, 0.25)
    assert training.figures(plan) == ("loss", "accuracy", "data_loss", "reg_loss", "lr",
                                      "val_loss", "val_accuracy")


# -- what the mutation run found unguarded -----------------------------------------------------


def test_the_defaults_are_keras_own():
    # keras.callbacks.ReduceLROnPlateau / EarlyStopping, as documented.
    plateau = ReduceLROnPlateau()
    assert (plateau.monitor, plateau.reduction, plateau.patience, plateau.min_delta,
            plateau.cooldown, plateau.min_lr, plateau.mode) == \
        ("val_loss", 0.1, 10, 1e-4, 0, 0.0, "auto")
    stopping = EarlyStopping()
    assert (stopping.monitor, stopping.patience, stopping.min_delta, stopping.mode,
            stopping.baseline, stopping.restore_best_weights) == \
        ("val_loss", 0, 0.0, "auto", None, False)


def test_a_state_without_a_wait_count_waits_from_zero():
    # A checkpoint written before EarlyStopping kept its count resumes as a fresh count.
    stopping = EarlyStopping("loss", patience=2)
    stopping.set_state({"best": 0.5, "best_epoch": 1})
    assert stopping.wait == 0


def test_the_gradient_monitor_averages_each_epoch_on_its_own():
    # Each epoch's figure is the mean over that epoch's steps of ‖∂L/∂θ‖, computed here by
    # a recorder that reads the same gradients after every step.
    class Recorder(Callback):
        def __init__(self):
            self.norms = []

        def on_batch_end(self, step, logs=None):
            layer = self.model.layers[0]
            self.norms.append(math.sqrt(float(np.sum(layer.dweights ** 2))
                                        + float(np.sum(layer.dbiases ** 2))))

    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(12, 2)), rng.integers(0, 3, 12)
    model = cr.Model([cr.Dense(2, 4, dtype=np.float64, rng=0), cr.Tanh(),
                      cr.Dense(4, 3, dtype=np.float64, rng=1), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.SGD(0.5))
    monitor, recorder = GradientMonitor(), Recorder()
    model.train(X, y, epochs=3, batch_size=4, shuffle=False, print_every=None, progress=False,
                callbacks=[recorder, monitor])
    per_epoch = np.array(recorder.norms).reshape(3, 3).mean(axis=1)
    np.testing.assert_allclose(monitor.grad_norms[monitor.labels[0]], per_epoch, rtol=1e-12)


@pytest.mark.parametrize("monitor, mode, worst", [("loss", "auto", math.inf),
                                                  ("accuracy", "auto", -math.inf),
                                                  ("loss", "max", -math.inf)])
def test_early_stopping_state_round_trips_and_no_best_yet_is_the_worst(monitor, mode, worst):
    stopping = EarlyStopping(monitor, patience=3, mode=mode)
    stopping.set_state({"best": 0.25, "best_epoch": 7, "wait": 2, "stopped_epoch": 0})
    twin = EarlyStopping(monitor, patience=3, mode=mode)
    twin.set_state(stopping.get_state())
    assert (twin.best, twin.best_epoch, twin.wait) == (0.25, 7, 2)
    twin.set_state({"best": None})  # a checkpoint written before any epoch improved
    assert twin.best == worst


def test_a_monitor_missing_from_an_epochs_logs_is_named_there_too():
    # check_run refuses it before the run; a caller driving the hooks by hand hears it too.
    plateau = ReduceLROnPlateau("val_loss")
    with pytest.raises(ValueError, match="'val_loss' is not among the figures"):
        plateau.on_epoch_end(1, {"loss": 0.5, "accuracy": 0.9})


def test_csv_logger_repr_names_its_file_and_options(tmp_path):
    logger = CSVLogger(str(tmp_path / "h.csv"), separator=";", append=True)
    assert repr(logger) == f"CSVLogger({str(tmp_path / 'h.csv')!r}, separator=';', append=True)"

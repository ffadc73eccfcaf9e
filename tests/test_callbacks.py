"""Learning-rate schedules, ReduceLROnPlateau and CSVLogger; resuming all of them exactly."""

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
    LambdaSchedule,
    LinearWarmup,
    ReduceLROnPlateau,
    StepDecay,
)
from chainrule.datasets import spiral_data

OPTIMIZERS = {"sgd": lambda: cr.SGD(0.5, decay=1e-2, momentum=0.9),
              "adagrad": lambda: cr.Adagrad(0.5, decay=1e-2),
              "rmsprop": lambda: cr.RMSprop(0.01, decay=1e-2),
              "adam": lambda: cr.Adam(0.01, decay=1e-2)}
SCHEDULES = {
    "step": (lambda: StepDecay(3, gamma=0.5), lambda t: 0.5 ** (t // 3)),
    "exponential": (lambda: ExponentialDecay(4, 0.1), lambda t: 0.1 ** (t / 4)),
    "cosine": (lambda: CosineDecay(8, alpha=0.1),
               lambda t: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(t, 8) / 8))),
    "warmup": (lambda: LinearWarmup(4), lambda t: min(1.0, (t + 1) / 4)),
    "function": (lambda: LambdaSchedule(lambda t: 1 / (1 + t) ** 2), lambda t: 1 / (1 + t) ** 2),
}


@pytest.fixture
def spiral():
    return spiral_data(30, 3, rng=0)


def small_model(optimizer, dropout=False):
    layers = [cr.Dense(2, 16, init="he", rng=0), cr.ReLU()]
    if dropout:
        layers.append(cr.Dropout(0.1, rng=3))
    model = cr.Model([*layers, cr.Dense(16, 3, rng=1), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=optimizer)
    return model


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_each_schedule_multiplies_the_decayed_rate_for_every_optimizer(spiral, optimizer,
                                                                       schedule):
    make, factor = SCHEDULES[schedule]
    model = small_model(OPTIMIZERS[optimizer]())
    base = model.optimizer.learning_rate
    config = model.optimizer.config()
    history = model.train(*spiral, epochs=10, print_every=None, callbacks=[make()])
    # Full batch: step t = epoch − 1; the book's decay times the schedule's factor.
    expected = [base * (1.0 / (1.0 + 1e-2 * t)) * factor(t) for t in range(10)]
    np.testing.assert_allclose(history["lr"], expected, rtol=1e-12)
    # The base rate never moved: the optimizer is the one built, as files see it.
    assert model.optimizer.config() == config
    assert model.optimizer.learning_rate_factor == 1.0
    assert model.optimizer.current_learning_rate == pytest.approx(base / (1 + 1e-2 * 10))


def test_the_scheduled_rate_is_the_one_each_step_uses(spiral):
    """Plain SGD keeps no state: a step at rate r is p − r·g, whichever optimizer object
    makes it. The scheduled run equals one made of single steps at the expected rates."""
    scheduled = small_model(cr.SGD(0.8))
    scheduled.train(*spiral, epochs=6, print_every=None, callbacks=[CosineDecay(6, alpha=0.2)])
    by_hand = small_model(cr.SGD(0.8))
    for t in range(6):
        rate = 0.8 * (0.2 + 0.8 * 0.5 * (1 + math.cos(math.pi * t / 6)))
        by_hand.set(optimizer=cr.SGD(rate))
        by_hand.train(*spiral, epochs=1, print_every=None)
    for ours, theirs in zip(scheduled.get_parameters(), by_hand.get_parameters(), strict=True):
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6, atol=1e-7)
    unscheduled = small_model(cr.SGD(0.8))
    unscheduled.train(*spiral, epochs=6, print_every=None)
    assert not np.allclose(unscheduled.get_parameters()[0][0], by_hand.get_parameters()[0][0])


def test_schedules_compose_by_their_product_with_minibatches(spiral):
    model = small_model(cr.Adam(0.01, decay=1e-3))
    history = model.train(*spiral, epochs=6, batch_size=30, print_every=None, shuffle=False,
                          callbacks=[LinearWarmup(5), CosineDecay(18)])
    # Three steps an epoch: the last step of epoch e is t = 3e − 1.
    expected = [0.01 * (1 / (1 + 1e-3 * t)) * min(1, (t + 1) / 5)
                * 0.5 * (1 + math.cos(math.pi * min(t, 18) / 18))
                for t in (3 * e - 1 for e in range(1, 7))]
    np.testing.assert_allclose(history["lr"], expected, rtol=1e-12)


def test_the_schedule_continues_across_train_calls(spiral):
    model = small_model(cr.SGD(1.0))
    schedule = StepDecay(2, gamma=0.1)
    first = list(model.train(*spiral, epochs=3, print_every=None, callbacks=[schedule])["lr"])
    assert model.optimizer.current_learning_rate == 1.0  # back to the optimizer as built
    history = model.train(*spiral, epochs=2, print_every=None, callbacks=[schedule])
    np.testing.assert_allclose(first + history["lr"][3:], [1, 1, 0.1, 0.1, 0.01])
    # Without a schedule the next run trains at the base rate again.
    assert model.train(*spiral, epochs=1, print_every=None)["lr"][-1] == 1.0


@pytest.mark.parametrize("make, message", [
    pytest.param(lambda: StepDecay(0), "step_size", id="step-size-zero"),
    pytest.param(lambda: StepDecay(2, gamma=-1), "gamma", id="negative-gamma"),
    pytest.param(lambda: ExponentialDecay(10, 0), "decay_rate", id="zero-decay-rate"),
    pytest.param(lambda: CosineDecay(10, alpha=2), "alpha", id="alpha-above-one"),
    pytest.param(lambda: LinearWarmup(-3), "warmup_steps", id="negative-warmup"),
    pytest.param(lambda: ReduceLROnPlateau(factor=1.0), "factor", id="factor-one"),
    pytest.param(lambda: ReduceLROnPlateau(patience=-1), "patience", id="negative-patience"),
    pytest.param(lambda: ReduceLROnPlateau(min_lr=float("nan")), "min_lr", id="nan-min-lr"),
    pytest.param(lambda: CSVLogger("log.csv", separator=";;"), "separator", id="long-separator"),
])
def test_bad_arguments_are_refused_by_name(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_wrong_types_are_refused():
    with pytest.raises(TypeError, match="decay_steps must be an integer"):
        CosineDecay(1.5)
    with pytest.raises(TypeError, match="callable"):
        LambdaSchedule(0.5)
    with pytest.raises(TypeError, match="monitor"):
        ReduceLROnPlateau(monitor=3)
    with pytest.raises(TypeError, match="filename"):
        CSVLogger(None)


@pytest.mark.parametrize("bad", [float("nan"), -0.5, "0.1", None])
def test_a_function_schedule_giving_no_factor_stops_training_before_the_step(spiral, bad):
    model = small_model(cr.SGD(1.0))
    before = model.get_parameters()
    with pytest.raises(ValueError, match="at step 2 it gave"):
        model.train(*spiral, epochs=5, print_every=None,
                    callbacks=[LambdaSchedule(lambda t: 1.0 if t < 2 else bad)])
    assert model.optimizer.iterations == 2
    assert not np.array_equal(before[0][0], model.get_parameters()[0][0])


def plateau_on(model, plateau, values, monitor="loss"):
    """Feed ``plateau`` one epoch-end per value; return its factor after each."""
    model.callbacks = [plateau]
    plateau.set_model(model)
    model.epoch = 0
    plateau.on_train_begin({})
    factors = []
    for epoch, value in enumerate(values, start=1):
        plateau.on_epoch_end(epoch, {monitor: value})
        factors.append(plateau.factor)
    return factors


def test_reduce_on_plateau_waits_patience_epochs_then_cools_down():
    model = small_model(cr.Adam(0.01))
    model.finalize()
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, cooldown=2,
                                min_delta=0.01)
    values = [1.0, 0.9, 0.895, 0.9, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89]
    factors = plateau_on(model, plateau, values)
    # 0.895 is no improvement (min_delta 0.01): epochs 3, 4 wait, the rate halves at 4;
    # epoch 5 improves (0.8); 6, 7 wait → halves at 7; then two epochs of cooldown, the
    # second of which already counts (as Keras counts), and epoch 10 halves it again.
    assert factors == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]
    assert model.optimizer.learning_rate_factor == 0.125
    assert model.optimizer.current_learning_rate == pytest.approx(0.01 * 0.125)
    assert model.optimizer.learning_rate == 0.01


def test_reduce_on_plateau_stops_at_min_lr_and_watches_accuracy_upwards():
    model = small_model(cr.SGD(1.0))
    model.finalize()
    floor = ReduceLROnPlateau(monitor="loss", factor=0.1, patience=0, min_lr=0.05)
    assert plateau_on(model, floor, [1.0, 1.0, 1.0, 1.0]) == [1.0, 0.1, 0.05, 0.05]
    accuracy = ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=1)
    factors = plateau_on(model, accuracy, [0.5, 0.6, 0.55, 0.7, 0.7], monitor="val_accuracy")
    assert factors == [1, 1, 0.5, 0.5, 0.25]


def test_reduce_on_plateau_in_training_needs_its_figure(spiral):
    model = small_model(cr.Adam(0.01))
    with pytest.raises(ValueError, match=r"val_loss.*validation_split"):
        model.train(*spiral, epochs=2, print_every=None, callbacks=[ReduceLROnPlateau()])
    # A learning rate far too large makes the loss stall: the plateau cuts the rate.
    model = small_model(cr.SGD(30.0))
    history = model.train(*spiral, epochs=40, print_every=None,
                          callbacks=[ReduceLROnPlateau("loss", factor=0.5, patience=3)])
    halvings = -np.log2(np.array(history["lr"]) / 30.0)
    np.testing.assert_allclose(halvings, np.round(halvings), atol=1e-12)  # 30 · 2⁻ᵏ
    assert halvings[0] == 0 and halvings[-1] >= 1 and np.all(np.diff(halvings) >= 0)


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_csv_logger_writes_the_history_exactly(tmp_path, spiral):
    path = tmp_path / "log.csv"
    model = small_model(cr.Adam(0.02))
    history = model.train(*spiral, epochs=5, print_every=None, validation_split=0.2, rng=0,
                          callbacks=[CSVLogger(path)])
    rows = read_rows(path)
    assert rows[0] == ["epoch", "loss", "accuracy", "data_loss", "reg_loss", "lr", "val_loss",
                       "val_accuracy"]
    assert [int(row[0]) for row in rows[1:]] == [1, 2, 3, 4, 5]
    for j, key in enumerate(rows[0][1:], start=1):
        assert [float(row[j]) for row in rows[1:]] == history[key]  # exact round trip
    # A new logger on the same file starts it again; append=True adds below its rows.
    model.train(*spiral, epochs=2, print_every=None, validation_split=0.2, rng=0,
                callbacks=[CSVLogger(path)])
    model.train(*spiral, epochs=1, print_every=None, validation_split=0.2, rng=0,
                callbacks=[CSVLogger(path, append=True)])
    assert [row[0] for row in read_rows(path)] == ["epoch", "6", "7", "8"]
    # Rows of other columns are not appended under a header that does not name them.
    with pytest.raises(ValueError, match="columns"):
        model.train(*spiral, epochs=1, print_every=None,
                    callbacks=[CSVLogger(path, append=True)])
    assert len(read_rows(path)) == 4
    model.train(*spiral, epochs=1, print_every=None,
                callbacks=[CSVLogger(tmp_path / "semicolons.csv", separator=";")])
    assert (tmp_path / "semicolons.csv").read_text().splitlines()[0] == (
        "epoch;loss;accuracy;data_loss;reg_loss;lr")


def test_csv_logger_refuses_a_missing_folder(tmp_path, spiral):
    model = small_model(cr.Adam(0.02))
    with pytest.raises(ValueError, match="folder"):
        model.train(*spiral, epochs=1, print_every=None,
                    callbacks=[CSVLogger(tmp_path / "nowhere" / "log.csv")])
    assert model.epoch == 0


class StopAt(Callback):
    """Stands in for a crash: training stops after epoch ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.stop_training = True


def resumable_callbacks(log):
    return [LinearWarmup(6), CosineDecay(60, alpha=0.05),
            ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.0),
            EarlyStopping(patience=50, restore_best_weights=True), CSVLogger(log)]


@pytest.mark.parametrize("k", [3, 7])
def test_resuming_a_checkpoint_ends_bit_identical_csv_included(tmp_path, spiral, k):
    X, y = spiral
    settings = {"batch_size": 16, "validation_split": 0.2, "rng": 11, "print_every": None}

    def fresh():
        return small_model(cr.Adam(0.05, decay=1e-3), dropout=True)

    straight_log = tmp_path / "straight.csv"
    straight = fresh()
    straight.train(X, y, epochs=12, callbacks=resumable_callbacks(straight_log), **settings)
    # The plateau did cut the rate: some epochs ended below the schedules' own rate.
    # (72 training samples, batches of 16: 5 steps an epoch, the last is t = 5·epoch − 1.)
    scheduled = [0.05 / (1 + 1e-3 * t) * min(1, (t + 1) / 6)
                 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, 60) / 60)))
                 for t in (5 * e - 1 for e in range(1, straight.epoch + 1))]
    ratios = np.array(straight.history["lr"]) / np.array(scheduled)
    assert ratios[0] == pytest.approx(1) and ratios.min() < 0.6

    log, checkpoint = tmp_path / "run.csv", tmp_path / "run.ckpt"
    first = fresh()
    first.train(X, y, epochs=12, checkpoint=checkpoint,
                callbacks=[*resumable_callbacks(log), StopAt(k)], **settings)
    assert first.epoch == k
    # A crash after the next epoch's row was logged but before its checkpoint was written.
    with open(log, "a") as f:
        f.write(f"{k + 1},0.5,0.5\n")
    resumed = cr.Model.load(checkpoint)
    resumed.train(X, y, epochs=12, checkpoint=checkpoint, callbacks=resumable_callbacks(log),
                  **settings)

    assert resumed.epoch == straight.epoch
    for ours, theirs in zip(resumed.get_parameters(), straight.get_parameters(), strict=True):
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a, b)
    assert resumed.history == straight.history
    assert resumed.optimizer.iterations == straight.optimizer.iterations
    assert log.read_bytes() == straight_log.read_bytes()


def test_the_epoch_line_shows_the_validation_figures(spiral, capsys):
    """The book's full-batch line first, then the held-out figures of the same epoch."""
    model = small_model(cr.Adam(0.02))
    history = model.train(*spiral, epochs=4, print_every=2, validation_split=0.2, rng=0)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("epoch: 2, acc: ") and "(data_loss: " in lines[0]
    assert lines[1].endswith(f", val_acc: {history['val_accuracy'][3]:.3f}, "
                             f"val_loss: {history['val_loss'][3]:.3f}")
    assert lines[0].endswith(f"lr: 0.02, val_acc: {history['val_accuracy'][1]:.3f}, "
                             f"val_loss: {history['val_loss'][1]:.3f}")
    model.train(*spiral, epochs=2, print_every=1)  # no validation data: the book's line only
    assert capsys.readouterr().out.splitlines()[0].endswith("lr: 0.02")

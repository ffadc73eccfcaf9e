import numpy as np
import pytest

import chainrule as cr
from chainrule import (
    Adam,
    CategoricalCrossentropy,
    Dense,
    Dropout,
    MeanSquaredError,
    Model,
    ReLU,
    Softmax,
)
from chainrule.datasets import sine_data, spiral_data


def spiral_model(rng=0, hidden=16, dropout=0.0):
    layers = [Dense(2, hidden, init="he", rng=rng), ReLU()]
    if dropout:
        layers.append(Dropout(dropout, rng=rng))
    layers += [Dense(hidden, 3, rng=rng), Softmax()]
    model = Model(layers)
    model.set(loss=CategoricalCrossentropy(), optimizer=Adam(0.02))
    return model


@pytest.fixture
def spiral():
    return spiral_data(50, 3, rng=0)


def test_train_returns_a_history_per_epoch(spiral):
    model = spiral_model()
    history = model.train(*spiral, epochs=5, batch_size=32, validation_data=spiral,
                          print_every=None)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert len(history[key]) == 5 and all(isinstance(v, float) for v in history[key])
    assert history["loss"][-1] < history["loss"][0]
    assert model.epoch == 5


def test_training_step_equals_the_hand_written_loop(spiral):
    """The Model only orchestrates: one full-batch epoch equals the book's manual loop."""
    X, y = spiral
    model = spiral_model()
    manual = spiral_model()
    model.train(X, y, epochs=3, print_every=None)
    dense1, relu, dense2, _ = manual.layers
    loss_activation = cr.SoftmaxCategoricalCrossentropy()
    optimizer = Adam(0.02)
    X32 = X.astype(np.float32)
    for _ in range(3):
        dense1.forward(X32)
        relu.forward(dense1.output)
        dense2.forward(relu.output)
        loss_activation.forward(dense2.output, y)
        loss_activation.backward(loss_activation.output, y)
        dense2.backward(loss_activation.dinputs)
        relu.backward(dense2.dinputs)
        dense1.backward(relu.dinputs)
        optimizer.pre_update_params()
        optimizer.update_params(dense1)
        optimizer.update_params(dense2)
        optimizer.post_update_params()
    for got, want in zip(model.get_parameters(), manual.get_parameters(), strict=True):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_fused_loss_is_chosen_for_softmax_and_crossentropy():
    model = spiral_model()
    model.finalize()
    assert isinstance(model.fused_loss, cr.SoftmaxCategoricalCrossentropy)
    other = Model([Dense(2, 1), cr.Linear()])
    other.set(loss=MeanSquaredError(), optimizer=Adam())
    other.finalize()
    assert other.fused_loss is None
    assert isinstance(other.accuracy, cr.RegressionAccuracy)


def test_spiral_learns(spiral):
    model = spiral_model(hidden=64)
    model.train(*spiral, epochs=300, print_every=None)
    assert model.evaluate(*spiral, verbose=False)["accuracy"] > 0.85


def test_sine_regression_reaches_low_mse():
    X, y = sine_data()
    model = Model([Dense(1, 64, init="he", rng=0), ReLU(), Dense(64, 64, init="he", rng=1),
                   ReLU(), Dense(64, 1, init="glorot", rng=2), cr.Linear()])
    model.set(loss=MeanSquaredError(), optimizer=Adam(0.005, decay=1e-3))
    model.train(X, y, epochs=1000, print_every=None)
    assert model.evaluate(X, y, verbose=False)["loss"] < 0.005


def test_printed_lines_use_the_books_format(spiral, capsys):
    model = spiral_model()
    model.train(*spiral, epochs=4, print_every=2, validation_data=spiral, progress=False)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("epoch: 2, acc: ")
    assert "(data_loss: " in lines[0] and ", reg_loss: 0.000), lr: 0.02" in lines[0]
    assert lines[2].startswith("validation, acc: ") and ", loss: " in lines[2]
    model.evaluate(*spiral)
    assert capsys.readouterr().out.startswith("validation, acc: ")  # the book's, and DESIGN's


def test_evaluate_names_the_data_it_scores_and_the_books_model_says_validation(spiral, capsys):
    model = spiral_model()
    model.train(*spiral, epochs=2, print_every=None, progress=False)
    scores = model.evaluate(*spiral, name="test")
    line = capsys.readouterr().out
    assert line == f"test, acc: {scores['accuracy']:.3f}, loss: {scores['loss']:.3f}\n"
    model.evaluate(*spiral, name="training")
    assert capsys.readouterr().out == line.replace("test", "training", 1)
    assert model.evaluate(*spiral) == scores
    assert capsys.readouterr().out == line.replace("test", "validation", 1)
    with pytest.raises(TypeError, match="name must be a str"):
        model.evaluate(*spiral, name=1)
    # The book's classes print "validation" for any data, as the book's chapter 20 does.
    from chainrule import nnfs

    book = nnfs.Model(list(model.layers))
    book.set(loss=model.loss, accuracy=model.accuracy)
    book.finalize()
    assert book.evaluate(*spiral) == scores
    assert capsys.readouterr().out == line.replace("test", "validation", 1)


def test_progress_bar_goes_to_stderr(spiral, capsys):
    pytest.importorskip("tqdm")
    spiral_model().train(*spiral, epochs=3, print_every=None, progress=True)
    captured = capsys.readouterr()
    assert "training" in captured.err and "3/3" in captured.err
    assert captured.out == ""


def test_same_seed_same_result_with_shuffling_and_dropout(spiral):
    runs = []
    for _ in range(2):
        model = spiral_model(rng=3, dropout=0.2)
        history = model.train(*spiral, epochs=4, batch_size=16, rng=11, print_every=None)
        runs.append((model.get_parameters(), history, model.predict(spiral[0])))
    (p1, h1, o1), (p2, h2, o2) = runs
    for a, b in zip(p1, p2, strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    assert h1 == h2
    np.testing.assert_array_equal(o1, o2)


def test_evaluate_and_predict_do_not_drop_units(spiral):
    model = spiral_model(dropout=0.5)
    model.train(*spiral, epochs=2, print_every=None)
    X = spiral[0]
    np.testing.assert_array_equal(model.predict(X), model.predict(X))
    np.testing.assert_allclose(model.predict(X, batch_size=7), model.predict(X), rtol=1e-6)
    assert model.predict(X).shape == (150, 3)


def test_parameters_round_trip_and_are_copies(spiral):
    model = spiral_model()
    params = model.get_parameters()
    assert [tuple(p.shape for p in entry) for entry in params] == [((2, 16), (1, 16)),
                                                                   ((16, 3), (1, 3))]
    params[0][0][:] = 0  # changing the copy leaves the model alone
    assert np.any(model.layers[0].weights != 0)
    other = spiral_model(rng=9)
    other.set_parameters(model.get_parameters())
    np.testing.assert_array_equal(other.predict(spiral[0]), model.predict(spiral[0]))


def test_predict_result_is_not_overwritten_by_a_later_call(spiral):
    model = spiral_model()
    first = model.predict(spiral[0])
    kept = first.copy()
    model.predict(spiral[0][::-1])
    model.train(*spiral, epochs=1, print_every=None)
    np.testing.assert_array_equal(first, kept)


def test_set_parameters_refuses_wrong_shapes():
    model = spiral_model()
    params = model.get_parameters()
    with pytest.raises(ValueError, match="must hold 2 entries"):
        model.set_parameters(params[:1])
    bad = [(params[0][0].T, params[0][1]), params[1]]
    with pytest.raises(ValueError, match=r"shape \(2, 16\); got \(16, 2\)"):
        model.set_parameters(bad)
    for wrong in [(params[0][0],), (*params[0], params[0][1])]:  # one array short, one extra
        with pytest.raises(ValueError, match=r"parameters\[0\] .* must hold 2 arrays"):
            model.set_parameters([wrong, params[1]])


def test_output_layer_activation_and_predictions(spiral):
    model = spiral_model()
    model.finalize()
    assert isinstance(model.output_layer_activation, Softmax)
    classes = model.output_layer_activation.predictions(model.predict(spiral[0]))
    assert classes.shape == (150,) and set(np.unique(classes)) <= {0, 1, 2}


def test_repr():
    expected = "Model([Dense(2, 16, init='he'), ReLU(), Dense(16, 3), Softmax()])"
    assert repr(spiral_model()) == expected


def test_model_needs_loss_and_optimizer(spiral):
    model = Model([Dense(2, 3), Softmax()])
    with pytest.raises(ValueError, match="no loss"):
        model.train(*spiral)
    model.set(loss=CategoricalCrossentropy())
    with pytest.raises(ValueError, match="no optimizer"):
        model.train(*spiral)
    with pytest.raises(TypeError, match="Layer"):
        model.add("dense")
    with pytest.raises(TypeError, match="optimizer must be a Optimizer"):
        model.set(optimizer="adam")


def test_divergence_stops_with_a_clear_error():
    X = np.array([[1e20, -1e20], [1e20, 1e20]], dtype=np.float32)
    model = Model([Dense(2, 2, init="he", rng=0), cr.Linear()])
    model.set(loss=MeanSquaredError(), optimizer=cr.SGD(learning_rate=1e10))
    with pytest.raises(cr.TrainingDiverged, match=r"epoch \d+, step 1.*lower learning rate"):
        model.train(X, np.zeros((2, 2)), epochs=50, print_every=None)


def test_inputs_already_in_the_models_dtype_are_not_copied():
    # predict and evaluate read X as given when it already is what the layers take.
    from chainrule.training import check_X

    model = Model([Dense(3, 2, rng=0), Softmax()])
    X = np.ones((5, 3), dtype=np.float32)
    assert check_X(model, X, "X") is X
    as_float64 = check_X(model, X.astype(np.float64), "X")
    assert as_float64.dtype == np.float32 and not np.shares_memory(as_float64, X)


@pytest.mark.parametrize("name", ["", "   ", "test\nloss: 0.000", "val\r", "a\tb", None, b"test"])
def test_evaluate_refuses_a_name_that_would_not_make_one_readable_line(spiral, capsys, name):
    """The line is ``<name>, acc: …, loss: …``: an empty name prints ", acc: …", and a newline
    splits it into two lines (one of which a log reader would take for a figure). Refused
    before any work, and even with verbose=False (the same call must not fail later with
    verbose=True)."""
    model = spiral_model()
    error = TypeError if not isinstance(name, str) else ValueError
    for verbose in (True, False):
        with pytest.raises(error, match="name must be"):
            model.evaluate(*spiral, verbose=verbose, name=name)
    assert capsys.readouterr().out == ""


def test_evaluate_takes_any_one_line_name(spiral, capsys):
    model = spiral_model()
    scores = model.evaluate(*spiral, name="held-out (2024) données " + "x" * 200)
    assert capsys.readouterr().out == (f"held-out (2024) données {'x' * 200}, acc: "
                                       f"{scores['accuracy']:.3f}, loss: {scores['loss']:.3f}\n")

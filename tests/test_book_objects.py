"""The book's objects have the book's attributes and behave as the book's own classes
(``tests/book_reference``), compared in float64 in this process: chapters 18-22's Model
wiring, accumulated losses and accuracy, optimizer state where the book keeps it,
parameters, files and predictions; and a parameter array you hold is the parameter that
trains, as in the book."""

import itertools

import numpy as np
import pytest
from book_reference import chapter22 as reference

import chainrule
import chainrule.nnfs as book


def spiral():
    from chainrule.datasets import spiral_data

    np.random.seed(0)
    return spiral_data(samples=100, classes=3)


def book_model(module, dtype=None, l2=5e-4):
    """Chapter 18's network written with ``module``'s classes, from seed 0."""
    options = {} if dtype is None else {"dtype": dtype}
    np.random.seed(0)
    model = module.Model()
    model.add(module.Layer_Dense(2, 64, 0, l2, 0, l2, **options))
    model.add(module.Activation_ReLU())
    model.add(module.Layer_Dense(64, 3, **options))
    model.add(module.Activation_Softmax())
    model.set(loss=module.Loss_CategoricalCrossentropy(),
              optimizer=module.Optimizer_Adam(learning_rate=0.05, decay=5e-5),
              accuracy=module.Accuracy_Categorical())
    model.finalize()
    return model


def test_the_books_objects_have_the_books_attributes():
    dense = book.Layer_Dense(2, 64, 0, 5e-4, 0, 5e-4)
    assert (dense.weight_regularizer_l1, dense.weight_regularizer_l2,
            dense.bias_regularizer_l1, dense.bias_regularizer_l2) == (0, 5e-4, 0, 5e-4)
    assert book.Layer_Dropout(0.1).rate == reference.Layer_Dropout(0.1).rate == 0.9
    model = book.Model()
    for layer in (book.Layer_Dense(2, 64), book.Activation_ReLU(), book.Layer_Dropout(0.1),
                  book.Layer_Dense(64, 3), book.Activation_Softmax()):
        model.add(layer)
    model.set(loss=book.Loss_CategoricalCrossentropy(), optimizer=book.Optimizer_Adam(),
              accuracy=book.Accuracy_Categorical())
    model.finalize()
    layers = model.layers
    assert isinstance(model.input_layer, book.Layer_Input)
    assert layers[0].prev is model.input_layer and layers[-1].next is model.loss
    for before, after in itertools.pairwise(layers):
        assert before.next is after and after.prev is before
    assert model.trainable_layers == [layers[0], layers[3]]
    assert model.output_layer_activation is layers[-1]
    assert isinstance(model.softmax_classifier_output,
                      book.Activation_Softmax_Loss_CategoricalCrossentropy)
    X, _ = spiral()
    output = model.forward(X, training=False)
    assert np.array_equal(model.input_layer.output, X)
    assert output is layers[-1].output and output.shape == (300, 3)


def test_loss_and_accuracy_accumulate_as_the_books():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(300, 3))
    outputs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = rng.integers(0, 3, size=300)
    ours, theirs = book_model(book, np.float64), book_model(reference)
    for model in (ours, theirs):
        model.loss.new_pass()
        model.accuracy.new_pass()
        batch_figures = []
        for rows in (slice(0, 7), slice(7, 107), slice(107, 300)):
            predictions = model.output_layer_activation.predictions(outputs[rows])
            batch_figures.append((model.loss.calculate(outputs[rows], labels[rows]),
                                  model.accuracy.calculate(predictions, labels[rows])))
        model.figures = (batch_figures, model.loss.calculate_accumulated(),
                         model.loss.calculate_accumulated(include_regularization=True),
                         model.accuracy.calculate_accumulated())
    (our_batches, our_loss, our_pair, our_acc) = ours.figures
    (book_batches, book_loss, book_pair, book_acc) = theirs.figures
    np.testing.assert_allclose(our_batches, book_batches, rtol=1e-12)
    assert our_loss == pytest.approx(book_loss, rel=1e-12) and our_acc == book_acc
    np.testing.assert_allclose(our_pair, book_pair, rtol=1e-12)
    # The mean over samples, not over batches.
    assert our_loss == pytest.approx(-np.mean(np.log(outputs[np.arange(300), labels])))
    assert our_pair[1] > 0


def copy_weights(source, target):
    for ours, theirs in zip(source.trainable_layers, target.trainable_layers, strict=True):
        theirs.weights, theirs.biases = ours.weights.astype(np.float64), ours.biases.copy()


def assert_close(ours, theirs, name):
    """Equal up to float64 rounding, amplified a little by a few training steps."""
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12 * np.abs(theirs).max(),
                               err_msg=name)


STATE = {"Optimizer_SGD": ("momentums",), "Optimizer_Adagrad": ("cache",),
         "Optimizer_RMSprop": ("cache",), "Optimizer_Adam": ("momentums", "cache")}


@pytest.mark.parametrize("optimizer, options", [
    ("Optimizer_SGD", {"decay": 1e-3, "momentum": 0.9}), ("Optimizer_Adagrad", {"decay": 1e-4}),
    ("Optimizer_RMSprop", {"learning_rate": 0.02, "decay": 1e-5, "rho": 0.999}),
    ("Optimizer_Adam", {"learning_rate": 0.05, "decay": 5e-7})])
def test_optimizer_state_is_where_the_book_keeps_it(optimizer, options):
    X, y = spiral()
    ours, theirs = book_model(book, np.float64), book_model(reference)
    copy_weights(ours, theirs)
    for model, module in ((ours, book), (theirs, reference)):
        model.set(optimizer=getattr(module, optimizer)(**options))
        # Chapter 10's hand-written steps: forward, backward, one update per layer.
        for _ in range(3):
            output = model.forward(X, training=True)
            model.backward(output, y)
            model.optimizer.pre_update_params()
            for layer in model.trainable_layers:
                model.optimizer.update_params(layer)
            model.optimizer.post_update_params()
    assert ours.optimizer.iterations == theirs.optimizer.iterations == 3
    for our_layer, book_layer in zip(ours.trainable_layers, theirs.trainable_layers,
                                     strict=True):
        for name in ("weight", "bias"):
            for slot in STATE[optimizer]:
                assert_close(getattr(our_layer, f"{name}_{slot}"),
                             getattr(book_layer, f"{name}_{slot}"), f"{name}_{slot}")
        assert_close(our_layer.weights, book_layer.weights, "weights")


def test_the_model_trains_as_the_books_and_keeps_adams_state_on_the_layers(capsys):
    X, y = spiral()
    ours, theirs = book_model(book, np.float64), book_model(reference)
    copy_weights(ours, theirs)
    np.random.seed(1)
    ours.train(X, y, epochs=3, batch_size=128, print_every=100)
    np.random.seed(1)
    theirs.train(X, y, epochs=3, batch_size=128, print_every=100)
    printed = capsys.readouterr().out.splitlines()
    # Per epoch: "epoch: k", steps 0 and 2 of 3, "training, …"; both print the same.
    assert len(printed) == 2 * 3 * 4 and printed[:12] == printed[12:]
    for our_layer, book_layer in zip(ours.trainable_layers, theirs.trainable_layers,
                                     strict=True):
        for name in ("weights", "biases", "weight_momentums", "weight_cache",
                     "bias_momentums", "bias_cache"):
            assert_close(getattr(our_layer, name), getattr(book_layer, name), name)


def test_parameters_files_and_predictions_as_in_chapters_20_to_22(tmp_path, capsys):
    X, y = spiral()
    model = book_model(book, np.float64)
    model.train(X, y, epochs=5, print_every=None)
    theirs = book_model(reference)
    copy_weights(model, theirs)

    parameters = model.get_parameters()
    assert [len(p) for p in parameters] == [2, 2]
    for (weights, biases), layer in zip(parameters, model.trainable_layers, strict=True):
        assert np.array_equal(weights, layer.weights) and np.array_equal(biases, layer.biases)
    expected = theirs.predict(X, batch_size=64)
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-12)
    np.testing.assert_allclose(model.predict(X, batch_size=64), expected, rtol=1e-12)
    assert model.predict(X, batch_size=7).shape == (300, 3)

    def fresh():
        other = book_model(book, np.float64, l2=0)
        other.set(optimizer=None)
        return other

    copied = fresh()
    copied.set_parameters(parameters)
    model.save_parameters(tmp_path / "spiral.parms")
    loaded_parameters = fresh()
    loaded_parameters.load_parameters(tmp_path / "spiral.parms")
    model.save(tmp_path / "spiral.model")
    loaded = book.Model.load(tmp_path / "spiral.model")
    assert isinstance(loaded, book.Model)
    for other in (copied, loaded_parameters, loaded):
        np.testing.assert_array_equal(other.predict(X), model.predict(X))
    # The files are chainrule's ZIP-based format: no pickle to run on opening.
    for name in ("spiral.parms", "spiral.model"):
        assert (tmp_path / name).read_bytes()[:2] == b"PK"
    capsys.readouterr()
    for other in (model, loaded, theirs):
        other.evaluate(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == lines[1] == lines[2] and lines[0].startswith("validation, acc: ")
    confidences = loaded.predict(X[:5])
    assert np.array_equal(loaded.output_layer_activation.predictions(confidences),
                          np.argmax(confidences, axis=1))


# -- a parameter you hold is the parameter that trains -------------------------------------------


def test_weights_taken_before_training_show_the_trained_values():
    X, y = spiral()
    model = book_model(book)
    dense1 = model.layers[0]
    w, b = dense1.weights, dense1.biases
    before = w.copy()
    model.train(X, y, epochs=3, batch_size=32, print_every=None)
    assert dense1.weights is w and dense1.biases is b
    assert not np.array_equal(w, before)
    np.testing.assert_array_equal(w, model.get_parameters()[0][0])
    # ... and after the parameters are set or loaded.
    model.set_parameters([(np.zeros_like(w), np.ones_like(b)), model.get_parameters()[1]])
    assert dense1.weights is w and not w.any() and (b == 1).all()


@pytest.mark.parametrize("optimizer", ["Optimizer_SGD", "Optimizer_Adagrad", "Optimizer_RMSprop",
                                       "Optimizer_Adam"])
def test_weights_taken_before_a_hand_written_loop_show_the_trained_values(optimizer):
    X, y = spiral()
    np.random.seed(0)
    dense1 = book.Layer_Dense(2, 64)
    activation1 = book.Activation_ReLU()
    dense2 = book.Layer_Dense(64, 3)
    loss_activation = book.Activation_Softmax_Loss_CategoricalCrossentropy()
    optimizer = getattr(book, optimizer)()
    w1, w2 = dense1.weights, dense2.weights
    history = [w1.copy()]
    for _ in range(3):
        dense1.forward(X)
        activation1.forward(dense1.output)
        dense2.forward(activation1.output)
        loss_activation.forward(dense2.output, y)
        loss_activation.backward(loss_activation.output, y)
        dense2.backward(loss_activation.dinputs)
        activation1.backward(dense2.dinputs)
        dense1.backward(activation1.dinputs)
        optimizer.pre_update_params()
        optimizer.update_params(dense1)
        optimizer.update_params(dense2)
        optimizer.post_update_params()
        history.append(w1.copy())
    assert dense1.weights is w1 and dense2.weights is w2
    assert all(not np.array_equal(a, b) for a, b in itertools.pairwise(history))


def test_the_books_model_takes_the_batches_in_order():
    X, y = spiral()
    state = np.random.get_state()[1].copy()
    book_model(book).train(X, y, epochs=2, batch_size=32, print_every=None)
    # The book's train draws nothing: no reshuffling (chapter 19 shuffles once, before).
    assert np.array_equal(np.random.get_state()[1], state)
    model = chainrule.Model(book_model(book).layers)
    model.set(loss=chainrule.CategoricalCrossentropy(), optimizer=chainrule.Adam())
    model.train(X, y, epochs=2, batch_size=32, print_every=None)
    assert not np.array_equal(np.random.get_state()[1], state)


def test_init_has_the_nnfs_packages_signature():
    # `nnfs.init(...)` calls written for the book's package take the same arguments here.
    import inspect

    nnfs_package = pytest.importorskip("nnfs")
    from chainrule import nnfs as ours

    assert inspect.signature(ours.init).parameters == \
        inspect.signature(nnfs_package.init).parameters

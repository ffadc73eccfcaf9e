"""Model.summary(): the layers, output shapes, parameter counts and regularisation, as Keras."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nnfs as nnfs
from chainrule.training._summary import BOOK_NAMES


def book_network():
    model = cr.Model([nnfs.Layer_Dense(2, 64, 0, 5e-4, 0, 5e-4), cr.ReLU(), cr.Dropout(0.1),
                      cr.Dense(64, 3, weight_regularizer_l1=1e-3), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(0.05, decay=5e-7))
    return model


def table_rows(text):
    lines = text.splitlines()
    first, last = [i for i, line in enumerate(lines) if set(line) == {"="}]
    return [line.split("   ") for line in lines[first + 1:last]]


def test_summary_prints_and_returns_the_same_text(capsys):
    text = book_network().summary()
    assert capsys.readouterr().out == text + "\n"


def test_summary_rows_hold_shapes_counts_and_regularisation(capsys):
    model = book_network()
    rows = [[cell.strip() for cell in row if cell.strip()]
            for row in table_rows(model.summary(print_fn=None))]
    assert capsys.readouterr().out == ""
    assert rows == [
        ["layers[0] Layer_Dense (Dense)", "(None, 64)", "192",
         "L2 weights 0.0005, L2 biases 0.0005"],
        ["layers[1] Activation_ReLU (ReLU)", "(None, 64)", "0"],
        ["layers[2] Layer_Dropout (Dropout)", "(None, 64)", "0", "dropout 0.1"],
        ["layers[3] Layer_Dense (Dense)", "(None, 3)", "195", "L1 weights 0.001"],
        ["layers[4] Activation_Softmax (Softmax)", "(None, 3)", "0"],
    ]


def test_summary_total_counts_every_parameter():
    model = cr.Model([cr.Dense(784, 128), cr.ReLU(), cr.Dense(128, 128), cr.Tanh(),
                      cr.Dense(128, 10), cr.Softmax()])
    total = sum(array.size for pair in model.get_parameters() for array in pair)
    text = model.summary(print_fn=None)
    assert f"Total params: {total:,} ({total * 4 / 1024:.2f} KB)" in text
    assert total == 784 * 128 + 128 + 128 * 128 + 128 + 128 * 10 + 10


def test_summary_names_the_loss_the_fused_gradient_and_the_optimizer():
    text = book_network().summary(print_fn=None)
    assert "Loss: Loss_CategoricalCrossentropy (CategoricalCrossentropy), fused with the " \
           "softmax: ∂L/∂z = (p − y) / n" in text
    assert "Optimizer: Optimizer_Adam(learning_rate=0.05, decay=5e-07," in text
    assert text.splitlines()[0] == "Model: 5 layers, float32"


def test_summary_of_a_float64_model_without_loss_or_optimizer():
    model = cr.Model([cr.Dense(3, 2, dtype=np.float64), cr.LeakyReLU()])
    text = model.summary(print_fn=None)
    assert text.splitlines()[0] == "Model: 2 layers, float64"
    assert "Loss:" not in text and "Optimizer:" not in text
    assert "layers[1] LeakyReLU " in text        # no book name: the class alone
    assert "Total params: 8 (64 B)" in text


@pytest.mark.parametrize("ours, book", list(BOOK_NAMES.items()))
def test_book_names_are_those_of_chainrule_nnfs(ours, book):
    book_class = getattr(nnfs, book)
    assert ours in [cls.__name__ for cls in book_class.__mro__]


def test_every_book_name_is_the_books_class_for_chainrules():
    # The table names each object as chainrule.nnfs (the book's code) names its class.
    assert len(BOOK_NAMES) == 17
    for ours, theirs in BOOK_NAMES.items():
        book_class = getattr(nnfs, theirs)
        assert book_class.__name__ == ours or ours in {c.__name__ for c in book_class.__mro__}


def test_the_summary_says_which_head_is_fused():
    from chainrule.training._summary import book_name

    fused = cr.SoftmaxCategoricalCrossentropy()
    assert book_name(fused) == ("Activation_Softmax_Loss_CategoricalCrossentropy "
                                "(SoftmaxCategoricalCrossentropy)")
    model = cr.Model([cr.Dense(2, 1, rng=0), cr.Sigmoid()])
    model.set(loss=cr.BinaryCrossentropy(), optimizer=cr.Adam())
    text = model.summary(print_fn=None)
    assert "Loss: Loss_BinaryCrossentropy (BinaryCrossentropy), fused with the sigmoid: " \
           "∂L/∂z = (σ − y) / (n·k)" in text

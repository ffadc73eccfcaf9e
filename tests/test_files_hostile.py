"""What is saved or exported is what ran; float16 parameters train; histories are compact.

Each promise is tried here as a hostile user would: subclasses that change the math at any
depth of their hierarchy (or on the instance itself), float16 models under every optimizer,
saved and resumed exactly, and deflated history members that lie about their sizes.
"""


import numpy as np
import pytest

import chainrule as cr
from chainrule import nnfs
from chainrule._build import LAYERS, LOSSES, METRICS, OPTIMIZERS
from chainrule.datasets import spiral_data

# -- 4. a subclass that changes the math is refused at save and export ---------------------------


class Swish(cr.Sigmoid):
    """x·σ(x): its own forward, which a file naming Sigmoid would not reproduce."""

    def forward(self, inputs, training=True):
        self.inputs = inputs
        self.output = inputs / (1 + np.exp(-inputs))
        return self.output


class ScaledBackward(cr.ReLU):
    def backward(self, dvalues):
        super().backward(dvalues)
        self.dinputs *= 2
        return self.dinputs


class OwnJacobian(cr.Tanh):
    def jacobian(self, inputs):
        return super().jacobian(inputs) * 0


class OwnConfig(cr.LeakyReLU):
    def config(self):
        return {"alpha": 0.01}


class ClassConstant(cr.Dense):
    regularized = False


class Between(cr.Sigmoid):
    def forward(self, inputs, training=True):
        return Swish.forward(self, inputs, training)


class BelowBetween(Between):
    """Defines nothing itself: the class between it and Sigmoid changed the math."""


class ForwardMixin:
    def forward(self, inputs, training=True):
        return Swish.forward(self, inputs, training)


class Mixed(ForwardMixin, cr.Sigmoid):
    pass


def swish_on_the_instance():
    layer = cr.Sigmoid()
    layer.forward = lambda inputs, training=True: Swish.forward(layer, inputs, training)
    return layer


CHANGED_LAYERS = [
    pytest.param(Swish, "Swish", "forward", id="forward"),
    pytest.param(ScaledBackward, "ScaledBackward", "backward", id="backward"),
    pytest.param(OwnJacobian, "OwnJacobian", "jacobian", id="jacobian"),
    pytest.param(lambda: OwnConfig(0.3), "OwnConfig", "config", id="config"),
    pytest.param(lambda: ClassConstant(8, 8, rng=0), "ClassConstant", "regularized",
                 id="class-constant"),
    pytest.param(BelowBetween, "Between", "forward", id="class-in-between"),
    pytest.param(Mixed, "ForwardMixin", "forward", id="mixin"),
    pytest.param(swish_on_the_instance, "Sigmoid", "forward", id="instance-attribute"),
]


def model_with(middle):
    model = cr.Model([cr.Dense(2, 8, rng=0), middle, cr.Dense(8, 3, rng=1), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(0.01),
              accuracy=cr.CategoricalAccuracy())
    model.finalize()
    return model


def test_a_swish_saved_as_sigmoid_would_change_predictions():
    """Why refuse: the base class computes something else."""
    X, _ = spiral_data(50, 3, rng=0)
    swish, sigmoid = model_with(Swish()), model_with(cr.Sigmoid())
    assert np.abs(swish.predict(X) - sigmoid.predict(X)).max() > 1e-3


@pytest.mark.parametrize(("make", "culprit", "method"), CHANGED_LAYERS)
def test_a_layer_that_changes_the_math_is_refused_before_any_file_is_touched(
        tmp_path, make, culprit, method):
    model = model_with(make())
    for path, save in ((tmp_path / "m.chainrule", model.save),
                       (tmp_path / "c.ckpt", model.save_checkpoint)):
        path.write_bytes(b"the user's earlier file")
        with pytest.raises(TypeError, match=rf"layer 1 .*{culprit}.*'{method}'.*Sigmoid|"
                                            rf"layer 1 .*{culprit}.*'{method}'"):
            save(path)
        assert path.read_bytes() == b"the user's earlier file"
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(("make", "culprit", "method"), CHANGED_LAYERS)
def test_a_layer_that_changes_the_math_is_refused_by_onnx(tmp_path, make, culprit, method):
    pytest.importorskip("onnx")
    from chainrule import onnx as chainrule_onnx

    with pytest.raises(TypeError, match=rf"model.layers\[1\] .*{culprit}.*'{method}'"):
        chainrule_onnx.export(model_with(make()), tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_checkpointed_run_refuses_before_the_first_epoch(tmp_path):
    model = model_with(Swish())
    before = [p.copy() for layer in model.trainable_layers for p in layer.get_parameters()]
    X, y = spiral_data(20, 3, rng=0)
    with pytest.raises(TypeError, match=r"Swish.*'forward'"):
        model.train(X, y, epochs=2, print_every=None, checkpoint=tmp_path / "run.ckpt")
    after = [p for layer in model.trainable_layers for p in layer.get_parameters()]
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert model.epoch == 0 and list(tmp_path.iterdir()) == []


class HalvedLoss(cr.CategoricalCrossentropy):
    def sample_losses(self, y_pred, y_true):
        return super().sample_losses(y_pred, y_true) / 2


class OwnGradient(cr.MeanSquaredError):
    def gradient(self, dvalues, y_true):
        return super().gradient(dvalues, y_true)


class HalfStepAdam(cr.Adam):
    def _update(self, param, grad, state, tmp):
        super()._update(param, grad / 2, state, tmp)


class FixedRate(cr.SGD):
    def pre_update_params(self):
        pass


class Lenient(cr.CategoricalAccuracy):
    def compare(self, predictions, y):
        return np.ones(len(y), bool)


@pytest.mark.parametrize(("part", "value", "culprit", "method"), [
    ("loss", HalvedLoss(), "HalvedLoss", "sample_losses"),
    ("loss", OwnGradient(), "OwnGradient", "gradient"),
    ("optimizer", HalfStepAdam(), "HalfStepAdam", "_update"),
    ("optimizer", FixedRate(0.1, decay=0.1), "FixedRate", "pre_update_params"),
    ("accuracy", Lenient(), "Lenient", "compare"),
], ids=["loss-formula", "loss-gradient", "optimizer-update", "optimizer-decay", "metric"])
def test_losses_optimizers_and_metrics_that_change_the_math_are_refused(
        tmp_path, part, value, culprit, method):
    model = cr.Model([cr.Dense(2, 3, rng=0), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(),
              accuracy=cr.CategoricalAccuracy())
    model.set(**{part: value})
    with pytest.raises(TypeError, match=rf"{part} .*{culprit}.*'{method}'"):
        model.save(tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


class PresetDense(cr.Dense):
    """A user's own book-style class: only the constructor differs, and the file's
    Dense(**config) rebuilds the same layer."""

    def __init__(self, n_inputs, n_neurons, **options):
        super().__init__(n_inputs, n_neurons, weight_regularizer_l2=5e-4, **options)

    def __repr__(self):
        return f"PresetDense({self.n_inputs}, {self.n_neurons})"


BOOK_NAMES = {
    "layers": [lambda: nnfs.Layer_Dense(2, 16, 0, 5e-4), nnfs.Activation_ReLU,
               lambda: nnfs.Layer_Dropout(0.1), lambda: PresetDense(16, 16),
               nnfs.Activation_Tanh, nnfs.Activation_Sigmoid, nnfs.Activation_Linear,
               lambda: nnfs.Layer_Dense(16, 3), nnfs.Activation_Softmax],
    "losses": [nnfs.Loss_CategoricalCrossentropy, nnfs.Loss_CategoricalCrossEntropy],
    "optimizers": [nnfs.Optimizer_SGD, nnfs.Optimizer_Adagrad, nnfs.Optimizer_RMSprop,
                   nnfs.Optimizer_Adam],
}


@pytest.mark.parametrize("optimizer", BOOK_NAMES["optimizers"],
                         ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("loss", BOOK_NAMES["losses"], ids=["Crossentropy", "CrossEntropy"])
def test_the_books_names_and_constructor_only_subclasses_keep_saving(tmp_path, loss, optimizer):
    np.random.seed(0)
    model = nnfs.Model()
    for make in BOOK_NAMES["layers"]:
        model.add(make())
    model.set(loss=loss(), optimizer=optimizer(), accuracy=nnfs.Accuracy_Categorical())
    model.finalize()
    X, y = spiral_data(30, 3, rng=0)
    model.train(X, y, epochs=3, print_every=None)
    model.save(tmp_path / "book.model")
    model.save_checkpoint(tmp_path / "book.ckpt")
    for path in (tmp_path / "book.model", tmp_path / "book.ckpt"):
        loaded = cr.Model.load(path)
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        assert loaded.layers[3].config()["weight_regularizer_l2"] == 5e-4


def test_the_regression_names_keep_saving(tmp_path):
    model = nnfs.Model()
    for layer in (nnfs.Layer_Dense(1, 8), nnfs.Activation_ReLU(), nnfs.Layer_Dense(8, 1),
                  nnfs.Activation_Linear()):
        model.add(layer)
    for loss in (nnfs.Loss_MeanSquaredError(), nnfs.Loss_MeanAbsoluteError()):
        model.set(loss=loss, optimizer=nnfs.Optimizer_Adam(), accuracy=nnfs.Accuracy_Regression())
        model.finalize()
        model.save(tmp_path / "r.model")
        assert type(cr.Model.load(tmp_path / "r.model").loss) is type(loss)
    model = nnfs.Model()
    for layer in (nnfs.Layer_Dense(2, 1), nnfs.Activation_Sigmoid()):
        model.add(layer)
    model.set(loss=nnfs.Loss_BinaryCrossentropy(), optimizer=nnfs.Optimizer_SGD(),
              accuracy=nnfs.Accuracy_Categorical(binary=True))
    model.finalize()
    model.save(tmp_path / "b.model")
    assert type(cr.Model.load(tmp_path / "b.model").loss) is cr.BinaryCrossentropy


def chainrule_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from chainrule_subclasses(sub)


def test_every_subclass_chainrule_itself_defines_is_saved_faithfully(tmp_path):
    """The rule trusts chainrule's own subclasses (the book's names): each one that exists
    is listed here with a round trip that shows its base computes the same."""
    ours = {sub for registry in (LAYERS, LOSSES, OPTIMIZERS, METRICS)
            for base in registry.values() for sub in chainrule_subclasses(base)
            if sub.__module__.partition(".")[0] == "chainrule"}
    assert ours == {nnfs.Layer_Dense, nnfs.Layer_Dropout}
    X, y = spiral_data(30, 3, rng=0)
    model = cr.Model([nnfs.Layer_Dense(2, 16, 0, 5e-4, rng=0), cr.ReLU(),
                      nnfs.Layer_Dropout(0.5, rng=1), nnfs.Layer_Dense(16, 3, rng=2),
                      cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(0.05))
    model.train(X, y, epochs=5, print_every=None, rng=0)
    model.save(tmp_path / "m")
    loaded = cr.Model.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # Training-mode dropout from the same stream drops the same units, scaled the same.
    for layer in (model.layers[2], loaded.layers[2]):
        layer.rng = np.random.default_rng(7)
    hidden = np.ones((50, 16), np.float32)
    np.testing.assert_array_equal(loaded.layers[2].forward(hidden, training=True),
                                  model.layers[2].forward(hidden, training=True))

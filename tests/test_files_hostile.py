"""What is saved or exported is what ran; float16 parameters train; histories are compact.

Each promise is tried here as a hostile user would: subclasses that change the math at any
depth of their hierarchy (or on the instance itself), float16 models under every optimizer,
saved and resumed exactly, and deflated history members that lie about their sizes.
"""


import abc
import binascii
import copy
import functools
import importlib.util
import io
import pickle
import tracemalloc
import typing
import zipfile
import zlib

import numpy as np
import pytest
from test_fuzz_files import build_zip

import chainrule as cr
from chainrule import nnfs
from chainrule.datasets import spiral_data
from chainrule.files import _build
from chainrule.files._archive import MAX_INFLATED_BYTES

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


def adam_with_its_own_kernel():
    optimizer = cr.Adam()
    optimizer._fused_update = lambda *args: True  # a hook the class leaves empty (None)
    return optimizer


class Lenient(cr.CategoricalAccuracy):
    def compare(self, predictions, y):
        return np.ones(len(y), bool)


@pytest.mark.parametrize(("part", "value", "culprit", "method"), [
    ("loss", HalvedLoss(), "HalvedLoss", "sample_losses"),
    ("loss", OwnGradient(), "OwnGradient", "gradient"),
    ("optimizer", HalfStepAdam(), "HalfStepAdam", "_update"),
    ("optimizer", FixedRate(0.1, decay=0.1), "FixedRate", "pre_update_params"),
    ("optimizer", adam_with_its_own_kernel(), "Adam", "_fused_update"),
    ("accuracy", Lenient(), "Lenient", "compare"),
], ids=["loss-formula", "loss-gradient", "optimizer-update", "optimizer-decay",
        "optimizer-instance-hook", "metric"])
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
    ours = {sub for registry in (_build.LAYERS, _build.LOSSES, _build.OPTIMIZERS, _build.METRICS)
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


# -- 11. float16 parameters train, with float32 optimizer state, and save exactly ---------------

OPTIMIZERS = {
    "Adam-default": cr.Adam,
    "Adam": lambda: cr.Adam(0.02),
    "SGD": lambda: cr.SGD(1.0),
    "SGD-momentum": lambda: cr.SGD(0.5, decay=1e-3, momentum=0.9),
    "Adagrad": lambda: cr.Adagrad(0.5),
    "RMSprop": lambda: cr.RMSprop(0.01),
}


def spiral_network(dtype, optimizer):
    model = cr.Model([cr.Dense(2, 32, dtype=dtype, rng=0), cr.ReLU(),
                      cr.Dense(32, 3, dtype=dtype, rng=1), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=optimizer,
              accuracy=cr.CategoricalAccuracy())
    return model


@pytest.fixture(params=["numba", "numpy"])
def path(request):
    if request.param == "numba":
        pytest.importorskip("numba")
    previous = cr.use_kernels(request.param)
    yield request.param
    cr.use_kernels(previous)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_float16_model_trains_as_its_float32_twin(name, path):
    """The default Adam diverged at step 1 (float16 g² underflows to 0 and ε to a subnormal).
    With a float32 master and state, float16 follows the float32 run closely."""
    X, y = spiral_data(100, 3, rng=0)
    losses = {}
    for dtype in (np.float16, np.float32):
        model = spiral_network(dtype, OPTIMIZERS[name]())
        model.train(X.astype(dtype), y, epochs=200, print_every=None, shuffle=False)
        losses[dtype] = np.array(model.history["loss"])
        assert {a.dtype for slot in model.optimizer.state.values() for state in slot.values()
                for a in state.values()} == {np.dtype(np.float32)}
    assert losses[np.float16][-1] < 0.98 * losses[np.float16][0]  # it learned
    # float16's rounding of the data and the activations, not the updates: the two runs
    # end within 0.05 of each other (the float32 runs fall by 0.03 to 0.15).
    assert abs(losses[np.float16][-1] - losses[np.float32][-1]) < 0.05


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_float16_step_is_the_float32_update_of_the_master_rounded(name, path):
    """One step from the same parameters and gradients: the float32 master moves exactly as
    a float32 parameter does, and the float16 parameter is that master rounded."""
    rng = np.random.default_rng(4)
    weights = rng.normal(size=(4, 3)).astype(np.float16)
    grads = (rng.normal(size=(4, 3)) * 1e-3).astype(np.float16)  # g² ~1e-6 underflows in float16
    half, single = cr.Dense(4, 3, dtype=np.float16), cr.Dense(4, 3, dtype=np.float32)
    for layer in (half, single):
        dtype = layer.weights.dtype
        layer.weights[...], layer.biases[...] = weights, 0
        layer.dweights, layer.dbiases = grads.astype(dtype), np.zeros((1, 3), dtype)
    optimizer = OPTIMIZERS[name]()
    optimizer.step([half])
    OPTIMIZERS[name]().step([single])
    master = optimizer.get_state(half, "weights")["master"]
    assert master.dtype == np.float32
    np.testing.assert_array_equal(master, single.weights)
    np.testing.assert_array_equal(half.weights, master.astype(np.float16))
    assert not np.array_equal(half.weights, weights)  # the step moved the float16 weights


def test_updates_smaller_than_a_float16_step_add_up():
    """1e-4 per step on a weight of 1 (float16 holds 1 − 2⁻¹¹ next below 1): rounded
    away each time on its own, 0.01 after 100 steps through the float32 master."""
    layer = cr.Dense(1, 1, dtype=np.float16)
    layer.weights[...], layer.biases[...] = 1, 0
    optimizer = cr.SGD(1e-4)
    for _ in range(100):
        layer.dweights, layer.dbiases = np.ones((1, 1), np.float16), np.zeros((1, 1), np.float16)
        optimizer.step([layer])
    assert layer.weights[0, 0] == np.float16(1 - 100 * np.float32(1e-4))
    book = cr.Dense(1, 1, dtype=np.float16)  # the book's update_params call, the same rule
    book.weights[...], book.biases[...] = 1, 0
    optimizer = cr.SGD(1e-4)
    for _ in range(100):
        book.dweights, book.dbiases = np.ones((1, 1), np.float16), np.zeros((1, 1), np.float16)
        optimizer.update_params(book)
    np.testing.assert_array_equal(book.weights, layer.weights)


@pytest.mark.parametrize("call", ["step", "update_params"])
def test_a_parameter_changed_between_steps_is_not_overwritten_by_the_master(call):
    layer = cr.Dense(2, 2, dtype=np.float16, rng=0)
    optimizer = cr.SGD(0.1)

    def update():
        layer.dweights = np.zeros((2, 2), np.float16)
        layer.dbiases = np.zeros((1, 2), np.float16)
        optimizer.step([layer]) if call == "step" else optimizer.update_params(layer)

    update()
    layer.weights[0, 0] = 0.25  # a user's edit, or set_parameters, between two steps
    update()
    assert layer.weights[0, 0] == np.float16(0.25)
    assert optimizer.get_state(layer, "weights")["master"][0, 0] == 0.25


def test_a_float16_step_beyond_float16s_range_is_undone():
    layer = cr.Dense(1, 2, dtype=np.float16)
    layer.weights[...], layer.biases[...] = 60_000, 0
    before = layer.weights.copy()
    layer.dweights = np.full((1, 2), -1, np.float16)
    layer.dbiases = np.zeros((1, 2), np.float16)
    optimizer = cr.SGD(10_000)  # 70,000 is finite in float32, inf in float16
    with pytest.raises(FloatingPointError, match="as they were"):
        optimizer.step([layer])
    np.testing.assert_array_equal(layer.weights, before)
    np.testing.assert_array_equal(optimizer.get_state(layer, "weights")["master"], before)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_float16_checkpoint_resumes_exactly(tmp_path, name):
    """Saved with its float32 state and master, a float16 run resumed from its checkpoint
    ends bit for bit where the uninterrupted run ends."""
    X, y = spiral_data(40, 3, rng=0)
    X = X.astype(np.float16)
    whole = spiral_network(np.float16, OPTIMIZERS[name]())
    whole.train(X, y, epochs=6, batch_size=32, rng=1, print_every=None)
    part = spiral_network(np.float16, OPTIMIZERS[name]())
    part.train(X, y, epochs=3, batch_size=32, rng=1, print_every=None,
               checkpoint=tmp_path / "run.ckpt")
    _, arrays = cr.files.read_archive(tmp_path / "run.ckpt")
    state = {key: a.dtype for key, a in arrays.items() if key.startswith("optimizer/")}
    assert set(state.values()) == {np.dtype(np.float32)}
    assert "optimizer/0/weights/master" in state  # the digits float16 cannot hold
    resumed = cr.Model.load(tmp_path / "run.ckpt")
    resumed.train(X, y, epochs=6, batch_size=32, rng=1, print_every=None,
                  checkpoint=tmp_path / "run.ckpt")
    assert resumed.history == whole.history
    for a, b in zip(resumed.get_parameters(), whole.get_parameters(), strict=True):
        for x, z in zip(a, b, strict=True):
            assert x.dtype == np.float16
            np.testing.assert_array_equal(x, z)
    for ours, theirs in zip(resumed.trainable_layers, whole.trainable_layers, strict=True):
        for param in ours.params:
            for slot, value in resumed.optimizer.get_state(ours, param).items():
                np.testing.assert_array_equal(value, whole.optimizer.get_state(theirs,
                                                                               param)[slot])


def test_a_float16_file_written_before_float32_state_still_loads(tmp_path):
    """Older files hold float16 state and no master: the state is taken up into float32
    and the master starts from the parameters."""
    X, y = spiral_data(20, 3, rng=0)
    model = spiral_network(np.float16, cr.Adam(0.01))
    model.train(X.astype(np.float16), y, epochs=2, print_every=None)
    model.save(tmp_path / "new.model")
    with zipfile.ZipFile(tmp_path / "new.model") as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    old = {}
    for name, data in entries.items():
        if name.endswith("/master.npy"):
            continue
        if name.startswith("arrays/optimizer/"):
            buffer = io.BytesIO()
            np.save(buffer, np.load(io.BytesIO(data)).astype(np.float16))
            data = buffer.getvalue()
        old[name] = data
    with zipfile.ZipFile(tmp_path / "old.model", "w") as archive:
        for name, data in old.items():
            archive.writestr(name, data)
    loaded = cr.Model.load(tmp_path / "old.model")
    layer = loaded.layers[0]
    state = loaded.optimizer.get_state(layer, "weights")
    assert {a.dtype for a in state.values()} == {np.dtype(np.float32)}
    np.testing.assert_array_equal(state["master"], layer.weights)
    np.testing.assert_array_equal(state["cache"], np.load(io.BytesIO(
        old["arrays/optimizer/0/weights/cache.npy"])))
    loaded.train(X.astype(np.float16), y, epochs=1, print_every=None)  # and trains on


# -- 11. histories are stored compactly: deflated, within a bomb-proof bound -----------------------


def three_thousand_epochs():
    """The issue's case: a small model, 3,000 epochs, seven series (175,496 bytes before)."""
    X, y = spiral_data(20, 3, rng=0)
    model = cr.Model([cr.Dense(2, 16, rng=0), cr.ReLU(), cr.Dense(16, 3, rng=1), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(0.02, decay=1e-4),
              accuracy=cr.CategoricalAccuracy())
    model.train(X, y, epochs=3000, validation_data=(X[::2], y[::2]), print_every=None)
    return model


def test_a_long_history_is_stored_compactly_and_exactly(tmp_path):
    model = three_thousand_epochs()
    model.history["val_loss"][5:8] = [np.inf, np.nan, -0.0]
    model.save(tmp_path / "m")
    values = sum(len(series) for series in model.history.values())
    assert values == 7 * 3000
    # 8 bytes a value stored (168,000 here, and 175,496 for the file); deflated, 61 KB.
    assert (tmp_path / "m").stat().st_size < 0.4 * 8 * values
    loaded = cr.Model.load(tmp_path / "m")
    assert loaded.history.keys() == model.history.keys()
    for key, series in model.history.items():
        np.testing.assert_array_equal(np.array(loaded.history[key]), np.array(series))
    assert np.signbit(loaded.history["val_loss"][7])


def test_a_history_beyond_the_inflation_bound_is_partly_stored_and_reads_back(tmp_path):
    model = cr.Model([cr.Dense(2, 3, rng=0), cr.Softmax()])
    rng = np.random.default_rng(0)
    model.history = {f"series_{k}": rng.normal(size=20_000).tolist() for k in range(8)}
    model.save(tmp_path / "m")
    with zipfile.ZipFile(tmp_path / "m") as archive:
        infos = {info.filename: info for info in archive.infolist()}
    deflated = [info for info in infos.values() if info.compress_type == zipfile.ZIP_DEFLATED]
    assert 0 < sum(info.file_size for info in deflated) <= MAX_INFLATED_BYTES
    assert len(deflated) < 8  # the rest stored: the reader would refuse more
    assert cr.Model.load(tmp_path / "m").history == model.history


@pytest.fixture(scope="module")
def honest_entries(tmp_path_factory):
    model = cr.Model([cr.Dense(2, 4, rng=0), cr.ReLU(), cr.Dense(4, 3, rng=1), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam())
    model.history = {"loss": [1.0, 0.5, 0.25] * 100, "accuracy": [0.5] * 300}
    path = tmp_path_factory.mktemp("honest") / "m"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        return model, {name: archive.read(name) for name in archive.namelist()}


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def deflated(name: str, data: bytes, packed: bytes | None = None, **lies) -> dict:
    """A deflated entry: headers describe ``data``, the file holds ``packed``."""
    packed = raw_deflate(data) if packed is None else packed
    fields = {"method": 8, "compressed": len(packed), "size": len(data),
              "crc": binascii.crc32(data), **lies}
    return {"name": name.encode(), "data": data, "stored": packed, "local": fields,
            "central": fields}


def crafted(entries: dict, **replaced) -> bytes:
    """The honest archive with some members replaced by crafted entries."""
    return build_zip([replaced.get(name) or {"name": name.encode(), "data": data}
                      for name, data in entries.items()])


HISTORY = "arrays/history/0.npy"


@functools.cache
def bomb() -> bytes:
    return raw_deflate(b"\0" * (100 * 2**20))  # 100 MiB of zeros in ~100 KB


def hostile_archives(entries):
    history = entries[HISTORY]
    yield "honest-deflated", crafted(entries, **{HISTORY: deflated(HISTORY, history)})
    yield "bomb-declared", crafted(entries, **{HISTORY: deflated(
        HISTORY, history, raw_deflate(b"\0" * (MAX_INFLATED_BYTES + 1)),
        size=MAX_INFLATED_BYTES + 1)})
    yield "bomb-undeclared", crafted(entries, **{HISTORY: deflated(HISTORY, history, bomb())})
    yield "bomb-declared-zero", crafted(entries, **{HISTORY: deflated(HISTORY, history, bomb(),
                                                                      size=0, crc=0)})
    yield "stream-too-short", crafted(entries, **{HISTORY: deflated(
        HISTORY, history, raw_deflate(history[:-8]))})
    yield "stream-then-junk", crafted(entries, **{HISTORY: deflated(
        HISTORY, history, raw_deflate(history) + b"junk")})
    yield "two-streams", crafted(entries, **{HISTORY: deflated(
        HISTORY, history, raw_deflate(history) + raw_deflate(history))})
    yield "stream-cut", crafted(entries, **{HISTORY: deflated(
        HISTORY, history, raw_deflate(history)[:-3])})
    yield "garbage", crafted(entries, **{HISTORY: deflated(
        HISTORY, history, np.random.default_rng(0).bytes(500))})
    yield "crc-of-other-data", crafted(entries, **{HISTORY: deflated(
        HISTORY, history, crc=binascii.crc32(history[:-1]))})
    weights = "arrays/layers/0/weights.npy"
    yield "deflated-parameters", crafted(entries, **{weights: deflated(weights,
                                                                       entries[weights])})
    yield "deflated-header", crafted(entries, **{"chainrule.json": deflated(
        "chainrule.json", entries["chainrule.json"])})
    entry = deflated(HISTORY, history)
    entry["local"] = {**entry["local"], "method": 0}
    yield "methods-disagree", crafted(entries, **{HISTORY: entry})
    many = {f"arrays/history/{k}.npy": deflated(f"arrays/history/{k}.npy", b"\0" * 2**16,
                                                size=2**16) for k in range(17)}
    yield "many-small-bombs", build_zip([{"name": name.encode(), "data": data}
                                         for name, data in entries.items()
                                         if not name.startswith("arrays/history/")]
                                        + list(many.values()))


INFLATES = "does not inflate to the"
REFUSALS = {
    "honest-deflated": None, "bomb-declared": "declare 1048577 bytes",
    "bomb-undeclared": INFLATES, "bomb-declared-zero": INFLATES,
    "stream-too-short": INFLATES, "stream-then-junk": INFLATES, "two-streams": INFLATES,
    "stream-cut": INFLATES, "garbage": "damaged", "crc-of-other-data": "CRC-32",
    "deflated-parameters": "only the history's", "deflated-header": "only the history's",
    "methods-disagree": "disagrees", "many-small-bombs": "declare 1114112 bytes",
}


@pytest.mark.parametrize("kind", REFUSALS)
def test_deflated_members_that_lie_are_refused_within_bounded_memory(honest_entries, tmp_path,
                                                                     kind):
    model, entries = honest_entries
    blob = dict(hostile_archives(entries))[kind]
    path = tmp_path / "m"
    path.write_bytes(blob)
    tracemalloc.start()
    try:
        if kind == "honest-deflated":
            assert cr.Model.load(path).history == model.history
        else:
            with pytest.raises(cr.ModelFileError, match=REFUSALS[kind]):
                cr.Model.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # What the reader holds: the file and at most MAX_INFLATED_BYTES inflated (and here far
    # less), never the 100 MiB a bomb holds.
    assert peak < 8 * 2**20 + 20 * len(blob)


def test_a_master_where_none_belongs_or_that_lies_changes_nothing(tmp_path, honest_entries):
    """A file may hold a master only for float16 parameters; one that disagrees with its
    float16 parameter beyond rounding is replaced by the parameter at the next step."""
    _, entries = honest_entries
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((2, 4), np.float32))
    extra = {**entries, "arrays/optimizer/0/weights/master.npy": buffer.getvalue()}
    with zipfile.ZipFile(tmp_path / "m", "w") as archive:
        for name, data in extra.items():
            archive.writestr(name, data)
    with pytest.raises(cr.ModelFileError, match="master"):
        cr.Model.load(tmp_path / "m")
    layer = cr.Dense(2, 2, dtype=np.float16, rng=0)
    optimizer = cr.SGD(0.5)
    weights = layer.weights.copy()
    optimizer.set_state(layer, "weights", {"momentums": np.zeros((2, 2)),
                                           "master": weights.astype(np.float32) + 1000})
    layer.dweights = np.ones((2, 2), np.float16)
    layer.dbiases = np.zeros((1, 2), np.float16)
    optimizer.step([layer])
    np.testing.assert_array_equal(layer.weights,
                                  (weights.astype(np.float32) - np.float32(0.5)).astype(
                                      np.float16))


def test_a_large_finite_float16_gradient_is_not_taken_for_nan():
    """‖g‖² of float16 gradients above 256 overflows float16; it is summed in float32."""
    layer = cr.Dense(2, 2, dtype=np.float16)
    layer.weights[...], layer.biases[...] = 1, 0
    layer.dweights = np.full((2, 2), 300, np.float16)
    layer.dbiases = np.zeros((1, 2), np.float16)
    cr.SGD(1e-3).step([layer])
    np.testing.assert_array_equal(layer.weights, np.float16(1 - np.float32(1e-3) * 300))


# -- hostile pass: a class that hides its math from the check, arrays a file would lose ---------


def _swish(self, inputs, training=True):
    self.inputs = inputs
    self.output = inputs / (1 + np.exp(-inputs))
    return self.output


def _claiming(module):
    """A Swish whose class body says it is chainrule's own (or abc's, typing's)."""
    return type("Claimed", (cr.Sigmoid,), {"__module__": module, "forward": _swish})


class _DictHidingMeta(type):
    @property
    def __dict__(cls):  # what vars(cls) shows: nothing
        return {}


class _MroHidingMeta(type):
    @property
    def __mro__(cls):  # what cls.__mro__ shows: the class in between left out
        return (cls, *cr.Sigmoid.__mro__)


class _GetattributeHidingMeta(type):
    def __getattribute__(cls, name):  # hasattr(cls, "forward") is False
        if name == "forward":
            raise AttributeError(name)
        return type.__getattribute__(cls, name)


class _SwishBetween(cr.Sigmoid):
    forward = _swish


class _HidingDict(dict):
    def items(self):
        return [(key, value) for key, value in dict.items(self) if key != "forward"]


class _OwnDictProperty(cr.Sigmoid):
    __dict__ = property(lambda self: {})  # vars(layer) shows nothing

    def __init__(self):
        self.forward = functools.partial(_swish, self)


class _DictSubclassInstance(cr.Sigmoid):
    def __init__(self):
        self.__dict__ = _HidingDict()
        self.forward = functools.partial(_swish, self)


def _hidden_by_meta(meta, body):
    return meta("Hidden", (cr.Sigmoid,), body)()


HIDDEN_MATH = [
    pytest.param(lambda: _claiming("chainrule.activations")(), "Claimed", "forward",
                 id="module-claims-chainrule"),
    pytest.param(lambda: _claiming("abc")(), "Claimed", "forward", id="module-claims-abc"),
    pytest.param(lambda: _claiming("typing")(), "Claimed", "forward", id="module-claims-typing"),
    pytest.param(lambda: _hidden_by_meta(_DictHidingMeta, {"forward": _swish}), "Hidden",
                 "forward", id="metaclass-dict"),
    pytest.param(lambda: _MroHidingMeta("Hidden", (_SwishBetween,), {})(), "_SwishBetween",
                 "forward", id="metaclass-mro"),
    pytest.param(lambda: _hidden_by_meta(_GetattributeHidingMeta, {
        "__init__": lambda self: setattr(self, "forward", functools.partial(_swish, self))}),
        "Hidden", "forward", id="metaclass-getattribute"),
    pytest.param(_OwnDictProperty, "_OwnDictProperty", "__dict__", id="class-dict-property"),
    pytest.param(_DictSubclassInstance, "_DictSubclassInstance", "forward",
                 id="instance-dict-subclass"),
]


@pytest.mark.parametrize(("make", "culprit", "method"), HIDDEN_MATH)
def test_a_class_that_hides_its_math_from_the_check_is_still_refused(tmp_path, make, culprit,
                                                                      method):
    """Each of these computes Swish and was saved as Sigmoid (predictions 0.5 apart after
    load): the check now reads a class's own namespace and MRO through ``type`` and trusts
    chainrule's classes by identity, not by the module their body names."""
    layer = make()
    X = np.linspace(-3, 3, 16, dtype=np.float32).reshape(8, 2)
    assert not np.allclose(layer.forward(X), cr.Sigmoid().forward(X))  # it is not Sigmoid
    model = model_with(layer)
    for path, save in ((tmp_path / "m.chainrule", model.save),
                       (tmp_path / "c.ckpt", model.save_checkpoint)):
        with pytest.raises(TypeError, match=rf"layer 1 .*{culprit}.*'{method}'"):
            save(path)
    assert list(tmp_path.iterdir()) == []
    if importlib.util.find_spec("onnx") is not None:
        from chainrule import onnx as chainrule_onnx

        with pytest.raises(TypeError, match=rf"model.layers\[1\] .*'{method}'"):
            chainrule_onnx.export(model, tmp_path / "m.onnx")
        assert list(tmp_path.iterdir()) == []


def _frozen_biases():
    model = cr.Model([cr.Dense(2, 3, rng=0), cr.Softmax()])
    model.layers[0].params = ("weights",)  # the optimizer leaves the biases alone
    return model


def test_a_layer_holding_its_own_params_is_refused_by_a_file_and_kept_by_save_parameters(
        tmp_path):
    """A layer with ``params = ("weights",)`` on the object (biases frozen) was written
    without its biases: the file did not load ("lacks its float arrays"), and a resumed
    run would train the biases the run froze. Model.save and checkpoints refuse it;
    save_parameters keeps all the class's parameters, and they load."""
    model = _frozen_biases()
    model.layers[0].biases[...] = [[0.5, -1.0, 2.0]]
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam())
    for save in (model.save, model.save_checkpoint):
        with pytest.raises(TypeError, match=r"layer 0 .*'params'"):
            save(tmp_path / "m")
    assert list(tmp_path.iterdir()) == []
    model.save_parameters(tmp_path / "p")
    twin = cr.Model([cr.Dense(2, 3, rng=5), cr.Softmax()])
    twin.load_parameters(tmp_path / "p")
    for name in ("weights", "biases"):
        np.testing.assert_array_equal(getattr(twin.layers[0], name),
                                      getattr(model.layers[0], name))
    # The ONNX graph computes the same function: nothing to refuse there.
    if importlib.util.find_spec("onnx") is not None:
        from chainrule import onnx as chainrule_onnx

        chainrule_onnx.export(model, tmp_path / "m.onnx")


@pytest.mark.parametrize("declared", ["state_arrays", "slots"])
def test_other_declarations_held_by_the_object_are_refused_by_a_file(tmp_path, declared):
    X = np.arange(12, dtype=np.float64).reshape(6, 2)
    model = cr.Model([cr.Normalization().adapt(X), cr.Dense(2, 3, rng=0), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.SGD(0.1, momentum=0.9))
    target = model.layers[0] if declared == "state_arrays" else model.optimizer
    setattr(target, declared, ())
    with pytest.raises(TypeError, match=rf"'{declared}'"):
        model.save(tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("change", ["dtype", "shape"])
def test_a_parameter_the_loader_would_refuse_is_refused_at_save(tmp_path, change):
    """A weights array replaced by another dtype or shape than the layer's config says was
    written, and the file then failed to load ("the file holds float64, the layer is
    float32"): what chainrule writes, it reads back."""
    model = cr.Model([cr.Dense(2, 3, rng=0), cr.Softmax()])
    layer = model.layers[0]
    layer.weights = (layer.weights.astype(np.float64) if change == "dtype"
                     else np.zeros((3, 3), np.float32))
    path = tmp_path / "m"
    path.write_bytes(b"earlier")
    with pytest.raises(ValueError, match=r"layer 0 .*weights"):
        model.save(path)
    assert path.read_bytes() == b"earlier"


def test_a_float16_dropout_with_its_own_generator_drops_what_float32_drops():
    """``Generator.random`` draws float32 or float64 only: a float16 Dropout with a seeded
    generator raised TypeError at its first training pass. Its mask is now the float32
    layer's (the same draws), in float16."""
    inputs = np.ones((64, 32))
    masks = {}
    for dtype in (np.float16, np.float32, np.float64):
        layer = cr.Dropout(0.3, rng=7)
        out = layer.forward(inputs.astype(dtype), training=True)
        assert out.dtype == dtype
        masks[dtype] = out.astype(np.float64)
    np.testing.assert_array_equal(masks[np.float16] == 0, masks[np.float32] == 0)
    kept = masks[np.float16][masks[np.float16] != 0]
    np.testing.assert_array_equal(kept, float(np.float16(1) / np.float16(0.7)))
    assert 0.2 < (masks[np.float16] == 0).mean() < 0.4


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_float16_network_with_normalization_and_dropout_trains_and_resumes_exactly(
        tmp_path, name):
    X, y = spiral_data(60, 3, rng=0)

    def network():
        model = cr.Model([cr.Normalization().adapt(X), cr.Dense(2, 16, dtype=np.float16, rng=0),
                          cr.ReLU(), cr.Dropout(0.1, rng=3),
                          cr.Dense(16, 3, dtype=np.float16, rng=1), cr.Softmax()])
        model.set(loss=cr.CategoricalCrossentropy(), optimizer=OPTIMIZERS[name]())
        return model

    straight = network()
    straight.train(X, y, epochs=8, batch_size=32, print_every=None, rng=0)
    assert straight.history["loss"][-1] < straight.history["loss"][0]
    network().train(X, y, epochs=4, batch_size=32, print_every=None, rng=0,
                    checkpoint=tmp_path / "c")
    resumed = cr.Model.load(tmp_path / "c")
    resumed.train(X, y, epochs=8, batch_size=32, print_every=None, rng=0,
                  checkpoint=tmp_path / "c")
    for a, b in zip(straight.get_parameters(), resumed.get_parameters(), strict=True):
        for p, q in zip(a, b, strict=True):
            assert p.dtype == np.float16
            np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("call", ["step", "update_params"])
def test_a_master_beyond_float16s_range_is_replaced_without_a_warning(call):
    """A master no float16 can hold (a file's 1e30, or the book's update_params having
    overflowed) was compared with its parameter through a cast that warned "overflow
    encountered in cast" (an error under pytest's settings) at the next step."""
    layer = cr.Dense(2, 2, dtype=np.float16, rng=0)
    layer.weights[...] = [[1, 2], [3, 4]]
    optimizer = cr.SGD(0.5)
    optimizer.set_state(layer, "weights", {"momentums": np.zeros((2, 2)),
                                           "master": np.full((2, 2), 1e30)})
    layer.dweights = np.ones((2, 2), np.float16)
    layer.dbiases = np.zeros((1, 2), np.float16)
    if call == "step":
        optimizer.step([layer])
    else:
        optimizer.update_params(layer)
    np.testing.assert_array_equal(layer.weights, [[0.5, 1.5], [2.5, 3.5]])


def test_the_books_update_params_after_a_float16_overflow_goes_on_without_a_warning():
    layer = cr.Dense(1, 1, dtype=np.float16, rng=0)
    layer.weights[...] = 60000
    layer.dbiases = np.zeros((1, 1), np.float16)
    optimizer = cr.SGD(1.0)
    for gradient, expected in ((-10000, np.inf), (0, np.inf)):
        layer.dweights = np.full((1, 1), gradient, np.float16)
        optimizer.update_params(layer)  # the book's call: no check, as in float32
        assert layer.weights[0, 0] == expected
    assert optimizer.state[layer]["weights"]["master"][0, 0] == 70000


def _identity_forward(self, inputs, training=True):
    self.inputs = self.output = inputs
    return inputs


CLASS_PATCHES = [
    pytest.param(cr.Sigmoid, "forward", _identity_forward, "layer 2", "Sigmoid", id="layer"),
    pytest.param(cr.Layer, "predictions", lambda self, outputs: outputs * 0, "layer 0", "Layer",
                 id="base-class"),
    pytest.param(cr.Dense, "params", ("weights",), "layer 0", "Dense", id="class-constant"),
    pytest.param(nnfs.Layer_Dropout, "keep_probability", lambda self: 1.0, "layer 1",
                 "Layer_Dropout", id="book-name"),
    pytest.param(cr.CategoricalCrossentropy, "sample_losses", lambda self, p, y: p[:, 0] * 0,
                 "loss", "CategoricalCrossentropy", id="loss"),
    pytest.param(cr.Adam, "_update", lambda self, *args: None, "optimizer", "Adam",
                 id="optimizer"),
]


@pytest.mark.parametrize(("cls", "name", "value", "what", "culprit"), CLASS_PATCHES)
def test_a_builtin_class_changed_after_import_is_refused(tmp_path, monkeypatch, cls, name, value,
                                                         what, culprit):
    """``cr.Sigmoid.forward = swish`` ran as Swish and was saved as "Sigmoid", which a fresh
    process loads as chainrule's own. The registered classes and their bases are compared
    with their namespaces at import; the book's classes, imported later, may hold only
    functions their body defined."""
    model = cr.Model([nnfs.Layer_Dense(2, 3, rng=0), nnfs.Layer_Dropout(0.1, rng=1),
                      cr.Sigmoid()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam())
    model.save(tmp_path / "before")
    monkeypatch.setattr(cls, name, value)
    for save in (model.save, model.save_checkpoint):
        with pytest.raises(TypeError, match=rf"{what} .*class {culprit} has been changed.*"
                                            rf"'{name}'"):
            save(tmp_path / "m")
    assert [p.name for p in tmp_path.iterdir()] == ["before"]
    if what.startswith("layer") and importlib.util.find_spec("onnx") is not None:
        from chainrule import onnx as chainrule_onnx

        with pytest.raises(TypeError, match=rf"class {culprit} has been changed"):
            chainrule_onnx.export(model, tmp_path / "m.onnx")
    monkeypatch.undo()  # put back as it was: saving again
    model.save(tmp_path / "m")


def _fresh_constructor_only_class():
    """A new class each time: no earlier test has copied one of its objects."""

    class HeDense(cr.Dense):
        def __init__(self, n_inputs, n_neurons, **options):
            super().__init__(n_inputs, n_neurons, init="he", **options)

    return HeDense


@pytest.mark.parametrize("copy_by", ["deepcopy", "copy", "pickle"])
def test_a_constructor_only_subclass_keeps_saving_after_its_object_was_copied(tmp_path,
                                                                              copy_by):
    """copyreg caches ``__slotnames__`` in a class the first time one of its objects is
    copied or pickled (scikit-learn's clone, a deepcopy of the model): the check took that
    for a definition of the user's class, and every later save was refused."""
    model = cr.Model([_fresh_constructor_only_class()(2, 3, rng=0), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam())
    model.finalize()
    X, _ = spiral_data(5, 3, rng=0)
    if copy_by == "deepcopy":
        copy.deepcopy(model)
    elif copy_by == "copy":
        copy.copy(model.layers[0])
    else:
        model.layers[0].__reduce_ex__(pickle.DEFAULT_PROTOCOL)  # what pickle.dumps calls
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(cr.Model.load(tmp_path / "m").predict(X), model.predict(X))


_T = typing.TypeVar("_T")


class _AbstractBased(cr.Sigmoid, abc.ABC):
    """ABCMeta writes __abstractmethods__ and _abc_impl into the class: bookkeeping."""


class _GenericBased(cr.Sigmoid, typing.Generic[_T]):
    def __init__(self):
        super().__init__()


@pytest.mark.parametrize("cls", [_AbstractBased, _GenericBased], ids=["abc.ABC", "Generic"])
def test_a_constructor_only_subclass_with_abc_or_typing_among_its_bases_keeps_saving(tmp_path,
                                                                                     cls):
    model = cr.Model([cr.Dense(2, 3, rng=0), cls()])
    model.save(tmp_path / "m")
    X, _ = spiral_data(5, 3, rng=0)
    loaded = cr.Model.load(tmp_path / "m")
    assert type(loaded.layers[1]) is cr.Sigmoid
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


# -- what is written reads back: the header's bound on objects and lists -----------------------


@pytest.mark.parametrize("text", ["[", "{", "a[b{c", '\\"[', "[" * 50])
def test_brackets_inside_text_are_not_counted_as_containers(tmp_path, text):
    # 10,001 feature names holding a bracket: a header of few containers (the reader counted
    # every '[' and '{' byte, and refused a file chainrule had just written).
    model = cr.Model([cr.Dense(2, 2, rng=0), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam())
    model.finalize()
    names = [f"{text}{i}" for i in range(10_001)]
    model.metadata = {"features": names}
    model.save(tmp_path / "m.chainrule")
    assert cr.Model.load(tmp_path / "m.chainrule").metadata["features"] == names


def test_a_header_beyond_the_container_bound_is_refused_at_save_not_at_load(tmp_path):
    from chainrule.files._values import MAX_CONTAINERS

    model = cr.Model([cr.Dense(2, 2, rng=0), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam())
    model.finalize()
    model.metadata = {"rows": [[i] for i in range(MAX_CONTAINERS + 1)]}
    with pytest.raises(ValueError, match="objects and lists"):
        model.save(tmp_path / "m.chainrule")
    assert not (tmp_path / "m.chainrule").exists()
    model.metadata = {"rows": [[i] for i in range(MAX_CONTAINERS - 100)]}
    model.save(tmp_path / "m.chainrule")  # within the bound (with the header's own): reads back
    assert cr.Model.load(tmp_path / "m.chainrule").metadata == model.metadata


@pytest.mark.parametrize("blob", [
    pytest.param(b'"' + b'\\"' * 2_000_000 + b"\\", id="escaped-quotes-cut"),
    pytest.param(b'"' * 4_000_000, id="quotes"),
    pytest.param(b'["' + b"a" * 4_000_000, id="unterminated"),
])
def test_counting_containers_is_linear_on_hostile_headers(blob):
    import time

    from chainrule.files._values import parse_json

    start = time.process_time()
    with pytest.raises(ValueError):  # not JSON: the loader reports it as a ModelFileError
        parse_json(blob)
    assert time.process_time() - start < 2.0  # a quadratic scan takes minutes here

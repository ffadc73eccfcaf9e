"""Everything chainrule writes, it reads back: ``load(save(m))`` equals ``m``.

A property test over random architectures (Normalization, Dense, Dropout and activations
at random depths and widths), dtypes (float16/32/64), losses and metrics, optimizers with state,
histories with NaN and ±inf, epochs and step counts up to 2**53, metadata, and for checkpoints
random generators, NumPy's global state and the training loop's state and arrays.
Parameters, optimizer state and history are compared bit for bit.
"""

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainrule import (
    SGD,
    Adagrad,
    Adam,
    BinaryCrossentropy,
    CategoricalAccuracy,
    CategoricalCrossentropy,
    Dense,
    Dropout,
    LeakyReLU,
    Linear,
    MeanAbsoluteError,
    MeanSquaredError,
    Model,
    Normalization,
    RegressionAccuracy,
    ReLU,
    RMSprop,
    Sigmoid,
    Softmax,
    Tanh,
)
from chainrule.nnfs import Layer_Dense, Layer_Dropout

DTYPES = [np.float16, np.float32, np.float64]
GENERATORS = ["PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"]
ARRAY_DTYPES = [np.float16, np.float32, np.float64, np.int32, np.int64, np.uint8, np.uint32]
seeds = st.integers(0, 2**32 - 1)
rates = st.floats(1e-6, 10.0)
fractions = st.floats(0.0, 0.99)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**127), 2**127 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=24)


def bits(array) -> bytes:
    """The exact bytes of an array: NaN payloads and signed zeros included."""
    return np.ascontiguousarray(array).tobytes()


def raw_values(rng, shape, dtype):
    """Arbitrary bit patterns of ``dtype`` (NaN, ±inf, subnormals, -0.0 included)."""
    unsigned = {2: np.uint16, 4: np.uint32, 8: np.uint64}[np.dtype(dtype).itemsize]
    words = rng.integers(0, np.iinfo(unsigned).max, size=shape, dtype=unsigned, endpoint=True)
    return words.view(dtype)


@st.composite
def generators(draw):
    name = draw(st.sampled_from(GENERATORS))
    rng = np.random.Generator(getattr(np.random, name)(draw(seeds)))
    rng.random(draw(st.integers(0, 3)))  # somewhere inside its stream
    return rng


@st.composite
def models(draw):
    dtype = draw(st.sampled_from(DTYPES))
    dense = draw(st.sampled_from([Dense, Layer_Dense]))
    n_inputs = width = draw(st.integers(1, 6))
    layers = []
    if draw(st.booleans()):  # scaling that travels with the model: state, not parameters
        statistics = np.random.default_rng(draw(seeds))
        layers.append(Normalization(mean=statistics.normal(size=n_inputs),
                                    std=statistics.uniform(0.5, 2.0, size=n_inputs)))
    for _ in range(draw(st.integers(0, 3))):
        n_neurons = draw(st.integers(1, 8))
        layers.append(dense(width, n_neurons, init=draw(st.sampled_from(["nnfs", "he", "glorot"])),
                            weight_regularizer_l2=draw(st.sampled_from([0.0, 1e-4])),
                            bias_regularizer_l1=draw(st.sampled_from([0.0, 5e-4])),
                            dtype=dtype, rng=draw(seeds)))
        layers.append(draw(st.sampled_from([ReLU(), Sigmoid(), Tanh(), Linear(),
                                            LeakyReLU(draw(st.floats(0.0, 0.5)))])))
        if draw(st.booleans()):
            dropout = draw(st.sampled_from([Dropout, Layer_Dropout]))
            layers.append(dropout(draw(fractions), rng=draw(st.none() | generators())))
        width = n_neurons
    task = draw(st.sampled_from(["categorical", "binary", "mse", "mae"]))
    n_outputs = draw(st.integers(2 if task == "categorical" else 1, 4))
    layers.append(dense(width, n_outputs, dtype=dtype, rng=draw(seeds)))
    model = Model(layers)
    if task == "categorical":
        model.add(Softmax())
        model.set(loss=CategoricalCrossentropy())
    elif task == "binary":
        model.add(Sigmoid())
        model.set(loss=BinaryCrossentropy(), accuracy=CategoricalAccuracy(binary=True))
    else:
        model.add(Linear())
        precision = draw(st.none() | st.floats(0.0, 100.0))
        model.set(loss=MeanSquaredError() if task == "mse" else MeanAbsoluteError(),
                  accuracy=RegressionAccuracy(precision))
    model.set(optimizer=draw(optimizers()))
    model.finalize()
    rng = np.random.default_rng(draw(seeds))
    for layer in model.layers:
        for name in layer.params:
            param = getattr(layer, name)
            param[...] = raw_values(rng, param.shape, param.dtype)
            if draw(st.booleans()):  # optimizer state (finite, as the optimizer keeps it)
                model.optimizer.set_state(layer, name, {
                    slot: rng.normal(size=param.shape).astype(param.dtype)
                    for slot in model.optimizer.slots})
    model.optimizer.iterations = draw(st.integers(0, 2**53))
    model.optimizer.current_learning_rate = draw(st.floats(0.0, 1e6))
    model.epoch = draw(st.integers(0, 2**53))
    model.metadata = draw(st.dictionaries(st.text(max_size=8), json_values, max_size=4))
    model.history = draw(st.dictionaries(
        st.text(min_size=1, max_size=16),
        st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=12), max_size=6))
    return model, n_inputs


@st.composite
def optimizers(draw):
    kind = draw(st.sampled_from([SGD, Adagrad, RMSprop, Adam]))
    options = {"learning_rate": draw(rates), "decay": draw(st.floats(0.0, 1.0))}
    if kind is SGD:
        options["momentum"] = draw(fractions)
    else:
        options["epsilon"] = draw(st.floats(1e-10, 1e-3))
    if kind is RMSprop:
        options["rho"] = draw(fractions)
    if kind is Adam:
        options["beta_1"], options["beta_2"] = draw(fractions), draw(fractions)
    return kind(**options)


@st.composite
def checkpoint_extras(draw):
    return {
        "rng": draw(st.none() | generators()),
        "global_seed": draw(seeds),
        "training_state": draw(st.none() | st.dictionaries(st.text(max_size=8), json_values,
                                                           max_size=5)),
        "training_arrays": {
            key: raw_values(np.random.default_rng(draw(seeds)), draw(st.integers(0, 5)), dtype)
            if np.dtype(dtype).kind == "f" else np.arange(draw(st.integers(0, 5)), dtype=dtype)
            for key, dtype in draw(st.dictionaries(st.text(max_size=10),
                                                   st.sampled_from(ARRAY_DTYPES),
                                                   max_size=3)).items()},
    }


def generator_state(rng):
    return None if rng is None else json.dumps(rng.bit_generator.state,
                                               default=lambda array: array.tolist())


def assert_same_model(loaded: Model, model: Model) -> None:
    assert len(loaded.layers) == len(model.layers)
    for ours, theirs in zip(loaded.layers, model.layers, strict=True):
        # Book subclasses come back as the chainrule class they extend, with its config.
        assert isinstance(theirs, type(ours)) and type(ours).__module__.startswith("chainrule.")
        assert ours.config() == theirs.config()
        assert ours.params == theirs.params
        for name in getattr(ours, "state_arrays", ()):
            a, b = getattr(ours, name), getattr(theirs, name)
            assert a.dtype == b.dtype and bits(a) == bits(b)
        for name in ours.params:
            a, b = getattr(ours, name), getattr(theirs, name)
            assert a.dtype == b.dtype and a.shape == b.shape and bits(a) == bits(b)
            sa, sb = (loaded.optimizer.get_state(ours, name),
                      model.optimizer.get_state(theirs, name))
            assert sorted(sa) == sorted(sb)
            assert all(sa[k].dtype == sb[k].dtype and bits(sa[k]) == bits(sb[k]) for k in sa)
    for part in ("loss", "accuracy", "optimizer"):
        a, b = getattr(loaded, part), getattr(model, part)
        assert type(a) is type(b) and a.config() == b.config()
    assert loaded.optimizer.iterations == model.optimizer.iterations
    assert loaded.optimizer.current_learning_rate == model.optimizer.current_learning_rate
    assert loaded.epoch == model.epoch
    assert loaded.metadata == model.metadata
    assert list(loaded.history) == list(model.history)
    for key, values in model.history.items():
        # NaN compares as NaN, bit for bit (payload and sign included).
        assert bits(np.array(loaded.history[key], np.float64)) == bits(np.array(values, np.float64))


@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(drawn=models(), checkpoint=st.booleans(), extras=checkpoint_extras(),
       inputs_seed=seeds)
def test_load_of_save_equals_the_model(tmp_path_factory, drawn, checkpoint, extras,
                                       inputs_seed):
    model, n_inputs = drawn
    path = tmp_path_factory.mktemp("roundtrip") / "model"
    if checkpoint:
        model.rng = extras["rng"]
        model.training_state = extras["training_state"]
        model.training_arrays = extras["training_arrays"]
        np.random.seed(extras["global_seed"])
        np.random.random(extras["global_seed"] % 700)  # anywhere in the 624-word cycle
        np.random.standard_normal(extras["global_seed"] % 3)  # odd: a Gaussian is cached
        saved_global = np.random.get_state()
        model.save_checkpoint(path)
    else:
        model.save(path)
    loaded = Model.load(path)

    assert_same_model(loaded, model)
    if checkpoint:
        assert loaded.training_state == model.training_state
        assert list(loaded.training_arrays) == list(model.training_arrays)
        for key, array in model.training_arrays.items():
            assert loaded.training_arrays[key].dtype == array.dtype
            assert bits(loaded.training_arrays[key]) == bits(array)
        assert generator_state(loaded.rng) == generator_state(model.rng)
        for ours, theirs in zip(loaded.layers, model.layers, strict=True):
            assert generator_state(getattr(ours, "rng", None)) == generator_state(
                getattr(theirs, "rng", None))
        name, keys, *rest = loaded.global_random_state
        assert name == saved_global[0] and bits(keys) == bits(saved_global[1])
        assert tuple(rest) == tuple(saved_global[2:])
    else:
        assert loaded.training_state is None and loaded.training_arrays == {}
    X = np.random.default_rng(inputs_seed).uniform(-3, 3, size=(4, n_inputs))
    with np.errstate(all="ignore"):  # parameters are arbitrary bits: inf and NaN included
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # And the file it writes is the file it read.
    again = path.with_name("again")
    loaded.save_checkpoint(again) if checkpoint else loaded.save(again)
    if not checkpoint:
        assert again.read_bytes() == path.read_bytes()

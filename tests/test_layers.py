import numpy as np
import pytest
from conftest import GRAD_TOL, SHAPES, away_from_zero

import chainrule as cr
from chainrule import Dense, Dropout, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh

REGULARIZERS = [
    pytest.param({}, id="plain"),
    pytest.param({"weight_regularizer_l1": 0.01}, id="weight-l1"),
    pytest.param({"weight_regularizer_l2": 0.02}, id="weight-l2"),
    pytest.param({"bias_regularizer_l1": 0.03}, id="bias-l1"),
    pytest.param({"bias_regularizer_l2": 0.04}, id="bias-l2"),
    pytest.param(
        {
            "weight_regularizer_l1": 0.01,
            "weight_regularizer_l2": 0.02,
            "bias_regularizer_l1": 0.03,
            "bias_regularizer_l2": 0.04,
        },
        id="all",
    ),
]


def dense64(n_in, n_out, rng, **kwargs):
    layer = Dense(n_in, n_out, init="he", dtype=np.float64, rng=rng, **kwargs)
    # Biases away from zero so that L1's kink at 0 is never straddled by ±eps.
    layer.biases[:] = away_from_zero(rng, layer.biases.shape)
    layer.weights[:] = away_from_zero(rng, layer.weights.shape)
    return layer


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("regularizers", REGULARIZERS)
def test_dense_gradients_match_numerical(shape, regularizers, rng):
    n, n_in, n_out = shape
    layer = dense64(n_in, n_out, rng, **regularizers)
    errors = cr.gradcheck(layer, rng.normal(size=(n, n_in)), per_parameter=True)
    assert set(errors) == {"dinputs", "dweights", "dbiases"}
    assert max(errors.values()) < GRAD_TOL, errors


ACTIVATIONS = [ReLU, lambda: LeakyReLU(0.1), Sigmoid, Tanh, Softmax, Linear]
ACTIVATION_IDS = ["relu", "leaky-relu", "sigmoid", "tanh", "softmax", "linear"]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("make", ACTIVATIONS, ids=ACTIVATION_IDS)
def test_activation_gradients_match_numerical(make, shape, rng):
    n, _, k = shape
    assert cr.gradcheck(make(), away_from_zero(rng, (n, k))) < GRAD_TOL


def test_dropout_gradient_with_a_fixed_mask(rng):
    layer = Dropout(0.4, rng=7)
    x = rng.normal(size=(6, 5))
    layer.forward(x)
    mask = layer.binary_mask.copy()
    upstream = rng.normal(size=x.shape)
    layer.backward(upstream)

    def loss(z):
        return float(np.sum(z * mask * upstream))

    numerical = cr.numerical_gradient(loss, x.copy())
    np.testing.assert_allclose(layer.dinputs, numerical, rtol=1e-6, atol=1e-9)
    assert set(np.unique(mask)) <= {0.0, 1 / 0.6}


def test_softmax_backward_equals_the_explicit_jacobian(rng):
    softmax = Softmax()
    x = rng.normal(size=(4, 5))
    upstream = rng.normal(size=(4, 5))
    softmax.forward(x)
    softmax.backward(upstream)
    for s, d, got in zip(softmax.output, upstream, softmax.dinputs, strict=True):
        jacobian = np.diagflat(s) - np.outer(s, s)
        np.testing.assert_allclose(got, jacobian @ d, rtol=1e-12, atol=1e-15)


def test_dense_forward_reference_values():
    layer = Dense(3, 2, dtype=np.float64)
    layer.weights[:] = [[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]]
    layer.biases[:] = [[0.5, -0.5]]
    out = layer.forward(np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 1.0]]))
    np.testing.assert_array_equal(out, [[5.5, 8.5], [-0.5, 3.5]])
    assert out is layer.output
    dinputs = layer.backward(np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert dinputs is layer.dinputs
    np.testing.assert_array_equal(layer.dweights, [[1.0, -1.0], [2.0, 0.0], [3.0, 1.0]])
    np.testing.assert_array_equal(layer.dbiases, [[1.0, 1.0]])
    np.testing.assert_array_equal(dinputs, [[1.0, 2.0, 0.0], [-1.0, 0.5, 3.0]])


def test_activation_reference_values():
    x = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(ReLU().forward(x), [[0.0, 0.0, 3.0]])
    np.testing.assert_allclose(LeakyReLU(0.1).forward(x), [[-0.2, 0.0, 3.0]])
    np.testing.assert_allclose(Sigmoid().forward(x), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(Tanh().forward(x), np.tanh(x))
    np.testing.assert_allclose(Softmax().forward(x), np.exp(x) / np.exp(x).sum())
    np.testing.assert_array_equal(Linear().forward(x), x)


def test_predictions():
    probs = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    np.testing.assert_array_equal(Softmax().predictions(probs), [1, 0])
    np.testing.assert_array_equal(Sigmoid().predictions(np.array([[0.2], [0.9]])), [[0], [1]])
    np.testing.assert_array_equal(Linear().predictions(probs), probs)


def test_float32_by_default_and_float64_on_request():
    layer = Dense(4, 3)
    assert layer.weights.dtype == np.float32 and layer.biases.dtype == np.float32
    assert layer.forward(np.ones((2, 4), np.float32)).dtype == np.float32
    assert Dense(4, 3, dtype=np.float64).weights.dtype == np.float64


@pytest.mark.parametrize("init, std", [("nnfs", 0.01), ("he", np.sqrt(2 / 400)),
                                       ("glorot", np.sqrt(2 / 500))])
def test_initialisations(init, std):
    layer = Dense(400, 100, init=init, rng=0)
    assert np.all(layer.biases == 0)
    assert abs(layer.weights.std() / std - 1) < 0.02


def test_nnfs_init_draws_from_the_global_state_like_the_book():
    np.random.seed(0)
    layer = Dense(2, 3)
    np.random.seed(0)
    expected = (0.01 * np.random.randn(2, 3)).astype(np.float32)
    np.testing.assert_array_equal(layer.weights, expected)


def test_rng_seed_reproduces_and_generator_is_used():
    a, b = Dense(5, 4, rng=3), Dense(5, 4, rng=3)
    np.testing.assert_array_equal(a.weights, b.weights)
    c = Dense(5, 4, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.weights, c.weights)


def test_repr():
    assert repr(Dense(2, 64)) == "Dense(2, 64)"
    regularized = Dense(2, 3, weight_regularizer_l2=5e-4)
    assert repr(regularized) == "Dense(2, 3, weight_regularizer_l2=0.0005)"
    assert repr(LeakyReLU(0.2)) == "LeakyReLU(alpha=0.2)"
    assert repr(ReLU()) == "ReLU()"
    assert repr(Dropout(0.1)) == "Dropout(rate=0.1)"


def test_dense_refuses_the_wrong_feature_count_naming_itself():
    layer = Dense(3, 2)
    with pytest.raises(ValueError, match=r"Dense\(3, 2\).*\(n_samples, 3\).*\(4, 5\)"):
        layer.forward(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"shape \(n_samples, 3\); got \(3,\)"):
        layer.forward(np.ones(3))
    assert not hasattr(layer, "output")


@pytest.mark.parametrize(
    "kwargs, error",
    [
        pytest.param({"n_inputs": 0}, ValueError, id="zero-inputs"),
        pytest.param({"n_inputs": 2.5}, TypeError, id="float-inputs"),
        pytest.param({"init": "xavier"}, ValueError, id="unknown-init"),
        pytest.param({"weight_regularizer_l2": -1.0}, ValueError, id="negative-l2"),
        pytest.param({"bias_regularizer_l1": float("nan")}, ValueError, id="nan-l1"),
        pytest.param({"dtype": np.int32}, TypeError, id="int-dtype"),
    ],
)
def test_dense_refuses_bad_arguments(kwargs, error):
    args = {"n_inputs": 2, "n_neurons": 3, **kwargs}
    with pytest.raises(error):
        Dense(args.pop("n_inputs"), args.pop("n_neurons"), **args)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5], ids=["negative", "one", "above-one"])
def test_dropout_refuses_bad_rates(rate):
    with pytest.raises(ValueError, match="Dropout rate"):
        Dropout(rate)


def test_backward_before_forward_names_the_layer():
    with pytest.raises(RuntimeError, match=r"ReLU\(\): backward\(\) called before forward\(\)"):
        ReLU().backward(np.ones((1, 1)))


def test_backward_refuses_dvalues_of_the_wrong_shape():
    layer = Dense(2, 3)
    layer.forward(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"output's shape \(4, 3\); got \(3, 4\)"):
        layer.backward(np.ones((3, 4)))


def test_layers_refuse_non_numeric_inputs():
    with pytest.raises(TypeError, match="numeric"):
        ReLU().forward(np.array([["a", "b"]]))


def test_dropout_is_identity_at_inference_and_scales_when_training():
    x = np.ones((2000, 50))
    layer = Dropout(0.3, rng=0)
    out = layer.forward(x, training=False)
    np.testing.assert_array_equal(out, x)
    assert out is not x
    out = layer.forward(x)
    assert abs((out == 0).mean() - 0.3) < 0.01
    assert abs(out.mean() - 1.0) < 0.01


def test_dropout_book_mask_from_global_state():
    x = np.arange(12.0).reshape(3, 4)
    np.random.seed(5)
    out = Dropout(0.25).forward(x)
    np.random.seed(5)
    expected = x * (np.random.binomial(1, 0.75, size=x.shape) / 0.75)
    np.testing.assert_allclose(out, expected)


def test_extreme_inputs_stay_finite_without_warnings():
    # pytest turns warnings into errors, so an overflow would fail here.
    x = np.array([[1e4, -1e4, 0.0], [-1e3, 1e3, 5.0]])
    for layer in (Softmax(), Sigmoid(), Tanh()):
        out = layer.forward(x)
        assert np.isfinite(out).all()
        assert np.isfinite(layer.backward(np.ones_like(out))).all()
    np.testing.assert_allclose(Sigmoid().forward(np.array([[-1e3, 1e3]])), [[0.0, 1.0]])
    np.testing.assert_allclose(Softmax().forward(np.array([[1e4, -1e4]])), [[1.0, 0.0]])


def test_set_default_dtype_is_one_place_to_make_a_model_float64():
    import chainrule as cr

    previous = cr.set_default_dtype(np.float64)
    try:
        model = cr.Model([cr.Dense(3, 1), cr.ReLU()])
        assert model.dtype == np.float64 and model.layers[0].biases.dtype == np.float64
        model.layers[0].set_parameters(np.array([[-3.0], [-1.0], [2.0]]), np.array([[1.0]]))
        # The seed's neuron, exact: 1·(−3) + (−2)·(−1) + 3·2 + 1 = 6.
        assert model.predict(np.array([[1.0, -2.0, 3.0]]))[0, 0] == 6.0
        assert repr(cr.Dense(2, 2)) == "Dense(2, 2)"  # the default is not worth a mention
        assert cr.Dense(2, 2, dtype=np.float32).weights.dtype == np.float32
    finally:
        assert cr.set_default_dtype(previous) == np.float64
    assert cr.Dense(2, 2).weights.dtype == np.float32 == cr.get_default_dtype()
    with pytest.raises(TypeError, match="floating-point"):
        cr.set_default_dtype(np.int32)


def test_a_cached_constant_is_read_only_and_reused():
    # Softmax's column of ones is shared by every call: a write into it would corrupt the
    # next forward pass, so NumPy must refuse the write.
    softmax = Softmax()
    ones = softmax._constant(1, (3, 1), np.dtype(np.float32))
    assert ones is softmax._constant(1, (3, 1), np.dtype(np.float32))
    assert not ones.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        ones[0, 0] = 2.0

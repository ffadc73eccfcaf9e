"""ONNX export: the file is valid ONNX and onnxruntime computes what Model.predict does."""

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import _main as cli
from chainrule.nn._layers import Layer
from chainrule.nn._normalization import Normalization

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
chainrule_onnx = pytest.importorskip("chainrule.onnx")

N_FEATURES = 6

def hidden_layers(dtype):
    """One case per exportable layer type, placed between two Dense layers."""
    cases = {
        "relu": cr.ReLU(),
        "leaky_relu": cr.LeakyReLU(0.1),
        "leaky_relu_steep": cr.LeakyReLU(1.5),
        "sigmoid": cr.Sigmoid(),
        "tanh": cr.Tanh(),
        "linear": cr.Linear(),
        "dropout": cr.Dropout(0.5, rng=0),
        "softmax": cr.Softmax(),
    }
    cases["normalization"] = _adapted(Normalization(), dtype)
    return cases


def _adapted(layer, dtype):
    data = np.random.default_rng(3).normal(2.0, 3.0, size=(200, 10)).astype(dtype)
    layer.adapt(data)
    return layer


def build(middle, dtype=np.float32, head=None, first=None):
    """Dense → middle → Dense → head, with random biases (zero biases would hide a bug)."""
    rng = np.random.default_rng(7)
    layers = [first] if first is not None else []
    layers += [cr.Dense(N_FEATURES, 10, init="he", dtype=dtype, rng=rng), middle,
               cr.Dense(10, 4, init="glorot", dtype=dtype, rng=rng), head or cr.Softmax()]
    model = cr.Model(layers)
    for layer in model.layers:
        if isinstance(layer, cr.Dense):
            layer.biases[...] = rng.normal(0, 0.5, size=layer.biases.shape)
    return model


def run_onnx(path, X):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": X})[0]


def inputs(n, dtype):
    return np.random.default_rng(n).normal(0, 2, size=(n, N_FEATURES)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("kind", list(hidden_layers(np.float32)))
def test_onnxruntime_equals_predict_for_every_layer(tmp_path, kind, dtype):
    model = build(hidden_layers(dtype)[kind], dtype)
    path = tmp_path / "model.onnx"
    chainrule_onnx.export(model, path)
    for n in (1, 1000):
        X = inputs(n, dtype)
        expected = model.predict(X)
        got = run_onnx(path, X)
        assert got.dtype == dtype and got.shape == (n, 4)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("head", [cr.Linear(), cr.Sigmoid(), cr.Tanh()], ids=repr)
def test_other_output_layers(tmp_path, head):
    model = build(cr.ReLU(), head=head)
    chainrule_onnx.export(model, tmp_path / "m.onnx")
    X = inputs(1000, np.float32)
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", X), model.predict(X),
                               rtol=1e-5, atol=1e-5)


def test_the_books_classes_export_as_their_base(tmp_path):
    from chainrule import nnfs

    np.random.seed(0)
    model = nnfs.Model()
    for layer in (nnfs.Layer_Dense(N_FEATURES, 16, 0, 5e-4), nnfs.Activation_ReLU(),
                  nnfs.Layer_Dropout(0.1), nnfs.Layer_Dense(16, 3), nnfs.Activation_Softmax()):
        model.add(layer)
    proto = chainrule_onnx.to_onnx(model)
    assert [node.name for node in proto.graph.node] == ["Dense_0", "ReLU_1", "Dropout_2",
                                                        "Dense_3", "Softmax_4"]
    chainrule_onnx.export(model, tmp_path / "m.onnx")
    X = inputs(1000, np.float32)
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", X), model.predict(X),
                               rtol=1e-5, atol=1e-5)


def test_normalization_is_exported_as_affine_ops(tmp_path):
    rng = np.random.default_rng(5)
    norm = Normalization(mean=rng.normal(1, 2, N_FEATURES), std=rng.uniform(0.5, 3, N_FEATURES))
    model = build(cr.ReLU(), first=norm)
    proto = chainrule_onnx.to_onnx(model)
    ops = [node.op_type for node in proto.graph.node]
    assert ops[:3] == ["Sub", "Div", "Cast"]  # in float64, rounded once to float32
    assert "Normalization_0" in {n.name for n in proto.graph.node}
    chainrule_onnx.export(model, tmp_path / "m.onnx")
    for n in (1, 1000):
        X = inputs(n, np.float64)  # raw values, as predict takes them
        np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", X), model.predict(X),
                                   rtol=1e-5, atol=1e-5)


def test_unadapted_normalization_is_refused(tmp_path):
    norm = Normalization()
    with pytest.raises(ValueError, match=r"Normalization_0 .*adapt\(X\)"):
        chainrule_onnx.export(build(cr.ReLU(), first=norm), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_scaling_that_travels_with_the_model(tmp_path, dtype):
    """Normalization first (raw inputs) and inverted last (targets' units): the regression
    recipe of issue 13, exported whole."""
    rng = np.random.default_rng(11)
    X = rng.normal(50, 20, size=(300, N_FEATURES))
    y = X @ rng.normal(size=(N_FEATURES, 2)) + 1000
    inputs_layer = Normalization().adapt(X)
    targets_layer = Normalization().adapt(y)
    model = cr.Model([inputs_layer, cr.Dense(N_FEATURES, 16, init="he", dtype=dtype, rng=rng),
                      cr.ReLU(), cr.Dense(16, 2, dtype=dtype, rng=rng), cr.Linear(),
                      targets_layer.inverted()])
    for layer in model.layers:
        if isinstance(layer, cr.Dense):
            layer.biases[...] = rng.normal(0, 0.5, size=layer.biases.shape)
    proto = chainrule_onnx.to_onnx(model)
    ops = [(node.name, node.op_type) for node in proto.graph.node]
    # In float64 from the raw input, rounded once into a float32 model; back to float64
    # for the targets' units.
    first, last = ([("Normalization_0.centre", "Sub"), ("Normalization_0", "Div")],
                   [("Normalization_5.scale", "Mul"), ("Normalization_5", "Add")])
    if dtype == np.float32:
        first = [first[0], ("Normalization_0.divide", "Div"), ("Normalization_0", "Cast")]
        last = [("Normalization_5.widen", "Cast"), *last]
    assert ops[:len(first)] == first and ops[-len(last):] == last
    chainrule_onnx.export(model, tmp_path / "m.onnx")
    for n in (1, 1000):
        X_new = rng.normal(50, 20, size=(n, N_FEATURES))  # raw values, as predict takes them
        expected = model.predict(X_new)
        assert expected.dtype == np.float64
        assert np.abs(expected).max() > 500  # in the targets' units, not standardised
        np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", X_new), expected,
                                   rtol=1e-5, atol=1e-5)


def test_graph_is_valid_and_loadable_by_older_runtimes(tmp_path):
    model = build(cr.LeakyReLU(0.2))
    path = tmp_path / "model.onnx"
    chainrule_onnx.export(model, path)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.ir_version == 7
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", 13)]
    batch, features = proto.graph.input[0].type.tensor_type.shape.dim
    assert batch.dim_param == "batch" and features.dim_value == N_FEATURES
    out_batch, outputs = proto.graph.output[0].type.tensor_type.shape.dim
    assert out_batch.dim_param == "batch" and outputs.dim_value == 4
    nodes = [(node.name, node.op_type) for node in proto.graph.node]
    assert nodes == [("Dense_0", "Gemm"), ("LeakyReLU_1", "LeakyRelu"), ("Dense_2", "Gemm"),
                     ("Softmax_3", "Softmax")]
    softmax = proto.graph.node[-1]
    assert [(a.name, a.i) for a in softmax.attribute] == [("axis", 1)]
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    np.testing.assert_array_equal(weights["Dense_0.weights"], model.layers[0].weights)
    np.testing.assert_array_equal(weights["Dense_2.biases"], model.layers[2].biases)


def test_export_writes_atomically_and_replaces(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"old")
    chainrule_onnx.export(build(cr.ReLU()), path)
    assert onnx.load(str(path)).graph.node[0].op_type == "Gemm"
    assert os.listdir(tmp_path) == ["model.onnx"]


@pytest.mark.parametrize(
    ("model", "error", "match"),
    [
        pytest.param("model.chainrule", TypeError, "chainrule.Model", id="not-a-model"),
        pytest.param(cr.Model(), ValueError, "no layers", id="no-layers"),
    ],
)
def test_bad_models_are_refused(tmp_path, model, error, match):
    with pytest.raises(error, match=match):
        chainrule_onnx.export(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_unknown_layer_is_named(tmp_path):
    class Cube(Layer):
        def forward(self, inputs, training=True):
            return inputs**3

    model = cr.Model([cr.Dense(2, 3), Cube()])
    with pytest.raises(TypeError, match=r"model.layers\[1\] \(Cube\(\)\).*supported layers"):
        chainrule_onnx.export(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_cli_export(tmp_path, capsys):
    model = build(cr.Tanh())
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam())
    model.save(tmp_path / "model.chainrule")
    out = tmp_path / "model.onnx"
    assert cli.main(["export", str(tmp_path / "model.chainrule"), str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    X = inputs(50, np.float32)
    np.testing.assert_allclose(run_onnx(out, X), model.predict(X), rtol=1e-5, atol=1e-5)


def test_cli_export_of_a_missing_file_fails_cleanly(tmp_path, capsys):
    assert cli.main(["export", str(tmp_path / "none.chainrule"), str(tmp_path / "m.onnx")]) == 1
    assert "chainrule export: error" in capsys.readouterr().err


# -- issue 18 points 4 and 5: the graph computes what Model.predict computes, in its dtypes ----
#
# Model.predict hands the raw inputs to a first Normalization as they are; it standardises
# them in float64 and rounds once into the model's dtype. An inverted last Normalization
# outputs float64 (targets in their own units keep their digits). The graph must do the same:
# a float64 input, the affine steps in float64, a Cast where chainrule rounds.

DOUBLE, FLOAT = onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT


def huge_offset(kind, n, k=2, seed=0):
    """Columns whose spread is far below float32's resolution at their magnitude."""
    rng = np.random.default_rng(seed)
    if kind == "1e8+N(0,3)":
        return 1e8 + rng.normal(0, 3, size=(n, k))
    if kind == "1e15+N(0,1)":
        return 1e15 + rng.normal(0, 1, size=(n, k))
    if kind == "timestamps":  # seconds since 1970, to the millisecond, over one day
        return np.round(1.7e9 + rng.uniform(0, 86_400, size=(n, k)), 3)
    return rng.normal(3, 2, size=(n, k))  # ordinary data


DATA = ["1e8+N(0,3)", "1e15+N(0,1)", "timestamps", "ordinary"]
DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])


def identity_dense(k, dtype):
    """x·I + 0 is exact in any runtime: what comes out is what the Normalization wrote."""
    dense = cr.Dense(k, k, dtype=dtype)
    dense.weights[...] = np.eye(k)
    dense.biases[...] = 0
    return dense


def io_types(proto):
    return (proto.graph.input[0].type.tensor_type.elem_type,
            proto.graph.output[0].type.tensor_type.elem_type)


@DTYPES
@pytest.mark.parametrize("kind", DATA)
def test_first_normalization_standardises_raw_float64_inputs_bit_for_bit(tmp_path, kind, dtype):
    X = huge_offset(kind, 500)
    model = cr.Model([Normalization().adapt(X), identity_dense(2, dtype)])
    chainrule_onnx.export(model, tmp_path / "m.onnx")
    assert io_types(onnx.load(str(tmp_path / "m.onnx"))) == (
        DOUBLE, onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
    X_new = huge_offset(kind, 300, seed=1)
    expected = model.predict(X_new)
    got = run_onnx(tmp_path / "m.onnx", X_new)
    assert got.dtype == expected.dtype == dtype
    np.testing.assert_array_equal(got, expected)
    # and that is (x − μ)/σ computed in float64, rounded once
    layer = model.layers[0]
    np.testing.assert_array_equal(got, ((X_new - layer.mean) / layer.std).astype(dtype))
    # every distinct input stays distinct (float32 inputs kept a handful of values of 300)
    assert len(np.unique(got[:, 0])) == len(np.unique(X_new[:, 0]))


@DTYPES
@pytest.mark.parametrize("kind", DATA)
def test_classification_on_huge_offset_columns_scores_what_chainrule_scores(tmp_path, kind,
                                                                            dtype):
    """Class 1 where the column lies above its mean: chainrule gets every sample right, and
    so must the exported graph (a float32 graph input scored 0.62 on 1e8 + N(0, 3))."""
    X = huge_offset(kind, 1000, k=1)
    norm = Normalization().adapt(X)
    y = (X[:, 0] > norm.mean[0, 0]).astype(int)
    dense = cr.Dense(1, 2, dtype=dtype)
    dense.weights[...] = [[-1.0, 1.0]]  # logits (−z, z): class 1 iff z = (x − μ)/σ > 0
    dense.biases[...] = 0
    model = cr.Model([norm, dense, cr.Softmax()])
    chainrule_onnx.export(model, tmp_path / "m.onnx")
    expected = model.predict(X)
    got = run_onnx(tmp_path / "m.onnx", X)
    assert np.mean(np.argmax(expected, axis=1) == y) == 1.0
    assert np.mean(np.argmax(got, axis=1) == y) == 1.0
    assert got.dtype == dtype
    ulp = np.finfo(dtype).eps
    np.testing.assert_allclose(got, expected, rtol=4 * ulp, atol=4 * ulp)


@DTYPES
@pytest.mark.parametrize("kind", DATA)
def test_inverted_last_normalization_outputs_float64_bit_for_bit(tmp_path, kind, dtype):
    """Targets in their own units as float64: 1e8 + N(0, 3) rounded to float32 keeps steps
    of 8."""
    targets = Normalization().adapt(huge_offset(kind, 500))
    model = cr.Model([identity_dense(2, dtype), targets.inverted()])
    chainrule_onnx.export(model, tmp_path / "m.onnx")
    assert io_types(onnx.load(str(tmp_path / "m.onnx")))[1] == DOUBLE
    Z = np.random.default_rng(2).normal(0, 1, size=(300, 2)).astype(dtype)
    expected = model.predict(Z)
    got = run_onnx(tmp_path / "m.onnx", Z)
    assert got.dtype == expected.dtype == np.float64
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, Z.astype(np.float64) * targets.std + targets.mean)


def regression_model(X, y, dtype, seed=11):
    """The README's recipe: raw inputs in, targets' units out."""
    rng = np.random.default_rng(seed)
    model = cr.Model([Normalization().adapt(X),
                      cr.Dense(X.shape[1], 16, init="he", dtype=dtype, rng=rng), cr.ReLU(),
                      cr.Dense(16, y.shape[1], dtype=dtype, rng=rng), cr.Linear(),
                      Normalization().adapt(y).inverted()])
    for layer in model.layers:
        if isinstance(layer, cr.Dense):
            layer.biases[...] = rng.normal(0, 0.5, size=layer.biases.shape)
    return model


@DTYPES
@pytest.mark.parametrize("kind", DATA)
def test_regression_from_raw_inputs_to_raw_targets(tmp_path, kind, dtype):
    X = huge_offset(kind, 400, k=3)
    y = huge_offset(kind, 400, k=2, seed=5)
    model = regression_model(X, y, dtype)
    chainrule_onnx.export(model, tmp_path / "m.onnx")
    assert io_types(onnx.load(str(tmp_path / "m.onnx"))) == (DOUBLE, DOUBLE)
    X_new = huge_offset(kind, 200, k=3, seed=9)
    expected = model.predict(X_new)
    got = run_onnx(tmp_path / "m.onnx", X_new)
    assert got.dtype == expected.dtype == np.float64
    # Gemm and NumPy's matmul may sum in another order; the network's own output (before
    # x·σ + μ) agrees to a few units in the last place of the model's dtype.
    targets = model.layers[-1]
    np.testing.assert_allclose(targets.transform(got), targets.transform(expected),
                               rtol=8 * np.finfo(dtype).eps, atol=8 * np.finfo(dtype).eps)


@DTYPES
@pytest.mark.parametrize(
    "place",
    ["middle", "middle-inverted", "first-inverted", "last", "alone", "alone-inverted",
     "first-and-inverted-last"])
def test_normalization_anywhere_computes_what_predict_computes(tmp_path, place, dtype):
    """Wherever the layer stands, the graph's dtypes are predict's: a first one takes
    float64 and hands the model's dtype on, an inverted one elsewhere outputs float64 (and a
    Dense after it computes in float64, as NumPy promotes), any other keeps its inputs'."""
    rng = np.random.default_rng(4)
    stats = Normalization().adapt(rng.normal(1e6, 5, size=(100, 3)))
    dense = lambda: identity_dense(3, dtype)  # noqa: E731
    layers = {
        "middle": [dense(), stats, cr.Tanh(), dense()],
        "middle-inverted": [dense(), stats.inverted(), cr.LeakyReLU(0.3), dense(), cr.Softmax()],
        "first-inverted": [stats.inverted(), dense(), cr.Sigmoid()],
        "last": [dense(), cr.ReLU(), stats],
        "alone": [stats],
        "alone-inverted": [stats.inverted()],
        "first-and-inverted-last": [stats, dense(), stats.inverted()],
    }[place]
    model = cr.Model(layers)
    chainrule_onnx.export(model, tmp_path / "m.onnx")
    first_is_normalization = isinstance(layers[0], Normalization)
    X = (rng.normal(1e6, 5, size=(50, 3)) if place.startswith(("first", "alone"))
         and not layers[0].invert else rng.normal(0, 2, size=(50, 3)))
    if not first_is_normalization:
        X = X.astype(model.dtype)
    expected = model.predict(X)
    got = run_onnx(tmp_path / "m.onnx", X)
    assert got.dtype == expected.dtype
    ulp = np.finfo(got.dtype).eps
    np.testing.assert_allclose(got, expected, rtol=2 * ulp, atol=2 * ulp)


@pytest.mark.parametrize(("second", "result"), [(np.float64, np.float64),
                                                (np.float16, np.float32)],
                         ids=["float64-after-float32", "float16-after-float32"])
def test_dense_layers_of_two_dtypes_compute_as_numpy_promotes(tmp_path, second, result):
    """A float64 Dense after a float32 one: predict's output is float64, and so is the
    graph's (the float32 tensor is widened before the float64 Gemm). A float16 Dense
    after a float32 one computes in float32, on its weights widened (exactly)."""
    rng = np.random.default_rng(1)
    model = cr.Model([cr.Dense(3, 4, dtype=np.float32, rng=rng), cr.ReLU(),
                      cr.Dense(4, 2, dtype=second, rng=rng)])
    chainrule_onnx.export(model, tmp_path / "m.onnx")
    X = rng.normal(size=(20, 3)).astype(np.float32)
    expected = model.predict(X)
    got = run_onnx(tmp_path / "m.onnx", X)
    assert got.dtype == expected.dtype == result
    eps = np.finfo(result).eps
    np.testing.assert_allclose(got, expected, rtol=8 * eps, atol=8 * eps)


def test_models_without_normalization_keep_float32_in_and_out():
    proto = chainrule_onnx.to_onnx(build(cr.ReLU()))
    assert io_types(proto) == (FLOAT, FLOAT)
    assert all(node.op_type != "Cast" for node in proto.graph.node)
    assert {t.data_type for t in proto.graph.initializer} == {FLOAT}


@pytest.mark.parametrize(
    ("statistic", "value"),
    [("mean", np.nan), ("mean", np.inf), ("std", np.nan), ("std", 0.0), ("std", -1.0)],
    ids=["nan-mean", "inf-mean", "nan-std", "zero-std", "negative-std"])
@pytest.mark.parametrize("where", ["first", "inverted-last"])
def test_statistics_chainrule_would_refuse_are_refused(tmp_path, statistic, value, where):
    """Such statistics cannot come from adapt or set_statistics, only from writing into the
    arrays; the layer could not be loaded from a model file either."""
    norm = Normalization().adapt(np.random.default_rng(0).normal(size=(20, 2)))
    layers = [norm, identity_dense(2, np.float32)] if where == "first" else [
        identity_dense(2, np.float32), norm.inverted()]
    getattr(layers[0] if where == "first" else layers[1], statistic)[0, 1] = value
    index = 0 if where == "first" else 1
    with pytest.raises(ValueError, match=rf"Normalization_{index} .*{statistic}.*column 1"):
        chainrule_onnx.export(cr.Model(layers), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("where", [0, 1, 2])
def test_unadapted_normalization_anywhere_is_refused(tmp_path, where):
    layers = [identity_dense(2, np.float32), identity_dense(2, np.float32)]
    layers.insert(where, Normalization(invert=where == 2))
    with pytest.raises(ValueError, match=rf"Normalization_{where} .*adapt\(X\)"):
        chainrule_onnx.export(cr.Model(layers), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_float16_models_are_refused(tmp_path):
    X = huge_offset("1e8+N(0,3)", 50)
    model = cr.Model([Normalization().adapt(X), cr.Dense(2, 2, dtype=np.float16)])
    with pytest.raises(TypeError, match="float32 or float64; got float16"):
        chainrule_onnx.export(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_cli_export_of_a_scaling_model(tmp_path, capsys):
    X = huge_offset("1e8+N(0,3)", 300, k=3)
    y = huge_offset("1e15+N(0,1)", 300, k=1, seed=3)
    model = regression_model(X, y, np.float32)
    model.set(loss=cr.MeanSquaredError(), optimizer=cr.Adam())
    model.save(tmp_path / "model.chainrule")
    out = tmp_path / "model.onnx"
    assert cli.main(["export", str(tmp_path / "model.chainrule"), str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    loaded = cr.Model.load(tmp_path / "model.chainrule")
    X_new = huge_offset("1e8+N(0,3)", 100, k=3, seed=8)
    expected = loaded.predict(X_new)
    got = run_onnx(out, X_new)
    assert got.dtype == expected.dtype == np.float64
    targets = loaded.layers[-1]
    np.testing.assert_allclose(targets.transform(got), targets.transform(expected),
                               rtol=8 * np.finfo(np.float32).eps,
                               atol=8 * np.finfo(np.float32).eps)

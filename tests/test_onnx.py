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
    assert ops[:2] == ["Sub", "Div"] and "Normalization_0" in {n.name for n in proto.graph.node}
    chainrule_onnx.export(model, tmp_path / "m.onnx")
    for n in (1, 1000):
        X = inputs(n, np.float32)
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
    assert ops[:2] == [("Normalization_0.centre", "Sub"), ("Normalization_0", "Div")]
    assert ops[-2:] == [("Normalization_5.scale", "Mul"), ("Normalization_5", "Add")]
    chainrule_onnx.export(model, tmp_path / "m.onnx")
    for n in (1, 1000):
        X_new = rng.normal(50, 20, size=(n, N_FEATURES)).astype(dtype)
        expected = model.predict(X_new)
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

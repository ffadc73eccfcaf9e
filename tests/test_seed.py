"""The seed's printed numbers, reproduced with chainrule's classes."""

import contextlib
import io
import runpy
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_script(path: Path) -> tuple[dict, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        namespace = runpy.run_path(str(path), run_name="__main__")
    return namespace, out.getvalue()


def test_single_neuron_reproduces_section_2():
    namespace, printed = run_script(ROOT / "examples" / "01_single_neuron.py")
    losses, weights, bias = namespace["train"](verbose=False)
    assert losses[0] == 36.0
    assert len(losses) == 200
    np.testing.assert_allclose(losses[199], 0.00019563773612380077, rtol=1e-6)
    np.testing.assert_allclose(weights, [-3.3990955, -0.20180899, 0.80271349], rtol=1e-6)
    np.testing.assert_allclose(bias, 0.6009044964517248, rtol=1e-6)
    assert printed.startswith("Iteration 1, Loss: 36.0\n")
    assert "Final weights: [-3.3990955  -0.20180899  0.80271349]" in printed


LAYER_LOSSES = {
    0: 466.56000000000006,
    20: 5.32959636083938,
    40: 0.41191523404899866,
    60: 0.031836212079467595,
    80: 0.002460565465389601,
    100: 0.000190172825660145,
    120: 1.4698126966451542e-05,
    140: 1.1359926717815175e-06,
    160: 8.779889800154524e-08,
    180: 6.7858241357822796e-09,
}


def test_layer_reproduces_sections_3_and_3_1():
    namespace, printed = run_script(ROOT / "examples" / "02_layer.py")
    losses, W, B = namespace["train"](verbose=False)
    assert sorted(losses) == sorted(LAYER_LOSSES)
    for iteration, expected in LAYER_LOSSES.items():
        np.testing.assert_allclose(losses[iteration], expected, rtol=1e-6, err_msg=str(iteration))
    np.testing.assert_allclose(
        W,
        [[-0.00698895, -0.01397789, -0.02096684, -0.02795579],
         [0.25975286, 0.11950572, -0.02074143, -0.16098857],
         [0.53548461, 0.27096922, 0.00645383, -0.25806156]],
        rtol=1e-6, atol=1e-8,
    )
    np.testing.assert_allclose(B, [-0.00698895, -0.04024714, -0.06451539], rtol=1e-6)
    assert "Iteration 0, Loss: 466.56000000000006" in printed


def test_seed_cell_2_runs_with_only_its_imports_changed():
    _, printed = run_script(ROOT / "tests" / "book_style" / "seed_cell2.py")
    lines = printed.splitlines()
    # The book's chapter 5 output (float32 there, so compare at float32 precision).
    first_rows = np.array([[0.33333334, 0.33333334, 0.33333334],
                           [0.3333332, 0.3333332, 0.33333364],
                           [0.3333329, 0.33333293, 0.3333342],
                           [0.3333326, 0.33333263, 0.33333477],
                           [0.33333233, 0.3333324, 0.33333528]])
    printed_rows = np.array([[float(v) for v in line.strip(" []").split()] for line in lines[:5]])
    np.testing.assert_allclose(printed_rows, first_rows, rtol=1e-6)
    assert lines[5].startswith("loss: ")
    assert float(lines[5].split()[1]) == pytest.approx(1.0986104, rel=1e-6)
    assert float(lines[6].split()[2]) == pytest.approx(np.log(3), rel=1e-3)


def test_nnfs_names_are_chainrules_classes():
    import chainrule
    from chainrule import nnfs

    # The two layers whose book signatures differ are subclasses; the rest are aliases.
    assert issubclass(nnfs.Layer_Dense, chainrule.Dense)
    assert issubclass(nnfs.Layer_Dropout, chainrule.Dropout)
    assert nnfs.Layer_Input is chainrule.Input
    assert nnfs.Loss_CategoricalCrossEntropy is nnfs.Loss_CategoricalCrossentropy
    assert nnfs.Activation_Softmax_Loss_CategoricalCrossentropy is (
        chainrule.SoftmaxCategoricalCrossentropy)
    assert nnfs.Optimizer_Adam is chainrule.Adam
    for name in nnfs.__all__:
        assert hasattr(nnfs, name), name


def test_nnfs_init_only_seeds_and_patches_nothing():
    from chainrule.nnfs import nnfs

    dot, randn, zeros = np.dot, np.random.randn, np.zeros
    nnfs.init()
    assert (np.dot, np.random.randn, np.zeros) == (dot, randn, zeros)
    first = np.random.rand()
    np.random.seed(0)
    assert np.random.rand() == first

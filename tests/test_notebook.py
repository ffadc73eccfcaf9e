"""examples/backprop_by_hand.ipynb runs without error and prints the seed's numbers."""

import json
import os
import re
from pathlib import Path

import pytest

# jupyter_core's platformdirs migration notice would be a DeprecationWarning, i.e. an error here.
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "backprop_by_hand.ipynb"

# The notebook's variables the seed prints, read back after it ran.
READ_BACK = """
import json
print(json.dumps({
    "loss_1": history["loss"][0], "losses": history["loss"],
    "weights": neuron_weights, "bias": neuron_bias,
    "dloss_dweights": dloss_dweights, "dloss_dbias": dloss_dbias,
    "layer_losses": {str(k): v for k, v in layer_losses.items()},
    "W": layer.weights.T.tolist(), "B": layer.biases.ravel().tolist(),
    "softmax_J": J.tolist(), "s": s[0].tolist(),
    "report_max_error": report.max_error,
}))
"""


@pytest.fixture(scope="module")
def executed():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # The final weights of section 1, kept before section 3 builds a new neuron.
    keep = nbformat.v4.new_code_cell(
        "neuron_weights = neuron.weights[:, 0].tolist(); neuron_bias = float(neuron.biases[0, 0])")
    position = next(i for i, cell in enumerate(notebook.cells)
                    if "Final bias" in cell.source) + 1
    notebook.cells.insert(position, keep)
    notebook.cells.append(nbformat.v4.new_code_cell(READ_BACK))
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError on any error in any cell
    outputs = ["".join(out.get("text", "") for out in cell.get("outputs", []))
               for cell in notebook.cells if cell.cell_type == "code"]
    return "\n".join(outputs[:-1]), json.loads(outputs[-1])


def test_the_single_neuron_gives_the_seeds_numbers(executed):
    text, values = executed
    assert "loss = 36.0" in text
    assert "∂L/∂w = [12.0, -24.0, 36.0] = 12 · 1 · x = [12.0, -24.0, 36.0]" in text
    assert "∂L/∂b = 12.0" in text
    assert values["dloss_dweights"] == [12.0, -24.0, 36.0] and values["dloss_dbias"] == 12.0
    assert "Iteration 1, Loss: 36.0" in text and values["loss_1"] == 36.0
    # The seed's printed losses and final parameters. It ran with nnfs's float32 np.dot, so
    # they agree to six or seven digits (the small late losses to five).
    seed_losses = {2: 33.872397424621624, 3: 31.87054345809546, 4: 29.98699091998773,
                   197: 0.00023486641976601822, 198: 0.00022098629075865584,
                   199: 0.00020792651372860275, 200: 0.00019563773612380077}
    for iteration, loss in seed_losses.items():
        assert values["losses"][iteration - 1] == pytest.approx(loss, rel=1e-5)
    assert values["weights"] == pytest.approx([-3.3990955, -0.20180899, 0.80271349], rel=1e-6)
    assert values["bias"] == pytest.approx(0.6009044964517248, rel=1e-6)


def test_the_layer_gives_the_seeds_numbers(executed):
    text, values = executed
    assert "Iteration 0, Loss: 466.56000000000006" in text
    seed = {"0": 466.56000000000006, "20": 5.32959636083938, "100": 0.000190172825660145,
            "180": 6.7858241357822796e-09}
    for iteration, loss in seed.items():
        assert values["layer_losses"][iteration] == pytest.approx(loss, rel=1e-6)
    seed_W = [[-0.00698895, -0.01397789, -0.02096684, -0.02795579],
              [0.25975286, 0.11950572, -0.02074143, -0.16098857],
              [0.53548461, 0.27096922, 0.00645383, -0.25806156]]
    for row, seed_row in zip(values["W"], seed_W, strict=True):
        assert row == pytest.approx(seed_row, rel=1e-6, abs=1e-8)
    assert values["B"] == pytest.approx([-0.00698895, -0.04024714, -0.06451539], rel=1e-6)
    # ∂l/∂W[3, 2] = 2y · 1 · x₃ = 43.2 · 4 at the start.
    assert re.search(r"= ∂L/∂W0\[3, 2\]\s+172\.8\s", text)


def test_the_softmax_jacobian_and_the_numerical_check(executed):
    text, values = executed
    s = values["s"]
    expected = [[(s[i] if i == j else 0.0) - s[i] * s[j] for j in range(3)] for i in range(3)]
    for row, expected_row in zip(values["softmax_J"], expected, strict=True):
        assert row == pytest.approx(expected_row, abs=1e-15)
    assert values["report_max_error"] < 1e-7
    assert "numerical check" in text and "worst at" in text

"""The package's shape: subpackages by concern, imports only going down, the public face kept.

The imports are read from the source with ``ast`` (every ``import`` and ``from``
statement, at module level or inside a function: a lazy import is still an
import), so a circle or an upward import fails here before anyone runs the code.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "chainrule"

#: The declared order, bottom to top: a module may import what stands on a lower
#: level, and modules of its own subpackage (without a circle); nothing higher.
LEVELS = {
    "_checks": 0, "_random": 0, "_kernels": 0, "_version": 0,  # the ground floor
    "nn": 1,          # the math
    "optim": 2,       # optimizers and schedules
    "files": 3,       # the model-file format
    "datasets": 4,    # the book's and the real data
    "training": 5,    # Model, the loop, callbacks, checkpoints, the summary table
    "inspection": 6,  # explain, gradcheck, plots: they look at a model
    # the faces and integrations: built on the rest, imported by nothing inside it
    "callbacks": 7, "schedules": 7, "plotting": 7, "nnfs": 7, "sklearn": 7, "onnx": 7,
    "playground": 7, "exercises": 7,
    "cli": 8,
    "__init__": 9, "__main__": 9,
}
#: Top-level private modules every subpackage may use: the package's ground floor.
GROUND = {"_checks", "_random", "_kernels", "_version"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The chainrule modules ``name`` imports (a ``from x import y`` names the module
    ``x.y`` when ``y`` is one, else ``x``)."""
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "chainrule"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                base = ".".join(base + (node.module.split(".") if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != "chainrule":
                continue
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return found - {name}


GRAPH = {name: imports_of(name) for name in MODULES}


def top(name: str) -> str:
    """The subpackage or top-level module a module belongs to."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_declared_level():
    assert {top(name) for name in MODULES} <= set(LEVELS), \
        f"modules outside the declared order: {sorted({top(n) for n in MODULES} - set(LEVELS))}"


def test_there_is_no_import_circle():
    # Depth-first search with three colours: meeting a grey module again is a circle.
    colour, circles = dict.fromkeys(GRAPH, "white"), []

    def visit(name, path):
        colour[name] = "grey"
        for other in sorted(GRAPH[name]):
            if colour.get(other) == "grey":
                circles.append(" -> ".join([*path[path.index(other):], other]))
            elif colour.get(other) == "white":
                visit(other, [*path, other])
        colour[name] = "black"

    for name in sorted(GRAPH):
        if colour[name] == "white":
            visit(name, [name])
    assert circles == []


def test_imports_only_go_down():
    upward = [f"{name} imports {other}" for name, others in GRAPH.items() for other in others
              if top(other) != top(name) and LEVELS[top(other)] >= LEVELS[top(name)]]
    assert upward == []


def test_no_private_module_is_imported_across_subpackages():
    # What another subpackage needs is public in its __init__ (as scikit-learn's are).
    crossing = [f"{name} imports {other}" for name, others in GRAPH.items() for other in others
                if top(other) != top(name) and top(other) not in GROUND
                and any(part.startswith("_") for part in other.split(".")[2:])]
    assert crossing == []


def test_each_subpackage_says_what_it_holds_and_may_import():
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert len(doc.splitlines()) >= 3, f"{init.parent.name}/__init__.py has no docstring"
        if init.parent.name not in {"nnfs", "playground"}:
            assert "May import" in doc or "may import" in doc, init.parent.name


def test_the_graph_is_read_from_the_source():
    # The rules above would pass vacuously if the graph were empty or unresolved.
    assert "chainrule.nn._layers" in GRAPH["chainrule.nn"]
    assert "chainrule._checks" in GRAPH["chainrule.nn._layers"]
    assert "chainrule.files" in GRAPH["chainrule.training._model"]
    assert sum(map(len, GRAPH.values())) > 100


#: The public names of 0.1, module by module: each must still be there.
PUBLIC = {
    "chainrule": [
        "Accuracy", "Adagrad", "Adam", "BinaryCrossentropy", "CSVLogger", "Callback",
        "CategoricalAccuracy", "CategoricalCrossentropy", "CosineDecay", "Dense", "Dropout",
        "EarlyStopping", "Explanation", "ExponentialDecay", "GradcheckError", "Input",
        "LambdaSchedule", "Layer", "LeakyReLU", "Linear", "LinearWarmup", "Loss",
        "MeanAbsoluteError", "MeanSquaredError", "Model", "ModelFileError", "Normalization",
        "Optimizer", "RMSprop", "ReLU", "ReduceLROnPlateau", "RegressionAccuracy", "SGD",
        "Sigmoid", "Softmax", "SoftmaxCategoricalCrossentropy", "StepDecay", "Tanh",
        "TrainingDiverged", "callbacks", "datasets", "explain", "get_default_dtype",
        "gradcheck", "kernels", "numerical_gradient", "set_default_dtype", "use_kernels",
        "__version__", "plotting", "schedules"],
    "chainrule.nnfs": [
        "Accuracy", "Accuracy_Categorical", "Accuracy_Regression", "Activation_Linear",
        "Activation_ReLU", "Activation_Sigmoid", "Activation_Softmax",
        "Activation_Softmax_Loss_CategoricalCrossentropy", "Activation_Tanh", "Layer_Dense",
        "Layer_Dropout", "Layer_Input", "Loss", "Loss_BinaryCrossentropy",
        "Loss_CategoricalCrossEntropy", "Loss_CategoricalCrossentropy",
        "Loss_MeanAbsoluteError", "Loss_MeanSquaredError", "Model", "Optimizer_Adagrad",
        "Optimizer_Adam", "Optimizer_RMSprop", "Optimizer_SGD", "datasets", "init",
        "sine_data", "spiral_data", "vertical_data"],
    "chainrule.nnfs.datasets": ["sine_data", "spiral_data", "vertical_data"],
    "chainrule.datasets": [
        "FASHION_MNIST_FILES", "FASHION_MNIST_URL", "circle_data", "gaussian_data",
        "load_digits", "load_fashion_mnist", "read_idx", "sine_data", "spiral_data",
        "vertical_data", "xor_data"],
    "chainrule.callbacks": [
        "CSVLogger", "Callback", "CosineDecay", "EarlyStopping", "ExponentialDecay",
        "GradientMonitor", "LambdaSchedule", "LearningRateCallback", "LinearWarmup",
        "ReduceLROnPlateau", "StepDecay", "overrides"],
    "chainrule.schedules": [
        "CosineDecay", "ExponentialDecay", "LambdaSchedule", "LearningRateCallback",
        "LinearWarmup", "ReduceLROnPlateau", "StepDecay"],
    "chainrule.plotting": [
        "NEGATIVE", "POSITIVE", "class_colours", "plot_decision_boundary",
        "plot_gradient_norms", "plot_history", "plot_network", "plot_regression"],
    "chainrule.sklearn": ["ChainruleClassifier", "ChainruleRegressor"],
    "chainrule.onnx": ["export", "to_onnx", "OPSET", "IR_VERSION", "SUPPORTED"],
    "chainrule.playground": ["Interrupted", "Session", "create_app", "serve"],
    "chainrule.cli": ["main"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_the_public_names_of_0_1_are_all_still_there(module):
    if module in {"chainrule.sklearn", "chainrule.onnx", "chainrule.playground"}:
        pytest.importorskip({"chainrule.sklearn": "sklearn", "chainrule.onnx": "onnx",
                             "chainrule.playground": "starlette"}[module])
    imported = importlib.import_module(module)
    missing = [name for name in PUBLIC[module] if not hasattr(imported, name)]
    assert missing == []


def test_a_schedule_is_the_same_object_wherever_it_is_imported_from():
    import chainrule as cr
    from chainrule import callbacks, optim, schedules, training

    assert cr.CosineDecay is callbacks.CosineDecay is schedules.CosineDecay is optim.CosineDecay
    assert cr.ReduceLROnPlateau is schedules.ReduceLROnPlateau is training.ReduceLROnPlateau
    assert cr.Model is training.Model and cr.Dense is importlib.import_module("chainrule.nn").Dense


def test_import_chainrule_pulls_in_numpy_and_the_standard_library_only():
    import subprocess
    import sys

    code = ("import sys; import numpy; before = set(sys.modules); import chainrule; "
            "print(' '.join(sorted({m.split('.')[0] for m in set(sys.modules) - before})))")
    imported = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                              text=True).stdout.split()
    outside = [name for name in imported if name not in {"chainrule", "numpy"}
               and name not in sys.stdlib_module_names and name != "cython_runtime"
               and not name.startswith("_cython")]
    assert outside == []
    # difflib (a refusal's "did you mean") is imported when a refusal is written, not before
    assert "difflib" not in imported and "matplotlib" not in imported

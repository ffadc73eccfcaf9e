"""The command line: ``chainrule demo | train | evaluate | predict | export``
(also ``python -m chainrule``).

``main(argv)`` returns the exit status, so the CLI can be tested in-process.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from . import activations, datasets, losses, optimizers
from .io import ModelFileError
from .layers import Dense, Dropout
from .model import Model

ACTIVATIONS = {"relu": activations.ReLU, "leaky_relu": activations.LeakyReLU,
               "sigmoid": activations.Sigmoid, "tanh": activations.Tanh}
OPTIMIZERS = {"sgd": optimizers.SGD, "adagrad": optimizers.Adagrad,
              "rmsprop": optimizers.RMSprop, "adam": optimizers.Adam}
DATASETS = ("spiral", "vertical", "sine", "digits", "fashion-mnist")


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except (ValueError, TypeError, ImportError, ConnectionError, OSError) as exc:
        print(f"chainrule {args.command}: error: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chainrule", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="train the book's spiral network and draw it",
                          description="Train the book's 2-64-3 network on spiral data (Adam, "
                          "lr 0.05, decay 5e-7, 10,000 epochs), report training and validation "
                          "accuracy, and write the model and two plots.")
    demo.add_argument("--epochs", type=int, default=10_000)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--output", type=Path, default=Path("chainrule-output"),
                      help="folder for the model file and plots (default: %(default)s)")
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    demo.set_defaults(run=_demo)

    train = sub.add_parser("train", help="train a network on a dataset or a CSV file",
                           description="Train an MLP. For a CSV file the last column is the "
                           "target: whole numbers mean classes, anything else regression.")
    train.add_argument("--dataset", default="spiral",
                       help=f"one of {', '.join(DATASETS)}, or a CSV file (default: %(default)s)")
    train.add_argument("--layers", default="64", help="hidden layer sizes, e.g. 128,128")
    train.add_argument("--activation", default="relu", choices=sorted(ACTIVATIONS))
    train.add_argument("--optimizer", default="adam", choices=sorted(OPTIMIZERS))
    train.add_argument("--learning-rate", type=float, default=None,
                       help="default: the optimizer's own (Adam 0.001, SGD 1.0, ...)")
    train.add_argument("--decay", type=float, default=0.0)
    train.add_argument("--l2", type=float, default=0.0, help="L2 strength on every Dense layer")
    train.add_argument("--dropout", type=float, default=0.0, help="dropout after each hidden layer")
    train.add_argument("--epochs", type=int, default=100)
    train.add_argument("--batch-size", type=int, default=None)
    train.add_argument("--test-size", type=float, default=0.25,
                       help="fraction held out for validation (default: %(default)s)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--print-every", type=int, default=None)
    train.add_argument("--output", type=Path, default=Path("chainrule-output"))
    train.add_argument("--no-progress", action="store_true")
    train.set_defaults(run=_train)

    evaluate = sub.add_parser("evaluate", help="loss and accuracy of a saved model",
                              description="Evaluate a saved model on a dataset or CSV file.")
    evaluate.add_argument("model", type=Path)
    evaluate.add_argument("--dataset", default="spiral")
    evaluate.add_argument("--seed", type=int, default=1, help="seed for generated data")
    evaluate.set_defaults(run=_evaluate)

    predict = sub.add_parser("predict", help="predictions of a saved model for a CSV file",
                             description="Print one prediction per row of INPUT (a CSV file "
                             "of features, no target column).")
    predict.add_argument("model", type=Path)
    predict.add_argument("input", type=Path)
    predict.add_argument("--output", type=Path, default=None, help="write a CSV file instead")
    predict.set_defaults(run=_predict)

    export = sub.add_parser("export", help="write a saved model as an ONNX file",
                            description="Convert a saved model to ONNX (needs chainrule[onnx]), "
                            "for onnxruntime and other runtimes.")
    export.add_argument("model", type=Path)
    export.add_argument("out", type=Path, metavar="OUT.onnx")
    export.set_defaults(run=_export)

    playground = sub.add_parser("playground", help="train a network live in the browser",
                                description="Serve the playground page: train a chainrule "
                                "network live and click any weight to see its chain rule. "
                                "Needs pip install 'chainrule[playground]'.")
    playground.add_argument("--port", type=int, default=8000,
                            help="port to listen on; 0 picks a free one (default: %(default)s)")
    playground.add_argument("--host", default="127.0.0.1",
                            help="address to listen on (default: %(default)s, this machine only)")
    playground.add_argument("--no-browser", action="store_true",
                            help="only print the URL; do not open a browser")
    playground.set_defaults(run=_playground)

    explain = sub.add_parser("explain", help="print the chain rule for one weight of a saved model",
                             description="Run a saved model forward and backward on a dataset "
                             "and print ∂L/∂θ for one parameter as the chain of local "
                             "derivatives that produces it, with a numerical check.")
    explain.add_argument("model", type=Path)
    explain.add_argument("--dataset", default="spiral",
                         help=f"one of {', '.join(DATASETS)}, or a CSV file (default: %(default)s)")
    explain.add_argument("--layer", type=int, default=0,
                         help="index of a layer with parameters (default: %(default)s)")
    explain.add_argument("--param", default="weights", choices=("weights", "biases"))
    explain.add_argument("--index", default="0,0",
                         help="the element: I,J for weights, J for biases (default: %(default)s)")
    explain.add_argument("--samples", type=int, default=None,
                         help="explain on the first N samples only (default: all)")
    explain.add_argument("--seed", type=int, default=1, help="seed for generated data")
    explain.set_defaults(run=_explain)
    return parser


# -- commands -------------------------------------------------------------------------------


def _demo(args) -> int:
    # The book's way: seed NumPy's global generator, then draw data and weights from it.
    np.random.seed(args.seed)
    X, y = datasets.spiral_data(100, 3)
    model = Model([Dense(2, 64), activations.ReLU(), Dense(64, 3), activations.Softmax()])
    model.set(loss=losses.CategoricalCrossentropy(),
              optimizer=optimizers.Adam(learning_rate=0.05, decay=5e-7))
    print(f"training {model} on 300 spiral points for {args.epochs} epochs")
    model.train(X, y, epochs=args.epochs, print_every=max(args.epochs // 10, 1),
                progress=False if args.no_progress else None)
    print(f"training accuracy: {model.evaluate(X, y, verbose=False)['accuracy']:.3f}")
    # Fresh points from the same spirals: how well the boundary generalises.
    X_val, y_val = datasets.spiral_data(100, 3)
    model.evaluate(X_val, y_val)
    _write_outputs(model, args.output, X_val, y_val, task="classification")
    return 0


def _train(args) -> int:
    X, y, X_val, y_val, task = _load_split(args.dataset, args.test_size, args.seed)
    model = _build(args, X.shape[1], y, task)
    print(f"training {model} on {len(X)} samples, validating on {len(X_val)}")
    print_every = args.print_every or max(args.epochs // 10, 1)
    model.train(X, y, epochs=args.epochs, batch_size=args.batch_size,
                validation_data=(X_val, y_val), print_every=print_every, rng=args.seed,
                progress=False if args.no_progress else None)
    _write_outputs(model, args.output, X_val, y_val, task)
    return 0


def _evaluate(args) -> int:
    model = _load_model(args.model)
    if model.loss is None:
        raise ValueError(f"{args.model} has no loss to evaluate with")
    X, y, *_ = _load_split(args.dataset, 0.0, args.seed)
    model.evaluate(X, y)
    return 0


def _predict(args) -> int:
    model = _load_model(args.model)
    X = _read_csv(args.input)
    outputs = model.predict(X)
    predictions = model.output_layer_activation.predictions(outputs)
    predictions = np.asarray(predictions).reshape(len(X), -1)
    if args.output is not None:
        np.savetxt(args.output, predictions, delimiter=",", fmt="%.8g")
        print(f"wrote {len(predictions)} predictions to {args.output}")
    else:
        np.savetxt(sys.stdout, predictions, delimiter=",", fmt="%.8g")
    return 0


def _export(args) -> int:
    from . import onnx  # lazily: the onnx package is an optional extra

    onnx.export(_load_model(args.model), args.out)
    print(f"wrote {args.out}")
    return 0


def _playground(args) -> int:
    try:
        from .playground.server import serve
    except ImportError as exc:
        raise ImportError(f"the playground needs its extra: pip install 'chainrule[playground]' "
                          f"({exc})") from exc
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in [0, 65535]; got {args.port}")
    try:
        serve(args.host, args.port, open_browser=not args.no_browser)
    except KeyboardInterrupt:
        pass
    return 0


def _explain(args) -> int:
    from .explain import explain

    model = _load_model(args.model)
    if model.loss is None:
        raise ValueError(f"{args.model} has no loss: the chain starts at the loss")
    try:
        index = tuple(int(part) for part in args.index.split(","))
    except ValueError:
        raise ValueError(f"--index must be I,J (or J for biases); got {args.index!r}") from None
    if len(index) not in (1, 2):
        raise ValueError(f"--index must be I,J (or J for biases); got {args.index!r}")
    X, y, *_ = _load_split(args.dataset, 0.0, args.seed)
    if args.samples is not None:
        if args.samples < 1:
            raise ValueError(f"--samples must be >= 1; got {args.samples}")
        X, y = X[:args.samples], y[:args.samples]
    print(explain(model, X, y, layer=args.layer, param=args.param,
                  index=index[0] if len(index) == 1 else index))
    return 0


# -- helpers --------------------------------------------------------------------------------


def _build(args, n_features: int, y, task: str) -> Model:
    sizes = _layer_sizes(args.layers)
    rng = np.random.default_rng(args.seed)
    n_outputs = int(y.max()) + 1 if task == "classification" else y.shape[1]
    init = "he" if args.activation in ("relu", "leaky_relu") else "glorot"
    model = Model()
    for n_in, n_out in zip([n_features, *sizes], sizes, strict=False):
        model.add(Dense(n_in, n_out, init=init, weight_regularizer_l2=args.l2, rng=rng))
        model.add(ACTIVATIONS[args.activation]())
        if args.dropout:
            model.add(Dropout(args.dropout, rng=rng))
    model.add(Dense(([n_features, *sizes])[-1], n_outputs, init="glorot", rng=rng))
    if task == "classification":
        model.add(activations.Softmax())
        loss = losses.CategoricalCrossentropy()
    else:
        model.add(activations.Linear())
        loss = losses.MeanSquaredError()
    optimizer_class = OPTIMIZERS[args.optimizer]
    kwargs = {"decay": args.decay}
    if args.learning_rate is not None:
        kwargs["learning_rate"] = args.learning_rate
    model.set(loss=loss, optimizer=optimizer_class(**kwargs))
    return model


def _layer_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--layers must be sizes like 64,64; got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise ValueError(f"--layers sizes must be >= 1; got {text!r}")
    return sizes


def _load_split(name: str, test_size: float, seed: int):
    """(X, y, X_val, y_val, task) for a named dataset or a CSV file."""
    rng = np.random.default_rng(seed)
    if name in ("spiral", "vertical"):
        make = datasets.spiral_data if name == "spiral" else datasets.vertical_data
        X, y = make(100, 3, rng=rng)
        X_val, y_val = make(100, 3, rng=rng)
        return X, y, X_val, y_val, "classification"
    if name == "sine":
        X, y = datasets.sine_data()
        return (*_holdout(X, y, test_size, rng), "regression")
    if name == "digits":
        X, y = datasets.load_digits()
        return (*_holdout(X, y, test_size, rng), "classification")
    if name == "fashion-mnist":
        X, y, X_test, y_test = datasets.load_fashion_mnist()
        return X, y, X_test, y_test, "classification"
    path = Path(name)
    if path.suffix.lower() != ".csv" or not path.exists():
        raise ValueError(f"--dataset must be one of {', '.join(DATASETS)} or an existing .csv "
                         f"file; got {name!r}")
    data = _read_csv(path)
    if data.shape[1] < 2:
        raise ValueError(f"{path} needs at least two columns (features, then the target)")
    X, target = data[:, :-1], data[:, -1]
    if np.all(target == np.round(target)) and target.min() >= 0:
        return (*_holdout(X, target.astype(np.int64), test_size, rng), "classification")
    return (*_holdout(X, target.reshape(-1, 1), test_size, rng), "regression")


def _holdout(X, y, test_size: float, rng):
    if not 0 <= test_size < 1:
        raise ValueError(f"--test-size must be in [0, 1); got {test_size}")
    order = rng.permutation(len(X))
    n_test = round(len(X) * test_size)
    if n_test == 0:
        return X, y, X, y
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def _read_csv(path: Path) -> np.ndarray:
    try:
        data = np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError:
        data = np.loadtxt(path, delimiter=",", ndmin=2, skiprows=1)  # a header row
    return data


def _load_model(path: Path) -> Model:
    try:
        return Model.load(path)
    except ModelFileError as exc:
        raise ValueError(str(exc)) from exc


def _write_outputs(model: Model, folder: Path, X_val, y_val, task: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    model_path = folder / "model.chainrule"
    model.save(model_path)
    written = [model_path]
    try:
        from . import plotting

        figure = plotting.plot_history(model.history)
        written.append(_save_figure(figure, folder / "learning_curves.png"))
        if task == "classification" and X_val.shape[1] == 2:
            figure = plotting.plot_decision_boundary(model, X_val, y_val,
                                                     title="decision boundary (validation data)")
            written.append(_save_figure(figure, folder / "decision_boundary.png"))
        elif task == "regression" and X_val.shape[1] == 1:
            figure = plotting.plot_regression(model, X_val, y_val)
            written.append(_save_figure(figure, folder / "regression.png"))
    except ImportError as exc:
        print(f"(no plots: {exc})", file=sys.stderr)
    print("wrote " + ", ".join(str(path) for path in written))


def _save_figure(figure, path: Path) -> Path:
    figure.savefig(path, dpi=100)
    return path

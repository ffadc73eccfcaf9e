"""The command line: ``chainrule demo | train | evaluate | predict | explain | export |
playground`` (also ``python -m chainrule``).

``train`` reads a built-in dataset or a CSV table (``tables.read_table``), decides
the task (or takes ``--task``), holds out a test split and records it beside the
model, standardises inputs and regression targets inside the model, trains with
early stopping on a validation split of the training rows, and reports on the
held-out rows. ``main(argv)`` returns the exit status, so the CLI is testable
in-process. Each run writes into a folder of its own (``chainrule-output/demo``,
``chainrule-output/DATASET``) unless ``--output`` names one.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from .. import nn, optim
from .._version import __version__
from ..nn import Dense
from ..training import Model
from . import _data as _cli_data
from . import _saved as _cli_saved
from . import _train as _cli_train
from ._report import prepare_output, write_outputs
from ._train import (
    ACTIVATIONS,
    L2_CANDIDATES,
    MAX_EPOCHS,
    MAX_PATIENCE,
    OPTIMIZERS,
    PATIENCE_STEPS,
    STEPS,
    whole,
)

DATASETS = _cli_data.BUILTIN
#: what ``chainrule --help`` says first: a whole sentence, plain text (no reST markup)
DESCRIPTION = ("Train, evaluate and explain neural networks written in NumPy: the book's "
               "spiral demo, your own CSV tables, predictions, the chain rule of any weight, "
               "ONNX export and a live playground.")


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except BrokenPipeError:
        # The reader stopped reading (`chainrule explain ... | head`): stop quietly, as a Unix
        # tool does. Python would report the closed pipe again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ValueError, TypeError, ImportError, ConnectionError, OSError) as exc:
        print(f"chainrule {args.command}: error: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chainrule", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name, run, **kwargs):
        cmd = sub.add_parser(name, formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                             **kwargs)
        cmd.set_defaults(run=run)
        return cmd

    demo = command("demo", _demo, help="train the book's spiral network and draw it",
                   description="Train the book's 2-64-3 network on spiral data (Adam, lr 0.05, "
                   "decay 5e-7) with 300 other spiral points for validation, report the "
                   "accuracy on the training data and on 300 new test points, and write "
                   "the model and two plots (the learning curves, the decision boundary).")
    demo.add_argument("--epochs", type=int, default=10_000, help="epochs to train")
    demo.add_argument("--seed", type=int, default=0, help="NumPy's global seed, as the book")
    _add_output(demo, f"{_cli_train.OUTPUT / 'demo'}")

    train = command("train", _cli_train.train, help="train a network on a dataset or a CSV table",
                    description="Train an MLP on a built-in dataset or a CSV file (one row per "
                    "sample; the target in the last column unless --target says; a header "
                    "line is optional). Writes the model, the held-out split, the history "
                    "and plots into --output.")
    train.add_argument("--dataset", default="spiral",
                       help=f"one of {', '.join(DATASETS)}, or a CSV file")
    train.add_argument("--target", default=None,
                       help="the target column of a CSV file, by name or number (1 = first); "
                       "None: the last column")
    train.add_argument("--task", choices=("classification", "regression"), default=None,
                       help="None: guessed from the target (text labels, or at most 20 "
                       "distinct whole numbers, are classes) and the guess is printed")
    train.add_argument("--layers", default="64,64", help="hidden layer sizes, comma-separated")
    train.add_argument("--activation", default="relu", choices=sorted(ACTIVATIONS),
                       help="activation of the hidden layers")
    train.add_argument("--optimizer", default="adam", choices=sorted(OPTIMIZERS),
                       help="how the weights move")
    train.add_argument("--learning-rate", type=float, default=None,
                       help="None: 0.003 for adam and rmsprop, 0.1 for sgd and adagrad")
    train.add_argument("--decay", type=float, default=0.0,
                       help="the book's learning-rate decay: lr / (1 + decay · step)")
    train.add_argument("--l2", default="auto",
                       help="L2 penalty λ·Σw² on the weights of each hidden layer (as the book, "
                       "not on the output layer); auto: train with each of "
                       f"{', '.join(map(str, L2_CANDIDATES))} and keep the lower validation "
                       "loss")
    train.add_argument("--dropout", type=float, default=0.0,
                       help="dropout rate after each hidden layer")
    train.add_argument("--batch-size", type=int, default=32, help="samples per step")
    train.add_argument("--epochs", default="auto",
                       help=f"the most epochs to train; auto: about {STEPS:,} steps, at most "
                       f"{MAX_EPOCHS:,} epochs")
    train.add_argument("--patience", default="auto",
                       help="stop after this many epochs without a better validation loss, "
                       f"keeping the best epoch's weights; 0: no early stopping; auto: about "
                       f"{PATIENCE_STEPS:,} steps, 20 to {MAX_PATIENCE} epochs")
    train.add_argument("--validation-split", type=float, default=0.1,
                       help="fraction of the training rows early stopping watches")
    train.add_argument("--test-size", type=float, default=0.25,
                       help="fraction of the rows held out for evaluate (per class)")
    train.add_argument("--no-scaling", action="store_true",
                       help="do not standardise inputs (and regression targets) in the model")
    train.add_argument("--seed", type=int, default=0,
                       help="seed of the split, the weights, dropout and shuffling")
    train.add_argument("--print-every", type=int, default=None,
                       help="epochs between progress lines; None: about ten lines")
    _add_output(train, f"{_cli_train.OUTPUT / 'DATASET'} (the built-in dataset's name or the "
                "CSV file's name without .csv)")

    evaluate = command("evaluate", _cli_saved.evaluate,
                       help="scores of a saved model on held-out rows",
                       description="Evaluate a saved model: by default on the held-out rows "
                       "that train recorded in split.json beside the model; with --dataset on "
                       "that dataset (its held-out rows if train split it, else every row).")
    evaluate.add_argument("model", type=Path, help="a model file written by train")
    evaluate.add_argument("--dataset", default=None,
                          help=f"one of {', '.join(DATASETS)}, or a CSV file; None: the "
                          "training dataset's held-out rows")
    evaluate.add_argument("--all-rows", action="store_true",
                          help="every row of --dataset, even if train held some out of it")
    evaluate.add_argument("--seed", type=int, default=1,
                          help="seed of generated data (spiral, vertical) with --all-rows")

    predict = command("predict", _cli_saved.predict,
                      help="predictions of a saved model for a CSV file",
                      description="Print one prediction per row of INPUT (a CSV file of the "
                      "features, header optional): class labels as in the training data, or "
                      "values in the target's units.")
    predict.add_argument("model", type=Path, help="a model file written by train")
    predict.add_argument("input", type=Path, help="a CSV file of features")
    predict.add_argument("--proba", action="store_true",
                         help="print each class's probability instead of the label")
    predict.add_argument("--output", type=Path, default=None,
                         help="write a CSV file instead of printing; None: print")

    export = command("export", _export, help="write a saved model as an ONNX file",
                     description="Convert a saved model to ONNX (needs chainrule[onnx]), "
                     "for onnxruntime and other runtimes.")
    export.add_argument("model", type=Path, help="a saved model file")
    export.add_argument("out", type=Path, metavar="OUT.onnx", help="the ONNX file to write")

    playground = command("playground", _playground, help="train a network live in the browser",
                         description="Serve the playground page: train a chainrule network "
                         "live and click any weight to see its chain rule. Needs pip install "
                         "'chainrule[playground]'.")
    playground.add_argument("--port", type=int, default=8000,
                            help="port to listen on; 0 picks a free one")
    playground.add_argument("--host", default="127.0.0.1",
                            help="address to listen on (127.0.0.1: this machine only)")
    playground.add_argument("--no-browser", action="store_true",
                            help="only print the URL; do not open a browser")

    explain = command("explain", _cli_saved.explain_command,
                      help="print the chain rule for one weight of a saved model",
                      description="Run a saved model forward and backward on a dataset and "
                      "print ∂L/∂θ for one parameter as the chain of local derivatives that "
                      "produces it, with a numerical check.")
    explain.add_argument("model", type=Path, help="a saved model file")
    explain.add_argument("--dataset", default="spiral",
                         help=f"one of {', '.join(DATASETS)}, or a CSV file")
    explain.add_argument("--layer", type=int, default=0,
                         help="index of a layer with parameters")
    explain.add_argument("--param", default="weights", choices=("weights", "biases"),
                         help="which parameter of the layer")
    explain.add_argument("--index", default="0,0", help="the element: I,J for weights, J for "
                         "biases")
    explain.add_argument("--samples", type=int, default=None,
                         help="explain on the first N samples only; None: all")
    explain.add_argument("--seed", type=int, default=1, help="seed for generated data")

    # The practice commands live with the exercises; this only hangs them on the parser.
    from .. import exercises

    exercises.configure_cli(command("exercises", exercises.run_cli,
                                help="practice: write the backward passes yourself",
                                description="Exercises: list, start, check, watch, hint, "
                                "grade (exit status 0 passed, 1 failed, 2 usage error)."))
    return parser


def _add_output(command, default: str) -> None:
    command.add_argument("--output", type=Path, default=None,
                         help="folder for the model file and everything else written (the "
                         "files an earlier run wrote there are replaced or removed; any "
                         "other file is left alone); None: "
                         f"{default}")
    command.add_argument("--no-progress", action="store_true",
                         help="hide the progress bar (shown only on a terminal)")


# -- commands -------------------------------------------------------------------------------


def _demo(args) -> int:
    whole(args.epochs, "--epochs", 1)
    folder = prepare_output(args.output or _cli_train.OUTPUT / "demo")
    # The book's way: seed NumPy's global generator, then draw data and weights from it.
    np.random.seed(args.seed)
    from ..datasets import spiral_data

    X, y = spiral_data(100, 3)
    model = Model([Dense(2, 64), nn.ReLU(), Dense(64, 3), nn.Softmax()])
    model.set(loss=nn.CategoricalCrossentropy(),
              optimizer=optim.Adam(learning_rate=0.05, decay=5e-7))
    # Other points from the same spirals, scored after every epoch (the learning curves'
    # validation curve); nothing is chosen with them: all the epochs run, the last is kept.
    X_val, y_val = spiral_data(100, 3)
    print(f"training {model} on 300 spiral points for {args.epochs} epochs "
          "(validation: 300 other points)")
    model.train(X, y, epochs=args.epochs, print_every=max(args.epochs // 10, 1),
                validation_data=(X_val, y_val), progress=False if args.no_progress else None)
    model.evaluate(X, y, name="training")
    # New points again, never seen while training: how well the boundary generalises.
    X_test, y_test = spiral_data(100, 3)
    model.evaluate(X_test, y_test, name="test")
    model.metadata = {"task": "classification", "classes": [0, 1, 2], "dataset": "spiral",
                      "n_features": 2, "inputs": _cli_data.INPUTS["spiral"],
                      "range": {"min": X.min(axis=0).tolist(), "max": X.max(axis=0).tolist()}}
    write_outputs(model, folder, X_test, y_test, kept_epoch=model.epoch)
    return 0


def _export(args) -> int:
    from .. import onnx  # lazily: the onnx package is an optional extra

    onnx.export(_cli_saved.load_model(args.model), args.out)
    print(f"wrote {args.out}")
    return 0


def _playground(args) -> int:
    try:
        from ..playground.server import serve
    except ImportError as exc:
        raise ImportError("the playground needs its extra: pip install 'chainrule[playground]' "
                          "(from a clone of the repository: pip install -e '.[playground]'; "
                          "or the packages themselves: pip install starlette uvicorn "
                          f"websockets) ({exc})") from exc
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in [0, 65535]; got {args.port}")
    try:
        serve(args.host, args.port, open_browser=not args.no_browser)
    except KeyboardInterrupt:
        pass
    return 0

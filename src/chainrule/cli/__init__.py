"""The command line: ``chainrule demo``, ``train``, ``evaluate``, ``predict``, ``explain``,
``export`` and ``playground``, and the strict CSV reader behind them.

``_main`` holds the parser and the small commands; ``_train`` trains on a table or a
built-in dataset; ``_saved`` runs the commands on a saved model; ``_data`` finds the
data a command reads (and the columns a saved model takes); ``_report`` prints and
writes what a run produced; ``_tables`` reads a CSV file into numbers and labels.

May import: everything below it, the playground and the ONNX exporter (lazily).
Imported by nothing but ``chainrule.__main__`` and the ``chainrule`` script.
"""

from ._main import main

__all__ = ["main"]

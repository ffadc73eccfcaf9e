"""The version of chainrule, in one place (the package, the CLI and ONNX files read it)."""

__version__ = "0.2.0"

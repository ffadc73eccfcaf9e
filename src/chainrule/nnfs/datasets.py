"""The ``nnfs`` package's datasets, for ``from chainrule.nnfs.datasets import spiral_data``."""

from ..datasets import sine_data, spiral_data, vertical_data

__all__ = ["sine_data", "spiral_data", "vertical_data"]

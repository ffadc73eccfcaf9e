"""``chainrule.plotting``: the plots, as the README imports them (matplotlib on first use).

A short public module: the plotting functions live in ``chainrule.inspection``.
"""

from .inspection import (
    NEGATIVE,
    POSITIVE,
    class_colours,
    plot_decision_boundary,
    plot_gradient_norms,
    plot_history,
    plot_network,
    plot_regression,
)

__all__ = [
    "NEGATIVE", "POSITIVE", "class_colours", "plot_decision_boundary",
    "plot_gradient_norms", "plot_history", "plot_network", "plot_regression"
]

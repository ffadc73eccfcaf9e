"""Seeing inside: the chain rule explained, gradients checked, networks drawn.

``explain`` walks ∂L/∂θ for one parameter back through the chain, one local rule
per layer (each layer states its own rule; nothing here re-derives it), and checks
the product against a numerical derivative; ``gradcheck`` compares every analytic
gradient with a numerical one; the plotting functions draw boundaries, histories,
gradient norms and networks (matplotlib is imported when one is called). They look
at a model they are given; nothing below imports them.

May import: ``training``, ``nn`` and the ground floor (below them all).
"""

from ._explain import Explanation, Step, explain
from ._gradcheck import GradcheckError, gradcheck, numerical_gradient, relative_error
from ._plotting import (
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
    "NEGATIVE", "POSITIVE", "Explanation", "GradcheckError", "Step", "class_colours",
    "explain", "gradcheck", "numerical_gradient", "plot_decision_boundary",
    "plot_gradient_norms", "plot_history", "plot_network", "plot_regression",
    "relative_error"
]

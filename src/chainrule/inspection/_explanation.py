"""What ``explain`` returns: the ``Explanation`` and its ``Step`` s, and how they read —
as text (the seed's way), as an HTML table (Jupyter), as JSON types (the playground).

Each step becomes one or two rows: the local derivative (``×``) and the gradient it
makes (``=``), or the sum over a layer's outputs (``Σ``). Per-sample numbers are
shown for the first few samples; a vector (one gradient per unit of a layer) for
the first sample.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np

#: per-sample numbers shown in text and HTML
SHOWN_SAMPLES = 3
#: entries of a vector shown before "…"
SHOWN_UNITS = 4


@dataclass
class Step:
    """One link of the chain: a quantity, the rule that produced it, and its numbers.

    Attributes
    ----------
    kind : {"loss", "factor", "sum", "parameter", "regularization"}
        ``"loss"``: the loss's derivative, where the chain starts. ``"factor"``: an
        element-wise layer; the gradient is multiplied by ``local``. ``"sum"``: a
        layer that mixes its inputs (Dense, Softmax); the gradient of one input sums
        over the layer's outputs. ``"parameter"``: ∂z/∂θ; ``gradient`` holds the
        per-sample terms. ``"regularization"``: the penalty's gradient, added once.
    quantity : str
        What ``local`` is the derivative of, e.g. ``"∂ŷ/∂z0[1]"``.
    result : str
        What ``gradient`` is, e.g. ``"∂L/∂z0[1]"``.
    rule : str
        The rule that produced it, as the layer (or loss) states it.
    layer : int or None
        Index into the layer list; None for the loss.
    local : ndarray or None
        The local derivative: (n_samples,) for a factor or parameter step, the
        Jacobian column (n_samples, n_outputs) for the sum nearest θ, else None.
    gradient : ndarray
        ∂L/∂(result) per sample: (n_samples,) near θ, (n_samples, width) further up
        the chain, where one input feeds several outputs; 0-d for regularization.
    """

    kind: str
    quantity: str
    result: str
    rule: str
    layer: int | None
    local: np.ndarray | None
    gradient: np.ndarray

    def to_dict(self, samples: int = 5) -> dict:
        """The step as plain JSON types, numbers for the first ``samples`` samples."""
        return {"kind": self.kind, "quantity": self.quantity, "result": self.result,
                "rule": self.rule, "layer": self.layer,
                "local": None if self.local is None else jsonable(self.local[:samples]),
                "gradient": jsonable(self.gradient if self.gradient.ndim == 0
                                     else self.gradient[:samples])}


@dataclass(repr=False)
class Explanation:
    """∂L/∂θ for one parameter θ, the chain that produced it, and a numerical check.

    Attributes
    ----------
    value : float
        ∂L/∂θ as the model's backward pass computes it (``layer.d<param>[index]``),
        regularisation included.
    numerical : float
        Central difference (L(θ + ε) − L(θ − ε)) / 2ε, computed in float64.
    relative_error : float
        ``|value − numerical| / max(|value|, |numerical|, resolution)``.
    resolution : float
        The smallest ``|∂L/∂θ|`` the comparison resolves (an absolute floor): the
        backward's rounding (its dtype's epsilon, at least 1e-8) or the difference
        quotient's (``2.2e-16·|L| / ε``). Where value and numerical are both below it,
        the error is relative to it, and the explanation says so.
    steps : list of Step
        The chain from the loss back to θ.
    clipped : tuple of int
        The samples whose prediction the loss clips to [1e-7, 1 − 1e-7] (where the
        target gives it weight): their loss value is capped there.
    fused : bool
        Softmax + cross-entropy (or sigmoid + binary cross-entropy), differentiated
        together: backward's (p − y) takes no clip, and the check differentiates
        −log softmax(z)_y (−y·log σ(z) − (1 − y)·log σ(−z)). Otherwise the check
        differentiates the loss with its clip continued as backward takes it.
    """

    parameter: str
    layer: int
    param: str
    index: tuple[int, int]
    layer_repr: str
    loss: str
    n_samples: int
    value: float
    numerical: float
    relative_error: float
    steps: list[Step]
    clipped: tuple[int, ...] = ()
    fused: bool = False
    resolution: float = 0.0

    @property
    def terms(self) -> np.ndarray:
        """The per-sample terms of ∂L/∂θ, (n_samples,), before regularisation."""
        return next(step.gradient for step in self.steps if step.kind == "parameter")

    def __str__(self) -> str:
        return explanation_text(self)

    def __repr__(self) -> str:
        return (f"Explanation({self.parameter}: value={self.value:.10g}, numerical="
                f"{self.numerical:.10g}, relative_error={self.relative_error:.2g})")

    def _repr_html_(self) -> str:
        return explanation_html(self)

    def to_dict(self, samples: int = 5) -> dict:
        """Everything as plain JSON types (lists, floats, strings; NaN as None)."""
        return {"parameter": self.parameter, "layer": self.layer, "param": self.param,
                "index": list(self.index), "layer_repr": self.layer_repr, "loss": self.loss,
                "n_samples": self.n_samples, "value": jsonable(self.value),
                "numerical": jsonable(self.numerical),
                "relative_error": jsonable(self.relative_error),
                "steps": [step.to_dict(samples) for step in self.steps],
                "clipped": list(self.clipped), "fused": self.fused,
                "resolution": jsonable(self.resolution)}


def jsonable(x):
    """Arrays and NumPy scalars as nested lists of floats; NaN and infinities as None."""
    if isinstance(x, np.ndarray):
        return [jsonable(item) for item in x] if x.ndim else jsonable(x.item())
    x = float(x)
    return x if math.isfinite(x) else None


def number(x) -> str:
    """A float with 6 significant digits, so that 12.0 reads 12 and −0 reads 0."""
    x = float(x)
    return f"{x:.6g}" if x != 0 else "0"


def numbers(values: np.ndarray | None) -> str:
    """Per-sample values (n,) for the first samples, or a vector (n, k) of sample 0."""
    if values is None:
        return ""
    values = np.asarray(values)
    if values.ndim == 0:
        return number(values)
    if values.ndim == 1:
        shown = [number(v) for v in values[:SHOWN_SAMPLES]]
        return "   ".join(shown) + ("   …" if len(values) > SHOWN_SAMPLES else "")
    row = values[0]
    shown = ", ".join(number(v) for v in row[:SHOWN_UNITS])
    return f"[{shown}{', …' if len(row) > SHOWN_UNITS else ''}]"


def rows(explanation) -> list[tuple[str, str, str, str]]:
    """(operator, quantity, numbers, rule) for every line of the chain."""
    lines = []
    n = explanation.n_samples
    width = None
    for step in explanation.steps:
        if step.kind == "loss":
            lines.append(("", step.result, numbers(step.gradient), step.rule))
        elif step.kind == "factor":
            lines.append(("×", step.quantity, numbers(step.local), step.rule))
            lines.append(("=", step.result, numbers(step.gradient), ""))
        elif step.kind == "sum":
            lines.append(("×", step.quantity, numbers(step.local), step.rule))
            lines.append(("Σ", step.result, numbers(step.gradient),
                          f"summed over the {width} output{'s' * (width != 1)} of "
                          f"layers[{step.layer}]"))
        elif step.kind == "parameter":
            lines.append(("×", step.quantity, numbers(step.local), step.rule))
            if n > 1:
                lines.append(("=", f"{step.result}, per sample", numbers(step.gradient), ""))
                lines.append(("Σ", f"{step.result}, sum over {n} samples",
                              number(np.sum(step.gradient)),
                              f"each term carries the mean loss's 1/{n}"))
        else:  # regularization
            lines.append(("+", step.quantity, numbers(step.gradient), step.rule))
        if step.gradient.ndim == 2:
            width = step.gradient.shape[1]
    result = explanation.steps[-1].result
    lines.append(("=", result, number(explanation.value),
                  f"layers[{explanation.layer}].d{explanation.param}"
                  f"[{explanation.index[0]}, {explanation.index[1]}] after backward"))
    return lines


def header(explanation) -> str:
    n = explanation.n_samples
    text = (f"∂L/∂θ for θ = {explanation.parameter} of {explanation.layer_repr}, "
            f"loss {explanation.loss}, {'1 sample' if n == 1 else f'{n} samples'}")
    if n > 1:
        shown = min(n, SHOWN_SAMPLES)
        of = f" of {n}" if n > shown else ""
        text += f"\nper-sample numbers: samples 0–{shown - 1}{of}; vectors: sample 0"
    return text


def footer(explanation) -> str:
    text = (f"numerical check, (L(θ + ε) − L(θ − ε)) / 2ε in float64: "
            f"{explanation.numerical:.10g} (relative error {explanation.relative_error:.2g})")
    if max(abs(explanation.value), abs(explanation.numerical)) < explanation.resolution:
        text += (f"\nboth are below the check's resolution {explanation.resolution:.2g} (the "
                 "backward's rounding, or float64's in L(θ ± ε)): the error is relative to it "
                 f"(absolute error {abs(explanation.value - explanation.numerical):.2g})")
    return text + "".join(f"\n{line}" for line in clipping_note(explanation))


#: clipped samples named before "…"
SHOWN_CLIPPED = 10


def clipping_note(explanation) -> list[str]:
    """What the clip of the loss does here, and what the check differentiates: lines."""
    clipped, n = explanation.clipped, explanation.n_samples
    if not clipped:
        return []
    which = ", ".join(str(i) for i in clipped[:SHOWN_CLIPPED])
    which += ", …" if len(clipped) > SHOWN_CLIPPED else ""
    one = len(clipped) == 1
    lines = [f"clipped: {len(clipped)} of {n} sample{'s' * (n != 1)} "
             f"({'sample' if one else 'samples'} {which}) {'has' if one else 'have'} ŷ outside "
             "[1e-7, 1 − 1e-7], where the loss's value is clipped"]
    if explanation.fused and explanation.loss.startswith("Sigmoid"):
        lines.append("  backward's (σ − y) uses no clip, and neither does the check: it "
                     "differentiates −y·log σ(z) − (1 − y)·log σ(−z)")
    elif explanation.fused:
        lines.append("  backward's (p − y) uses no clip, and neither does the check: it "
                     "differentiates −log softmax(z)_y")
    else:
        lines.append("  backward takes ∂L/∂ŷ at the clipped ŷ, and so does the check: it "
                     "differentiates the loss continued beyond the clip along that slope")
    return lines


def explanation_text(explanation) -> str:
    """The chain as the seed writes it: one line per local derivative, with its numbers."""
    lines = rows(explanation)
    wide_quantity = max(len(line[1]) for line in lines)
    wide_numbers = max(len(line[2]) for line in lines)
    body = [f"{op:>2} {quantity:<{wide_quantity}}  {values:<{wide_numbers}}  {rule}".rstrip()
            for op, quantity, values, rule in lines]
    return "\n".join([header(explanation), "", *body, "", footer(explanation)])


def explanation_html(explanation) -> str:
    """The same chain as an HTML table (Jupyter shows it for an Explanation)."""
    cells = "".join(
        "<tr>" + "".join(f"<td style='text-align:left; white-space:pre'>{html.escape(cell)}</td>"
                         for cell in line) + "</tr>"
        for line in rows(explanation))
    head = "<br>".join(html.escape(part) for part in header(explanation).split("\n"))
    titles = "".join(f"<th style='text-align:left'>{title}</th>"
                     for title in ("", "quantity", "numbers", "rule"))
    return (f"<div><p>{head}</p><table><thead><tr>{titles}</tr></thead><tbody>{cells}</tbody>"
            "</table>"
            f"<p>{html.escape(footer(explanation))}</p></div>")

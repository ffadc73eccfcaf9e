"""The result of a check and the diagnosis of the first thing that is wrong.

A check compares the learner's outputs with chainrule's reference, output by output and
case by case, and stops at the first difference (``Wrong``). The diagnosis then says which
output, for which case; a shape mismatch by name; otherwise the worst elements, expected
against got; the rule the element follows (the reference layer's own ``local_rule``); the
chain for that element; and, when the learner's numbers are exactly what a known mistake
gives, the mistake's name.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np

#: statuses, in the order a learner meets them
NOT_STARTED, NOT_FINISHED, FAILED, ERROR, PASSED = (
    "not started", "not finished", "failing", "error", "passing")


class Wrong(Exception):
    """The first difference found: raised inside a check, turned into a ``Result``."""

    def __init__(self, output: str, case: str, text: str, mistake: str | None = None):
        super().__init__(text)
        self.output, self.case, self.text, self.mistake = output, case, text, mistake


@dataclass
class Result:
    """What a check found. ``passed`` is True only when every case agreed."""

    name: str
    status: str
    text: str = ""
    output: str | None = None  # the first wrong output (``dweights``, …)
    case: str | None = None
    mistake: str | None = None  # the common mistake recognised, by name
    cases: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __str__(self) -> str:
        head = f"{self.name}: {self.status}"
        if self.passed:
            return f"{head} ({len(self.cases)} cases: {', '.join(self.cases)})"
        return f"{head}\n{self.text}" if self.text else head

    def __repr__(self) -> str:
        return f"Result({self.name!r}, {self.status!r}, mistake={self.mistake!r})"

    def _repr_html_(self) -> str:
        colour = {PASSED: "#2e7d32", NOT_FINISHED: "#8a6d00"}.get(self.status, "#c62828")
        body = html.escape(str(self).split("\n", 1)[1] if "\n" in str(self) else str(self))
        return (f"<div><b style='color:{colour}'>{html.escape(self.name)}: "
                f"{html.escape(self.status)}</b><pre>{body}</pre></div>")


def as_array(value) -> np.ndarray | None:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def compare(output: str, got, expected, *, case: str, rule: str = "", chain=None,
            mistakes=(), rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Raise ``Wrong`` unless ``got`` equals ``expected`` (an array or a number).

    ``mistakes`` are ``(name, array)`` pairs: what a known mistake gives on this case.
    ``chain(index)`` returns the lines of the chain for the element at ``index``.
    """
    expected = np.asarray(expected, dtype=np.float64)
    if got is None:
        raise Wrong(output, case, f"{output} was not set (it is None) — case: {case}")
    got_array = as_array(got)
    if got_array is None:
        raise Wrong(output, case, f"{output} is not a number or an array of numbers: {got!r}"
                    f" — case: {case}")
    mistake = _recognise(got_array, mistakes)
    lines = []
    if got_array.shape != expected.shape:
        lines.append(f"{output} has shape {got_array.shape}; expected {expected.shape} — "
                     f"case: {case}")
        if got_array.shape == expected.T.shape and got_array.ndim == 2:
            lines.append("  (that is the expected shape transposed)")
    elif np.allclose(got_array, expected, rtol=rtol, atol=atol, equal_nan=False):
        return
    else:
        lines.append(f"{output} is wrong — case: {case}")
        lines.extend(_worst(got_array, expected))
        if chain is not None and expected.ndim:
            index = np.unravel_index(np.argmax(_difference(got_array, expected)), expected.shape)
            chain_lines = chain(tuple(int(i) for i in index), float(got_array[index]))
            if chain_lines:
                lines.append(f"the chain for {output}{list(map(int, index))}:")
                lines.extend(f"  {line}" for line in chain_lines)
    if rule:
        lines.append(f"the rule: {rule}")
    if mistake:
        lines.append(f"this is a common mistake: {mistake}")
    raise Wrong(output, case, "\n".join(lines), mistake)


def _difference(got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    difference = np.abs(got - expected)
    return np.where(np.isfinite(difference), difference, np.inf)


def _worst(got: np.ndarray, expected: np.ndarray, count: int = 3) -> list[str]:
    """The ``count`` elements that differ most, expected against got."""
    if expected.ndim == 0:
        return [f"  expected {expected.item():.6g}, got {got.item():.6g}"]
    difference = _difference(got, expected).ravel()
    order = np.argsort(-difference, kind="stable")[:count]
    wrong = int(np.sum(~np.isclose(got, expected, rtol=1e-6, atol=1e-9)))
    lines = [f"  {wrong} of {expected.size} elements differ; the worst:"]
    for flat in order:
        if difference[flat] == 0:
            break
        index = tuple(int(i) for i in np.unravel_index(flat, expected.shape))
        lines.append(f"  at {list(index)}: expected {expected[index]:.6g}, got {got[index]:.6g}")
    return lines


def _recognise(got: np.ndarray, mistakes) -> str | None:
    for name, candidate in mistakes:
        candidate = np.asarray(candidate, dtype=np.float64)
        if candidate.shape == got.shape and np.allclose(got, candidate, rtol=1e-6, atol=1e-12):
            return name
    return None


def unchanged(dvalues_before: np.ndarray, dvalues_after, *, case: str, argument="dvalues"):
    """Raise ``Wrong`` if the learner changed the caller's array in place."""
    if not np.array_equal(dvalues_before, dvalues_after):
        raise Wrong(argument, case,
                    f"backward changed its argument {argument} in place — case: {case}\n"
                    f"  the caller's {argument} still belong to the layer above (and to "
                    "the caller's next use): work on a copy\n"
                    "this is a common mistake: dvalues modified in place",
                    mistake="dvalues modified in place")

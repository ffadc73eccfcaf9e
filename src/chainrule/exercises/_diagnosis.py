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
        """True only when every case agreed."""
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
    A learner's float32 (or float16) result is held to its own precision, not float64's.
    """
    expected = np.asarray(expected, dtype=np.float64)
    if got is None:
        raise Wrong(output, case, f"{output} was not set (it is None) — case: {case}")
    got_array = as_array(got)
    if got_array is None:
        raise Wrong(output, case, f"{output} is not a number or an array of numbers: {got!r}"
                    f" — case: {case}")
    if expected.ndim == 0 and got_array.size == 1:
        got_array = got_array.reshape(())  # a number as a 1-element array is that number
    rtol, atol = _tolerance(got, expected, rtol, atol)
    mistake = _recognise(got_array, mistakes)
    lines = []
    if got_array.shape != expected.shape:
        lines.append(f"{output} has shape {got_array.shape}; expected {expected.shape} — "
                     f"case: {case}")
        if got_array.shape == expected.T.shape and got_array.ndim == 2:
            lines.append("  (that is the expected shape transposed)")
        elif got_array.size == expected.size and np.allclose(
                got_array.reshape(expected.shape), expected, rtol=rtol, atol=atol):
            lines.append(f"  the numbers are right: give them the shape {expected.shape} "
                         "(np.sum(..., keepdims=True) keeps the row)")
    elif np.allclose(got_array, expected, rtol=rtol, atol=atol, equal_nan=False):
        return
    else:
        lines.append(f"{output} is wrong — case: {case}")
        lines.extend(_worst(got_array, expected, rtol=rtol, atol=atol))
        if chain is not None and expected.ndim:
            # the element the worst list names first: only elements that differ count
            index = np.unravel_index(np.argmax(_ranked(got_array, expected, rtol, atol)),
                                     expected.shape)
            chain_lines = chain(tuple(int(i) for i in index), float(got_array[index]))
            if chain_lines:
                lines.append(f"the chain for {output}{list(map(int, index))}:")
                lines.extend(f"  {line}" for line in chain_lines)
    if rule:
        lines.append(f"the rule: {rule}")
    if mistake:
        lines.append(f"this is a common mistake: {mistake}")
    raise Wrong(output, case, "\n".join(lines), mistake)


def _tolerance(got, expected: np.ndarray, rtol: float, atol: float) -> tuple[float, float]:
    """The tolerance for the learner's own precision: float64's unless ``got`` is a lower
    float, then √eps relative, and as much absolute on the array's scale (a sum that
    cancels keeps the absolute error of its terms, not a relative one)."""
    dtype = getattr(got, "dtype", None)
    if dtype is None or dtype.kind != "f" or dtype.itemsize >= 8:
        return rtol, atol
    loose = float(np.sqrt(np.finfo(dtype).eps))
    finite = np.abs(expected[np.isfinite(expected)])
    scale = float(finite.max()) if finite.size else 1.0
    return max(rtol, loose), max(atol, loose * scale)


def _difference(got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    difference = np.abs(got - expected)
    return np.where(np.isfinite(difference), difference, np.inf)


def _ranked(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """Each element's difference where it differs beyond the tolerance, −1 where it agrees."""
    differ = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    return np.where(differ, _difference(got, expected), -1.0)


def _pair(expected: float, got: float) -> tuple[str, str]:
    """Both numbers with as many digits as it takes to tell them apart (6 at least)."""
    for digits in (6, 9, 12, 17):
        left, right = f"{expected:.{digits}g}", f"{got:.{digits}g}"
        if left != right:
            break
    return left, right


def _worst(got: np.ndarray, expected: np.ndarray, count: int = 3, *, rtol: float = 1e-6,
           atol: float = 1e-9) -> list[str]:
    """The ``count`` elements that differ most (of those that differ), expected against got."""
    if expected.ndim == 0:
        left, right = _pair(expected.item(), got.item())
        return [f"  expected {left}, got {right}"]
    difference = _ranked(got, expected, rtol, atol).ravel()
    order = np.argsort(-difference, kind="stable")[:count]
    lines = [f"  {int(np.sum(difference >= 0))} of {expected.size} elements differ; the worst:"]
    for flat in order:
        if difference[flat] < 0:
            break
        index = tuple(int(i) for i in np.unravel_index(flat, expected.shape))
        left, right = _pair(float(expected[index]), float(got[index]))
        lines.append(f"  at {list(index)}: expected {left}, got {right}")
    return lines


def _recognise(got: np.ndarray, mistakes) -> str | None:
    """The names of the known mistakes that give exactly ``got`` ("; or " between two that
    agree on this case, so the learner is not told the wrong one for sure)."""
    names = []
    for name, candidate in mistakes:
        candidate = np.asarray(candidate, dtype=np.float64)
        if (candidate.shape == got.shape and name not in names
                and np.allclose(got, candidate, rtol=1e-6, atol=1e-12, equal_nan=True)):
            names.append(name)
    return "; or ".join(names) or None


def unchanged(dvalues_before: np.ndarray, dvalues_after, *, case: str, argument="dvalues"):
    """Raise ``Wrong`` if the learner changed the caller's array in place."""
    if not np.array_equal(dvalues_before, dvalues_after):
        raise Wrong(argument, case,
                    f"backward changed its argument {argument} in place — case: {case}\n"
                    f"  the caller's {argument} still belong to the layer above (and to "
                    "the caller's next use): work on a copy\n"
                    "this is a common mistake: dvalues modified in place",
                    mistake="dvalues modified in place")

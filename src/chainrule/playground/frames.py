"""Arrays into the compact, JSON-ready pieces of a frame (the page decodes and draws them).

Grids travel as base64 bytes — probabilities as uint8 (p·255), neuron maps as
int8 scaled by each map's largest magnitude — so a 64×64 boundary and a
dozen neuron maps cost a few kilobytes per frame. Numbers that are not finite
become ``None`` (JSON has no NaN).
"""

from __future__ import annotations

import base64
import math

import numpy as np

#: neuron maps are at most this many cells on a side
MAP_SIZE = 32
#: a regression curve has this many points per grid step
CURVE_PER_GRID = 4


def finite(value) -> float | None:
    """``value`` as a float, or None if it is NaN or infinite."""
    value = float(value)
    return value if math.isfinite(value) else None


def numbers(array) -> list:
    """Nested lists of floats with 6 significant digits; NaN and infinities become None."""
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 0:
        return finite(array)
    return [numbers(row) if array.ndim > 1 else _rounded(value) for value, row in
            zip(array.tolist(), array, strict=True)]


def _rounded(value: float) -> float | None:
    return float(f"{value:.6g}") if math.isfinite(value) else None


def _bytes(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def domain(points: np.ndarray, targets: np.ndarray | None = None) -> list[float]:
    """The drawn region ``[x_min, x_max, y_min, y_max]`` around every point, with a margin.

    Two-dimensional points get a square; one-dimensional ones (regression) span
    the targets' range vertically.
    """
    low, high = points.min(axis=0), points.max(axis=0)
    if targets is None:
        centre = (low + high) / 2
        half = max(float(np.max(high - low)) / 2 * 1.1, 0.1)
        return [float(centre[0] - half), float(centre[0] + half),
                float(centre[1] - half), float(centre[1] + half)]
    y_low, y_high = float(targets.min()), float(targets.max())
    margin = max((y_high - y_low) * 0.1, 0.1)
    return [float(low[0]), float(high[0]), y_low - margin, y_high + margin]


def grid_points(region: list[float], grid: int, *, one_dimensional: bool) -> np.ndarray:
    """The points where the network is drawn: cell centres, top row first.

    Returns
    -------
    (grid·grid, 2) array, row-major from the top-left corner; or, for
    one-dimensional data, (grid·CURVE_PER_GRID, 1) evenly spaced x values.
    """
    x_min, x_max, y_min, y_max = region
    if one_dimensional:
        return np.linspace(x_min, x_max, grid * CURVE_PER_GRID).reshape(-1, 1)
    step_x, step_y = (x_max - x_min) / grid, (y_max - y_min) / grid
    xs = x_min + step_x * (np.arange(grid) + 0.5)
    ys = y_max - step_y * (np.arange(grid) + 0.5)
    x, y = np.meshgrid(xs, ys)
    return np.c_[x.ravel(), y.ravel()]


def probabilities(outputs: np.ndarray) -> dict:
    """Class probabilities on the grid (grid², k) as uint8 bytes, cell by cell."""
    values = np.rint(np.clip(np.nan_to_num(outputs), 0, 1) * 255).astype(np.uint8)
    return {"classes": outputs.shape[1], "data": _bytes(values)}


def node_maps(values: np.ndarray, grid: int, one_dimensional: bool) -> dict:
    """Each column of ``values`` (one per neuron) on a small grid, as int8 bytes.

    Parameters
    ----------
    values : (grid², n) or, one-dimensional, (grid·CURVE_PER_GRID, n)
        A layer's outputs on the grid points.

    Returns
    -------
    dict
        ``size`` (cells per side, or points per curve), ``scales`` (each map's
        largest magnitude; the bytes are value/scale·127) and ``data`` (n maps,
        one after the other).
    """
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), posinf=0.0, neginf=0.0)
    if one_dimensional:
        step = CURVE_PER_GRID
        small = values[::step].T  # (n, points)
    else:
        step = max(1, math.ceil(grid / MAP_SIZE))
        small = values.reshape(grid, grid, -1)[::step, ::step].transpose(2, 0, 1)
    scales = np.abs(small).reshape(len(small), -1).max(axis=1)
    safe = np.where(scales > 0, scales, 1.0)
    data = np.rint(small / safe.reshape(-1, *[1] * (small.ndim - 1)) * 127).astype(np.int8)
    return {"size": small.shape[-1], "scales": numbers(scales), "data": _bytes(data)}


def points(X: np.ndarray, y: np.ndarray) -> dict:
    """Data points as lists: ``x`` (and ``y``, the second coordinate or the target) and labels."""
    if X.shape[1] == 1:  # regression: x against its target
        return {"x": numbers(X[:, 0]), "y": numbers(np.asarray(y).reshape(-1))}
    return {"x": numbers(X[:, 0]), "y": numbers(X[:, 1]),
            "label": np.asarray(y).astype(int).tolist()}

"""Bounds on the values a model file holds, checked when writing and again when reading.

A file from a stranger may hold any value where a number, a list or a random
state belongs. Each one is checked here before it reaches a constructor, NumPy
or the training loop: the header is parsed with bounded size, container count
and depth; counts are whole numbers small enough to be exact as floats; random
states have exactly the structure NumPy's generators give them, with positions
inside their buffers (NumPy would read out of bounds otherwise). The writer
applies the same checks, so whatever chainrule writes, it reads back.
"""

from __future__ import annotations

import json
import math
import numbers
import re

import numpy as np

from ._archive import ModelFileError

MAX_COUNT = 2**53  # epochs, steps: exact as float64, which decay and bias correction use
MAX_DEPTH = 32
MAX_CONTAINERS = 10_000  # objects and lists in a header
MAX_VALUES = 100_000  # values in a header, besides the lists of a version-1 history
MAX_STRING = 1_024
MAX_INT = 2**128  # the largest integers a header holds are PCG64 states
MAX_HISTORY_KEYS = 1_000
GENERATORS = {cls.__name__: cls for cls in (
    np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937, np.random.Philox, np.random.SFC64)}
_MT_WORDS = 624


# A JSON string once its escapes are gone: a quote, other bytes, a quote (a single-byte
# repeat: no backtracking and no memory beyond the result, on any input).
_STRINGS = re.compile(rb'"[^"]*"')


def parse_json(blob) -> object:
    """Parse a header: refuse NaN/Infinity and, before parsing, too many containers."""
    blob = bytes(blob)
    # Brackets inside strings are text, not containers: count the ones outside them. An
    # escape is a backslash and the byte after it, so dropping escaped backslashes, then
    # escaped quotes, leaves every string as quote, text, quote.
    unescaped = blob.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure = _STRINGS.sub(b"", unescaped)
    containers = structure.count(b"{") + structure.count(b"[")
    if containers > MAX_CONTAINERS:
        raise ModelFileError(f"chainrule.json holds {containers} objects or lists; at most "
                             f"{MAX_CONTAINERS} are allowed")

    def refuse(token):
        raise ModelFileError(f"chainrule.json holds {token}; numbers in a file must be finite")

    return json.loads(blob.decode("utf-8"), parse_constant=refuse)


def check_json(value, where: str, *, loading: bool, skip: tuple = ()) -> None:
    """Check that ``value`` is plain JSON within the bounds above.

    Strings, finite floats, integers below 2**128, booleans and None, in lists
    and string-keyed objects at most ``MAX_DEPTH`` deep. Top-level keys in
    ``skip`` are not walked. Raises ``ModelFileError`` when ``loading``, else
    ``TypeError`` (a value JSON cannot hold) or ``ValueError`` (out of bounds).
    """
    # Each entry is (value, the path of its container, its key, depth); a path is only
    # spelled out for containers and errors, and no container is expanded past the bound.
    stack, pushed, containers = [(value, "", None, 0)], 1, 0
    while stack:
        item, parent, key, depth = stack.pop()
        path = where if key is None else f"{parent}[{key!r}]"
        if isinstance(item, (dict, list)):
            pushed += len(item)
            containers += 1  # the reader's bound too: what is written must read back
            if pushed > MAX_VALUES or depth >= MAX_DEPTH or containers > MAX_CONTAINERS:
                _fail(loading, ValueError, f"{path} holds more than {MAX_VALUES} values or "
                                           f"{MAX_CONTAINERS} objects and lists, or nests "
                                           f"deeper than {MAX_DEPTH}")
            if isinstance(item, list):
                stack.extend((child, path, i, depth + 1) for i, child in enumerate(item))
                continue
            for name, child in item.items():
                if not isinstance(name, str):
                    _fail(loading, TypeError, f"{path} has a key {name!r} that is not a string")
                if not (depth == 0 and name in skip):
                    stack.append((child, path, name, depth + 1))
        elif isinstance(item, str):
            if len(item) > MAX_STRING:
                _fail(loading, ValueError, f"{path} is a string of {len(item)} characters; at "
                                           f"most {MAX_STRING} are allowed")
        elif item is None or isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if abs(item) >= MAX_INT:
                _fail(loading, ValueError, f"{path} is an integer of {item.bit_length()} bits; "
                                           "at most 128 are allowed")
        elif isinstance(item, float):
            if not math.isfinite(item):
                _fail(loading, ValueError, f"{path} is {item}; numbers in a file must be finite")
        else:
            _fail(loading, TypeError, f"{path} must be a JSON value (dict, list, str, int, "
                                      f"float, bool or None); got {type(item).__name__}")


def _fail(loading: bool, kind: type, message: str):
    raise (ModelFileError if loading else kind)(message)


def check_count(value, what: str, *, loading: bool = True) -> int:
    """A whole number in [0, 2**53] (epochs, optimizer steps)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)) \
            and 0 <= value <= MAX_COUNT:
        return int(value)
    _fail(loading, ValueError, f"{what} must be a whole number in [0, 2**53]; got "
                               f"{str(value)[:40]!r}")


def check_rate(value, what: str) -> float:
    """A finite number >= 0 (a saved learning rate: a schedule may end at 0)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) \
            and math.isfinite(value) and value >= 0:
        return float(value)
    raise ModelFileError(f"{what} must be a finite number >= 0; got {str(value)[:40]!r}")


# -- history ----------------------------------------------------------------------------------


def history_to_arrays(history) -> tuple[list[str], list[np.ndarray]]:
    """The keys of ``history`` and one float64 array per key (NaN and inf kept exactly)."""
    if not isinstance(history, dict) or len(history) > MAX_HISTORY_KEYS:
        raise TypeError(f"model.history must be a dict of at most {MAX_HISTORY_KEYS} lists of "
                        f"numbers; got {type(history).__name__}")
    keys, arrays = [], []
    for key, values in history.items():
        if not isinstance(key, str) or not 0 < len(key) <= MAX_STRING:
            raise TypeError(f"model.history keys must be non-empty strings; got {key!r}")
        if not isinstance(values, (list, tuple, np.ndarray)):
            raise TypeError(f"model.history[{key!r}] must be a list of numbers; got "
                            f"{type(values).__name__}")
        values = list(values)
        for value in values:
            if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
                raise TypeError(f"model.history[{key!r}] must be a list of numbers; it holds "
                                f"{type(value).__name__} {value!r}"[:120])
        try:
            array = np.array(values, dtype=np.float64)
        except OverflowError:
            raise ValueError(f"model.history[{key!r}] holds an integer too large for a "
                             "float") from None
        keys.append(key)
        arrays.append(array.reshape(-1))
    return keys, arrays


def history_from_arrays(keys, arrays: list[np.ndarray]) -> dict[str, list[float]]:
    """Version 2: ``keys`` from the header, a 1-D float64 array each."""
    if not isinstance(keys, list) or len(keys) > MAX_HISTORY_KEYS or not all(
            isinstance(key, str) and key for key in keys) or len(set(keys)) != len(keys):
        raise ModelFileError("history must be a list of distinct, non-empty names")
    for key, array in zip(keys, arrays, strict=True):
        if array is None or array.dtype != np.float64 or array.ndim != 1:
            raise ModelFileError(f"history {key!r} must be a 1-D float64 array in the file")
    return {key: array.tolist() for key, array in zip(keys, arrays, strict=True)}


def history_from_json(history) -> dict[str, list[float]]:
    """Version 1: an object of lists of numbers, in the header itself."""
    if not isinstance(history, dict) or len(history) > MAX_HISTORY_KEYS:
        raise ModelFileError("history must be an object of lists of numbers")
    floats = {}
    for key, values in history.items():
        if not isinstance(values, list) or not all(
                type(value) is float or type(value) is int for value in values):
            raise ModelFileError(f"history {key!r} must be a list of numbers")
        too_large = ModelFileError(f"history {key!r} holds a number too large for a float")
        try:
            floats[key] = [float(value) for value in values]  # an int beyond 1e308 raises
        except OverflowError:
            raise too_large from None
        if not all(map(math.isfinite, floats[key])):
            raise too_large
    return floats


# -- random states ----------------------------------------------------------------------------


def generator_state(rng: np.random.Generator) -> dict:
    """A generator's state as plain JSON (arrays become lists of integers)."""
    name = type(rng.bit_generator).__name__
    if name not in GENERATORS:
        raise TypeError(f"cannot save a generator built on {name}; known: {sorted(GENERATORS)}")
    return json.loads(json.dumps(rng.bit_generator.state,
                                 default=lambda array: array.tolist()))


def generator_from_state(state, where: str) -> np.random.Generator:
    """Rebuild a generator from ``generator_state``'s output, refusing anything malformed."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in GENERATORS:
        raise ModelFileError(f"{where}: unknown random generator {str(name)[:40]!r}")
    bit_generator = GENERATORS[name](0)
    _same_structure(state, bit_generator.state, where)
    # NumPy trusts these positions: one past its buffer would read other memory.
    inner = state["state"]
    if name == "MT19937" and not 0 <= inner["pos"] <= _MT_WORDS:
        raise ModelFileError(f"{where}: MT19937 position must be in [0, {_MT_WORDS}]")
    if name == "Philox" and not 0 <= state["buffer_pos"] <= len(state["buffer"]):
        raise ModelFileError(f"{where}: Philox buffer position out of range")
    if state.get("has_uint32", 0) not in (0, 1) or state.get("uinteger", 0) >= 2**32:
        raise ModelFileError(f"{where}: damaged 32-bit cache")
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def _same_structure(value, template, where: str) -> None:
    """``value`` has ``template``'s keys, list lengths and integer ranges."""
    if isinstance(template, dict):
        if not isinstance(value, dict) or set(value) != set(template):
            raise ModelFileError(f"{where}: random state has the wrong fields")
        for key in template:
            _same_structure(value[key], template[key], f"{where}.{key}")
    elif isinstance(template, np.ndarray):
        limit = 2 ** (8 * template.dtype.itemsize)
        if not isinstance(value, list) or len(value) != template.size or not all(
                type(word) is int and 0 <= word < limit for word in value):
            raise ModelFileError(f"{where}: must be {template.size} integers in [0, {limit})")
    elif isinstance(template, int) and (type(value) is not int or not 0 <= value < MAX_INT):
        raise ModelFileError(f"{where}: must be an integer in [0, 2**128)")
    # The one string, the generator's name, was matched already.


def global_state_to_json() -> tuple[dict, np.ndarray]:
    """NumPy's global state: its scalars as JSON, its 624 key words as an array."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    return ({"name": name, "pos": int(position), "has_gauss": int(has_gauss),
             "cached_gaussian": float(cached)}, keys)


def global_state_from_json(state, keys) -> tuple:
    """The tuple ``np.random.set_state`` takes, checked: NumPy trusts ``pos``."""
    if not isinstance(state, dict) or state.get("name") != "MT19937":
        raise ModelFileError("checkpoint global random state must name MT19937")
    if keys is None or keys.shape != (_MT_WORDS,) or keys.dtype != np.uint32:
        raise ModelFileError(f"checkpoint global random state must be {_MT_WORDS} uint32 words")
    position, has_gauss, cached = (state.get(key) for key in ("pos", "has_gauss",
                                                              "cached_gaussian"))
    if type(position) is not int or not 0 <= position <= _MT_WORDS or has_gauss not in (0, 1) \
            or type(has_gauss) is not int or type(cached) not in (int, float):
        raise ModelFileError("checkpoint global random state is damaged (position, cache)")
    return ("MT19937", keys.copy(), position, has_gauss, float(cached))

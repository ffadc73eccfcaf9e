"""Model files: a documented, pickle-free format, written atomically.

A chainrule file is a ZIP archive holding

* ``chainrule.json`` — the header: ``{"format": "chainrule", "version": 2, "kind": ...}``
  with the architecture (each layer's class name and ``config()``), the loss, the
  metric, the optimizer (with its step count and current learning rate), the
  epoch, the names of the history's series, the application's ``metadata`` (a JSON
  object, ``model.metadata``; the command line records there the task, the class
  labels in the order of the outputs and the column names) and, for checkpoints,
  the random generators' states, the training loop's ``training_state`` and the
  names of its ``training_arrays``; and
* ``arrays/<key>.npy`` — one NumPy ``.npy`` file per array: parameters
  (``layers/<i>/<name>``), a layer's non-trainable state (``layers/<i>/<name>``
  as well, for the names its class lists in ``state_arrays``: Normalization's
  ``mean`` and ``std``), optimizer state (``optimizer/<i>/<name>/<slot>``), the
  history (``history/<j>``: float64, the j-th name in the header; NaN and inf kept;
  deflated, up to ``MAX_INFLATED_BYTES`` in all, the rest stored),
  NumPy's global random state (``random/global_keys``) and the training loop's
  arrays (``training/<j>``, the j-th name in the header).

``kind`` is ``"model"`` (``Model.save``), ``"checkpoint"`` (``train(checkpoint=...)``)
or ``"parameters"`` (``save_parameters``). Version 1 files, which hold the
history as JSON lists in the header, are read too.

Every member but the history's is stored: parameters are read as they lie in
the file. Reading never unpickles and never trusts a size: the archive's layout is
checked before any member is read (members may not overlap nor leave the file,
deflated ones inflate to their declared sizes and to 1 MiB at most in all: see
``_archive``), the header is parsed within bounds (``_filevalues``), ``.npy``
headers are parsed as literals, only plain numeric dtypes are accepted, declared
sizes must match the bytes present before anything is allocated, and class
names come from a fixed registry. Anything else raises ``ModelFileError``, and
neither the caller's model nor NumPy's global random state changes. Writing
applies the same checks first, so what chainrule writes, it reads back.
"""

from __future__ import annotations

import io as _bytes_io
import json
import math
import os
import re
import zipfile

import numpy as np

from .._checks import describe
from ..optim import MASTER
from . import _build
from . import _values as values
from ._archive import DEFLATED, MAX_INFLATED_BYTES, MAX_MEMBERS, Archive, ModelFileError
from ._atomic import atomic_write

__all__ = ["ModelFileError", "atomic_write", "check_savable", "load_model", "load_parameters",
           "read_archive", "save_model", "save_parameters"]

FORMAT = "chainrule"
VERSION = 2
HEADER = "chainrule.json"
MAX_HEADER_BYTES = 16 * 2**20  # version 1 headers hold the whole history
ALLOWED_DTYPES = {np.dtype(t) for t in ("<f2", "<f4", "<f8", "<i8", "<i4", "<u4", "<u1")}
_ARRAY_NAME = re.compile(r"arrays/([A-Za-z0-9_]+(?:/[A-Za-z0-9_]+)*)\.npy")
_NPY_HEADER_BYTES = 65_536 + 16  # the largest .npy header NumPy reads, with its preamble
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same model gives the same bytes
_HISTORY = "arrays/history/"  # the only members that may be deflated

# -- writing --------------------------------------------------------------------------------


def save_model(model, path, *, checkpoint: bool = False) -> None:
    """Write ``model`` (architecture, loss, optimizer, parameters, history) to ``path``.

    Everything is checked before the file is touched: a value the reader would
    refuse raises ``ValueError`` or ``TypeError`` here instead.
    """
    if not model.layers:
        raise ValueError("cannot save a Model with no layers")
    history_keys, history_arrays = values.history_to_arrays(model.history)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "kind": "checkpoint" if checkpoint else "model",
        **_describe_classes(model),
        "optimizer": None,
        "epoch": values.check_count(model.epoch, "model.epoch", loading=False),
        "history": history_keys,
    }
    metadata = _metadata(model)
    if metadata:
        header["metadata"] = metadata
    arrays = _parameter_arrays(model)
    arrays.update(_state_arrays(model))
    arrays.update((f"history/{j}", array) for j, array in enumerate(history_arrays))
    if model.optimizer is not None:
        header["optimizer"] = _describe_optimizer(model, arrays)
    if checkpoint:
        header["random"] = _random_state(model, arrays)
        state = getattr(model, "training_state", None)
        if state is not None and not isinstance(state, dict):
            raise TypeError(f"model.training_state must be a dict or None; got "
                            f"{type(state).__name__}")
        values.check_json(state, "model.training_state", loading=False)
        header["training_state"] = state
        header["training_arrays"] = _training_arrays(model, arrays)
    _write_archive(path, header, arrays)


def check_savable(model) -> None:
    """Raise what ``save_model`` would raise for a class it cannot record (a subclass with
    math of its own, or a class of no registry), without writing: a run that will write
    checkpoints checks this before its first epoch."""
    _describe_classes(model)
    if model.optimizer is not None:
        _describe(model.optimizer, _build.OPTIMIZERS, "optimizer")


def _describe_classes(model) -> dict:
    return {
        "layers": [_describe(layer, _build.LAYERS, "layer", f"layer {i}")
                   for i, layer in enumerate(model.layers)],
        "loss": _describe(model.loss, _build.LOSSES, "loss"),
        "accuracy": _describe(model.accuracy, _build.METRICS, "accuracy"),
    }


def save_parameters(model, path) -> None:
    """Write only the parameters of ``model`` to ``path``."""
    header = {
        "format": FORMAT,
        "version": VERSION,
        "kind": "parameters",
        # Only the parameters: a subclass with its own math is rebuilt in code, not from here.
        "layers": [{"class": _base(layer, _build.LAYERS, "layer").__name__}
                   for layer in model.layers],
    }
    _write_archive(path, header, _parameter_arrays(model))


def _describe(obj, registry: dict, kind: str, what: str | None = None):
    """Class name and ``config()``. A subclass that only builds its object differently (the
    book's names) is saved as its base; one that changes the math is refused."""
    if obj is None:
        return None
    base = _base(obj, registry, kind)
    _build.check_same_math(obj, base, what or kind, "save")
    config = obj.config()
    if registry is _build.LAYERS:
        _check_parameters(obj, base, config, what or kind)
    return {"class": base.__name__, "config": config}


def _check_parameters(layer, base: type, config: dict, what: str) -> None:
    """The loader rebuilds ``base(**config)`` and takes the file's arrays only if they have
    its parameters' shapes and dtype: a layer whose ``weights`` were replaced by another
    array would be written, and never read back."""
    dtype = config.get("dtype")
    for name, shape in base.parameter_shapes(config).items():
        param = getattr(layer, name, None)
        if not isinstance(param, np.ndarray) or param.shape != tuple(shape) or (
                dtype is not None and param.dtype != np.dtype(dtype)):
            raise ValueError(f"cannot save {what} ({layer!r}): its {name} is "
                             f"{describe(param)}, but its config() builds "
                             f"{tuple(shape)}{f' {dtype}' if dtype else ''} {name}, which the "
                             "file's reader would expect")


def _base(obj, registry: dict, kind: str) -> type:
    base = _build.registered_base(obj, registry)
    if base is None:
        raise TypeError(f"cannot save {obj!r}: a model file can hold only these {kind} classes "
                        f"and their subclasses: {sorted(registry)}")
    return base


def _parameter_arrays(model) -> dict:
    """The parameters each layer's registered class lists, which every reader expects
    (a layer holding its own ``params``, to freeze some, keeps them all in the file)."""
    return {f"layers/{i}/{name}": getattr(layer, name)
            for i, layer in enumerate(model.layers)
            for name in _base(layer, _build.LAYERS, "layer").params}


def _metadata(model) -> dict:
    metadata = getattr(model, "metadata", None)
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise TypeError(f"model.metadata must be a dict; got {type(metadata).__name__}")
    values.check_json(metadata, "model.metadata", loading=False)
    return metadata


def _state_arrays(model) -> dict:
    """Each layer's non-trainable arrays, named in its class's ``state_arrays``
    (Normalization's ``mean`` and ``std``), stored beside its parameters."""
    arrays = {}
    for i, layer in enumerate(model.layers):
        for name in getattr(layer, "state_arrays", ()):
            value = getattr(layer, name, None)
            if value is None:
                raise ValueError(f"cannot save layer {i} {layer!r}: its {name!r} is not set "
                                 "yet (call adapt(X) on it first)")
            arrays[f"layers/{i}/{name}"] = value
    return arrays


def _describe_optimizer(model, arrays: dict) -> dict:
    optimizer = model.optimizer
    rate = float(optimizer.current_learning_rate)
    if not (math.isfinite(rate) and rate >= 0):
        raise ValueError(f"optimizer current_learning_rate must be finite and >= 0; got {rate}")
    for i, layer in enumerate(model.layers):
        for name in layer.params:
            for slot, value in optimizer.get_state(layer, name).items():
                if slot == MASTER and np.array_equal(value, getattr(layer, name),
                                                       equal_nan=True):
                    continue  # a float16 parameter's master that holds no more than it
                if not np.isfinite(value).all():  # set_state refuses such state at load
                    raise ValueError(f"optimizer state {slot!r} of layer {i} {name} holds NaN "
                                     "or inf; a file cannot keep it")
                arrays[f"optimizer/{i}/{name}/{slot}"] = value
    return {**_describe(optimizer, _build.OPTIMIZERS, "optimizer"),
            "iterations": values.check_count(optimizer.iterations, "optimizer.iterations",
                                             loading=False),
            "current_learning_rate": rate}


def _random_state(model, arrays: dict) -> dict:
    """Generator states as JSON; NumPy's global state (624 words) as an array."""
    state, arrays["random/global_keys"] = values.global_state_to_json()
    return {
        "global": state,
        "model": None if model.rng is None else values.generator_state(model.rng),
        "layers": {str(i): values.generator_state(layer.rng) for i, layer
                   in enumerate(model.layers) if getattr(layer, "rng", None) is not None},
    }


def _training_arrays(model, arrays: dict) -> list[str]:
    """The training loop's arrays (e.g. a callback's best weights), by position."""
    extra = getattr(model, "training_arrays", None) or {}
    if not isinstance(extra, dict) or not all(isinstance(key, str) for key in extra):
        raise TypeError("model.training_arrays must be a dict of arrays keyed by strings")
    arrays.update((f"training/{j}", np.asarray(value)) for j, value in enumerate(extra.values()))
    return list(extra)


def _write_archive(path, header: dict, arrays: dict) -> None:
    values.check_json(header, "the file header", loading=False)
    payload = json.dumps(header, indent=1, allow_nan=False).encode("utf-8")
    if len(payload) > MAX_HEADER_BYTES or len(arrays) >= MAX_MEMBERS:
        raise ValueError(f"the model is too large for one file: {len(arrays)} arrays, "
                         f"{len(payload)} bytes of header")
    members = []
    for key, value in arrays.items():
        value = np.asarray(value)
        little = value.dtype.newbyteorder("<")  # files are little-endian wherever written
        if not _ARRAY_NAME.fullmatch(f"arrays/{key}.npy") or little not in ALLOWED_DTYPES:
            raise TypeError(f"cannot save array {key!r} of dtype {value.dtype}; a model file "
                            f"holds {sorted(str(t) for t in ALLOWED_DTYPES)}")
        members.append((f"arrays/{key}.npy", np.ascontiguousarray(value, dtype=little)))

    def write(f):
        inflated = 0  # what the deflated members hold: the reader inflates at most the limit
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(zipfile.ZipInfo(HEADER, _ZIP_DATE), payload)
            for name, value in members:
                buffer = _bytes_io.BytesIO()
                np.lib.format.write_array(buffer, value, allow_pickle=False)
                data = buffer.getvalue()
                info = zipfile.ZipInfo(name, _ZIP_DATE)
                # A history is long and repetitive (a 3,000-epoch run: 168 KB of float64,
                # 60 KB deflated); parameters are neither, and stay stored.
                if name.startswith(_HISTORY) and inflated + len(data) <= MAX_INFLATED_BYTES:
                    inflated += len(data)
                    archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED,
                                     compresslevel=9)
                else:
                    archive.writestr(info, data)

    atomic_write(path, write)


# -- reading --------------------------------------------------------------------------------


def read_archive(path) -> tuple[dict, dict]:
    """Read and check a chainrule file; return ``(header, arrays)``.

    Raises ``ModelFileError`` for anything that is not a well-formed file.
    ``FileNotFoundError`` and other OS errors pass through unchanged.
    """
    try:
        with Archive(path) as archive:
            for name, member in archive.members.items():
                if member.method == DEFLATED and not name.startswith(_HISTORY):
                    raise ModelFileError(f"member {name[:80]!r} is compressed (deflated); "
                                         "only the history's members may be")
            header = _read_header(archive)
            arrays = {}
            for name in archive.members:
                match = _ARRAY_NAME.fullmatch(name)
                if name != HEADER and match is None:
                    raise ModelFileError(f"unexpected archive member {name[:80]!r}")
                if match:
                    arrays[match.group(1)] = _read_npy(archive.read(name), name)
            return header, arrays
    except (OSError, MemoryError):
        raise
    except ModelFileError as exc:
        raise ModelFileError(f"{os.fspath(path)}: {exc}") from None
    except Exception as exc:  # the json and npy parsers raise many kinds
        raise ModelFileError(f"{os.fspath(path)}: not a valid chainrule file "
                             f"({type(exc).__name__}: {exc})") from exc


def _read_header(archive: Archive) -> dict:
    member = archive.members.get(HEADER)
    if member is None:
        raise ModelFileError(f"missing {HEADER}: not a chainrule file")
    if member.size > MAX_HEADER_BYTES:
        raise ModelFileError(f"{HEADER} is too large ({member.size} bytes)")
    header = values.parse_json(archive.read(HEADER))
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError("not a chainrule file: its header has no 'format': 'chainrule'")
    version = header.get("version")
    if type(version) is not int or not 1 <= version <= VERSION:
        raise ModelFileError(f"unsupported file version {str(version)[:20]}; this chainrule "
                             f"reads versions 1 to {VERSION}")
    if header.get("kind") not in ("model", "checkpoint", "parameters"):
        raise ModelFileError(f"unknown file kind {str(header.get('kind'))[:40]!r}")
    if not isinstance(header.get("layers"), list) or not header["layers"]:
        raise ModelFileError("header 'layers' must be a non-empty list")
    # A version 1 history is a long list of numbers, checked on its own.
    values.check_json(header, HEADER, loading=True, skip=("history",) if version == 1 else ())
    return header


def _read_npy(blob: bytearray, name: str) -> np.ndarray:
    """Parse one ``.npy`` member without pickle; the array shares ``blob``'s memory."""
    head = _bytes_io.BytesIO(bytes(blob[:_NPY_HEADER_BYTES]))
    version = np.lib.format.read_magic(head)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(head)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(head)
    else:
        raise ModelFileError(f"{name}: unsupported .npy version {version}")
    if dtype not in ALLOWED_DTYPES or fortran:
        raise ModelFileError(f"{name}: unsupported array dtype {dtype} (only plain numbers)")
    count, offset = math.prod(shape), head.tell()
    if any(n < 0 for n in shape) or count * dtype.itemsize != len(blob) - offset:
        raise ModelFileError(f"{name}: declares shape {shape} ({count * dtype.itemsize} bytes) "
                             f"but holds {len(blob) - offset} bytes")
    return np.frombuffer(blob, dtype=dtype, count=count, offset=offset).reshape(shape)


# -- building a model from a file -----------------------------------------------------------


def load_model(path, model_class):
    """Build the model stored at ``path`` (a model or a checkpoint)."""
    header, arrays = read_archive(path)
    if header["kind"] == "parameters":
        raise ModelFileError(f"{os.fspath(path)} holds parameters only (save_parameters); "
                             "build the model, then call model.load_parameters(path)")
    try:
        return _build.build_model(header, arrays, model_class)
    except ModelFileError as exc:
        raise ModelFileError(f"{os.fspath(path)}: {exc}") from None
    except MemoryError:
        raise
    except Exception as exc:
        raise ModelFileError(f"{os.fspath(path)}: inconsistent chainrule file "
                             f"({type(exc).__name__}: {exc})") from exc


def load_parameters(model, path) -> None:
    """Copy the parameters stored at ``path`` into ``model``'s layers (all or nothing)."""
    header, arrays = read_archive(path)
    try:
        parameters = _build.parameters(header, arrays)
    except ModelFileError as exc:
        raise ModelFileError(f"{os.fspath(path)}: {exc}") from None
    model.set_parameters(parameters)

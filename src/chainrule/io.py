"""Model files: a documented, pickle-free format, written atomically.

A chainrule file is an uncompressed ZIP archive holding

* ``chainrule.json`` — the header: ``{"format": "chainrule", "version": 1, "kind": ...}``
  with the architecture (each layer's class name and ``config()``), the loss,
  the optimizer and metric, and for checkpoints the training state; and
* ``arrays/<key>.npy`` — one NumPy ``.npy`` file per array: parameters
  (``layers/<i>/<name>``), optimizer state (``optimizer/<i>/<name>/<slot>``)
  and random-generator state.

``kind`` is ``"model"`` (``Model.save``), ``"checkpoint"`` (``train(checkpoint=...)``)
or ``"parameters"`` (``save_parameters``). Reading never unpickles: ``.npy``
headers are parsed as literals, only plain numeric dtypes are accepted, every
declared size is checked against the bytes actually present before anything is
allocated, and class names are looked up in a fixed registry. Anything else
raises ``ModelFileError``.
"""

from __future__ import annotations

import io as _bytes_io
import json
import math
import os
import threading
import zipfile

import numpy as np

from . import activations, layers, losses, metrics, optimizers

FORMAT = "chainrule"
VERSION = 1
HEADER = "chainrule.json"
MAX_HEADER_BYTES = 16 * 2**20
MAX_MEMBERS = 10_000
ALLOWED_DTYPES = {np.dtype(t) for t in ("<f4", "<f8", "<i8", "<i4", "<u4", "<u1", "|u1")}
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same model gives the same bytes

_LAYERS = {cls.__name__: cls for cls in (
    layers.Dense, layers.Dropout, activations.ReLU, activations.LeakyReLU, activations.Sigmoid,
    activations.Tanh, activations.Softmax, activations.Linear)}
_LOSSES = {cls.__name__: cls for cls in (
    losses.CategoricalCrossentropy, losses.BinaryCrossentropy, losses.MeanSquaredError,
    losses.MeanAbsoluteError)}
_OPTIMIZERS = {cls.__name__: cls for cls in (
    optimizers.SGD, optimizers.Adagrad, optimizers.RMSprop, optimizers.Adam)}
_METRICS = {cls.__name__: cls for cls in (metrics.CategoricalAccuracy, metrics.RegressionAccuracy)}


class ModelFileError(ValueError):
    """A file is not a valid chainrule file: damaged, truncated, foreign or malicious."""


# -- writing --------------------------------------------------------------------------------


def save_model(model, path, *, checkpoint: bool = False) -> None:
    """Write ``model`` (architecture, loss, optimizer, parameters) to ``path``."""
    if not model.layers:
        raise ValueError("cannot save a Model with no layers")
    header = {
        "format": FORMAT,
        "version": VERSION,
        "kind": "checkpoint" if checkpoint else "model",
        "layers": [_describe(layer) for layer in model.layers],
        "loss": _describe(model.loss),
        "accuracy": _describe(model.accuracy),
        "optimizer": None,
        "epoch": model.epoch,
        "history": model.history,
    }
    arrays = _parameter_arrays(model)
    if model.optimizer is not None:
        opt = model.optimizer
        header["optimizer"] = {**_describe(opt), "iterations": opt.iterations,
                               "current_learning_rate": float(opt.current_learning_rate)}
        for i, layer in enumerate(model.layers):
            for name in layer.params:
                for slot, value in opt.get_state(layer, name).items():
                    arrays[f"optimizer/{i}/{name}/{slot}"] = value
    if checkpoint:
        header["random"] = _random_state(model, arrays)
    _write_archive(path, header, arrays)


def save_parameters(model, path) -> None:
    """Write only the parameters of ``model`` to ``path``."""
    header = {
        "format": FORMAT,
        "version": VERSION,
        "kind": "parameters",
        "layers": [{"class": type(layer).__name__} for layer in model.layers],
    }
    _write_archive(path, header, _parameter_arrays(model))


def _describe(obj):
    if obj is None:
        return None
    return {"class": type(obj).__name__, "config": obj.config()}


def _parameter_arrays(model) -> dict:
    return {f"layers/{i}/{name}": getattr(layer, name)
            for i, layer in enumerate(model.layers) for name in layer.params}


def _random_state(model, arrays: dict) -> dict:
    """Generator states as JSON; NumPy's global state (624 words) as an array."""
    keys_name, keys, position, has_gauss, cached = np.random.get_state()
    arrays["random/global_keys"] = keys
    state = {
        "global": {"name": keys_name, "pos": int(position), "has_gauss": int(has_gauss),
                   "cached_gaussian": float(cached)},
        "model": None if model.rng is None else model.rng.bit_generator.state,
        "layers": {},
    }
    for i, layer in enumerate(model.layers):
        rng = getattr(layer, "rng", None)
        if rng is not None:
            state["layers"][str(i)] = rng.bit_generator.state
    return state


def _write_archive(path, header: dict, arrays: dict) -> None:
    payload = json.dumps(header, indent=1, allow_nan=False).encode("utf-8")

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(zipfile.ZipInfo(HEADER, _ZIP_DATE), payload)
            for key, value in arrays.items():
                buffer = _bytes_io.BytesIO()
                np.lib.format.write_array(buffer, np.ascontiguousarray(value), allow_pickle=False)
                archive.writestr(zipfile.ZipInfo(f"arrays/{key}.npy", _ZIP_DATE),
                                 buffer.getvalue())

    atomic_write(path, write)


def atomic_write(path, write) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it into place.

    A crash at any moment leaves either the old file or the new one, never a
    mixture: ``os.replace`` is atomic, and the data is flushed to disk first. The
    temporary file is named after this process, so temporaries left by writers
    that were killed can be recognised, and are removed after the next write.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.{threading.get_ident()}.tmp")
    # Mode 0o666 less the umask: the file gets the permissions any new file would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _sync_directory(directory)
    _remove_orphans(directory, name)


def _sync_directory(directory: str) -> None:
    """Make the rename itself durable; not possible on every platform."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _remove_orphans(directory: str, name: str) -> None:
    """Delete temporaries of ``name`` whose writing process no longer exists."""
    if os.name != "posix":  # os.kill(pid, 0) only probes on POSIX
        return
    prefix = f".{name}."
    for entry in os.listdir(directory):
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        pid = entry[len(prefix):-len(".tmp")].split(".")[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            os.unlink(os.path.join(directory, entry))
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- reading --------------------------------------------------------------------------------


def read_archive(path) -> tuple[dict, dict]:
    """Read and check a chainrule file; return ``(header, arrays)``.

    Raises ``ModelFileError`` for anything that is not a well-formed file.
    ``FileNotFoundError`` and other OS errors pass through unchanged.
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        return _parse_archive(data)
    except ModelFileError:
        raise
    except Exception as exc:  # zipfile, json and npy parsers raise many kinds
        raise ModelFileError(f"{os.fspath(path)}: not a valid chainrule file "
                             f"({type(exc).__name__}: {exc})") from exc


def _parse_archive(data: bytes) -> tuple[dict, dict]:
    if not data.startswith(b"PK"):
        raise ModelFileError("not a chainrule file: it is not a ZIP archive "
                             "(chainrule never reads pickles)")
    with zipfile.ZipFile(_bytes_io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ModelFileError(f"too many archive members ({len(infos)})")
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise ModelFileError("duplicate archive members")
        for info in infos:
            # Stored members only: no decompression, so no size can exceed the file's.
            if info.compress_type != zipfile.ZIP_STORED or info.file_size > len(data):
                raise ModelFileError(f"member {info.filename!r} is compressed or oversized")
        if HEADER not in names:
            raise ModelFileError(f"missing {HEADER}: not a chainrule file")
        header_info = archive.getinfo(HEADER)
        if header_info.file_size > MAX_HEADER_BYTES:
            raise ModelFileError(f"{HEADER} is too large")
        header = json.loads(archive.read(HEADER).decode("utf-8"))
        _check_header(header)
        arrays = {}
        for name in names:
            if name == HEADER:
                continue
            if not (name.startswith("arrays/") and name.endswith(".npy")):
                raise ModelFileError(f"unexpected archive member {name!r}")
            arrays[name[len("arrays/"):-len(".npy")]] = _read_npy(archive.read(name), name)
    return header, arrays


def _check_header(header) -> None:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError("not a chainrule file: its header has no 'format': 'chainrule'")
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
        raise ModelFileError(f"unsupported file version {version!r}; this chainrule reads "
                             f"version {VERSION}")
    if header.get("kind") not in ("model", "checkpoint", "parameters"):
        raise ModelFileError(f"unknown file kind {header.get('kind')!r}")
    if not isinstance(header.get("layers"), list):
        raise ModelFileError("header 'layers' must be a list")


def _read_npy(blob: bytes, name: str) -> np.ndarray:
    """Parse one ``.npy`` member without pickle, checking its size before allocating."""
    f = _bytes_io.BytesIO(blob)
    major, _ = np.lib.format.read_magic(f)
    if major == 1:
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    elif major in (2, 3):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise ModelFileError(f"{name}: unsupported .npy version {major}")
    if dtype not in ALLOWED_DTYPES or fortran:
        raise ModelFileError(f"{name}: unsupported array dtype {dtype} (only plain numbers)")
    count = math.prod(shape)
    data = blob[f.tell():]
    if count * dtype.itemsize != len(data):
        raise ModelFileError(f"{name}: declares shape {shape} ({count * dtype.itemsize} bytes) "
                             f"but holds {len(data)} bytes")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


# -- building a model from a file -----------------------------------------------------------


def load_model(path, model_class):
    """Build the model stored at ``path`` (a model or a checkpoint)."""
    header, arrays = read_archive(path)
    if header["kind"] == "parameters":
        raise ModelFileError(f"{os.fspath(path)} holds parameters only (save_parameters); "
                             "build the model, then call model.load_parameters(path)")
    try:
        return _build_model(header, arrays, model_class)
    except ModelFileError:
        raise
    except Exception as exc:
        raise ModelFileError(f"{os.fspath(path)}: inconsistent chainrule file "
                             f"({type(exc).__name__}: {exc})") from exc


def load_parameters(model, path) -> None:
    """Copy the parameters stored at ``path`` into ``model``'s layers."""
    header, arrays = read_archive(path)
    try:
        parameters = []
        for i, entry in enumerate(header["layers"]):
            cls = _lookup(_LAYERS, entry["class"], "layer")
            if cls.params:
                parameters.append(tuple(arrays[f"layers/{i}/{name}"] for name in cls.params))
    except ModelFileError:
        raise
    except Exception as exc:
        raise ModelFileError(f"{os.fspath(path)}: inconsistent parameters file "
                             f"({type(exc).__name__}: {exc})") from exc
    model.set_parameters(parameters)


def _lookup(registry: dict, name, what: str):
    if not isinstance(name, str) or name not in registry:
        raise ModelFileError(f"unknown {what} class {name!r}; known: {sorted(registry)}")
    return registry[name]


def _construct(registry: dict, entry, what: str):
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise ModelFileError(f"{what} entry must be an object with 'class' and 'config'")
    cls = _lookup(registry, entry.get("class"), what)
    # Constructors may draw random numbers (initial weights); the global state is
    # left exactly as it was, so loading a model never changes a user's random stream.
    state = np.random.get_state()
    try:
        return cls(**entry["config"])
    finally:
        np.random.set_state(state)


def _build_model(header: dict, arrays: dict, model_class):
    model = model_class()
    for i, entry in enumerate(header["layers"]):
        cls = _lookup(_LAYERS, entry.get("class") if isinstance(entry, dict) else None, "layer")
        config = entry.get("config") if isinstance(entry, dict) else None
        if not isinstance(config, dict):
            raise ModelFileError(f"layer {i} has no 'config' object")
        # Shapes are checked against the arrays present before the layer allocates anything.
        for name, shape in cls.parameter_shapes(config).items():
            array = arrays.get(f"layers/{i}/{name}")
            if array is None or array.shape != tuple(shape) or array.dtype.kind != "f":
                raise ModelFileError(f"layer {i} ({cls.__name__}) {name}: expected a float "
                                     f"array of shape {tuple(shape)} in the file")
        layer = _construct(_LAYERS, entry, "layer")
        for name in layer.params:
            setattr(layer, name, arrays[f"layers/{i}/{name}"].astype(getattr(layer, name).dtype))
        model.add(layer)
    _check_chain(model)
    loss = _construct(_LOSSES, header.get("loss"), "loss") if header.get("loss") else None
    accuracy = header.get("accuracy")
    accuracy = _construct(_METRICS, accuracy, "accuracy") if accuracy else None
    optimizer = _build_optimizer(header.get("optimizer"), model, arrays)
    model.set(loss=loss, optimizer=optimizer, accuracy=accuracy)
    if loss is not None:
        model.finalize()
    model.epoch = _nonnegative_int(header.get("epoch", 0), "epoch")
    model.history = _history(header.get("history", {}), model.epoch)
    if header["kind"] == "checkpoint":
        _restore_random(header.get("random"), model, arrays)
        model.resume_from_checkpoint = True
    return model


def _check_chain(model) -> None:
    """One zero sample through the layers: consecutive shapes must fit."""
    n_inputs = getattr(model.layers[0], "n_inputs", None)
    if n_inputs is not None:
        try:
            model.forward(np.zeros((1, n_inputs), dtype=model.dtype), training=False)
        except ValueError as exc:
            raise ModelFileError(f"the layers do not fit together: {exc}") from exc


def _build_optimizer(entry, model, arrays):
    if entry is None:
        return None
    optimizer = _construct(_OPTIMIZERS, entry, "optimizer")
    optimizer.iterations = _nonnegative_int(entry.get("iterations", 0), "optimizer iterations")
    rate = entry.get("current_learning_rate", optimizer.learning_rate)
    if not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
        raise ModelFileError(f"optimizer current_learning_rate must be > 0; got {rate!r}")
    optimizer.current_learning_rate = float(rate)
    for i, layer in enumerate(model.layers):
        for name in layer.params:
            prefix = f"optimizer/{i}/{name}/"
            state = {key[len(prefix):]: value for key, value in arrays.items()
                     if key.startswith(prefix)}
            if state:
                optimizer.set_state(layer, name, state)
    return optimizer


def _nonnegative_int(value, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ModelFileError(f"{what} must be a non-negative integer; got {value!r}")
    return value


def _history(history, epoch: int) -> dict:
    if not isinstance(history, dict):
        raise ModelFileError("history must be an object of lists")
    for key, values in history.items():
        if not isinstance(values, list) or len(values) != epoch or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
        ):
            raise ModelFileError(f"history {key!r} must be a list of {epoch} numbers")
    return {key: [float(v) for v in values] for key, values in history.items()}


def _restore_random(state, model, arrays) -> None:
    if not isinstance(state, dict):
        raise ModelFileError("checkpoint has no random-generator state")
    glob = state["global"]
    keys = arrays["random/global_keys"]
    if keys.shape != (624,) or keys.dtype != np.uint32:
        raise ModelFileError("checkpoint global random state must be 624 uint32 words")
    np.random.set_state((glob["name"], keys, int(glob["pos"]), int(glob["has_gauss"]),
                         float(glob["cached_gaussian"])))
    model.rng = None if state.get("model") is None else _generator(state["model"])
    for index, layer_state in state.get("layers", {}).items():
        model.layers[int(index)].rng = _generator(layer_state)


def _generator(state) -> np.random.Generator:
    name = state.get("bit_generator") if isinstance(state, dict) else None
    known = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM,
             "MT19937": np.random.MT19937, "Philox": np.random.Philox, "SFC64": np.random.SFC64}
    if name not in known:
        raise ModelFileError(f"unknown random generator {name!r}")
    bit_generator = known[name]()
    bit_generator.state = state
    return np.random.Generator(bit_generator)

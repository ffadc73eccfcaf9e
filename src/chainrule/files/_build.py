"""Building a Model from a checked model file: architecture, optimizer, history, random states.

``io.read_archive`` has checked the archive, the header's bounds and every
array's dtype and size; what is left is whether they describe a model. Classes
come from the registries below, nothing else is ever looked up by name. Each
array the model uses is taken out of ``arrays``, and one left over is an error.
"""

from __future__ import annotations

import re
import sys
from types import FunctionType, GetSetDescriptorType

import numpy as np

from .. import nn, optim
from . import _values as values
from ._archive import ModelFileError

LAYERS = {cls.__name__: cls for cls in (
    nn.Dense, nn.Dropout, nn.Input, nn.ReLU, nn.LeakyReLU,
    nn.Sigmoid, nn.Tanh, nn.Softmax, nn.Linear,
    nn.Normalization)}
LOSSES = {cls.__name__: cls for cls in (
    nn.CategoricalCrossentropy, nn.BinaryCrossentropy, nn.MeanSquaredError,
    nn.MeanAbsoluteError)}
OPTIMIZERS = {cls.__name__: cls for cls in (
    optim.SGD, optim.Adagrad, optim.RMSprop, optim.Adam)}
METRICS = {cls.__name__: cls for cls in (nn.CategoricalAccuracy, nn.RegressionAccuracy)}

# What a class body may define and still be recorded as the registered class it extends:
# how it is built and shown, and Python's bookkeeping. The book's names need no more
# (``Layer_Dense`` only takes its regularisers positionally), and a file records the base
# class with ``config()``, which rebuilds the same object. Anything else — forward,
# backward, jacobian, config, a loss's or a metric's formula, an optimizer's update, a class
# constant such as ``params`` — may change what the object computes, and the base class
# named in the file would then compute something else, silently.
CONSTRUCTION = frozenset({
    "__init__", "__repr__", "__str__", "__doc__", "__module__", "__qualname__", "__dict__",
    "__weakref__", "__annotations__", "__firstlineno__", "__static_attributes__",
    "__slots__", "__orig_bases__", "__parameters__",
    # copyreg caches it in the class the first time an object is copied or pickled; ABCMeta
    # gives every class it makes (one with abc.ABC among its bases) the other two
    "__slotnames__", "__abstractmethods__", "_abc_impl"})


# What a class says about its arrays. An object holding its own (``layer.params =
# ("weights",)`` to freeze the biases) trains other arrays than its class does, and a file
# stores the arrays these name: the loader, which rebuilds the class, would not find them.
DECLARATIONS = ("params", "state_arrays", "slots")

# A class's own namespace and MRO, read through ``type``'s descriptors: a metaclass may
# define ``__dict__`` or ``__mro__`` properties that show something else to ``vars(cls)``.
_NAMESPACE = type.__dict__["__dict__"].__get__
_MRO = type.__dict__["__mro__"].__get__
_QUALNAME = type.__dict__["__qualname__"].__get__


def _patched(cls: type) -> list[str]:
    """The names of chainrule's class ``cls`` changed since chainrule defined them.

    The registered classes and their bases are compared with their namespaces as
    recorded when this module is imported (at ``import chainrule``, before any user code
    can assign ``cr.Sigmoid.forward = ...``): any name assigned, added or deleted.
    chainrule's other classes (the book's names, imported later) hold only functions
    their own body defined."""
    now, missing = _NAMESPACE(cls), object()
    defined = _DEFINED.get(cls)
    if defined is not None:
        return sorted(name for name in defined.keys() | now.keys()
                      if now.get(name, missing) is not defined.get(name, missing)
                      and name != "__slotnames__")
    return sorted(name for name, value in now.items() if not _defined_here(cls, name, value))


def _defined_here(cls: type, name: str, value) -> bool:
    """Whether ``value``, found as ``cls.name``, is what ``cls``'s body defined there (or
    no function at all)."""
    value = getattr(value, "__func__", value)  # staticmethod, classmethod
    functions = ([value.fget, value.fset, value.fdel] if isinstance(value, property)
                 else [value])
    return all(not isinstance(function, FunctionType)
               or (function.__module__ == _NAMESPACE(cls).get("__module__")
                   and function.__qualname__ == f"{_QUALNAME(cls)}.{name}")
               for function in functions)


def registered_base(obj, registry: dict):
    """The first class along ``type(obj)``'s MRO that ``registry`` holds, or None."""
    for cls in _MRO(type(obj)):
        if registry.get(cls.__name__) is cls:
            return cls
    return None


def _trusted(cls: type) -> bool:
    """chainrule's own classes (the book's ``Layer_Dense``) and ``abc``'s and ``typing``'s
    helpers: known by identity, as the object their module names, never by the
    ``__module__`` a class body may claim."""
    module = _NAMESPACE(cls).get("__module__")
    if not isinstance(module, str) or module.partition(".")[0] not in ("chainrule", "abc",
                                                                       "typing"):
        return False
    found = sys.modules.get(module)
    for part in _QUALNAME(cls).split("."):
        found = getattr(found, part, None)
    return found is cls


def _changes(cls: type) -> list[str]:
    """The names ``cls``'s body defines that may change what its objects compute. A
    ``__dict__`` or ``__weakref__`` of its own making (a property) would hide the object's
    attributes from the check below, so only Python's own pass as bookkeeping."""
    return sorted(name for name, value in _NAMESPACE(cls).items()
                  if name not in CONSTRUCTION or (name in ("__dict__", "__weakref__")
                                                  and type(value) is not GetSetDescriptorType))


def check_same_math(obj, base: type, what: str, action: str) -> None:
    """Refuse to record ``obj`` as ``base`` unless it computes what ``base`` computes.

    Every class in ``type(obj)``'s MRO that ``base`` does not already have — subclasses,
    classes in between, mixins — may define only ``CONSTRUCTION`` names, unless it is
    chainrule's own (the book's ``Layer_Dense`` and ``Layer_Dropout``, tested to round
    trip); and the object may not hold a method of its own (``layer.forward = ...``), nor,
    for a file, its own ``DECLARATIONS`` (``layer.params``). ``what`` names the object
    ("layer 2", "loss"), ``action`` is "save" or "export".
    Raises ``TypeError`` naming the class and the method.
    """
    mro = _MRO(type(obj))
    for cls in mro:
        if cls in _MRO(base) or _trusted(cls):
            patched = _patched(cls)
            if patched:  # a file, or a graph, would hold chainrule's class as it defines it
                _refuse(obj, what, action, base, f"chainrule's class {_QUALNAME(cls)} has been "
                        f"changed since it was imported ({', '.join(map(repr, patched))})")
            continue
        changed = _changes(cls)
        if changed:
            _refuse(obj, what, action, base,
                    f"its class {_QUALNAME(cls)} defines {', '.join(map(repr, changed))}")
    missing = object()
    own = vars(obj) if hasattr(obj, "__dict__") else {}
    # dict's own items(): a dict subclass put in as __dict__ cannot leave an entry out.
    for name, value in dict.items(own):
        # Any name the class has: a method, or a hook left empty (Optimizer._fused_update).
        declared = next((_NAMESPACE(cls)[name] for cls in mro if name in _NAMESPACE(cls)),
                        missing)
        if declared is missing:
            continue
        if callable(value) or (action == "save" and name in DECLARATIONS
                               and value != declared):
            _refuse(obj, what, action, base, f"the object holds its own {name!r}, in place of "
                                             f"its class's")


def _refuse(obj, what: str, action: str, base: type, reason: str):
    where = "an ONNX graph would compute" if action == "export" else "a file would rebuild"
    alternative = ("" if action == "export" else "; model.save_parameters(path) keeps the "
                   "parameters alone, for a model built with your classes in code")
    raise TypeError(f"cannot {action} {what} ({type(obj).__name__}): {reason}, and {where} "
                    f"{base.__name__}'s math instead. Only __init__ and __repr__ may differ "
                    f"from the built-in class{alternative}")


def parameters(header: dict, arrays: dict) -> list[tuple]:
    """The parameters as ``Model.set_parameters`` takes them, from any kind of file."""
    found_all = []
    for i, entry in enumerate(header["layers"]):
        cls = _lookup(LAYERS, entry.get("class") if isinstance(entry, dict) else None,
                      f"layer {i}")
        found = tuple(arrays.get(f"layers/{i}/{name}") for name in cls.params)
        if any(array is None or array.dtype.kind != "f" for array in found):
            raise ModelFileError(f"layer {i} ({cls.__name__}) lacks its float arrays "
                                 f"{cls.params}")
        if found:
            found_all.append(found)
    return found_all


def _lookup(registry: dict, name, what: str):
    """The class ``name`` names; ``what`` is e.g. "layer 3" (its kind, then where it is)."""
    if not isinstance(name, str) or name not in registry:
        kind, _, where = what.partition(" ")
        raise ModelFileError(f"unknown {kind} class {str(name)[:80]!r}"
                             f"{f' (at {what})' if where else ''}; known: {sorted(registry)}")
    return registry[name]


def _class_and_config(registry: dict, entry, what: str):
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise ModelFileError(f"{what} entry must be an object with 'class' and 'config'")
    return _lookup(registry, entry.get("class"), what), entry["config"]


def _construct(cls, config: dict):
    """``cls(**config)``, refused unless its ``config()`` gives back what the file says."""
    # Constructors may draw random numbers (initial weights); the global state is
    # left exactly as it was, so loading a model never changes a user's random stream.
    state = np.random.get_state()
    try:
        obj = cls(**config)
    finally:
        np.random.set_state(state)
    # A value the constructor coerced (binary=[1, 2] → True) is not the value saved.
    rebuilt = obj.config()
    if any(key not in rebuilt or rebuilt[key] != value for key, value in config.items()):
        raise ModelFileError(f"{cls.__name__} config {str(config)[:200]} does not rebuild as "
                             f"itself (it gives {str(rebuilt)[:200]})")
    return obj


def build_model(header: dict, arrays: dict, model_class):
    """The model the file describes; each array it uses is taken out of ``arrays``."""
    model = model_class()
    for i, entry in enumerate(header["layers"]):
        model.add(_build_layer(i, entry, arrays))
    _check_chain(model)
    loss = accuracy = None
    if header.get("loss") is not None:
        loss = _construct(*_class_and_config(LOSSES, header["loss"], "loss"))
    if header.get("accuracy") is not None:
        accuracy = _construct(*_class_and_config(METRICS, header["accuracy"], "accuracy"))
    optimizer = _build_optimizer(header.get("optimizer"), model, arrays)
    model.set(loss=loss, optimizer=optimizer, accuracy=accuracy)
    if loss is not None:
        model.finalize()
    model.epoch = values.check_count(header.get("epoch", 0), "epoch")
    model.history = _history(header, arrays)
    metadata = header.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ModelFileError("metadata must be an object")
    model.metadata = metadata
    model.training_state = model.global_random_state = None
    model.training_arrays = {}
    if header["kind"] == "checkpoint":
        _restore_random(header.get("random"), model, arrays)
        state = header.get("training_state")
        if state is not None and not isinstance(state, dict):
            raise ModelFileError("training_state must be an object")
        model.training_state = state
        model.training_arrays = _training_arrays(header.get("training_arrays", []), arrays)
        model.resume_from_checkpoint = True
    if arrays:
        raise ModelFileError(f"the file holds arrays no part of the model uses: "
                             f"{sorted(arrays)[:5]}")
    return model


def _build_layer(i: int, entry, arrays: dict):
    cls, config = _class_and_config(LAYERS, entry, f"layer {i}")
    # Shapes are checked against the arrays present before the layer allocates anything.
    found = {}
    for name, shape in cls.parameter_shapes(config).items():
        array = arrays.pop(f"layers/{i}/{name}", None)
        if array is None or array.shape != tuple(shape) or array.dtype.kind != "f":
            raise ModelFileError(f"layer {i} ({cls.__name__}) {name}: expected a float array "
                                 f"of shape {tuple(shape)} in the file")
        found[name] = array
    layer = _construct(cls, config)
    for name in layer.params:
        param = getattr(layer, name)
        if found[name].dtype != param.dtype:
            raise ModelFileError(f"layer {i} ({cls.__name__}) {name}: the file holds "
                                 f"{found[name].dtype}, the layer is {param.dtype}")
        param[...] = found[name]  # parameters stay put: written into the layer's own array
    _restore_state_arrays(i, cls, config, layer, arrays)
    return layer


def _restore_state_arrays(i: int, cls, config: dict, layer, arrays: dict) -> None:
    """A layer's non-trainable arrays (``state_arrays``: Normalization's mean and std)."""
    shapes = cls.state_shapes(config) if hasattr(cls, "state_shapes") else {}
    found = {}
    for name, shape in shapes.items():
        array = arrays.pop(f"layers/{i}/{name}", None)
        if array is None or array.shape != tuple(shape) or array.dtype.kind != "f":
            raise ModelFileError(f"layer {i} ({cls.__name__}) {name}: expected a float array "
                                 f"of shape {tuple(shape)} in the file")
        found[name] = array
    if found:
        layer.set_state_arrays(**found)


def _check_chain(model) -> None:
    """One zero sample through the layers: consecutive shapes must fit."""
    n_inputs = getattr(model.layers[0], "n_inputs", None)
    if n_inputs is not None:
        try:
            with np.errstate(all="ignore"):  # saved parameters may be anything finite or not
                model.forward(np.zeros((1, n_inputs), dtype=model.dtype), training=False)
        except ValueError as exc:
            raise ModelFileError(f"the layers do not fit together: {exc}") from exc


def _build_optimizer(entry, model, arrays: dict):
    if entry is None:
        return None
    optimizer = _construct(*_class_and_config(OPTIMIZERS, entry, "optimizer"))
    optimizer.iterations = values.check_count(entry.get("iterations", 0), "optimizer iterations")
    rate = entry.get("current_learning_rate", optimizer.learning_rate)
    optimizer.current_learning_rate = values.check_rate(rate, "optimizer current_learning_rate")
    states: dict[tuple[str, str], dict] = {}
    for key in [key for key in arrays if key.startswith("optimizer/")]:
        parts = key.split("/")
        if len(parts) == 4:
            states.setdefault((parts[1], parts[2]), {})[parts[3]] = arrays.pop(key)
    for i, layer in enumerate(model.layers):
        for name in layer.params:
            state = states.pop((str(i), name), None)
            if state is None:
                continue
            # A float16 parameter's float32 master copy may be missing (files written
            # before it existed): it then starts from the parameter.
            expected = optimizer.state_slots(getattr(layer, name))
            if set(state) not in (set(expected), set(optimizer.slots)) or any(
                    a.dtype.kind != "f" for a in state.values()):
                raise ModelFileError(f"optimizer state of layer {i} {name} must be the float "
                                     f"arrays {expected}; got {sorted(state)}")
            optimizer.set_state(layer, name, state)
    if states:
        raise ModelFileError(f"optimizer state for parameters the model lacks: "
                             f"{sorted(states)[:5]}")
    return optimizer


def _history(header: dict, arrays: dict) -> dict:
    if header["version"] == 1:
        return values.history_from_json(header.get("history", {}))
    keys = header.get("history", [])
    if not isinstance(keys, list) or len(keys) > values.MAX_HISTORY_KEYS:
        raise ModelFileError("history must be a list of names")
    return values.history_from_arrays(keys, [arrays.pop(f"history/{j}", None)
                                             for j in range(len(keys))])


def _training_arrays(names, arrays: dict) -> dict:
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names) \
            or len(set(names)) != len(names):
        raise ModelFileError("training_arrays must be a list of distinct names")
    found = {name: arrays.pop(f"training/{j}", None) for j, name in enumerate(names)}
    missing = [name for name, array in found.items() if array is None]
    if missing:
        raise ModelFileError(f"training arrays missing from the file: {missing[:5]}")
    return found


def _restore_random(state, model, arrays: dict) -> None:
    """Generators onto the model and its layers; NumPy's global state onto
    ``model.global_random_state``, for the training loop to restore when it resumes."""
    if not isinstance(state, dict) or not isinstance(state.get("layers"), dict):
        raise ModelFileError("checkpoint has no random-generator state")
    model.global_random_state = values.global_state_from_json(
        state.get("global"), arrays.pop("random/global_keys", None))
    rng = state.get("model")
    model.rng = None if rng is None else values.generator_from_state(rng, "model rng")
    for index, layer_state in state["layers"].items():
        if not re.fullmatch(r"[0-9]{1,6}", index) or int(index) >= len(model.layers) \
                or not hasattr(model.layers[int(index)], "rng"):
            raise ModelFileError(f"random state for layer {index[:20]!r}, which has no rng")
        model.layers[int(index)].rng = values.generator_from_state(layer_state,
                                                                   f"layer {index} rng")


_DEFINED = {cls: dict(_NAMESPACE(cls))
            for registry in (LAYERS, LOSSES, OPTIMIZERS, METRICS)
            for registered in registry.values() for cls in _MRO(registered)}

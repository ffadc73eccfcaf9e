"""Flat groups: parameters that lie back to back in memory, updated as one flat array.

``Optimizer.step`` updates a layer whose parameters are consecutive views of one
buffer (``Dense`` keeps ``weights`` and ``biases`` that way), and a run of such
layers built one after another, as a single 1-D array instead of array by array.
This module finds those runs (``_Groups``), lays out the gradients, optimizer
state and backup of each run in the same order (``_Group``), cuts it into
cache-sized chunks, and puts a step back from the backup when it fails. The
optimizers' math is in ``optimizers.py``; nothing here depends on it.
"""

from __future__ import annotations

import numpy as np

# Elements per chunk of the flat update: the chunk of every array the update
# touches fits in a core's L2 cache, so its ~12 passes read main memory once.
CHUNK = 65_536
#: the state slot holding a float16 parameter's float32 master copy
MASTER = "master"


def work_dtype(dtype) -> np.dtype:
    """The dtype an optimizer updates and keeps state in: float32 for float16 parameters
    (mixed precision: see ``optimizers``), the parameters' own otherwise."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if dtype.kind == "f" and dtype.itemsize < 4 else dtype


def adopt_changes(master: np.ndarray, param: np.ndarray) -> None:
    """Take into the float32 ``master`` each float16 ``param`` element changed since the
    last step wrote it (``set_parameters``, a user's edit); the others keep the digits
    float16 cannot hold."""
    # A master beyond float16's range (a file's, or the book's unchecked update_params)
    # rounds to ±inf here, as round_into rounds it: no overflow to warn about.
    with np.errstate(over="ignore"):
        written = master.astype(param.dtype)
    np.copyto(master, param, where=param != written)


def round_into(param: np.ndarray, master: np.ndarray) -> bool:
    """Write the float32 ``master`` into the float16 ``param``; False if an element is
    beyond float16's range (it becomes inf)."""
    with np.errstate(over="ignore"):  # reported by the return value instead
        np.copyto(param, master, casting="same_kind")
    return bool(np.isfinite(param).all())


class _Group:
    """Parameters updated together as one array: the parameter buffers of layers that
    lie back to back in memory (``Dense`` keeps ``weights`` and ``biases`` in one, and
    layers built one after another get adjacent buffers), or a single parameter.

    The gradients, state and backup are arrays of the same layout, and the layers'
    gradient and state attributes become views into them. A flat array is cut into
    cache-sized ``chunks``; the parameters themselves are never moved.

    The update runs on ``work`` and ``work_grads``: the parameters and gradients
    themselves, or for float16 parameters a float32 master copy (a state slot) and a
    float32 copy of the gradients, rounded into the parameters after each step.
    """

    def __init__(self, optimizer, entries: list, params: np.ndarray):
        self.params = params  # entries: (layer, name, parameter) in memory order
        self.grads = np.zeros_like(params)
        dtype = work_dtype(params.dtype)
        self.mixed = dtype != params.dtype
        slots = optimizer.slots + ((MASTER,) if self.mixed else ())
        # np.full writes every page now. np.zeros would map them lazily, and the first
        # update, which reads each page before writing it, would fault every page twice.
        flat_state = {slot: np.full(params.shape, 0, dtype) for slot in slots}
        self.work = flat_state.pop(MASTER) if self.mixed else params
        self.work_grads = np.zeros(params.shape, dtype) if self.mixed else self.grads
        self.backup = np.empty_like(self.work)
        self.views = []  # (layer, name, parameter, gradient view)
        start = 0
        for layer, name, param in entries:
            if param is params:
                part = ...
            else:
                part = slice(start, start + param.size)
                start += param.size
            grad_view = self.grads[part].reshape(param.shape)
            grad = getattr(layer, "d" + name, None)
            if isinstance(grad, np.ndarray) and grad.shape == param.shape:
                grad_view[...] = grad
            old = optimizer.state.get(layer, {}).get(name, {})
            for slot, flat in {**flat_state, **({MASTER: self.work} if self.mixed
                                                else {})}.items():
                view = flat[part].reshape(param.shape)
                if slot in old and old[slot].shape == param.shape:
                    view[...] = old[slot]  # carry over state from update_params/set_state
                elif slot == MASTER:
                    view[...] = param
                optimizer._keep_state(layer, name, slot, view)
            setattr(layer, "d" + name, grad_view)
            self.views.append((layer, name, param, grad_view))
        work, grads = self.work, self.work_grads
        # The whole group as 1-D arrays, for a compiled kernel's single pass (_kernels).
        self.whole = None
        if work.flags.c_contiguous:
            self.whole = (work.reshape(-1), grads.reshape(-1),
                          {slot: flat.reshape(-1) for slot, flat in flat_state.items()},
                          self.backup.reshape(-1))
        # Each chunk: (param, grad, state, backup, scratch, ones); every chunk shares one
        # scratch array, which stays in cache from one chunk to the next.
        size = min(CHUNK, work.size) if work.ndim == 1 else work.size
        scratch = optimizer.scratch(size, dtype)
        ones = np.ones(size, dtype)
        if work.ndim != 1:  # a single parameter: one chunk
            self.chunks = [(work, grads, flat_state, self.backup,
                            scratch.reshape(work.shape), ones)]
            return
        self.chunks = []
        for i in range(0, work.size, CHUNK):
            part = slice(i, i + CHUNK)
            n = work[part].size
            self.chunks.append((work[part], grads[part],
                                {slot: flat[part] for slot, flat in flat_state.items()},
                                self.backup[part], scratch[:n], ones[:n]))

    def holds(self) -> bool:
        """Each parameter is still the array this group was built on."""
        return all(getattr(layer, name) is param for layer, name, param, _ in self.views)

    def gather_gradients(self) -> None:
        """Copy in any gradient a layer wrote to a new array rather than into its view
        (and float16 gradients into their float32 copy)."""
        for layer, name, _, grad_view in self.views:
            grad = getattr(layer, "d" + name)
            if grad is not grad_view:
                np.copyto(grad_view, grad)
        if self.mixed:
            np.copyto(self.work_grads, self.grads)

    def adopt_changes(self) -> None:
        """float16 (``mixed``): take into the master any parameter changed since the last
        step."""
        adopt_changes(self.work, self.params)

    def round_into_params(self) -> bool:
        """float16 (``mixed``): write the master into the parameters; False if one
        overflows."""
        return round_into(self.params, self.work)


class _Groups:
    """The groups for one list of layers, rebuilt when a layer or a parameter changes."""

    def __init__(self, optimizer, layers):
        self.source = layers
        self.layers = [layer for layer in layers if layer.params]
        self.groups = []
        run, run_buffers = [], []  # consecutive layers whose buffers lie back to back
        for layer in [*self.layers, None]:
            buffer = None if layer is None else _one_buffer(layer)
            if run and (buffer is None or not _adjacent(run_buffers[-1], buffer)):
                entries = [(lay, name, getattr(lay, name)) for lay in run for name in lay.params]
                self.groups.append(_Group(optimizer, entries, _span(run_buffers)))
                run, run_buffers = [], []
            if buffer is not None:
                run.append(layer)
                run_buffers.append(buffer)
            elif layer is not None:
                for name in layer.params:
                    param = getattr(layer, name)
                    self.groups.append(_Group(optimizer, [(layer, name, param)], param))

    def holds(self, layers) -> bool:
        # Layers define no __eq__: the list comparison compares identities.
        if layers is not self.source and [lay for lay in layers if lay.params] != self.layers:
            return False
        return all(group.holds() for group in self.groups)

    def undo(self, failed: _Group, failed_chunk: int) -> None:
        """Put back every chunk updated so far, up to chunk ``failed_chunk`` of ``failed``."""
        for group in self.groups:
            last = failed_chunk if group is failed else len(group.chunks) - 1
            for param, _, _, backup, _, _ in group.chunks[:last + 1]:
                np.copyto(param, backup)
            if group.mixed:  # float16: the master as it was, rounded as it was
                group.round_into_params()
            if group is failed:
                return


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def _one_buffer(layer) -> np.ndarray | None:
    """``layer.parameter_buffer`` if the parameters are its consecutive views, in order."""
    buffer = getattr(layer, "parameter_buffer", None)
    if not isinstance(buffer, np.ndarray) or buffer.ndim != 1 or not buffer.flags.c_contiguous:
        return None
    offset = 0
    for name in layer.params:
        param = getattr(layer, name)
        if (not isinstance(param, np.ndarray) or param.dtype != buffer.dtype
                or not param.flags.c_contiguous
                or _address(param) != _address(buffer) + offset * buffer.itemsize):
            return None
        offset += param.size
    return buffer if offset == buffer.size else None


def _adjacent(a: np.ndarray, b: np.ndarray) -> bool:
    """``b`` starts where ``a`` ends, in the same block of memory."""
    return (a.base is not None and a.base is b.base and a.dtype == b.dtype
            and _address(a) + a.nbytes == _address(b))


def _span(buffers: list) -> np.ndarray:
    """One flat view covering back-to-back ``buffers``."""
    if len(buffers) == 1:
        return buffers[0]
    block = buffers[0].base
    start = (_address(buffers[0]) - _address(block)) // block.itemsize
    return block[start:start + sum(b.size for b in buffers)]

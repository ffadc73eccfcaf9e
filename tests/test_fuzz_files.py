"""Fuzzing model files: every mutated file either loads as the original model or raises
ModelFileError — never another exception, a hang, or a large allocation."""

import io
import json
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import Adam, CategoricalCrossentropy, Dense, Dropout, Model, ReLU, Softmax


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    model = Model([Dense(2, 16, init="he", rng=0, weight_regularizer_l2=1e-4), ReLU(),
                   Dropout(0.1, rng=1), Dense(16, 3, rng=2), Softmax()])
    model.set(loss=CategoricalCrossentropy(), optimizer=Adam(0.01))
    X = np.random.default_rng(0).normal(size=(40, 2))
    model.train(X, np.arange(40) % 3, epochs=2, batch_size=16, print_every=None)
    path = tmp_path_factory.mktemp("fuzz") / "model.chainrule"
    model.save(path)
    return model, path.read_bytes()


def members(blob: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def archive(entries: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name, data in entries.items():
            out.writestr(name, data)
    return buffer.getvalue()


def same_model(a: Model, b: Model) -> bool:
    if repr(a) != repr(b) or a.history != b.history or a.epoch != b.epoch:
        return False
    return all(np.array_equal(x, y) for pa, pb in zip(a.get_parameters(), b.get_parameters(),
                                                      strict=True) for x, y in zip(pa, pb,
                                                                                   strict=True))


def mutations(blob: bytes, rng: np.random.Generator):
    """(kind, mutated bytes) pairs: several hundred of them.

    Byte-level damage must be refused or change nothing. Archives rebuilt with valid
    checksums ("swapped") may describe another valid model: they must then load as one.
    """
    data = np.frombuffer(blob, np.uint8)
    for _ in range(300):
        flipped = data.copy()
        for position in rng.integers(0, len(data), rng.integers(1, 9)):
            flipped[position] ^= 1 << int(rng.integers(0, 8))
        yield "bit-flip", flipped.tobytes()
    for length in rng.integers(0, len(blob), 60):
        yield "truncated", blob[:length]
    for _ in range(40):
        yield "random-bytes", rng.integers(0, 256, rng.integers(0, 4096), dtype=np.uint8).tobytes()
    for _ in range(40):
        start = int(rng.integers(0, len(blob)))
        noise = rng.integers(0, 256, rng.integers(1, 64), dtype=np.uint8).tobytes()
        yield "overwritten", (blob[:start] + noise + blob[start + len(noise):])[:len(blob)]
    entries = members(blob)
    names = sorted(entries)
    for name in names:
        yield "member-removed", archive({k: v for k, v in entries.items() if k != name})
        yield "member-renamed", archive({(k + "x" if k == name else k): v
                                         for k, v in entries.items()})
        yield "member-emptied", archive({**entries, name: b""})
    yield "junk-member", archive({**entries, "arrays/../../evil.npy": b"x"})
    yield "extra-member", archive({**entries, "notes.txt": b"hello"})
    arrays = [n for n in names if n.endswith(".npy")]
    for _ in range(20):
        a, b = rng.choice(arrays, 2, replace=False)
        yield "arrays-swapped", archive({**entries, a: entries[b], b: entries[a]})  # valid?
    for shape in [(2**31, 2**31), (10**12,), (2**62, 4), (0, 16), (16, 2), (1, 2**40)]:
        header = np.lib.format.header_data_from_array_1_0(np.zeros((2, 16), np.float32))
        header["shape"] = shape
        npy = io.BytesIO()
        np.lib.format.write_array_header_1_0(npy, header)
        for name in arrays[:3]:
            yield "huge-shape", archive({**entries, name: npy.getvalue() + b"\0" * 128})
    header = json.loads(entries["chainrule.json"])
    edits = [
        ("layers", 0, "config", "n_neurons", 10**9), ("layers", 0, "config", "n_inputs", -3),
        ("layers", 0, "config", "n_inputs", "2"), ("layers", 0, "config", "dtype", "object"),
        ("layers", 0, "config", "init", "__import__('os')"), ("layers", 0, "class", "eval"),
        ("layers", 2, "config", "rate", 7), ("loss", "class", "Pickle"), ("optimizer", "class",
                                                                           None),
        ("optimizer", "iterations", -1), ("optimizer", "current_learning_rate", "inf"),
        ("epoch", 10**6), ("history", "loss", "nope"), ("version", 99), ("format", "pickle"),
        ("kind", "weights"), ("layers", None), ("optimizer", "config", "beta_1", 5.0),
        ("accuracy", "config", "binary", [1, 2]), ("layers", 1, "config", "surprise", 1),
    ]
    for *path, value in edits:
        edited = json.loads(json.dumps(header))
        target = edited
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        yield "header-edit", archive({**entries, "chainrule.json": json.dumps(edited).encode()})
    yield "deep-json", archive({**entries, "chainrule.json": b"[" * 100_000 + b"]" * 100_000})
    yield "not-json", archive({**entries, "chainrule.json": b"\xff\xfe{"})


def test_mutated_files_load_identically_or_raise_model_file_error(original, tmp_path):
    model, blob = original
    path = tmp_path / "mutant"
    counts = {"refused": 0, "identical": 0}
    for kind, mutant in mutations(blob, np.random.default_rng(2026)):
        path.write_bytes(mutant)
        tracemalloc.start()
        start = time.perf_counter()
        try:
            loaded = Model.load(path)
        except cr.ModelFileError:
            counts["refused"] += 1
        except Exception as error:  # anything else is a bug: report the kind of mutation
            pytest.fail(f"{kind}: {type(error).__name__}: {error}")
        else:
            if kind == "arrays-swapped" and not same_model(loaded, model):
                # Same-shape arrays exchanged: a different but well-formed model.
                assert loaded.predict(np.zeros((1, 2))).shape == (1, 3)
                counts["valid-other"] = counts.get("valid-other", 0) + 1
                continue
            assert same_model(loaded, model), f"{kind}: loaded a different model"
            counts["identical"] += 1
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert time.perf_counter() - start < 2.0, f"{kind}: load took too long"
        assert peak < 8 * 2**20 + 20 * len(mutant), f"{kind}: allocated {peak} bytes"
    assert sum(counts.values()) >= 500
    assert counts["refused"] > 300

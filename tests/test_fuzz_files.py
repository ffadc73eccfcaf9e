"""Fuzzing model files: every crafted file either loads as the original model or raises
ModelFileError — never another exception, a hang, or a large allocation.

Two generators, both seeded: byte-level mutations of a valid checkpoint, and archives
built member by member with a small ZIP writer of our own that can lie in every field
(overlapping members, duplicated names, central-directory lies, local headers that
disagree with it, ZIP64 tricks, members beyond the end).
"""

import binascii
import io
import json
import struct
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import Adam, CategoricalCrossentropy, Dense, Dropout, Model, ReLU, Softmax

# Counts of the cases each generator yields: the README quotes them.
BYTE_LEVEL_CASES = 575
MEMBER_LEVEL_CASES = 437


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    model = Model([Dense(2, 16, init="he", rng=0, weight_regularizer_l2=1e-4), ReLU(),
                   Dropout(0.1, rng=1), Dense(16, 3, rng=2), Softmax()])
    model.set(loss=CategoricalCrossentropy(), optimizer=Adam(0.01))
    X = np.random.default_rng(0).normal(size=(40, 2))
    path = tmp_path_factory.mktemp("fuzz") / "model.ckpt"
    model.train(X, np.arange(40) % 3, epochs=2, batch_size=16, rng=3, print_every=None,
                checkpoint=path)
    return Model.load(path), path.read_bytes()


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
    if (repr(a) != repr(b) or a.history != b.history or a.epoch != b.epoch
            or a.training_state != b.training_state
            or a.rng.bit_generator.state != b.rng.bit_generator.state):
        return False
    ga, gb = a.global_random_state, b.global_random_state
    if ga[0] != gb[0] or not np.array_equal(ga[1], gb[1]) or ga[2:] != gb[2:]:
        return False
    return all(np.array_equal(x, y) for pa, pb in zip(a.get_parameters(), b.get_parameters(),
                                                      strict=True) for x, y in zip(pa, pb,
                                                                                   strict=True))


# -- byte-level mutations of a valid file -------------------------------------------------------


def mutations(blob: bytes, rng: np.random.Generator):
    """(kind, mutated bytes) pairs.

    Byte-level damage must be refused or change nothing. Archives rebuilt with valid
    checksums ("swapped") may describe another valid model: they must then load as one.
    Every other kind must be refused.
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
    unused = io.BytesIO()
    np.save(unused, np.zeros((2, 16), np.float32))
    for key in ("layers/9/weights", "optimizer/0/weights/extra", "optimizer/9/weights/cache",
                "history/99", "training/0", "unused"):
        yield "extra-array", archive({**entries, f"arrays/{key}.npy": unused.getvalue()})
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
        ("layers", 2, "config", "rate", 7), ("loss", "class", "Pickle"),
        ("optimizer", "class", None), ("optimizer", "iterations", -1),
        ("optimizer", "iterations", 10**400), ("optimizer", "current_learning_rate", "inf"),
        ("epoch", 2**60), ("history", 0, 7), ("version", 99), ("format", "pickle"),
        ("kind", "weights"), ("layers", None), ("optimizer", "config", "beta_1", 5.0),
        ("accuracy", "config", "binary", [1, 2]), ("layers", 1, "config", "surprise", 1),
        ("random", "global", "pos", 10**9), ("random", "model", "state", "inc", 2**200),
        ("random", "layers", "2", "bit_generator", "MT19937"), ("random", "layers", "7", {}),
        ("training_state", [1, 2]), ("training_state", "x", "y" * 100_000),
        ("training_arrays", ["never-saved"]), ("random", None),
    ]
    for *path, value in edits:
        edited = json.loads(json.dumps(header))
        target = edited
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        yield "header-edit", archive({**entries, "chainrule.json": json.dumps(edited).encode()})
    yield "deep-json", archive({**entries, "chainrule.json": b"[" * 100_000 + b"]" * 100_000})
    yield "wide-json", archive({**entries, "chainrule.json": b"[" + b"{}," * 500_000 + b"{}]"})
    yield "not-json", archive({**entries, "chainrule.json": b"\xff\xfe{"})


# -- archives built member by member ------------------------------------------------------------

LOCAL = struct.Struct("<4s5H3L2H")
CENTRAL = struct.Struct("<4s6H3L5H2L")
END = struct.Struct("<4s4H2LH")
END64 = struct.Struct("<4sQ2H2L4Q")
LOCATOR = struct.Struct("<4sLQL")


def local_header(member_name: bytes, data: bytes, **lies) -> bytes:
    field = {"signature": b"PK\x03\x04", "version": 20, "flags": 0, "method": 0,
             "crc": binascii.crc32(data), "compressed": len(data), "size": len(data),
             "name": member_name, "extra": b"", **lies}
    return LOCAL.pack(field["signature"], field["version"], field["flags"], field["method"], 0,
                      33, field["crc"], field["compressed"], field["size"], len(field["name"]),
                      len(field["extra"])) + field["name"] + field["extra"]


def build_zip(entries, *, end=None, zip64=None, locator=None, prefix=b"", between=b"",
              after_central=b"", tail=b"") -> bytes:
    """A stored ZIP archive, honest unless told to lie.

    ``entries``: dicts with ``name`` and ``data`` (what the headers describe), and
    optionally ``stored`` (the bytes actually written after the local header),
    ``local`` and ``central`` (fields to overwrite in either header). ``end``,
    ``zip64`` and ``locator`` overwrite fields of the end records (``zip64`` adds the
    ZIP64 end record and locator).
    """
    out, central = bytearray(prefix), bytearray()
    for entry in entries:
        name, data = entry["name"], entry["data"]
        offset = len(out)
        out += local_header(name, data, **entry.get("local", {}))
        out += entry.get("stored", data)
        field = {"signature": b"PK\x01\x02", "flags": 0, "method": 0,
                 "crc": binascii.crc32(data), "compressed": len(data), "size": len(data),
                 "name": name, "extra": b"", "comment": b"", "disk": 0, "offset": offset,
                 **entry.get("central", {})}
        central += CENTRAL.pack(field["signature"], 20, 20, field["flags"], field["method"], 0,
                                33, field["crc"], field["compressed"], field["size"],
                                len(field["name"]), field.get("extra_length", len(field["extra"])),
                                len(field["comment"]), field["disk"], 0, 0o600 << 16,
                                field["offset"])
        central += field["name"] + field["extra"] + field["comment"]
    out += between
    cd_offset, count = len(out), len(entries)
    out += central + after_central
    if zip64 is not None:
        record_at = len(out)
        z = {"signature": b"PK\x06\x06", "size": 44, "disk": 0, "count_here": count,
             "count": count, "cd_size": len(central), "cd_offset": cd_offset, **zip64}
        out += END64.pack(z["signature"], z["size"], 45, 45, z["disk"], 0, z["count_here"],
                          z["count"], z["cd_size"], z["cd_offset"])
        lo = {"signature": b"PK\x06\x07", "disk": 0, "at": record_at, "disks": 1,
              **(locator or {})}
        out += LOCATOR.pack(lo["signature"], lo["disk"], lo["at"], lo["disks"])
    e = {"signature": b"PK\x05\x06", "disk": 0, "count_here": count, "count": count,
         "cd_size": len(central), "cd_offset": cd_offset, "comment": b"", **(end or {})}
    out += END.pack(e["signature"], e["disk"], 0, e["count_here"], e["count"], e["cd_size"],
                    e["cd_offset"], e.get("comment_length", len(e["comment"]))) + e["comment"]
    return bytes(out) + tail


def overlap_chain(entries, n: int, kernel: bytes) -> list:
    """``n`` extra members, each one's data holding every member after it (a "quoted
    overlap" bomb): reading them all costs ~n times the file, unless overlaps are refused.

    Headers declare each member's size and CRC; the bytes are written once.
    """
    chain, tail = [], kernel
    for k in reversed(range(n)):
        name = f"arrays/bomb/{k}.npy".encode()
        declared = {"crc": binascii.crc32(tail), "size": len(tail), "compressed": len(tail)}
        chain.insert(0, {"name": name, "data": b"", "stored": b"" if chain else kernel,
                         "local": declared, "central": declared})
        tail = local_header(name, b"", **declared) + tail
    return [*entries, *chain]


def crafted_archives(blob: bytes, rng: np.random.Generator):
    """(kind, bytes) pairs; the two "rebuilt" ones load as the original, the rest are refused."""
    honest = [{"name": name.encode(), "data": data} for name, data in members(blob).items()]
    n = len(honest)

    def lie(i, **changes):
        entries = [dict(entry) for entry in honest]
        for key, value in changes.items():
            if key in ("local", "central"):
                entries[i][key] = {**entries[i].get(key, {}), **value}
            else:
                entries[i][key] = value
        return entries

    def some(k):
        return [int(i) for i in rng.choice(n, k, replace=False)]

    yield "rebuilt", build_zip(honest)
    yield "rebuilt-zip64", build_zip(honest, zip64={})  # as zipfile writes past 65,535 members
    for count, size in [(2, 64), (10, 1024), (100, 4096), (400, 1024)]:
        yield "overlap-chain", build_zip(overlap_chain(honest, count, b"\0" * size))
    offsets = np.cumsum([0] + [LOCAL.size + len(e["name"]) + len(e["data"]) for e in honest])
    for i in some(8):
        j = (i + 1 + int(rng.integers(0, n - 1))) % n
        yield "overlap-shared", build_zip(lie(i, central={"offset": int(offsets[j])}))
        yield "overlap-shifted", build_zip(lie(i, central={"offset": int(offsets[i]) + 1}))
    for i in some(6):
        yield "duplicate-name", build_zip([*honest, dict(honest[i])])
        yield "duplicate-name", build_zip(lie(i, name=honest[(i + 1) % n]["name"]))
    for delta in (-n, -1, 1, n, 0xFFFF - n):
        yield "count-lie", build_zip(honest, end={"count": n + delta, "count_here": n + delta})
    yield "count-lie", build_zip(honest, end={"count_here": n - 1})
    yield "count-lie", build_zip(honest, end={"count": 0, "count_here": 0})
    cd_size = len(build_zip(honest)) - int(offsets[-1]) - END.size
    for delta in (-300, -46, -1, 1, 45, 299, 2**31, -int(offsets[-1])):
        yield "cd-size-lie", build_zip(honest, end={"cd_size": max(0, cd_size + delta)})
        yield "cd-offset-lie", build_zip(honest, end={
            "cd_offset": min(max(0, int(offsets[-1]) + delta), 2**32 - 2)})
        shift = 1 + abs(delta) % 499
        yield "cd-shifted", build_zip(honest, end={"cd_offset": int(offsets[-1]) - shift,
                                                   "cd_size": cd_size + shift})
    for i in some(10):
        size = len(honest[i]["data"])
        for wrong in (size + 1, max(size - 1, 0), size * 1000 + 7, 2**32 - 2):
            yield "central-size-lie", build_zip(lie(i, central={"size": wrong,
                                                                "compressed": wrong}))
            yield "sizes-lie", build_zip(lie(i, central={"size": wrong, "compressed": wrong},
                                             local={"size": wrong, "compressed": wrong}))
        yield "central-crc-lie", build_zip(lie(i, central={"crc": 12345}))
        yield "both-crc-lie", build_zip(lie(i, central={"crc": 12345}, local={"crc": 12345}))
        elsewhere = int(rng.integers(0, len(blob)))
        elsewhere += elsewhere == offsets[i]
        yield "central-offset-lie", build_zip(lie(i, central={"offset": elsewhere}))
        yield "central-offset-lie", build_zip(lie(i, central={"offset": 2**32 - 2}))
        yield "local-name-lie", build_zip(lie(i, local={"name": b"chainrule.jsoN"}))
        yield "local-signature-lie", build_zip(lie(i, local={"signature": b"PK\x03\x05"}))
        yield "central-signature-lie", build_zip(lie(i, central={"signature": b"PK\x01\x03"}))
        yield "central-compressed-lie", build_zip(lie(i, central={"compressed": size + 3}))
        yield "local-size-lie", build_zip(lie(i, local={"size": size + 3}))
        yield "compressed-size-lie", build_zip(lie(i, local={"compressed": size + 3},
                                                   central={"compressed": size + 3}))
        yield "data-descriptor", build_zip(lie(i, local={"flags": 8}, central={"flags": 8}))
        yield "encrypted", build_zip(lie(i, local={"flags": 1}, central={"flags": 1}))
        yield "deflate-claimed", build_zip(lie(i, local={"method": 8}, central={"method": 8}))
        yield "local-flags-lie", build_zip(lie(i, local={"flags": 0x800}))
        yield "central-comment", build_zip(lie(i, central={"comment": b"hi"}))
        yield "other-disk", build_zip(lie(i, central={"disk": 1}))
        yield "unknown-extra", build_zip(lie(i, local={"extra": b"UT\x05\x00\x01\0\0\0\0"}))
        yield "unknown-extra", build_zip(lie(i, central={"extra": b"UT\x05\x00\x01\0\0\0\0"}))
        yield "member-truncated", build_zip(lie(i, stored=honest[i]["data"][:-1]))
        yield "member-padded", build_zip(lie(i, stored=honest[i]["data"] + b"\0"))
    yield from zip64_tricks(honest, lie, some, offsets)
    for i in some(3):
        for name in (b"arrays/\xff.npy", b"", b"a" * 300, b"arrays/../x.npy", b"arrays/x\0.npy"):
            yield "bad-name", build_zip(lie(i, name=name))
        yield "utf8-name", build_zip(lie(i, name="arrays/ü.npy".encode(), local={"flags": 0x800},
                                         central={"flags": 0x800}))
    last = n - 1
    yield "beyond-end", build_zip(lie(last, central={"size": 10**6, "compressed": 10**6},
                                      local={"size": 10**6, "compressed": 10**6}))
    yield "beyond-end", build_zip(lie(last, stored=b""))
    for framing in ({"prefix": b"MZ" + b"\0" * 62}, {"between": b"\0" * 7},
                    {"after_central": b"\0" * 9}, {"tail": b"trailing"},
                    {"end": {"comment": b"a comment"}}, {"end": {"comment_length": 5}},
                    {"end": {"signature": b"PK\x05\x05"}}, {"end": {"disk": 1}}):
        yield "framing", build_zip(honest, **framing)
    many = [{"name": f"arrays/m/{k}.npy".encode(), "data": b""} for k in range(10_001)]
    yield "many-members", build_zip(many)
    yield "no-members", build_zip([])


def zip64_tricks(honest, lie, some, offsets):
    n = len(honest)
    sentinel = {"count": 0xFFFF, "count_here": 0xFFFF, "cd_size": 0xFFFFFFFF,
                "cd_offset": 0xFFFFFFFF}
    for fields in ({"count": 2**63, "count_here": 2**63}, {"cd_size": 2**62},
                   {"cd_offset": 2**62}, {"cd_offset": 0}, {"size": 10**6},
                   {"signature": b"PK\x06\x05"}, {"disk": 3}, {}):
        yield "zip64-end", build_zip(honest, zip64=fields, end=sentinel)
    for fields in ({"signature": b"PK\x06\x05"}, {"size": 45}, {"disk": 1},
                   {"count_here": n + 1}):  # one lie, the rest true
        yield "zip64-end", build_zip(honest, zip64=fields)
    yield "zip64-end-disagrees", build_zip(honest, zip64={}, end={"count": n + 1,
                                                                  "count_here": n + 1})
    for fields in ({"at": 0}, {"at": 2**62}, {"disks": 2}, {"disk": 1}):
        yield "zip64-locator", build_zip(honest, zip64={}, end=sentinel, locator=fields)
    yield "zip64-sentinel-alone", build_zip(honest, end=sentinel)
    for i in some(4):
        size = len(honest[i]["data"])
        wide = {"size": 0xFFFFFFFF, "compressed": 0xFFFFFFFF}
        for value in (2**62, size + 1, 2**64 - 1):
            extra = struct.pack("<HHQQ", 1, 16, value, value)
            yield "zip64-extra-size", build_zip(lie(i, local={**wide, "extra": extra}))
            yield "zip64-extra-size", build_zip(lie(i, central={**wide, "extra": extra}))
        yield "zip64-extra-offset", build_zip(lie(i, central={
            "offset": 0xFFFFFFFF, "extra": struct.pack("<HHQ", 1, 8, int(offsets[i]) + 2**40)}))
        honest_extra = struct.pack("<HHQQ", 1, 16, size, size)
        yield "zip64-extra-unmarked", build_zip(lie(i, central={"extra": honest_extra}))
        yield "zip64-extra-length", build_zip(lie(i, local={
            **wide, "extra": struct.pack("<HHQQ", 1, 100, size, size)}))
        yield "zip64-extra-short", build_zip(lie(i, local={**wide, "extra": b"\x01\x00\x10"}))
        yield "zip64-marked-alone", build_zip(lie(i, local=wide))


# -- the test -----------------------------------------------------------------------------------


def check_loads_or_refuses(model, cases, tmp_path, may_load=None):
    """Load each case under time and memory limits; return the counts and the worst case.

    With ``may_load``, only those kinds may load (as the original); any kind otherwise.
    """
    path = tmp_path / "mutant"
    counts = {"refused": 0, "identical": 0, "valid-other": 0}
    worst = {"seconds": 0.0, "bytes": 0}
    for kind, mutant in cases:
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
                counts["valid-other"] += 1
            else:
                assert may_load is None or kind in may_load, f"{kind}: was accepted"
                assert same_model(loaded, model), f"{kind}: loaded a different model"
                counts["identical"] += 1
        finally:
            seconds = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        worst = {"seconds": max(worst["seconds"], seconds), "bytes": max(worst["bytes"], peak)}
        assert seconds < 2.0, f"{kind}: load took {seconds:.2f} s"
        assert peak < 8 * 2**20 + 20 * len(mutant), f"{kind}: allocated {peak} bytes"
    return counts, worst


def test_mutated_files_load_identically_or_raise_model_file_error(original, tmp_path):
    model, blob = original
    cases = list(mutations(blob, np.random.default_rng(2026)))
    assert len(cases) == BYTE_LEVEL_CASES
    # Damage to bytes nothing reads (timestamps, "version made by") changes nothing.
    counts, _ = check_loads_or_refuses(model, cases, tmp_path,
                                       may_load={"bit-flip", "overwritten", "arrays-swapped"})
    assert counts["refused"] > 400


def test_archives_built_member_by_member_are_refused(original, tmp_path):
    model, blob = original
    cases = list(crafted_archives(blob, np.random.default_rng(2027)))
    assert len(cases) == MEMBER_LEVEL_CASES
    counts, _ = check_loads_or_refuses(model, cases, tmp_path,
                                       may_load={"rebuilt", "rebuilt-zip64"})
    # The honest rebuilds load: the writer above is faithful, so each refusal is the lie's.
    assert counts == {"refused": MEMBER_LEVEL_CASES - 2, "identical": 2, "valid-other": 0}


def honest_entries(blob):
    return [{"name": name.encode(), "data": data} for name, data in members(blob).items()]


def with_lie(entries, i, **changes):
    entries = [dict(entry) for entry in entries]
    entries[i].update(changes)
    return entries


def central_size(entries) -> int:
    """The size of the honest central directory of ``entries``, from its end record."""
    return END.unpack(build_zip(entries)[-END.size:])[5]


WIDE = {"size": 0xFFFFFFFF, "compressed": 0xFFFFFFFF}
# Lies that only one check of the reader can see, and what that check says.
SINGLE_CHECKS = [
    pytest.param(lambda e: build_zip(e, end={"count": len(e) - 1, "count_here": len(e) - 1}),
                 "holds more than its", id="fewer-entries-declared"),
    pytest.param(lambda e: build_zip(e, after_central=b"\0" * 20, end={
        "count": len(e) + 1, "count_here": len(e) + 1, "cd_size": central_size(e) + 20}),
                 "ends inside entry", id="entry-header-cut"),
    pytest.param(lambda e: build_zip(with_lie(e, len(e) - 1, central={"extra_length": 28})),
                 "ends inside entry", id="entry-extra-cut"),
    pytest.param(lambda e: build_zip(with_lie(e, 0, local={"name": b"a" * 300})),
                 "oversized name", id="local-name-300-bytes"),
    pytest.param(lambda e: build_zip(with_lie(e, 0, local=WIDE)),
                 "without its ZIP64 extra", id="zip64-marker-alone"),
    pytest.param(lambda e: build_zip(with_lie(e, 0, name=b"arrays/\xff.npy")),
                 "not valid text", id="non-ascii-unflagged"),
    pytest.param(lambda e: build_zip(e, end={"count": 2 * len(e) + 1,
                                             "count_here": 2 * len(e) + 1}),
                 "cannot hold", id="central-directory-too-small-for-its-count"),
    pytest.param(lambda e: b"PK\x03\x04" + b"\0" * 60,
                 "not a ZIP archive", id="local-signature-then-too-short"),
]


@pytest.mark.parametrize("craft, message", SINGLE_CHECKS)
def test_each_archive_check_says_what_it_found(original, tmp_path, craft, message):
    _, blob = original
    (tmp_path / "crafted").write_bytes(craft(honest_entries(blob)))
    with pytest.raises(cr.ModelFileError, match=message):
        Model.load(tmp_path / "crafted")


def test_an_overlap_bomb_is_refused_before_reading_any_member(original, tmp_path):
    _, blob = original
    honest = [{"name": name.encode(), "data": data} for name, data in members(blob).items()]
    entries = overlap_chain(honest, 1_000, b"\0" * 200_000)
    bomb = build_zip(entries)
    (tmp_path / "bomb").write_bytes(bomb)
    # Read as declared, its members would hold over 200 MB: hundreds of times the file.
    declared = sum(e.get("central", {}).get("size", len(e["data"])) for e in entries)
    assert declared > 500 * len(bomb)
    tracemalloc.start()
    try:
        start = time.perf_counter()
        with pytest.raises(cr.ModelFileError, match="overlap"):
            Model.load(tmp_path / "bomb")
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seconds < 2.0
    assert peak < 2 * 2**20

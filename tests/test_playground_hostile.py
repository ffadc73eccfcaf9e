"""The playground attacked: foreign hosts and origins, frames that must stop, diverging tabs.

Handshakes are written byte by byte on raw sockets, as a page that rebinds its DNS
name to 127.0.0.1 would make its browser send them; the server is the real command
in its own process, so what it prints to stderr is checked too.
"""

import contextlib
import json
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from chainrule import TrainingDiverged
from chainrule.playground import Interrupted, Session
from chainrule.playground.settings import (
    MAX_BATCH,
    MAX_CLASSES,
    MAX_EPOCHS_PER_FRAME,
    MAX_GRID,
    MAX_LAYERS,
    MAX_NEURONS,
    MAX_SAMPLES,
)

websockets_client = pytest.importorskip("websockets.sync.client")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from chainrule.playground.server import create_app  # noqa: E402

# The heaviest frame a tab may ask for: every limit at its costliest (about 17 s of
# training per frame on one core of 2026's CI machine).
HEAVIEST = {"dataset": "spiral", "classes": MAX_CLASSES, "samples": MAX_SAMPLES,
            "train_ratio": 0.9, "features": ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"],
            "layers": [MAX_NEURONS] * MAX_LAYERS, "dropout": 0.5, "regularization": "l2",
            "regularization_rate": 0.001, "batch_size": 1,
            "epochs_per_frame": MAX_EPOCHS_PER_FRAME, "grid": MAX_GRID}
assert MAX_BATCH >= 1  # batch_size 1 is the most steps per epoch
#: "within a fraction of a second", with room for a CI machine shared by other jobs
PROMPT = 1.0
DIVERGING = {"samples": 40, "grid": 16, "dataset": "sine", "features": ["x1", "x1sq"],
             "activation": "linear", "optimizer": "sgd", "learning_rate": 10.0,
             "layers": [8, 8], "batch_size": 1, "epochs_per_frame": 20}


def start(*options: str):
    """``chainrule playground`` in its own process: the process and its port."""
    process = subprocess.Popen([sys.executable, "-m", "chainrule", "playground", "--port", "0",
                                "--no-browser", *options],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    match = re.search(r"http://[^/]+:(\d+)/", line)
    if match is None:
        raise AssertionError(f"no URL from the playground: {line!r} {stop(process)}")
    port = int(match.group(1))
    for _ in range(200):  # bound before the app is ready: wait for an answer
        try:
            request(port, "localhost")
            break
        except OSError:
            time.sleep(0.05)
    return process, port


def stop(process) -> str:
    """End a playground process; return what it wrote to stderr."""
    process.terminate()
    _, errors = process.communicate(timeout=20)
    return errors


@pytest.fixture(scope="module")
def server():
    process, port = start()
    yield process, port
    errors = stop(process)
    assert "Traceback" not in errors and "Warning" not in errors, errors


@pytest.fixture(scope="module")
def port(server):
    return server[1]


def exchange(port: int, head: str, *, until: bytes | None = None, seconds: float = 5) -> bytes:
    """Send ``head`` (the request's lines) on a raw socket; read until the server closes
    the connection, ``until`` appears, or ``seconds`` pass."""
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as raw:
        raw.sendall(head.encode("latin-1"))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not (until and until in data):
            try:
                chunk = raw.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
    return data


def status_of(data: bytes) -> int:
    match = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    assert match, data[:200]
    return int(match.group(1))


def request(port: int, host: str | None, *, version: str = "1.1", extra: str = "") -> int:
    """GET / with this Host header (None: none at all); the status code."""
    lines = [f"GET / HTTP/{version}", *([f"Host: {host}"] if host is not None else []),
             "Connection: close"]
    return status_of(exchange(port, "\r\n".join(lines) + "\r\n" + extra + "\r\n"))


def handshake(port: int, host: str | None, origin: str | None = None) -> bytes:
    """A WebSocket handshake for /ws, as a browser sends it; everything the server says."""
    lines = ["GET /ws HTTP/1.1", *([f"Host: {host}"] if host is not None else []),
             "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
             *([f"Origin: {origin}"] if origin is not None else [])]
    return exchange(port, "\r\n".join(lines) + "\r\n\r\n", until=b'"hello"')


# -- 1. only this machine's pages -----------------------------------------------------------

#: Host headers a page on another site can make a browser send (DNS rebinding points its
#: own name at 127.0.0.1), and malformed ones; {port} is the server's.
FOREIGN_HOSTS = [
    pytest.param("attacker.test", id="attacker"),
    pytest.param("attacker.test:{port}", id="attacker-with-port"),
    pytest.param("evil.example:{port}", id="evil-example"),
    pytest.param("localhost.attacker.test:{port}", id="localhost-prefix"),
    pytest.param("127.0.0.1.nip.io:{port}", id="nip-io"),
    pytest.param("LOCALHOST.ATTACKER.TEST:{port}", id="uppercase-foreign"),
    pytest.param("attacker.localhost.test:{port}", id="localhost-inside"),
    pytest.param("xn--lcalhost-9za:{port}", id="punycode"),
    pytest.param("localhost.:{port}", id="trailing-dot"),
    pytest.param("192.168.1.20:{port}", id="lan-address"),
    pytest.param("0.0.0.0:{port}", id="any-address"),
    pytest.param("[::2]:{port}", id="other-ipv6"),
    pytest.param("[::ffff:7f00:1]:{port}", id="ipv4-mapped"),
    pytest.param("[::1:{port}", id="ipv6-unclosed"),
    pytest.param("localhost:{port}@attacker.test", id="userinfo-trick"),
    pytest.param("localhost:{port}, attacker.test", id="two-hosts"),
    pytest.param("localhost:abc", id="bad-port"),
    pytest.param("", id="empty"),
]
LOCAL_HOSTS = [
    pytest.param("localhost:{port}", id="localhost"),
    pytest.param("LocalHost:{port}", id="localhost-uppercase"),
    pytest.param("127.0.0.1:{port}", id="ipv4"),
    pytest.param("[::1]:{port}", id="ipv6"),
    pytest.param("localhost", id="no-port"),
    pytest.param("[::1]", id="ipv6-no-port"),
]


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_pages_are_refused_to_foreign_hosts(port, host):
    assert request(port, host.format(port=port)) == 400


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_sockets_are_refused_to_foreign_hosts(port, host):
    host = host.format(port=port)
    for origin in (None, f"http://{host}"):  # its own page, or a script without a page
        answer = handshake(port, host, origin)
        assert status_of(answer) in (400, 403), answer[:200]
        assert b"hello" not in answer


@pytest.mark.parametrize("host", LOCAL_HOSTS)
def test_this_machines_names_are_served(port, host):
    host = host.format(port=port)
    assert request(port, host) == 200
    answer = handshake(port, host, f"http://{host.lower()}")
    assert status_of(answer) == 101 and b'"hello"' in answer


def test_a_request_without_a_host_is_refused(port):
    assert request(port, None, version="1.0") == 400
    answer = exchange(port, "GET /ws HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n")
    assert b"hello" not in answer


def test_a_second_host_header_is_refused(port):
    assert request(port, f"localhost:{port}", extra="Host: attacker.test\r\n") == 400
    assert request(port, "attacker.test", extra=f"Host: localhost:{port}\r\n") == 400


@pytest.mark.parametrize(
    "origin",
    [
        pytest.param("http://attacker.test", id="attacker"),
        pytest.param("http://attacker.test:{port}", id="attacker-same-port"),
        pytest.param("http://localhost.attacker.test:{port}", id="localhost-prefix"),
        pytest.param("http://localhost:1", id="other-local-port"),
        pytest.param("http://127.0.0.1:{port}", id="same-machine-other-name"),
        pytest.param("https://localhost:{port}", id="other-scheme"),
        pytest.param("null", id="sandboxed-or-file"),
        pytest.param("http://localhost:{port}/", id="with-path"),
        pytest.param("", id="empty"),
    ],
)
def test_sockets_from_other_pages_are_refused(port, origin):
    answer = handshake(port, f"localhost:{port}", origin.format(port=port))
    assert status_of(answer) in (400, 403), answer[:200]
    assert b"hello" not in answer


def test_an_address_chosen_by_the_user_serves_its_ip_but_still_no_foreign_name():
    """``--host 0.0.0.0``: other machines come by IP address, which no DNS can rebind."""
    process, port = start("--host", "0.0.0.0")
    try:
        assert request(port, f"192.168.1.20:{port}") == 200
        answer = handshake(port, f"192.168.1.20:{port}", f"http://192.168.1.20:{port}")
        assert status_of(answer) == 101 and b'"hello"' in answer
        for host in (f"attacker.test:{port}", f"127.0.0.1.nip.io:{port}"):
            assert request(port, host) == 400
            assert b"hello" not in handshake(port, host, f"http://{host}")
        answer = handshake(port, f"192.168.1.20:{port}", "http://attacker.test")
        assert b"hello" not in answer
    finally:
        errors = stop(process)
    assert "Traceback" not in errors, errors


class Recorder:
    """The messages an ASGI app sends, for a request made of a scope alone."""

    def __init__(self):
        self.sent = []

    async def receive(self):
        return {"type": "websocket.connect"}

    async def send(self, message):
        self.sent.append(message)


@pytest.mark.parametrize(
    "bind, host, served",
    [
        pytest.param("127.0.0.1", b"localhost:8000", True, id="loopback-name"),
        pytest.param("127.0.0.1", b"10.0.0.7:8000", False, id="loopback-bind-lan-ip"),
        pytest.param("10.0.0.7", b"10.0.0.7:8000", True, id="bound-address"),
        pytest.param("10.0.0.7", b"10.0.0.8:8000", False, id="other-address"),
        pytest.param("mybox.lan", b"MyBox.lan:8000", True, id="bound-name"),
        pytest.param("mybox.lan", b"attacker.test:8000", False, id="bound-name-other"),
        pytest.param("::", b"[fe80::1]:8000", True, id="ipv6-any-ip"),
        pytest.param("::", b"attacker.test:8000", False, id="ipv6-any-name"),
        pytest.param("fe80::1", b"[FE80::1]:8000", True, id="ipv6-bound"),
    ],
)
def test_which_hosts_each_bind_address_serves(bind, host, served):
    import asyncio

    app = create_app(host=bind)
    for kind in ("http", "websocket"):
        recorder = Recorder()
        scope = {"type": kind, "path": "/nowhere", "raw_path": b"/nowhere", "query_string": b"",
                 "headers": [(b"host", host)], "method": "GET", "root_path": "",
                 "scheme": "http" if kind == "http" else "ws", "http_version": "1.1",
                 "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000)}
        asyncio.run(app(scope, recorder.receive, recorder.send))
        first = recorder.sent[0]
        if kind == "http":
            # Served: the route is missing (404); refused: 400 before any route is looked at.
            assert first["status"] == (404 if served else 400), (kind, first)
        else:
            # Refused: closed before the handshake is accepted (the server answers 403).
            refused = first["type"] == "websocket.close" and first.get("code") == 1008
            assert refused != served, (kind, first)


# -- 2. a frame can be interrupted ----------------------------------------------------------


def connect(port: int):
    return websockets_client.connect(f"ws://127.0.0.1:{port}/ws", max_size=2**24,
                                     open_timeout=20)


def receive(ws, timeout=60) -> dict:
    while True:
        message = ws.recv(timeout=timeout)
        if isinstance(message, str):
            return json.loads(message)


def until(ws, predicate, timeout=60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = receive(ws, max(deadline - time.monotonic(), 0.01))
        if predicate(message):
            return message


def playing_heaviest(ws, settle: float = 0.5) -> None:
    """Greeted, switched to the heaviest settings, playing, and (after ``settle``
    seconds) one frame well under way."""
    until(ws, lambda m: m["type"] == "frame")
    ws.send(json.dumps({"type": "settings", "settings": HEAVIEST}))
    until(ws, lambda m: m["type"] == "frame")
    ws.send(json.dumps({"type": "play"}))
    until(ws, lambda m: m["type"] == "status")
    time.sleep(settle)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime, stime in clock ticks


ANSWERS = {"pause": "status", "reset": "network", "step": "status", "code": "code",
           "explain": "explanation", "neuron": "neuron", "settings": "settings"}


@pytest.mark.parametrize(
    "message",
    [{"type": "pause"}, {"type": "reset"}, {"type": "step"}, {"type": "code"},
     {"type": "explain", "layer": 3, "param": "weights", "index": [2, 5]},
     {"type": "neuron", "layer": 5, "neuron": 7},
     {"type": "settings", "settings": {"learning_rate": 0.001}}],
    ids=lambda message: message["type"],
)
def test_a_message_is_answered_at_once_under_the_heaviest_settings(port, message):
    with connect(port) as ws:
        playing_heaviest(ws)
        sent = time.monotonic()
        ws.send(json.dumps(message))
        seen = []
        reply = until(ws, lambda m: seen.append(m) or m["type"] == ANSWERS[message["type"]])
        latency = time.monotonic() - sent
        assert latency < PROMPT, f"{message} answered after {latency:.2f} s"
        if message["type"] == "pause":
            # The frame it interrupted is drawn up to its last whole epoch, as status says.
            frames = [m for m in seen if m["type"] == "frame"]
            assert reply["playing"] is False
            assert not frames or frames[-1]["epoch"] == reply["epoch"]
        ws.send(json.dumps({"type": "pause"}))


def test_a_heavy_step_is_interrupted_too(port):
    with connect(port) as ws:
        playing_heaviest(ws)
        ws.send(json.dumps({"type": "pause"}))
        until(ws, lambda m: m["type"] == "status" and not m["playing"])
        ws.send(json.dumps({"type": "step"}))  # 50 epochs of 2,250 steps each
        until(ws, lambda m: m["type"] == "status")
        time.sleep(0.3)
        sent = time.monotonic()
        ws.send(json.dumps({"type": "code"}))
        code = until(ws, lambda m: m["type"] == "code")["code"]
        assert time.monotonic() - sent < PROMPT
        assert "epochs=" in code


def test_closed_tabs_free_their_slot_and_stop_working_at_once():
    process, port = start()  # 8 tabs at most
    try:
        with contextlib.ExitStack() as stack:
            sockets = [stack.enter_context(connect(port)) for _ in range(8)]
            for ws in sockets:
                playing_heaviest(ws, settle=0)
            time.sleep(0.5)
            with connect(port) as full:
                assert "full" in receive(full)["message"]
            closed = time.monotonic()
        # Every tab closed (ExitStack).
        time.sleep(0.3)
        before = cpu_seconds(process.pid)
        time.sleep(1.0)
        busy = cpu_seconds(process.pid) - before
        assert busy < 0.25, f"{busy:.2f} s of CPU in 1 s after every tab closed"
        with connect(port) as again:
            first = receive(again)
            assert first["type"] == "hello", first
        assert time.monotonic() - closed < 1.3 + PROMPT
    finally:
        errors = stop(process)
    assert "Traceback" not in errors, errors


class SetAfter:
    """A cancel flag that turns itself on at its ``calls``-th look: an exact interruption."""

    def __init__(self, calls: int):
        self.calls = calls

    def is_set(self) -> bool:
        self.calls -= 1
        return self.calls <= 0

    def set(self) -> None:
        self.calls = 0


def state(session) -> dict:
    """Everything training changes: parameters, optimizer state and count, generator."""
    model, optimizer = session.model, session.model.optimizer
    arrays = {}
    for i, layer in enumerate(model.layers):
        for name in layer.params:
            arrays[f"{i}.{name}"] = getattr(layer, name).copy()
            for slot, value in optimizer.get_state(layer, name).items():
                arrays[f"{i}.{name}.{slot}"] = value.copy()
    return {"arrays": arrays, "iterations": optimizer.iterations, "epoch": model.epoch,
            "history": {k: list(v) for k, v in model.history.items()},
            "rng": session.rng.bit_generator.state}


def assert_same(a: dict, b: dict) -> None:
    for key in a["arrays"].keys() | b["arrays"].keys():
        # An optimizer's state starts as zeros at its first step (absent before).
        ours, theirs = a["arrays"].get(key), b["arrays"].get(key)
        ours = np.zeros_like(theirs) if ours is None else ours
        theirs = np.zeros_like(ours) if theirs is None else theirs
        np.testing.assert_array_equal(ours, theirs, err_msg=key)
    assert a["iterations"] == b["iterations"] and a["epoch"] == b["epoch"]
    assert a["history"] == b["history"] and a["rng"] == b["rng"]


QUICK = {"samples": 30, "layers": [5, 4], "grid": 16, "batch_size": 10}


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adagrad", "rmsprop", "adam"])
@pytest.mark.parametrize(
    "whole, batch",
    [(0, 1), (0, 3), (0, -1), (1, 1), (2, 4)],
    ids=["first-batch", "mid-first-epoch", "last-batch", "second-epoch", "third-epoch"],
)
@pytest.mark.parametrize("dropout", [0.0, 0.3], ids=["no-dropout", "dropout"])
def test_an_interrupted_frame_leaves_whole_epochs_and_trains_on_exactly(optimizer, whole, batch,
                                                                         dropout):
    """Interrupted in epoch k, a session is as it was after epoch k − 1: training on gives
    the very network of a session never interrupted (and "show code" still reproduces it).

    The flag is looked at once after each batch; ``batch`` counts from 1 (−1: the last)."""
    settings = {**QUICK, "optimizer": optimizer, "dropout": dropout, "learning_rate": 0.05}
    interrupted, untouched = Session(settings), Session(settings)
    steps = -(-len(interrupted.X_train) // QUICK["batch_size"])
    assert steps == 7
    interrupted.cancel = SetAfter(whole * steps + (steps if batch == -1 else batch))
    with pytest.raises(Interrupted):
        interrupted.train(4)
    if whole:
        untouched.train(whole)
    assert interrupted.epoch == whole
    assert_same(state(interrupted), state(untouched))
    interrupted.cancel = threading.Event()
    interrupted.train(4 - whole)
    untouched.train(4 - whole)
    assert_same(state(interrupted), state(untouched))
    assert interrupted.frame() == untouched.frame()


def test_a_set_flag_stops_the_heaviest_frame_within_a_batch():
    session = Session(HEAVIEST)
    timer = threading.Timer(0.3, session.cancel.set)
    started = time.monotonic()
    timer.start()
    with pytest.raises(Interrupted):
        session.step()
    assert time.monotonic() - started < 0.3 + PROMPT / 2
    assert session.epoch == 0  # the first epoch was still under way: undone
    # The flag stays set until its owner clears it: a new frame stops at its first batch.
    with pytest.raises(Interrupted):
        session.train(3)
    session.cancel.clear()
    session.train(1)
    assert session.epoch == 1


def test_looking_inside_works_after_an_interruption():
    session = Session({**QUICK, "dropout": 0.2})
    session.cancel = SetAfter(9)
    with pytest.raises(Interrupted):
        session.train(3)
    session.cancel = threading.Event()
    assert session.explain(0, "weights", [0, 0])["relative_error"] < 1e-6
    assert session.neuron(1, 2)["type"] == "neuron"


# -- 12. a diverging tab prints nothing on the server ---------------------------------------


def diverged(settings: dict) -> Session:
    session = Session(settings)
    with pytest.raises(TrainingDiverged):
        for _ in range(20):
            session.train()
    return session


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param(DIVERGING, id="sine-linear-sgd"),
        pytest.param({**DIVERGING, "optimizer": "momentum"}, id="sine-linear-momentum"),
        pytest.param({**DIVERGING, "activation": "relu"}, id="sine-relu-sgd"),
        pytest.param({**DIVERGING, "activation": "sigmoid", "optimizer": "momentum"},
                     id="sine-sigmoid-momentum"),
        pytest.param({**DIVERGING, "activation": "tanh"}, id="sine-tanh-sgd"),
        pytest.param({**DIVERGING, "dataset": "circle", "features": ["x1", "x2"],
                      "optimizer": "momentum"}, id="circle-linear-momentum"),
    ],
)
def test_a_diverged_session_answers_every_question_without_a_warning(settings):
    """pytest turns warnings into errors: any overflow warning here fails the test."""
    session = diverged(settings)
    messages = [session.frame(), session.network(), session.neuron(0, 0), session.neuron(2, 0)]
    for dense, param, index in ((0, "weights", [0, 0]), (1, "biases", [0, 1])):
        try:
            messages.append(session.explain(dense, param, index))
        except ValueError as refused:  # outputs that overflow have no gradient to explain
            assert "outputs overflow" in str(refused) and "learning rate" in str(refused)
    for message in messages:
        json.dumps(message, allow_nan=False)  # what the server sends: no NaN, no infinity
    with pytest.raises(TrainingDiverged):  # play again: refused at once, and quietly
        session.step()
    assert session.model_file()[:2] == b"PK"


def test_a_diverging_tab_prints_no_warning_on_the_server():
    process, port = start()
    try:
        with connect(port) as ws:
            until(ws, lambda m: m["type"] == "frame")
            ws.send(json.dumps({"type": "settings", "settings": DIVERGING}))
            until(ws, lambda m: m["type"] == "frame")
            ws.send(json.dumps({"type": "play"}))
            until(ws, lambda m: m.get("kind") == "diverged")
            for message in ({"type": "explain", "layer": 0, "param": "weights", "index": [0, 0]},
                            {"type": "neuron", "layer": 0, "neuron": 0},
                            {"type": "explain", "layer": 2, "param": "biases", "index": [0, 0]},
                            {"type": "step"}, {"type": "download"}, {"type": "code"}):
                ws.send(json.dumps(message))
            until(ws, lambda m: m["type"] == "code")
    finally:
        errors = stop(process)
    assert "Warning" not in errors and "Traceback" not in errors, errors


# -- hostile pass ---------------------------------------------------------------------------


@pytest.mark.parametrize("epochs_per_frame", [1, 3])
def test_training_zero_epochs_trains_none(epochs_per_frame):
    """``Session.train(0)`` asks for no epoch, as ``Model.train(epochs=0)`` does: it must not
    fall back to a frame's worth (only ``None`` means "one frame")."""
    session = Session({**QUICK, "epochs_per_frame": epochs_per_frame})
    before = state(session)
    session.train(0)
    assert_same(state(session), before)
    session.train(None)
    assert session.epoch == epochs_per_frame
    session.train(2)
    assert session.epoch == epochs_per_frame + 2


@pytest.mark.parametrize("host", ["", " "], ids=["empty", "blank"])
def test_an_empty_host_is_refused_not_bound_to_every_interface(host):
    """``--host "$HOST"`` with the variable unset must not serve every interface (where the
    socket layer takes "" to mean "any address") under a URL that opens nowhere."""
    try:
        finished = subprocess.run([sys.executable, "-m", "chainrule", "playground", "--host", host,
                                   "--port", "0", "--no-browser"],
                                  capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired as serving:
        raise AssertionError(f"served with --host {host!r}: {serving.stdout!r}") from None
    assert finished.returncode != 0
    assert "--host" in finished.stderr and "http://" not in finished.stdout, finished


@pytest.mark.parametrize("host", ["LOCALHOST", "LocalHost", "127.0.0.1"])
def test_a_loopback_host_in_any_case_is_not_warned_about(host):
    process, port = start("--host", host)
    try:
        assert request(port, f"localhost:{port}") == 200
    finally:
        errors = stop(process)
    assert "warning" not in errors.lower(), errors


# -- what the mutation run found unguarded -----------------------------------------------------


def test_hello_offers_every_choice_the_page_draws(port):
    from chainrule.playground.settings import (
        ACTIVATIONS,
        DATASETS,
        DEFAULTS,
        FEATURES,
        LIMITS,
        OPTIMIZERS,
        REGULARIZATIONS,
    )

    with connect(port) as ws:
        hello = receive(ws)
    assert hello["type"] == "hello"
    assert hello["defaults"] == json.loads(json.dumps(DEFAULTS))
    assert hello["limits"] == json.loads(json.dumps(LIMITS))
    assert hello["options"] == json.loads(json.dumps({
        "dataset": DATASETS, "activation": ACTIVATIONS, "optimizer": OPTIMIZERS,
        "regularization": REGULARIZATIONS,
        "features": {key: value[0] for key, value in FEATURES.items()}}))


def test_a_neurons_answer_holds_its_weights_and_bias():
    session = Session({"samples": 30, "layers": [5, 4], "grid": 16, "batch_size": 10})
    session.train(3)
    dense = session.model.layers[2]  # the second Dense layer
    answer = session.neuron(1, 2)
    assert answer["bias"] == pytest.approx(float(dense.biases[0, 2]), rel=1e-5, abs=1e-12)
    np.testing.assert_allclose(answer["weights"], dense.weights[:, 2], rtol=1e-5)  # 6 digits


@pytest.mark.parametrize("share", [0.5, 0.9])
def test_a_new_training_share_splits_the_points_again(share):
    session = Session({"samples": 30, "layers": [5, 4], "grid": 16, "batch_size": 10})
    total = len(session.X_train) + len(session.X_test)
    assert session.update({"train_ratio": share}) == "data"
    assert len(session.X_train) == round(total * share)
    assert len(session.X_train) + len(session.X_test) == total


def test_the_first_network_id_is_a_network_too():
    # Ids count from 0: a question about network 0 is one, -1 is not.
    from chainrule.playground.messages import parse_message

    message = '{"type": "neuron", "layer": 0, "neuron": 0, "network": %d}'
    assert parse_message(message % 0)["network"] == 0
    with pytest.raises(ValueError, match="network"):
        parse_message(message % -1)
    assert Session({"samples": 30, "layers": [5], "grid": 16}).network_id >= 0

"""The playground's server without a browser: the real command, pages, sockets and fuzz.

One server process for the module (``serve(max_sessions=3)``), spoken to with plain
HTTP and the ``websockets`` client, as a browser would.
"""

import json
import random
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

websockets_client = pytest.importorskip("websockets.sync.client")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402

from chainrule import Model  # noqa: E402
from chainrule.cli import _main as cli  # noqa: E402
from chainrule.playground.server import MAX_IN_FLIGHT  # noqa: E402

QUICK = {"samples": 40, "layers": [4], "grid": 16}
SERVE = "from chainrule.playground import serve; serve(port=0, open_browser=False, max_sessions=3)"


def start(command: list[str]):
    """A playground process and the address it printed."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    line = process.stdout.readline()
    match = re.search(r"http://([^/]+)/", line)
    if match is None:
        raise AssertionError(f"no URL from the playground: {line!r} {stop(process)}")
    return process, match.group(1)


def stop(process) -> str:
    """End a playground process; return what it wrote to stderr."""
    process.terminate()
    _, errors = process.communicate(timeout=10)
    return errors


@pytest.fixture(scope="module")
def server():
    process, address = start([sys.executable, "-c", SERVE])
    yield address
    errors = stop(process)
    assert "Traceback" not in errors, errors


class Client:
    """GET and WebSocket helpers for one server."""

    def __init__(self, address: str):
        self.address = address

    def get(self, path: str):
        try:
            with urllib.request.urlopen(f"http://{self.address}{path}", timeout=10) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), ""

    def websocket_connect(self, path: str = "/ws", origin=None):
        return websockets_client.connect(f"ws://{self.address}{path}", origin=origin,
                                         max_size=2**24, open_timeout=10)


@pytest.fixture(scope="module")
def client(server):
    client = Client(server)
    for _ in range(100):  # the socket is bound before the app is ready: wait for it
        try:
            client.get("/")
            return client
        except OSError:
            time.sleep(0.05)
    return client


def receive(ws) -> dict:
    return json.loads(ws.recv(timeout=30))


def send(ws, message: dict) -> None:
    ws.send(json.dumps(message))


def until(ws, kind: str, seen=None) -> dict:
    """Read messages up to the first of type ``kind`` (others go into ``seen``)."""
    for _ in range(200):
        message = receive(ws)
        if message["type"] == kind:
            return message
        if seen is not None:
            seen.append(message)
    raise AssertionError(f"no {kind} message")


def opened(ws, settings=QUICK) -> None:
    """Read the greeting, then switch to small settings."""
    assert receive(ws)["type"] == "hello"
    assert receive(ws)["type"] == "network"
    assert receive(ws)["type"] == "frame"
    if settings:
        send(ws, {"type": "settings", "settings": settings})
        assert receive(ws)["type"] == "network"
        assert receive(ws)["type"] == "frame"


def test_the_page_and_its_files_are_served_with_a_strict_policy(client):
    status, headers, page = client.get("/")
    assert status == 200 and "chainrule playground" in page
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    for path in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert client.get(path)[0] == 200, path
    assert "javascript" in client.get("/static/js/main.js")[1]["content-type"]
    # Nothing on the page is fetched from elsewhere.
    for name in ("index.html", "style.css", "js/main.js", "js/network.js", "js/heatmap.js"):
        text = client.get(f"/static/{name}")[2]
        assert not re.search(r"(https?:)?//(?!www\.w3\.org/2000/svg)[a-z]", text), name
    assert client.get("/static/%2e%2e/session.py")[0] == 404


def test_hello_network_frame_then_play_and_pause(client):
    with client.websocket_connect("/ws") as ws:
        hello = receive(ws)
        assert hello["type"] == "hello" and hello["limits"]["max_neurons"] >= 8
        assert hello["limits"]["max_layers"] >= 6
        assert receive(ws)["sizes"] == [2, 8, 8, 8, 3]  # the defaults
        assert receive(ws)["type"] == "frame"
        send(ws, {"type": "settings", "settings": QUICK})
        network = receive(ws)
        assert network["sizes"] == [2, 4, 3] and network["settings"]["grid"] == 16
        assert receive(ws)["epoch"] == 0
        send(ws, {"type": "play"})
        assert receive(ws) == {"type": "status", "playing": True, "epoch": 0}
        epochs = []
        for _ in range(5):
            frame = receive(ws)
            assert frame["type"] == "frame"
            epochs.append(frame["epoch"])
            send(ws, {"type": "ack"})
        assert epochs == sorted(epochs) and epochs[-1] >= 5
        send(ws, {"type": "pause"})
        status = until(ws, "status")
        assert status["playing"] is False


def test_the_server_never_runs_more_than_two_frames_ahead(client):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        send(ws, {"type": "play"})
        assert receive(ws)["type"] == "status"
        for _ in range(MAX_IN_FLIGHT):
            assert receive(ws)["type"] == "frame"
        # No acknowledgement: the server waits, so the next thing it says answers "pause".
        time.sleep(0.2)
        send(ws, {"type": "pause"})
        assert receive(ws) == {"type": "status", "playing": False, "epoch": MAX_IN_FLIGHT}


def test_live_and_resetting_changes(client):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        send(ws, {"type": "step"})
        assert until(ws, "frame")["epoch"] == 1
        send(ws, {"type": "settings", "settings": {"learning_rate": 0.2}})
        reply = receive(ws)
        assert reply["type"] == "settings" and reply["settings"]["learning_rate"] == 0.2
        send(ws, {"type": "step"})
        frame = until(ws, "frame")
        assert frame["epoch"] == 2 and frame["lr"] == 0.2
        send(ws, {"type": "settings", "settings": {"layers": [3, 2]}})
        assert receive(ws)["sizes"] == [2, 3, 2, 3]
        assert receive(ws)["epoch"] == 0


def test_explain_neuron_code_and_download(client, tmp_path):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        send(ws, {"type": "step"})
        until(ws, "frame")
        send(ws, {"type": "explain", "layer": 1, "param": "weights", "index": [2, 0]})
        explanation = receive(ws)
        assert explanation["type"] == "explanation" and explanation["relative_error"] < 1e-6
        send(ws, {"type": "neuron", "layer": 0, "neuron": 3})
        assert receive(ws)["type"] == "neuron"
        send(ws, {"type": "code"})
        code = receive(ws)["code"]
        assert "epochs=1," in code and "cr.Dense(2, 4" in code
        send(ws, {"type": "download"})
        header = receive(ws)
        data = ws.recv(timeout=30)
        assert header["filename"] == "playground-spiral-epoch1.chainrule"
        assert header["size"] == len(data)
        assert isinstance(data, bytes)
        (tmp_path / header["filename"]).write_bytes(data)
        assert Model.load(tmp_path / header["filename"]).epoch == 1


def test_a_diverging_network_pauses_with_a_message(client):
    with client.websocket_connect("/ws") as ws:
        opened(ws, {**QUICK, "dataset": "sine", "features": ["x1", "x1sq"],
                    "activation": "linear", "optimizer": "sgd", "learning_rate": 10.0,
                    "layers": [8, 8], "batch_size": 1, "epochs_per_frame": 20})
        send(ws, {"type": "play"})
        seen = []
        error = until(ws, "error", seen)
        assert error["kind"] == "diverged" and "lower learning rate" in error["message"]
        assert receive(ws)["playing"] is False
        assert receive(ws)["type"] == "frame"  # the last finite weights, drawn
        for frame in seen[1:]:
            send(ws, {"type": "ack"})
            assert frame["type"] == "frame"


HOSTILE = [
    "", "{", "null", "[]", "3", '"play"', "{}", '{"type": 3}', '{"type": "fly"}',
    '{"type": "play", "now": true}', '{"type": "explain"}', '{"type": "settings"}',
    '{"type": "settings", "settings": NaN}', '{"type": "settings", "settings": []}',
    '{"type": "settings", "settings": {"layers": [1000000]}}',
    '{"type": "settings", "settings": {"layers": [8, 8, 8, 8, 8, 8, 8]}}',
    '{"type": "settings", "settings": {"learning_rate": -1}}',
    '{"type": "settings", "settings": {"learning_rate": 1e400}}',
    '{"type": "settings", "settings": {"batch_size": 1e12}}',
    '{"type": "settings", "settings": {"grid": 100000}}',
    '{"type": "settings", "settings": {"samples": 99999999}}',
    '{"type": "settings", "settings": {"__class__": 1}}',
    '{"type": "explain", "layer": 99, "param": "weights", "index": [0, 0]}',
    '{"type": "explain", "layer": 0, "param": "__dict__", "index": [0, 0]}',
    '{"type": "explain", "layer": 0, "param": "weights", "index": [99999, 0]}',
    '{"type": "explain", "layer": "0", "param": "weights", "index": {"a": 1}}',
    '{"type": "neuron", "layer": 0, "neuron": -1}',
    '{"type": "neuron", "layer": [], "neuron": null}',
    "[" * 10_000 + "]" * 10_000, '{"a": ' * 3000 + "1" + "}" * 3000,
    "x" * 20_000, "\x00\xff" * 10, '{"type": "\\ud800"}',
]


def mutations(rng: random.Random, count: int):
    """Valid messages with a character changed, dropped or doubled, and random bytes."""
    valid = ['{"type": "settings", "settings": {"learning_rate": 0.01}}',
             '{"type": "explain", "layer": 0, "param": "biases", "index": [0, 1]}',
             '{"type": "neuron", "layer": 0, "neuron": 2}', '{"type": "reset"}']
    for _ in range(count):
        text = list(rng.choice(valid))
        position = rng.randrange(len(text))
        kind = rng.randrange(3)
        if kind == 0:
            text[position] = chr(rng.randrange(32, 0x3000))
        elif kind == 1:
            del text[position]
        else:
            text.insert(position, text[position] * rng.randrange(2, 50))
        yield "".join(text)


def test_the_server_survives_a_fuzz_of_messages(client):
    rng = random.Random(0)
    with client.websocket_connect("/ws") as ws, client.websocket_connect("/ws") as other:
        opened(ws)
        opened(other)
        errors = 0
        for text in [*HOSTILE, *mutations(rng, 150)]:
            ws.send(text)
            send(ws, {"type": "code"})  # a marker: everything before it was answered
            seen = []
            until(ws, "code", seen)
            errors += sum(message["type"] == "error" for message in seen)
            assert not any("internal error" in m.get("message", "") for m in seen), seen
        ws.send(b"\x00binary")
        assert "binary" in receive(ws)["message"]
        assert errors >= len(HOSTILE)
        # Both tabs still work.
        for socket in (ws, other):
            send(socket, {"type": "step"})
            assert until(socket, "frame")["epoch"] >= 1


def test_sessions_are_bounded_and_a_closed_tab_frees_its_own(client):
    time.sleep(0.5)  # the server frees the sockets of earlier tests as they close
    with client.websocket_connect("/ws") as a, client.websocket_connect("/ws") as b:
        opened(a, None)
        opened(b, None)
        with client.websocket_connect("/ws") as c:
            opened(c, None)
            with client.websocket_connect("/ws") as full:
                message = receive(full)
                assert message["type"] == "error" and "full" in message["message"]
                with pytest.raises(ConnectionClosed) as closed:
                    full.recv(timeout=10)
                assert closed.value.rcvd.code == 1013
        # c closed: its place is free again.
        with client.websocket_connect("/ws") as d:
            assert receive(d)["type"] == "hello"


def test_sockets_from_other_sites_are_refused(client):
    with pytest.raises(InvalidStatus) as refused:
        client.websocket_connect(origin="http://evil.example")
    assert refused.value.response.status_code == 403
    with client.websocket_connect(origin=f"http://{client.address}") as ws:
        assert receive(ws)["type"] == "hello"


# -- the command ----------------------------------------------------------------------------


def test_command_serves_on_a_free_port_and_warns_about_other_hosts():
    process, address = start([sys.executable, "-m", "chainrule", "playground", "--port", "0",
                              "--host", "0.0.0.0", "--no-browser"])
    try:
        host, port = address.rsplit(":", 1)
        assert host == "0.0.0.0" and int(port) > 0
        client = Client(f"127.0.0.1:{port}")
        for _ in range(100):
            try:
                assert "chainrule playground" in client.get("/")[2]
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise AssertionError("the playground did not answer")
    finally:
        warning = stop(process)
    assert "warning: --host 0.0.0.0" in warning and "no login" in warning


def test_command_refuses_a_bad_port_and_has_help(capsys):
    assert cli.main(["playground", "--port", "70000", "--no-browser"]) == 1
    assert "--port must be in [0, 65535]" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        cli.main(["playground", "--help"])
    assert done.value.code == 0
    assert "--no-browser" in capsys.readouterr().out


def test_every_static_file_is_package_data():
    """A non-editable install carries the page: pyproject's globs cover every static file."""
    import fnmatch
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")
    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["chainrule.playground"]
    package = root / "src" / "chainrule" / "playground"
    files = [path.relative_to(package).as_posix()
             for path in (package / "static").rglob("*") if path.is_file()]
    assert len(files) >= 8
    missing = [name for name in files if not any(fnmatch.fnmatch(name, g) for g in globs)]
    assert not missing, f"add these to [tool.setuptools.package-data]: {missing}"

"""The playground's server: Starlette serves the page, one WebSocket per tab runs its session.

Each tab gets its own ``Session`` on its own connection. Messages are read by
one task into a queue and handled in order by another, between frames, so a
session is never touched by two things at once; training runs in a worker
thread so that the server keeps answering every other tab meanwhile. The page
acknowledges each frame it has drawn, and the server never runs more than
``MAX_IN_FLIGHT`` frames ahead of it. Any other message interrupts the frame
being trained (``Session.cancel``), so every message is answered at once
whatever the settings, and a closed tab stops its work and frees its place.

Only this machine's pages get in. A page on another site can point its own DNS
name at 127.0.0.1 (DNS rebinding) and so reach this server as if it were its
own; its browser still sends that name as ``Host``, which is refused unless it
is ``localhost``, ``127.0.0.1`` or ``[::1]``, and a WebSocket whose ``Origin``
is not the page's own is refused too (``_LocalOnly``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import re
import socket
import sys
import threading
import webbrowser
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import FileResponse, PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..training import TrainingDiverged
from .messages import MAX_MESSAGE, parse_message
from .session import Interrupted, Session
from .settings import ACTIVATIONS, DATASETS, DEFAULTS, FEATURES, LIMITS, OPTIMIZERS, REGULARIZATIONS

STATIC = Path(__file__).parent / "static"
#: tabs served at once; one more is told the playground is full
MAX_SESSIONS = 8
#: frames sent and not yet acknowledged by the page
MAX_IN_FLIGHT = 2
#: the WebSocket layer drops any frame larger than this (the app refuses beyond MAX_MESSAGE)
WS_MAX_SIZE = 4 * MAX_MESSAGE
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: the names of this machine in a ``Host`` header, as browsers write them (lower case)
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")
#: addresses that listen on every interface
ANY_ADDRESS = ("0.0.0.0", "::", "")
# A Host header: a name or an IPv4 address, or an IPv6 address in brackets, then an
# optional port. Anything else (userinfo, a second host, a path) is refused.
_HOST = re.compile(r"(?P<name>\[[0-9a-f:.]+\]|[a-z0-9._~-]+)(?::[0-9]{1,5})?")

# Only this server's own files and socket: nothing on the page can reach another machine.
HEADERS = [
    (b"content-security-policy", b"default-src 'self'; connect-src 'self'; img-src 'self' data: "
     b"blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
]

log = logging.getLogger("chainrule.playground")


def create_app(*, max_sessions: int = MAX_SESSIONS, host: str = "127.0.0.1") -> Starlette:
    """The ASGI app: the page at ``/``, its files under ``/static``, tabs on ``/ws``.

    Parameters
    ----------
    max_sessions : int
        Tabs served at once.
    host : str
        The address the server listens on, which decides the ``Host`` headers it
        answers (``_LocalOnly``).
    """
    app = Starlette(routes=[
        Route("/", _index),
        WebSocketRoute("/ws", _playground_socket),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])
    app.state.sessions = _Sessions(max_sessions)
    # A worker thread for each tab that may be open: one tab's long frame never keeps
    # another's message waiting for a thread (asyncio's default pool has cores + 4).
    app.state.workers = ThreadPoolExecutor(max(max_sessions, 1), thread_name_prefix="playground")
    app.add_middleware(_SecurityHeaders)
    # Added last, so it runs first: nothing else sees a request from another site.
    app.add_middleware(_LocalOnly, bind=host)
    return app


async def _index(request):
    return FileResponse(STATIC / "index.html")


class _SecurityHeaders:
    """ASGI middleware adding ``HEADERS`` to every HTTP response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *HEADERS]
            await send(message)

        return await self.app(scope, receive, send_with_headers)


class _LocalOnly:
    """ASGI middleware: answer only requests for this machine, and sockets from its pages.

    ``Host`` must name this machine: ``localhost``, ``127.0.0.1`` or ``[::1]`` (any
    port, any case), else HTTP gets 400 and a WebSocket is closed before its
    handshake (403). A name cannot be trusted beyond those: DNS rebinding gives a
    page on another site any name it likes for our address. So when the user binds
    another address (``--host``), that address (or name) is answered as well, and on
    every interface (``0.0.0.0``, ``::``) any IP address, which no DNS can rebind;
    other names stay refused.

    A WebSocket with an ``Origin`` must come from a page of this same server
    (``http://`` + its Host). Browsers always send Origin with a WebSocket, so only
    scripts outside a browser may leave it out. (Starlette's ``TrustedHostMiddleware``
    checks Host alone, and in Starlette versions this package accepts it cuts
    ``[::1]:8000`` at its first colon.)
    """

    def __init__(self, app, bind: str = "127.0.0.1"):
        self.app = app
        bind = bind.lower()
        if _is_ip(bind):
            bind = str(ipaddress.ip_address(bind))  # as a browser writes it: "fe80::1"
        extra = () if bind in ANY_ADDRESS else (f"[{bind}]" if ":" in bind else bind,)
        self.names = {*LOCAL_NAMES, *extra}
        self.any_ip = bind in ANY_ADDRESS

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        hosts = [value for key, value in scope["headers"] if key == b"host"]
        host = hosts[0].decode("latin-1").lower() if len(hosts) == 1 else None
        if host is None or not self._ours(host):
            refusal = ("this playground answers only pages of this machine: open it at "
                       "localhost, 127.0.0.1 or [::1] (or the address given with --host)")
        elif scope["type"] == "websocket" and not self._same_origin(scope, host):
            refusal = "this playground answers only its own page"
        else:
            return await self.app(scope, receive, send)
        log.debug("playground: refused %s (Host %r): %s", scope["type"], host, refusal)
        if scope["type"] == "http":
            return await PlainTextResponse(refusal, status_code=400)(scope, receive, send)
        # Closing before accepting refuses the handshake: the client gets HTTP 403.
        await send({"type": "websocket.close", "code": 1008, "reason": ""})

    def _ours(self, host: str) -> bool:
        match = _HOST.fullmatch(host)
        if match is None:
            return False
        name = match.group("name")
        return name in self.names or (self.any_ip and _is_ip(name.strip("[]")))

    @staticmethod
    def _same_origin(scope, host: str) -> bool:
        origins = [value for key, value in scope["headers"] if key == b"origin"]
        if not origins:
            return True
        return len(origins) == 1 and origins[0].decode("latin-1").lower() == f"http://{host}"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class _Sessions:
    """How many tabs are connected, at most ``limit``."""

    def __init__(self, limit: int):
        self.limit = limit
        self.open = 0

    def acquire(self) -> bool:
        if self.open >= self.limit:
            return False
        self.open += 1
        return True

    def release(self) -> None:
        self.open -= 1


async def _playground_socket(websocket: WebSocket) -> None:
    sessions: _Sessions = websocket.app.state.sessions
    await websocket.accept()
    if not sessions.acquire():
        await websocket.send_text(json.dumps({
            "type": "error", "message": f"the playground is full: {sessions.limit} tabs are "
            "open. Close one and reload this page."}))
        await websocket.close(code=1013)
        return
    try:
        await _Connection(websocket).run()
    except Exception as error:  # most often the tab went away while we were sending
        log.debug("playground: connection ended: %r", error)
    finally:
        sessions.release()


_CLOSED = object()


class _Connection:
    """One tab: its session, whether it plays, and the messages waiting.

    ``waiting`` counts the messages in ``inbox`` other than acks; while there is
    one, the session's ``cancel`` flag is set, so a frame in training stops after
    its current batch and the message is answered at once.
    """

    def __init__(self, websocket: WebSocket):
        self.websocket = websocket
        self.workers: ThreadPoolExecutor = websocket.app.state.workers
        self.session: Session | None = None
        self.playing = False
        self.credits = MAX_IN_FLIGHT
        # Bounded: a tab that floods us waits on its own socket, not on our memory.
        self.inbox: asyncio.Queue = asyncio.Queue(maxsize=32)
        self.waiting = 0
        self.closed = False

    async def run(self) -> None:
        self.session = await self.work(Session)
        await self.send({"type": "hello", "defaults": DEFAULTS, "limits": LIMITS,
                         "options": {"dataset": DATASETS, "activation": ACTIVATIONS,
                                     "optimizer": OPTIMIZERS,
                                     "regularization": REGULARIZATIONS,
                                     "features": {k: v[0] for k, v in FEATURES.items()}}})
        await self._send_network()
        reader = asyncio.create_task(self._read())
        try:
            while not self.closed:
                if self.playing and self.credits > 0 and self.inbox.empty():
                    await self._advance()
                    continue
                message = await self.inbox.get()
                if message is _CLOSED or self.closed:
                    return
                if not _is_ack(message):
                    self.waiting -= 1
                    if not self.waiting:
                        self.session.cancel.clear()
                await self._handle(message)
        finally:
            reader.cancel()
            # Whatever still runs for this tab in a worker thread (when this task was
            # cancelled mid-frame) stops at its next batch.
            self.session.cancel.set()

    async def _read(self) -> None:
        """Move the tab's messages, parsed (or the reason they are refused), to ``inbox``."""
        try:
            while True:
                received = await self.websocket.receive()
                if received["type"] == "websocket.disconnect":
                    break
                text = received.get("text")
                try:
                    message = parse_message(text if text is not None
                                            else received.get("bytes", b""))
                except (ValueError, TypeError) as error:
                    message = error
                if not _is_ack(message):
                    self.waiting += 1
                    self.session.cancel.set()
                await self.inbox.put(message)
        finally:
            # The tab is gone: its frame stops now, and nothing waiting is answered.
            self.closed = True
            self.session.cancel.set()
            # The queue is full only while the loop is taking from it, and it stops at
            # the next message it takes, now that ``closed`` is set.
            with contextlib.suppress(asyncio.QueueFull):
                self.inbox.put_nowait(_CLOSED)

    async def work(self, function, *args):
        """``function(*args)`` in a worker thread, so that the server answers other tabs."""
        return await asyncio.get_running_loop().run_in_executor(self.workers, function, *args)

    async def send(self, message: dict) -> None:
        await self.websocket.send_text(json.dumps(message, allow_nan=False,
                                                  separators=(",", ":")))

    async def _send_network(self) -> None:
        await self.send(self.session.network())
        await self.send(await self.work(self.session.frame))

    async def _send_status(self) -> None:
        await self.send({"type": "status", "playing": self.playing,
                         "epoch": self.session.epoch})

    async def _advance(self) -> None:
        """Train one frame's epochs and send the frame (see ``_train_frame``)."""
        frame = await self._train_frame()
        if frame is not None:
            self.credits -= 1
            await self.send(frame)

    async def _train_frame(self) -> dict | None:
        """One frame's epochs in a worker thread; the frame to send, or None.

        A message interrupts it (``Session.cancel``): the epochs it finished are
        kept, and drawn unless the tab has gone. A divergence pauses and says why;
        the frame then shows the last finite weights.
        """
        start = self.session.epoch
        try:
            return await self.work(self.session.step)
        except Interrupted:
            if self.closed or self.session.epoch == start:
                return None
            return await self.work(self.session.frame)
        except TrainingDiverged as error:
            self.playing = False
            await self.send({"type": "error", "kind": "diverged", "message": str(error)})
            await self._send_status()
            return await self.work(self.session.frame)

    async def _handle(self, message) -> None:
        """Answer one message; a refused one gets an error, and the tab goes on."""
        if isinstance(message, (ValueError, TypeError)):  # refused by parse_message
            await self.send({"type": "error", "message": str(message)[:500]})
            return
        try:
            await getattr(self, "_on_" + message["type"])(message)
        except (ValueError, TypeError) as error:
            await self.send({"type": "error", "message": str(error)[:500]})
        except WebSocketDisconnect:
            raise
        except Exception as error:  # a bug must not take the tab's page down with it
            log.exception("playground: unexpected error")
            await self.send({"type": "error", "message": f"internal error: {error!r}"[:500]})

    # -- one handler per message type (see messages.MESSAGES) -------------------------------

    async def _on_ack(self, message) -> None:
        self.credits = min(self.credits + 1, MAX_IN_FLIGHT)

    async def _on_settings(self, message) -> None:
        renewed = await self.work(self.session.update, message["settings"])
        if renewed == "live":
            await self.send({"type": "settings", "settings": self.session.settings})
        else:
            await self._send_network()

    async def _on_play(self, message) -> None:
        self.playing = True
        await self._send_status()

    async def _on_pause(self, message) -> None:
        self.playing = False
        await self._send_status()

    async def _on_step(self, message) -> None:
        self.playing = False
        await self._send_status()
        frame = await self._train_frame()
        if frame is not None:
            await self.send(frame)

    async def _on_reset(self, message) -> None:
        await self.work(self.session.reset)
        await self._send_network()
        await self._send_status()

    async def _on_regenerate(self, message) -> None:
        await self.work(self.session.regenerate)
        await self._send_network()

    def _asked_on_another_network(self, message) -> bool:
        """Whether a question names a network this tab no longer has: the page asked it on a
        drawing the server had already replaced (its "network" message is on its way), so it
        is not answered, neither with the new network's numbers nor with an index error."""
        return message.get("network", self.session.network_id) != self.session.network_id

    async def _on_explain(self, message) -> None:
        if self._asked_on_another_network(message):
            return
        await self.send(await self.work(
            self.session.explain, message["layer"], message["param"], message["index"]))

    async def _on_neuron(self, message) -> None:
        if self._asked_on_another_network(message):
            return
        await self.send(await self.work(
            self.session.neuron, message["layer"], message["neuron"]))

    async def _on_code(self, message) -> None:
        await self.send({"type": "code", "code": self.session.code()})

    async def _on_download(self, message) -> None:
        data = await self.work(self.session.model_file)
        name = f"playground-{self.session.settings['dataset']}-epoch{self.session.epoch}"
        await self.send({"type": "download", "filename": name + ".chainrule", "size": len(data)})
        await self.websocket.send_bytes(data)


def _is_ack(message) -> bool:
    return isinstance(message, dict) and message["type"] == "ack"


def serve(host: str = "127.0.0.1", port: int = 0, *, open_browser: bool = True,
          max_sessions: int = MAX_SESSIONS) -> None:
    """Run the playground until Ctrl+C: bind, print the URL, open a browser, serve.

    Parameters
    ----------
    host : str
        Address to listen on (an empty one is refused); anything but the loopback
        prints a warning, since the page has no login and anyone who can reach it
        can use it. Pages are
        served to this machine's names and to this address (any IP address for
        ``0.0.0.0`` or ``::``), never to another DNS name (see ``_LocalOnly``).
    port : int
        0 picks a free port.
    open_browser : bool
        Open the page in the default browser.
    """
    import uvicorn

    if not host.strip():
        # The socket layer reads "" as every interface: an unset variable must not do that.
        raise ValueError("--host must name an address, such as 127.0.0.1 (this machine only) "
                         f"or 0.0.0.0 (every interface); got {host!r}")
    if host.lower() not in LOCAL_HOSTS:
        print(f"warning: --host {host} lets other machines reach the playground, which has no "
              "login; use it only on a network you trust", file=sys.stderr)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(64)
    # The actual port (port 0 asks the system for a free one), known before serving starts.
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    url = f"http://{shown}:{listener.getsockname()[1]}/"
    print(f"chainrule playground: {url}  (Ctrl+C stops it)", flush=True)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, [url]).start()
    config = uvicorn.Config(create_app(max_sessions=max_sessions, host=host),
                            log_level="warning",
                            ws="websockets-sansio", ws_max_size=WS_MAX_SIZE, lifespan="off")
    uvicorn.Server(config).run(sockets=[listener])

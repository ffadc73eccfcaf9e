"""The playground's server: Starlette serves the page, one WebSocket per tab runs its session.

Each tab gets its own ``Session`` on its own connection. Messages are read by
one task into a queue and handled in order by another, between frames, so a
session is never touched by two things at once; training runs in a worker
thread so that the server keeps answering every other tab meanwhile. The page
acknowledges each frame it has drawn, and the server never runs more than
``MAX_IN_FLIGHT`` frames ahead of it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
import threading
import webbrowser
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.responses import FileResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..model import TrainingDiverged
from .messages import MAX_MESSAGE, parse_message
from .session import Session
from .settings import (
    ACTIVATIONS,
    DATASETS,
    DEFAULTS,
    FEATURES,
    LIMITS,
    OPTIMIZERS,
    REGULARIZATIONS,
)

STATIC = Path(__file__).parent / "static"
#: tabs served at once; one more is told the playground is full
MAX_SESSIONS = 8
#: frames sent and not yet acknowledged by the page
MAX_IN_FLIGHT = 2
#: the WebSocket layer drops any frame larger than this (the app refuses beyond MAX_MESSAGE)
WS_MAX_SIZE = 4 * MAX_MESSAGE
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")

# Only this server's own files and socket: nothing on the page can reach another machine.
HEADERS = [
    (b"content-security-policy", b"default-src 'self'; connect-src 'self'; img-src 'self' data: "
     b"blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
]

log = logging.getLogger("chainrule.playground")


def create_app(*, max_sessions: int = MAX_SESSIONS) -> Starlette:
    """The ASGI app: the page at ``/``, its files under ``/static``, tabs on ``/ws``."""
    app = Starlette(routes=[
        Route("/", _index),
        WebSocketRoute("/ws", _playground_socket),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])
    app.state.sessions = _Sessions(max_sessions)
    app.add_middleware(_SecurityHeaders)
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


def _same_origin(websocket: WebSocket) -> bool:
    """Refuse sockets opened by another site's page (a browser always sends Origin)."""
    origin = websocket.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == websocket.headers.get("host")


async def _playground_socket(websocket: WebSocket) -> None:
    if not _same_origin(websocket):
        await websocket.close(code=1008)
        return
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
    """One tab: its session, whether it plays, and the messages waiting."""

    def __init__(self, websocket: WebSocket):
        self.websocket = websocket
        self.session: Session | None = None
        self.playing = False
        self.credits = MAX_IN_FLIGHT
        # Bounded: a tab that floods us waits on its own socket, not on our memory.
        self.inbox: asyncio.Queue = asyncio.Queue(maxsize=32)

    async def run(self) -> None:
        self.session = await asyncio.to_thread(Session)
        await self.send({"type": "hello", "defaults": DEFAULTS, "limits": LIMITS,
                         "options": {"dataset": DATASETS, "activation": ACTIVATIONS,
                                     "optimizer": OPTIMIZERS,
                                     "regularization": REGULARIZATIONS,
                                     "features": {k: v[0] for k, v in FEATURES.items()}}})
        await self._send_network()
        reader = asyncio.create_task(self._read())
        try:
            while True:
                if self.playing and self.credits > 0 and self.inbox.empty():
                    await self._advance()
                    continue
                text = await self.inbox.get()
                if text is _CLOSED:
                    return
                await self._handle(text)
        finally:
            reader.cancel()

    async def _read(self) -> None:
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                await self.inbox.put(text if text is not None else message.get("bytes", b""))
        finally:
            await self.inbox.put(_CLOSED)

    async def send(self, message: dict) -> None:
        await self.websocket.send_text(json.dumps(message, allow_nan=False,
                                                  separators=(",", ":")))

    async def _send_network(self) -> None:
        await self.send(self.session.network())
        await self.send(await asyncio.to_thread(self.session.frame))

    async def _send_status(self) -> None:
        await self.send({"type": "status", "playing": self.playing,
                         "epoch": self.session.epoch})

    async def _advance(self) -> None:
        """Train one frame's epochs and send the frame; a divergence pauses and says why."""
        try:
            frame = await asyncio.to_thread(self.session.step)
        except TrainingDiverged as error:
            self.playing = False
            await self.send({"type": "error", "kind": "diverged", "message": str(error)})
            await self._send_status()
            await self.send(await asyncio.to_thread(self.session.frame))
            return
        self.credits -= 1
        await self.send(frame)

    async def _handle(self, text) -> None:
        """Answer one message; a refused one gets an error, and the tab goes on."""
        try:
            message = parse_message(text)
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
        renewed = await asyncio.to_thread(self.session.update, message["settings"])
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
        try:
            await self.send(await asyncio.to_thread(self.session.step))
        except TrainingDiverged as error:
            await self.send({"type": "error", "kind": "diverged", "message": str(error)})

    async def _on_reset(self, message) -> None:
        await asyncio.to_thread(self.session.reset)
        await self._send_network()
        await self._send_status()

    async def _on_regenerate(self, message) -> None:
        await asyncio.to_thread(self.session.regenerate)
        await self._send_network()

    async def _on_explain(self, message) -> None:
        await self.send(await asyncio.to_thread(
            self.session.explain, message["layer"], message["param"], message["index"]))

    async def _on_neuron(self, message) -> None:
        await self.send(await asyncio.to_thread(
            self.session.neuron, message["layer"], message["neuron"]))

    async def _on_code(self, message) -> None:
        await self.send({"type": "code", "code": self.session.code()})

    async def _on_download(self, message) -> None:
        data = await asyncio.to_thread(self.session.model_file)
        name = f"playground-{self.session.settings['dataset']}-epoch{self.session.epoch}"
        await self.send({"type": "download", "filename": name + ".chainrule", "size": len(data)})
        await self.websocket.send_bytes(data)


def serve(host: str = "127.0.0.1", port: int = 0, *, open_browser: bool = True,
          max_sessions: int = MAX_SESSIONS) -> None:
    """Run the playground until Ctrl+C: bind, print the URL, open a browser, serve.

    Parameters
    ----------
    host : str
        Address to listen on; anything but the loopback prints a warning, since
        the page has no login and anyone who can reach it can use it.
    port : int
        0 picks a free port.
    open_browser : bool
        Open the page in the default browser.
    """
    import uvicorn

    if host not in LOCAL_HOSTS:
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
    config = uvicorn.Config(create_app(max_sessions=max_sessions), log_level="warning",
                            ws="websockets-sansio", ws_max_size=WS_MAX_SIZE, lifespan="off")
    uvicorn.Server(config).run(sockets=[listener])

"""The playground: a local web page that trains a chainrule network live and explains any weight.

``chainrule playground`` (or ``serve()``) starts it. ``Session`` holds one tab's
settings, data, network and frames; ``create_app`` is the Starlette app that
connects tabs to sessions. Needs ``pip install 'chainrule[playground]'``
(Starlette, uvicorn); nothing in chainrule's core imports this package.
"""

from .session import Interrupted, Session

__all__ = ["Interrupted", "Session", "create_app", "serve"]


def __getattr__(name):
    # The server needs Starlette; the session does not, so import it only when asked.
    if name in ("create_app", "serve"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

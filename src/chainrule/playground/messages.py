"""The messages a page may send, and the one function that reads them.

Every message is a JSON object with a ``type`` and exactly the fields that type
names — no more, no fewer — besides the optional ones ``OPTIONAL`` names. Anything
else is refused with a ``ValueError`` or ``TypeError`` whose text the page shows; the
values inside are checked later, by the session (settings, layer and weight numbers).
"""

from __future__ import annotations

import json

#: the largest message a page may send, in characters (its longest is a few hundred)
MAX_MESSAGE = 16_384

#: message type → the fields it carries besides ``type``
MESSAGES = {
    "settings": ("settings",),
    "play": (),
    "pause": (),
    "step": (),
    "reset": (),
    "regenerate": (),
    "explain": ("layer", "param", "index"),
    "neuron": ("layer", "neuron"),
    "code": (),
    "download": (),
    "ack": (),
}

#: message type → the fields it may carry besides those: a question (explain, neuron) names
#: the network it was asked on, so that the server does not answer it on a newer one (the
#: page's click was on a drawing the server had already replaced)
OPTIONAL = {
    "explain": ("network",),
    "neuron": ("network",),
}


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def parse_message(text) -> dict:
    """Read one message from a page; refuse anything that is not a known, complete message.

    Parameters
    ----------
    text : str
        The WebSocket text frame as received.

    Returns
    -------
    dict with ``type`` and exactly the fields ``MESSAGES[type]`` lists.
    """
    if not isinstance(text, str):
        raise TypeError("messages must be JSON text, not binary data")
    if len(text) > MAX_MESSAGE:
        raise ValueError(f"message too long: at most {MAX_MESSAGE} characters; got {len(text)}")
    try:
        message = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("message is nested too deeply") from None
    except ValueError as error:
        raise ValueError(f"message is not valid JSON: {error}"[:200]) from None
    if not isinstance(message, dict):
        raise TypeError("a message must be a JSON object with a type; "
                        f"got {type(message).__name__}")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in MESSAGES:
        raise ValueError(f"message type must be one of {', '.join(MESSAGES)}; "
                         f"got {kind!r}"[:200])
    fields = set(message) - {"type"} - set(OPTIONAL.get(kind, ()))
    expected = set(MESSAGES[kind])
    if fields != expected:
        unknown, missing = sorted(fields - expected), sorted(expected - fields)
        problems = ([f"unknown field(s) {', '.join(unknown)}"] if unknown else []) + \
                   ([f"missing field(s) {', '.join(missing)}"] if missing else [])
        raise ValueError(f"{kind} message: {'; '.join(problems)}"[:200])
    if "network" in message:
        network = message["network"]
        # bool is an int to Python, not a network's id to the page.
        if not isinstance(network, int) or isinstance(network, bool):
            raise TypeError(f"{kind} message: network must be a network's id, an integer; "
                            f"got {type(network).__name__}")
        if network < 0:
            raise ValueError(f"{kind} message: network must be a network's id, >= 0; "
                             f"got {network}")
    return message

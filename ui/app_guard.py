"""What stands in front of the app: a Host-header check, and a clear "busy, retry" answer.

- DNS rebinding: a web page on attacker.example can make a browser send requests to a local app
  under the attacker's host name. Only requests whose Host is localhost, 127.0.0.1, [::1], the
  bound address or a name in THB_ALLOWED_HOSTS get through; others get 400. When the app binds to
  every interface (0.0.0.0, ::), IP literals are accepted too: a rebinding attack needs a name.
- Past saturation Gradio refuses to queue more events with 503 "Queue is full"; that answer gets
  a Retry-After header and a plain message, so an API client retries instead of timing out.
"""
from __future__ import annotations

import ipaddress
import json

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})
RETRY_AFTER_S = 2
BUSY_MESSAGE = f"The server is busy: retry in {RETRY_AFTER_S} s."


def allowed_host_names(bind_host: str, setting: str) -> frozenset[str] | None:
    """Host names to accept (lower case, IPv6 without brackets); None accepts any ("*")."""
    names = {n.strip().lower().strip("[]") for n in (setting or "").split(",") if n.strip()}
    if "*" in names:
        return None
    return frozenset(LOCAL_HOSTS | names | {bind_host.lower().strip("[]")})


def host_name(header: str) -> str:
    """The name part of a Host header: "[::1]:7860" -> "::1", "Example.org:80" -> "example.org"."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    if header.count(":") == 1:
        return header.split(":", 1)[0]
    return header


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class RequestGuard:
    """ASGI middleware: refuse unknown Host headers; give Gradio's 503 a Retry-After and a message."""

    def __init__(self, app, *, allowed: frozenset[str] | None, accept_ip_literals: bool):
        self.app = app
        self.allowed = allowed
        self.accept_ip_literals = accept_ip_literals

    def host_ok(self, headers: list) -> bool:
        if self.allowed is None:
            return True
        raw = next((v for k, v in headers if k == b"host"), b"").decode("latin-1")
        name = host_name(raw)
        return name in self.allowed or (self.accept_ip_literals and _is_ip(name))

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        if not self.host_ok(scope.get("headers") or []):
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await _plain(send, 400, "Host header not allowed: add the name to THB_ALLOWED_HOSTS.")
        if scope["type"] != "http" or not scope.get("path", "").startswith("/gradio_api/"):
            return await self.app(scope, receive, send)
        busy = False

        async def send_busy_aware(message):
            nonlocal busy
            if message["type"] == "http.response.start" and message["status"] == 503:
                busy = True
                return
            if busy:
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    await _json(send, 503, {"detail": BUSY_MESSAGE, "retry_after_s": RETRY_AFTER_S},
                                [(b"retry-after", str(RETRY_AFTER_S).encode())])
                return
            await send(message)

        await self.app(scope, receive, send_busy_aware)


async def _plain(send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _json(send, status: int, payload: dict, headers: list) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})

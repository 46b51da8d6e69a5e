"""Shared parts of the reliability tests (issue 13): a small generated corpus, the fake embedder's
environment, the `thb` CLI in-process, and the served app on a free loopback port with Gradio's HTTP API.

The encoder is THB_ENCODER=test-hash (index/embedder.py): a deterministic stand-in marked as such,
for tests whose subject is the store, the CLI or the server, not the model.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

from click.testing import CliRunner

# One made-up word per document: whichever document holds it must answer a search for it.
TOPICS = {"alpha.txt": "zorblatt", "beta.txt": "quindaro", "gamma.txt": "vextrion", "delta.txt": "plumbrisk"}
FILLER = ("The authorities shall protect victims of trafficking in human beings and ensure their "
          "access to assistance, residence permits and compensation under national law. ")


def hash_encoder(monkeypatch) -> None:
    """The fake embedder's environment (conftest FAKE_EMBEDDER_ENV); the `fake_embedder` fixture does this."""
    from tests.conftest import FAKE_EMBEDDER_ENV

    for key, value in FAKE_EMBEDDER_ENV.items():
        monkeypatch.setenv(key, value)


def doc_text(word: str, paragraphs: int = 3) -> str:
    return "\n\n".join(f"Article {i}. {FILLER}The {word} procedure applies in case {i}." for i in range(1, paragraphs + 1))


def write_corpus(folder: Path, names, paragraphs: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(doc_text(TOPICS[name], paragraphs), encoding="utf-8")
    return folder


def thb(*args: str, env: dict | None = None):
    """`thb ARGS` in this process (click's runner), stdout and stderr apart."""
    from ui.cli import cli

    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def top_paths(result_stdout: str) -> list[str]:
    return [h["doc_path"] for h in json.loads(result_stdout)["hits"]]


def serve(settings, auth=None, searcher=None, host: str = "127.0.0.1"):
    """The app (ui.app.build_server) in a uvicorn thread; (server, url)."""
    import uvicorn

    from ui.app import build_server

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = build_server(settings, auth=auth, searcher=searcher, host=host, port=port)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    return server, f"http://127.0.0.1:{port}"


def call(client, url: str, api: str, data: list, timeout_s: float = 120) -> tuple[str, object]:
    """Gradio's two-step HTTP API: POST /gradio_api/call/<api>, then read its event stream;
    (last event name, its decoded data)."""
    # json.dumps escapes a lone surrogate as \\udXXX, as a browser's JSON.stringify does
    r = client.post(f"{url}/gradio_api/call/{api}", content=json.dumps({"data": data}),
                    headers={"content-type": "application/json"}, timeout=timeout_s)
    r.raise_for_status()
    event, payload = None, None
    with client.stream("GET", f"{url}/gradio_api/call/{api}/{r.json()['event_id']}", timeout=timeout_s) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line.split(":", 1)[1].strip() or "null")
                break
    return event, payload


def search_html(client, url: str, query) -> str:
    """The Ask tab's results HTML for a query (no filters), through the HTTP API."""
    event, data = call(client, url, "search", [query, [], [], [], "", "", [], [], False])
    assert event == "complete", (event, data)
    return data[0] if isinstance(data[0], str) else json.dumps(data[0])


def upload(client, url: str, name: str, content: bytes, *, title="", doc_type="report", country="SE",
           language="en", year="2020") -> str:
    """A browser's upload: the file to /gradio_api/upload, then the add endpoint; its outcome line."""
    r = client.post(f"{url}/gradio_api/upload", files=[("files", (name, content))], timeout=60)
    r.raise_for_status()
    path = r.json()[0]
    event, data = call(client, url, "add", [{"path": path, "meta": {"_type": "gradio.FileData"}}, title, doc_type,
                                            country, language, year])
    assert event == "complete", (event, data)
    return data[0]

"""Load test of the served app: N concurrent clients on loopback for D seconds through its HTTP API.

    python -m bench.load --clients 50 --seconds 60                 # starts the app on a free port
    python -m bench.load --url http://127.0.0.1:7860 --clients 20  # against a running app

Each client loops (bounded by the deadline and a per-request timeout) over a fixed query list,
calling the app's search endpoint with Gradio's HTTP API (POST /gradio_api/call/<api>, then read
the event stream). Prints a table (requests, errors, req/s, p50/p95/p99 ms) and appends a JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

QUERIES = ["victims of trafficking", "forced labour indicators", "Menschenhandel Strafe", "ihmiskauppa",
           "recruitment fees debt bondage", "child trafficking sexual exploitation", "non-punishment principle",
           "supply chain due diligence", "människohandel", "handel ludźmi", "residence permit for victims",
           "GRETA evaluation", "(unbalanced \"quote", "", "🙂 emoji only", "x" * 3000]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(home: str | None, port: int, wait_s: float = 180.0) -> subprocess.Popen:
    """`serve_app` in a child process on 127.0.0.1:port; returns once the port answers."""
    env = dict(os.environ)
    if home:
        env["THB_HOME"] = home
    code = ("from ingest.settings import load_settings; from ui.app import serve_app; "
            f"serve_app(load_settings(), host='127.0.0.1', port={port})")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited with code {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"the app did not listen on port {port} within {wait_s:g} s")


def find_endpoint(client, url: str, api_name: str | None) -> tuple[str, list]:
    """The search endpoint's name and a template of its inputs (defaults for all but the query)."""
    info = client.get(f"{url}/gradio_api/info").json()
    named = info.get("named_endpoints", {})
    if api_name is None:
        candidates = [n for n in named if "search" in n] or [n for n in named if "run" in n]
        if not candidates:
            raise SystemExit(f"no search endpoint among {sorted(named)}; pass --api-name")
        api_name = candidates[0]
    params = named[api_name]["parameters"]
    template = [p.get("parameter_default") if p.get("parameter_has_default") else None for p in params]
    query_at = next((i for i, p in enumerate(params) if "query" in (p.get("label") or p.get("parameter_name") or "").lower()), 0)
    return api_name.lstrip("/"), [query_at, template]


def call(client, url: str, api: str, data: list, timeout_s: float) -> None:
    """One search through Gradio's two-step HTTP API; raises on any error."""
    r = client.post(f"{url}/gradio_api/call/{api}", json={"data": data}, timeout=timeout_s)
    r.raise_for_status()
    event_id = r.json()["event_id"]
    with client.stream("GET", f"{url}/gradio_api/call/{api}/{event_id}", timeout=timeout_s) as stream:
        event = None
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
                if event in ("complete", "error"):
                    break
    if event != "complete":
        raise RuntimeError(f"event {event}")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def run(url: str, clients: int, seconds: float, api_name: str | None, timeout_s: float, auth: str | None) -> dict:
    import httpx

    with httpx.Client() as probe:
        if auth:
            user, password = auth.split(":", 1)
            probe.post(f"{url}/login", data={"username": user, "password": password}).raise_for_status()
        api, (query_at, template) = find_endpoint(probe, url, api_name)
        cookies = dict(probe.cookies)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client_loop(n: int) -> None:
        with httpx.Client(cookies=cookies) as client:
            i = n
            while time.monotonic() < deadline:  # bounded: the deadline, and each request's timeout
                data = list(template)
                data[query_at] = QUERIES[i % len(QUERIES)]
                i += 1
                started = time.perf_counter()
                try:
                    call(client, url, api, data, timeout_s)
                except Exception as exc:  # noqa: BLE001 - every failure is counted by kind
                    with lock:
                        key = f"{type(exc).__name__}: {str(exc)[:80]}"
                        errors[key] = errors.get(key, 0) + 1
                    continue
                with lock:
                    latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client_loop, args=(n,), daemon=True) for n in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + timeout_s + 5)
    elapsed = time.monotonic() - started
    ms = [x * 1000 for x in latencies]
    return {"bench": "load", "url": url, "api": api, "clients": clients, "seconds": round(elapsed, 1),
            "requests": len(ms), "errors": sum(errors.values()), "error_kinds": errors,
            "req_per_s": round(len(ms) / elapsed, 2), "p50_ms": round(percentile(ms, 50), 1),
            "p95_ms": round(percentile(ms, 95), 1), "p99_ms": round(percentile(ms, 99), 1),
            "commit": _commit(), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        return ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--url", help="a running app; default: start one on a free loopback port")
    parser.add_argument("--home", help="THB_HOME of the app to start (default: the current THB_HOME)")
    parser.add_argument("--api-name", help="Gradio endpoint to call (default: the first named *search*)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--auth", help="user:password when the app requires a login")
    parser.add_argument("--out", default="bench/results.jsonl", help="JSON Lines file to append to")
    args = parser.parse_args(argv)
    proc = None
    url = args.url
    if not url:
        port = free_port()
        proc = start_app(args.home, port)
        url = f"http://127.0.0.1:{port}"
    try:
        result = run(url.rstrip("/"), args.clients, args.seconds, args.api_name, args.timeout, args.auth)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(f"{'clients':>8} {'seconds':>8} {'requests':>9} {'errors':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    print(f"{result['clients']:>8} {result['seconds']:>8} {result['requests']:>9} {result['errors']:>7} "
          f"{result['req_per_s']:>7} {result['p50_ms']:>8} {result['p95_ms']:>8} {result['p99_ms']:>8}")
    for kind, n in result["error_kinds"].items():
        print(f"  error x{n}: {kind}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""Load test of the served app with a model of real use: N users, each searching every T seconds.

    python -m bench.load --users 50 --interval 10 --seconds 60     # starts the app on a free port
    python -m bench.load --saturation                              # also step the rate up until it saturates
    python -m bench.load --url http://127.0.0.1:7860 --users 20    # against a running app

Open model: each user sends a search every T seconds (+-jitter), whether or not its last answer
has come back, as people who read a result before asking again do; a slow server does not slow
the arrivals down (a closed loop of clients firing back to back measures only its own queue).
Queries are realistic: the dev questions (../shared/eval/dev.jsonl) and questions about the
bundled Task Force plans, some with a member state named, so repeats are about as rare as among
real users. No 3,000-character query is in the mix (tests/test_reliability_app.py tests that).
Each search goes through Gradio's HTTP API (POST /gradio_api/call/<api>, then its event stream).

Reports per step: offered and served req/s, p50/p95/p99 of answered searches, "busy" (HTTP 503
with Retry-After: the app's fast refusal past saturation) and errors (anything else: timeouts,
failures). With --saturation the rate is stepped up until served falls below offered or p95
explodes; the best served rate is the saturation throughput. Prints a table, appends JSON lines.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DEV_QUERIES = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "dev.jsonl"
# Questions a policy officer asks of the two bundled Task Force plans (corpus/documents/taskforce).
BUNDLED_QUESTIONS = [
    "What are the strategic priorities of the Task Force for 2020-2025?",
    "How does the Task Force support member states in identifying victims?",
    "What did the 2012-2014 plan say about labour exploitation?",
    "Which partners does the Task Force cooperate with?",
    "How is the work of the Task Force against trafficking evaluated?",
    "What training does the Task Force offer to front-line professionals?",
    "How should victims of trafficking be assisted after identification?",
    "What is said about trafficking for forced begging and criminal activities?",
    "How can public procurement prevent trafficking in supply chains?",
    "What does the strategy say about children at risk of trafficking?",
]
COUNTRIES = ["Denmark", "Estonia", "Finland", "Germany", "Iceland", "Latvia", "Lithuania", "Norway", "Poland", "Sweden"]
# Saturation steps, searches per second offered; stop when served < SERVED_SHARE x offered or p95 > P95_LIMIT_MS.
RATES = (2.0, 5.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0)
SERVED_SHARE = 0.95
P95_LIMIT_MS = 2000.0


def query_mix(seed: int = 0) -> list[str]:
    """The realistic mix: every dev and bundled question, alone and with a member state named."""
    base = list(BUNDLED_QUESTIONS)
    if DEV_QUERIES.is_file():
        base += [json.loads(line)["query"] for line in DEV_QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()]
    mix = base + [f"{q.rstrip('?')} in {c}?" for q in base for c in COUNTRIES]
    random.Random(seed).shuffle(mix)
    return mix


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(home: str | None, port: int, wait_s: float = 180.0) -> subprocess.Popen:
    """`serve_app` in a child process on 127.0.0.1:port; returns once the port answers."""
    env = dict(os.environ)
    if home:
        env["THB_HOME"] = home
    code = ("from ui.settings import load_settings; from ui.app import serve_app; "
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


def find_endpoint(client, url: str, api_name: str | None) -> tuple[str, int, list]:
    """The search endpoint's name, where its query goes, and a template of its inputs."""
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
    return api_name.lstrip("/"), query_at, template


class Busy(Exception):
    """The app answered 503: busy, retry (its designed answer past saturation)."""


def call(client, url: str, api: str, data: list, timeout_s: float) -> None:
    """One search through Gradio's two-step HTTP API; raises Busy on 503, anything else on error."""
    r = client.post(f"{url}/gradio_api/call/{api}", json={"data": data}, timeout=timeout_s)
    if r.status_code == 503:
        raise Busy(r.headers.get("retry-after", ""))
    r.raise_for_status()
    event = None
    with client.stream("GET", f"{url}/gradio_api/call/{api}/{r.json()['event_id']}", timeout=timeout_s) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
                if event in ("complete", "error"):
                    break
    if event != "complete":
        raise RuntimeError(f"event {event}")


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank); None when there is nothing to rank (JSON null)."""
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def arrivals(users: int, interval_s: float, jitter: float, seconds: float, seed: int) -> list[tuple[float, int]]:
    """(time, user) of every search: each user starts at a random offset in its first interval,
    then waits interval x (1 +- jitter) between searches."""
    rng = random.Random(seed)
    out = []
    for user in range(users):
        t = rng.uniform(0, interval_s)
        while t < seconds:
            out.append((t, user))
            t += interval_s * (1 + rng.uniform(-jitter, jitter))
    return sorted(out)


def run_step(url: str, endpoint: tuple, *, users: int, interval_s: float, jitter: float, seconds: float,
             timeout_s: float, cookies: dict, seed: int = 0) -> dict:
    """One open-model step: send every scheduled search on time, each on its own worker."""
    import httpx

    api, query_at, template = endpoint
    queries = query_mix(seed)
    schedule = arrivals(users, interval_s, jitter, seconds, seed)
    latencies: list[float] = []
    busy_ms: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    limits = httpx.Limits(max_connections=users * 4, max_keepalive_connections=users * 2)

    def one(n: int, client) -> None:
        data = list(template)
        data[query_at] = queries[n % len(queries)]
        started = time.perf_counter()
        try:
            call(client, url, api, data, timeout_s)
        except Busy:
            with lock:
                busy_ms.append((time.perf_counter() - started) * 1000)
            return
        except Exception as exc:  # noqa: BLE001 - every failure is counted by kind
            with lock:
                key = f"{type(exc).__name__}: {str(exc)[:80]}"
                errors[key] = errors.get(key, 0) + 1
            return
        with lock:
            latencies.append((time.perf_counter() - started) * 1000)

    with httpx.Client(cookies=cookies, limits=limits) as client, \
            ThreadPoolExecutor(max_workers=min(512, users * 4)) as pool:
        start = time.monotonic()
        futures = []
        for n, (at, _user) in enumerate(schedule):
            delay = start + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(one, n, client))
        for f in futures:
            f.result()
        elapsed = max(seconds, time.monotonic() - start)
    return {"bench": "load", "model": "open", "url": url, "api": api, "users": users, "interval_s": interval_s,
            "jitter": jitter, "seconds": round(elapsed, 1), "sent": len(schedule),
            "offered_req_s": round(len(schedule) / seconds, 2), "served_req_s": round(len(latencies) / elapsed, 2),
            "answered": len(latencies), "busy": len(busy_ms), "busy_p95_ms": _round(percentile(busy_ms, 95)),
            "errors": sum(errors.values()), "error_kinds": errors,
            "p50_ms": _round(percentile(latencies, 50)), "p95_ms": _round(percentile(latencies, 95)),
            "p99_ms": _round(percentile(latencies, 99)), "commit": _commit(), "load_avg": round(os.getloadavg()[0], 1),
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def saturated(row: dict) -> bool:
    return (row["served_req_s"] < SERVED_SHARE * row["offered_req_s"]
            or row["p95_ms"] is None or row["p95_ms"] > P95_LIMIT_MS)


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        return ""


HEADER = (f"{'step':<12} {'users':>5} {'every s':>7} {'offered/s':>9} {'served/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'busy':>5} {'errors':>6}")


def line(name: str, r: dict) -> str:
    return (f"{name:<12} {r['users']:>5} {r['interval_s']:>7g} {r['offered_req_s']:>9} {r['served_req_s']:>8} "
            f"{r['p50_ms']:>8} {r['p95_ms']:>8} {r['p99_ms']:>8} {r['busy']:>5} {r['errors']:>6}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between one user's searches")
    parser.add_argument("--jitter", type=float, default=0.5, help="interval x (1 +- jitter), uniform")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each step")
    parser.add_argument("--saturation", action="store_true", help="then step the rate up (RATES) until saturated")
    parser.add_argument("--step-seconds", type=float, default=30.0, help="length of each saturation step")
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
    url = url.rstrip("/")
    rows = []
    try:
        endpoint, cookies = _connect(url, args.api_name, args.auth)
        common = dict(jitter=args.jitter, timeout_s=args.timeout, cookies=cookies)
        run_step(url, endpoint, users=4, interval_s=1.0, seconds=5, **common)  # warm-up, not reported
        print(HEADER)
        rows.append(("target", run_step(url, endpoint, users=args.users, interval_s=args.interval,
                                        seconds=args.seconds, **common)))
        print(line(*rows[-1]), flush=True)
        if args.saturation:
            for rate in RATES:
                interval = args.users / rate
                rows.append((f"{rate:g}/s", run_step(url, endpoint, users=args.users, interval_s=interval,
                                                     seconds=args.step_seconds, **common)))
                print(line(*rows[-1]), flush=True)
                if saturated(rows[-1][1]):
                    break
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    steps = [r for name, r in rows if name != "target"]
    if steps:
        fine = [r["served_req_s"] for r in steps if not saturated(r)]
        best = f"{max(fine)} req/s" if fine else f"below {steps[0]['offered_req_s']} req/s (the first step saturated)"
        print(f"saturation throughput: {best} served with p95 <= {P95_LIMIT_MS:g} ms; highest served at all: "
              f"{max(r['served_req_s'] for r in steps)} req/s; load average {os.getloadavg()[0]:.1f}")
    for name, r in rows:
        for kind, n in r["error_kinds"].items():
            print(f"  {name}: error x{n}: {kind}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a", encoding="utf-8") as fh:
        for name, r in rows:
            fh.write(json.dumps(dict(r, step=name), ensure_ascii=False) + "\n")
    target = rows[0][1] if rows else {"errors": 1}
    return 1 if target["errors"] else 0


def _connect(url: str, api_name: str | None, auth: str | None):
    import httpx

    with httpx.Client() as probe:
        if auth:
            user, password = auth.split(":", 1)
            probe.post(f"{url}/login", data={"username": user, "password": password}).raise_for_status()
        return find_endpoint(probe, url, api_name), dict(probe.cookies)


if __name__ == "__main__":
    sys.exit(main())

"""What the app remembers for each user: saved searches and the briefing basket.

Its own SQLite file, THB_HOME/state.sqlite, beside the index rather than in it: `thb ingest
--rebuild` replaces the index folder, and a user's work must outlive that. One row per
(user, name) saved search and one JSON basket per user; the user is the login name, "" when the
app runs without a login.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

STATE_FILE = "state.sqlite"
LEGACY_SAVED = "saved_searches.json"  # the first version's file, imported once
MIGRATIONS = (
    """CREATE TABLE saved_searches (user TEXT NOT NULL, name TEXT NOT NULL, query TEXT NOT NULL,
       filters TEXT NOT NULL, saved_at REAL NOT NULL, last_opened REAL NOT NULL, PRIMARY KEY (user, name))""",
    """CREATE TABLE baskets (user TEXT PRIMARY KEY, basket TEXT NOT NULL, updated_at REAL NOT NULL)""",
)
_lock = threading.Lock()


def state_path(settings) -> Path:
    return Path(settings.home) / STATE_FILE


def _connect(settings) -> sqlite3.Connection:
    path = state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30)
    conn.row_factory = sqlite3.Row
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, sql in enumerate(MIGRATIONS[version:], start=version + 1):
        with conn:
            conn.execute(sql)
            conn.execute(f"PRAGMA user_version = {number}")
    if version == 0:
        _import_legacy(conn, path.parent / LEGACY_SAVED)
    return conn


def _import_legacy(conn: sqlite3.Connection, legacy: Path) -> None:
    """Saved searches of the first app version (one JSON file, no users) become the no-login user's."""
    try:
        saved = json.loads(legacy.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    with conn:
        for name, e in saved.items() if isinstance(saved, dict) else ():
            conn.execute("INSERT OR IGNORE INTO saved_searches VALUES ('', ?, ?, ?, ?, ?)",
                         (name, e.get("query", ""), json.dumps(e.get("filters", {})), e.get("saved_at", 0.0),
                          e.get("last_opened", 0.0)))


def _run(settings, fn):
    with _lock:
        conn = _connect(settings)
        try:
            with conn:
                return fn(conn)
        finally:
            conn.close()


def saved_searches(settings, user: str) -> dict[str, dict]:
    """{name: {"query", "filters", "saved_at", "last_opened"}} of one user, by name."""
    rows = _run(settings, lambda c: c.execute(
        "SELECT * FROM saved_searches WHERE user = ? ORDER BY name COLLATE NOCASE", (user,)).fetchall())
    return {r["name"]: {"query": r["query"], "filters": json.loads(r["filters"]), "saved_at": r["saved_at"],
                        "last_opened": r["last_opened"]} for r in rows}


def save_search(settings, user: str, name: str, query: str, filters: dict) -> None:
    now = time.time()
    _run(settings, lambda c: c.execute(
        "INSERT INTO saved_searches VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user, name) DO UPDATE SET "
        "query = excluded.query, filters = excluded.filters, saved_at = excluded.saved_at, "
        "last_opened = excluded.last_opened", (user, name, query, json.dumps(filters, ensure_ascii=False), now, now)))


def delete_search(settings, user: str, name: str) -> None:
    _run(settings, lambda c: c.execute("DELETE FROM saved_searches WHERE user = ? AND name = ?", (user, name)))


def mark_opened(settings, user: str, name: str) -> float:
    """Record that a saved search was opened; returns when it was opened before (0 if never)."""
    def fn(c):
        row = c.execute("SELECT last_opened FROM saved_searches WHERE user = ? AND name = ?", (user, name)).fetchone()
        c.execute("UPDATE saved_searches SET last_opened = ? WHERE user = ? AND name = ?", (time.time(), user, name))
        return row[0] if row else 0.0
    return _run(settings, fn)


def load_basket(settings, user: str) -> dict:
    row = _run(settings, lambda c: c.execute("SELECT basket FROM baskets WHERE user = ?", (user,)).fetchone())
    basket = json.loads(row[0]) if row else {}
    return {"items": list(basket.get("items", [])), "queries": list(basket.get("queries", []))}


def store_basket(settings, user: str, basket: dict) -> None:
    data = json.dumps({"items": basket.get("items", []), "queries": basket.get("queries", [])}, ensure_ascii=False)
    _run(settings, lambda c: c.execute(
        "INSERT INTO baskets VALUES (?, ?, ?) ON CONFLICT (user) DO UPDATE SET basket = excluded.basket, "
        "updated_at = excluded.updated_at", (user, data, time.time())))


def user_of(request) -> str:
    """The login name of the request's user; "" without a login."""
    return (getattr(request, "username", None) or "") if request is not None else ""

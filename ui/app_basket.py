"""The briefing basket (pinned passages, exported as Markdown or DOCX) and saved searches."""
from __future__ import annotations

import json
import time
from html import escape
from pathlib import Path

from ui.app_render import citation_of

EMPTY_BASKET = {"items": [], "queries": []}


def basket_item(hit, query: str, labels: dict[str, str]) -> dict:
    """A pinned hit as plain data (gr.State must hold JSON-like values)."""
    prio = hit.priorities[0] if hit.priorities else ""
    return {"chunk_id": hit.chunk_id, "doc_id": hit.doc_id, "title": hit.title, "citation": citation_of(hit),
            "text": " ".join(hit.text.split()), "highlights": [h.text for h in hit.highlights],
            "priority": labels.get(prio, prio) if prio else "Other", "country": hit.country,
            "year": hit.year, "doc_type": hit.doc_type, "query": query}


def pin(basket: dict | None, items: list[dict]) -> dict:
    basket = {"items": list((basket or EMPTY_BASKET)["items"]), "queries": list((basket or EMPTY_BASKET)["queries"])}
    known = {i["chunk_id"] for i in basket["items"]}
    for item in items:
        if item["chunk_id"] not in known:
            basket["items"].append(item)
            known.add(item["chunk_id"])
        if item["query"] and item["query"] not in basket["queries"]:
            basket["queries"].append(item["query"])
    return basket


def move(basket: dict, chunk_id: str, step: int) -> dict:
    """Move an item up (step -1) or down (+1); step 0 removes it."""
    items = list(basket["items"])
    idx = next((i for i, it in enumerate(items) if it["chunk_id"] == chunk_id), None)
    if idx is None:
        return basket
    if step == 0:
        items.pop(idx)
    else:
        j = max(0, min(len(items) - 1, idx + step))
        items[idx], items[j] = items[j], items[idx]
    queries = [q for q in basket["queries"] if any(it["query"] == q for it in items)]
    return {"items": items, "queries": queries}


def choices(basket: dict) -> list[tuple[str, str]]:
    return [(f"{n}. {it['citation'][:90]}", it["chunk_id"]) for n, it in enumerate(basket["items"], start=1)]


def basket_html(basket: dict) -> str:
    if not basket["items"]:
        return '<div class="thb-msg">The basket is empty: tick hits on the Ask tab and press “Pin”.</div>'
    rows = "".join(f"<li><b>{escape(it['citation'])}</b> <span class='thb-tag'>{escape(it['priority'])}</span>"
                   f"<div class='thb-passage'>{escape(it['text'][:300])}{'…' if len(it['text']) > 300 else ''}"
                   f"</div></li>" for it in basket["items"])
    queries = "".join(f"<li>{escape(q)}</li>" for q in basket["queries"])
    return f"<ol class='thb-basket'>{rows}</ol><p><b>Queries used</b></p><ul>{queries}</ul>"


def _grouped(basket: dict) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for it in basket["items"]:
        groups.setdefault(it["priority"], []).append(it)
    return groups


def _quote(it: dict) -> str:
    return it["text"]


def to_markdown(basket: dict) -> str:
    lines = ["# Briefing", ""]
    for label, items in _grouped(basket).items():
        lines += [f"## {label}", ""]
        for it in items:
            lines += [f"> {_quote(it)}", ">", f"> — {it['citation']}"
                      + (f" ({it['country']}, {it['year']})" if it["year"] else f" ({it['country']})"), ""]
    lines += ["## Queries used", ""] + [f"- {q}" for q in basket["queries"]] + [""]
    return "\n".join(lines)


def write_markdown(basket: dict, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"briefing-{time.strftime('%Y%m%d-%H%M%S')}.md"
    path.write_text(to_markdown(basket), encoding="utf-8")
    return path


def write_docx(basket: dict, folder: Path) -> Path:
    from docx import Document

    doc = Document()
    doc.add_heading("Briefing", level=0)
    for label, items in _grouped(basket).items():
        doc.add_heading(label, level=1)
        for it in items:
            doc.add_paragraph(_quote(it), style="Quote")
            suffix = f" ({it['country']}, {it['year']})" if it["year"] else f" ({it['country']})"
            doc.add_paragraph(f"— {it['citation']}{suffix}")
    doc.add_heading("Queries used", level=1)
    for q in basket["queries"]:
        doc.add_paragraph(q, style="List Bullet")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"briefing-{time.strftime('%Y%m%d-%H%M%S')}.docx"
    doc.save(path)
    return path


# Saved searches: {name: {"query", "filters": {...}, "saved_at", "last_opened"}} in one JSON file.

def saved_path(settings) -> Path:
    return settings.home / "saved_searches.json"


def load_saved(settings) -> dict:
    try:
        return json.loads(saved_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def save_search(settings, name: str, query: str, filters: dict) -> dict:
    saved = load_saved(settings)
    now = time.time()
    saved[name] = {"query": query, "filters": filters, "saved_at": now, "last_opened": now}
    _write_saved(settings, saved)
    return saved


def mark_opened(settings, name: str) -> float:
    """Record that a saved search was opened; returns when it was last opened before."""
    saved = load_saved(settings)
    previous = saved.get(name, {}).get("last_opened", 0.0)
    if name in saved:
        saved[name]["last_opened"] = time.time()
        _write_saved(settings, saved)
    return previous


def _write_saved(settings, saved: dict) -> None:
    path = saved_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(saved, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)

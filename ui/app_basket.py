"""The briefing basket: pinned passages, reordered, exported as Markdown or DOCX (stored per user by ui.app_state)."""
from __future__ import annotations

import time
from html import escape
from pathlib import Path

from ui.app_render import citation_of
from search.grouping import hit_priorities

EMPTY_BASKET = {"items": [], "queries": []}


def basket_item(hit, query: str, labels: dict[str, str]) -> dict:
    """A pinned hit as plain data (gr.State must hold JSON-like values)."""
    prio = next(iter(hit_priorities(hit)), "")
    return {"chunk_id": hit.chunk_id, "doc_id": hit.doc_id, "title": hit.title, "citation": citation_of(hit),
            "text": " ".join(hit.text.split()), "highlights": [h.text for h in hit.highlights],
            "priority": labels.get(prio, prio) if prio else "No thematic priority", "country": hit.country,
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
        return '<div class="thb-msg">The basket is empty: press “+ Pin” on a passage of the Ask or Compare tab.</div>'
    rows = "".join(f"<li><b>{escape(it['citation'])}</b> <span class='thb-tag'>{escape(it['priority'])}</span>"
                   f"<div class='thb-passage'>{escape(it['text'][:300])}{'…' if len(it['text']) > 300 else ''}"
                   f"</div></li>" for it in basket["items"])
    queries = "".join(f"<li>{escape(q)}</li>" for q in basket["queries"])
    return f"<ol class='thb-basket'>{rows}</ol><p><b>Queries used</b></p><ul>{queries}</ul>"


def full_citation(it: dict) -> str:
    """Title, section, page; then country, document type and year: enough to find it again."""
    from ui.app_labels import country_label, doc_type_label

    tail = ", ".join(x for x in (country_label(it["country"]) if it.get("country") else "",
                                 doc_type_label(it.get("doc_type", "")), str(it.get("year") or "")) if x)
    return f"{it['citation']} ({tail})" if tail else it["citation"]


def answer_runs(it: dict) -> list[tuple[str, bool]]:
    """The passage as (text, is_answering_sentence) runs, the highlighted sentences marked."""
    text, runs, pos = it["text"], [], 0
    spans = []
    for sentence in it.get("highlights", []):
        flat = " ".join(sentence.split())
        at = text.find(flat) if flat else -1
        if at >= 0:
            spans.append((at, at + len(flat)))
    for start, end in sorted(spans):
        if start < pos:
            continue
        runs += [(text[pos:start], False), (text[start:end], True)]
        pos = end
    runs.append((text[pos:], False))
    return [(t, b) for t, b in runs if t]


def _quote(it: dict) -> str:
    return "".join(f"**{t.strip()}**{' ' if t.endswith(' ') else ''}" if bold else t for t, bold in answer_runs(it))


def _header(basket: dict) -> list[str]:
    return [f"Prepared {time.strftime('%Y-%m-%d')} with thb-research; passages in the order chosen, answering "
            "sentences in bold.", "", "## Queries used", ""] + [f"- {q}" for q in basket["queries"]] + [""]


def to_markdown(basket: dict) -> str:
    lines = ["# Briefing", ""] + _header(basket) + ["## Passages", ""]
    for n, it in enumerate(basket["items"], start=1):
        lines += [f"### {n}. {it['citation']}", "", f"*{it['priority']}*", "", f"> {_quote(it)}", ">",
                  f"> — {full_citation(it)}", ""]
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
    doc.add_paragraph(_header(basket)[0])
    doc.add_heading("Queries used", level=1)
    for q in basket["queries"]:
        doc.add_paragraph(q, style="List Bullet")
    doc.add_heading("Passages", level=1)
    for n, it in enumerate(basket["items"], start=1):
        doc.add_heading(f"{n}. {it['citation']}", level=2)
        doc.add_paragraph(it["priority"]).runs[0].italic = True
        quote = doc.add_paragraph(style="Quote")
        for text, bold in answer_runs(it):
            quote.add_run(text).bold = bold
        doc.add_paragraph(f"— {full_citation(it)}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"briefing-{time.strftime('%Y%m%d-%H%M%S')}.docx"
    doc.save(path)
    return path

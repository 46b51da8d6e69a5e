"""HTML of the Ask and Compare views: one ranked list (or grouped by priority), the priority
overview, and the clickable country x priority matrix.

Pure functions of search-stage hits and a small view dict; everything HTML-escaped. Clickable
parts carry `data-action` ("pin:<chunk>", "prio:<id>", "cell:<country>|<prio>"), which the
component's js_on_load (ACTIONS_JS) hands to the server as a click event.
"""
from __future__ import annotations

from html import escape

from search.grouping import OTHER_ID, bucket_of, group_by_priority, hit_priorities
from ui.app_labels import country_label, doc_type_label, language_label, plural
from ui.app_recommendations import strength_chip
from ui.app_render import citation_of, marked_passage, message_html, view_url

PAGE_SIZE = 10  # hits a page of the list shows, unless the view says (THB_TOP_K)
NONE_ID = OTHER_ID
NONE_LABEL = "No thematic priority"
NONE_HINT = "passages the tagger gave no thematic priority (many statutes and treaty articles)"
RELEVANCE_WORDS = ((0.9, "strong"), (0.75, "good"), (0.0, "partial"))
ACTIONS_JS = ("element.addEventListener('click', (e) => { const t = e.target.closest('[data-action]');"
              " if (!t || !element.contains(t)) return; e.preventDefault();"
              " trigger('click', {action: t.dataset.action}); });")
DEFAULT_VIEW = {"page": 1, "focus": "", "grouped": False}


def relevance_html(score: float, best: float) -> str:
    """Five dots relative to the best hit of this search (a fused score has no absolute scale)."""
    share = score / best if best > 0 else 0.0
    filled = max(1, min(5, round(share * 5)))
    word = next(w for limit, w in RELEVANCE_WORDS if share >= limit)
    dots = "●" * filled + "○" * (5 - filled)
    return (f'<span class="thb-rel" data-level="{filled}" title="relevance relative to the best passage of '
            f'this search (score {score:.3f})">{dots} {word} match</span>')


def dots_value(hit) -> float:
    """What the relevance dots compare: the hit's confidence (search/ranker.py) when it has one
    (the learned ranker's scores are logits, below zero), else its score."""
    return hit.confidence if hit.confidence is not None else hit.score


def card_html(hit, labels: dict, best: float, *, pinned: bool = False) -> str:
    meta = [country_label(hit.country) if hit.country else "", doc_type_label(hit.doc_type),
            language_label(hit.language) if hit.language else "", str(hit.year or "")]
    tags = "".join(f'<span class="thb-tag">{escape(x)}</span>' for x in meta if x)
    chips = "".join(f'<span class="thb-chip" data-priority="{escape(p)}">{escape(labels.get(p, p))}</span>'
                    for p in hit_priorities(hit))
    pin = ('<span class="thb-pinned">✓ in the basket</span>' if pinned else
           f'<button class="thb-pin" data-action="pin:{escape(hit.chunk_id)}" title="Pin to the briefing basket">'
           '+ Pin</button>')
    passage = marked_passage(hit.text, [(h.start, h.end) for h in hit.highlights])
    return (f'<div class="thb-hit" data-rank="{hit.rank}" data-country="{escape(hit.country)}" '
            f'data-chunk="{escape(hit.chunk_id)}" data-priorities="{escape(" ".join(bucket_of(hit)))}">'
            f'<div class="thb-cite"><span class="thb-rank">{hit.rank}.</span> <a class="thb-citation" '
            f'href="{view_url(hit)}" target="_blank" rel="noopener">{escape(citation_of(hit))}</a>{strength_chip(hit)}{pin}</div>'
            f'<div class="thb-meta">{tags}{relevance_html(dots_value(hit), best)}</div>'
            f'{f"<div class=thb-chips>{chips}</div>" if chips else ""}'
            f'<div class="thb-passage">{passage}</div></div>')


def overview(hits, labels: dict) -> list[tuple[str, str, int]]:
    """(priority id, label, count) for every priority among the hits, ordered by its best hit."""
    best: dict[str, int] = {}
    counts: dict[str, int] = {}
    for hit in sorted(hits, key=lambda h: h.rank):
        for pid in bucket_of(hit):
            best.setdefault(pid, hit.rank)
            counts[pid] = counts.get(pid, 0) + 1
    order = sorted(best, key=lambda p: (best[p], p))
    return [(p, NONE_LABEL if p == NONE_ID else labels.get(p, p), counts[p]) for p in order]


def overview_html(hits, labels: dict, focus: str) -> str:
    buttons = "".join(
        f'<button class="thb-prio{" thb-on" if pid == focus else ""}" data-action="prio:{escape(pid)}" '
        f'data-priority="{escape(pid)}" aria-pressed="{"true" if pid == focus else "false"}"'
        f'{f" title={chr(34)}{NONE_HINT}{chr(34)}" if pid == NONE_ID else ""}>{escape(label)}'
        f'<span class="thb-count">{n}</span></button>' for pid, label, n in overview(hits, labels))
    hint = "click one to show only its passages, click again to show all" if not focus else \
        "showing one priority: click it again to show all"
    return (f'<div class="thb-overview" id="overview"><div class="thb-overview-head">Thematic priorities among '
            f'these {plural(len(hits), "passage")} <span class="thb-hint">({hint})</span></div>{buttons}</div>')


def visible_hits(hits, view: dict) -> tuple[list, int]:
    """The hits the list shows (focus priority, first page*10) and how many match the focus."""
    focus = view.get("focus") or ""
    ranked = sorted(hits, key=lambda h: h.rank)
    matching = [h for h in ranked if not focus or focus in bucket_of(h)]
    return matching[: int(view.get("size") or PAGE_SIZE) * max(1, int(view.get("page") or 1))], len(matching)


def count_line(shown: int, matching: int, total: int, focus_label: str = "") -> str:
    where = f" under “{focus_label}”" if focus_label else ""
    if shown >= matching:
        return f"{plural(matching, 'passage')}{where}"
    return f"Showing {shown} of {plural(matching, 'passage')}{where}"


def results_view_html(hits, view: dict, labels: dict, *, pinned=frozenset(), note: str = "", notice: str = "") -> str:
    """The Ask view: overview, count line, then the ranked list or the grouped list; `notice` (no
    strong match, search/engine.py) stands above the list."""
    if not hits:
        return message_html(note or "No passage matches this search.")
    shown, matching = visible_hits(hits, view)
    focus = view.get("focus") or ""
    focus_label = NONE_LABEL if focus == NONE_ID else labels.get(focus, focus) if focus else ""
    best = max(dots_value(h) for h in hits)
    if notice:  # nothing answers strongly: no hit is shown as a strong match, even the best
        best *= 5
    head = (f'<div class="thb-countline" id="count-line">{escape(count_line(len(shown), matching, len(hits), focus_label))}'
            '</div>')
    if view.get("grouped"):
        body = grouped_html(shown, labels, best, pinned)
    else:
        body = "".join(card_html(h, labels, best, pinned=h.chunk_id in pinned) for h in shown)
    extra = f'<div class="thb-note">{escape(note)}</div>' if note else ""
    if notice:
        extra += f'<div class="thb-note thb-notice" id="no-strong-match" role="status">{escape(notice)}</div>'
    return f'{overview_html(hits, labels, focus)}{extra}{head}<div class="thb-list" id="hit-list">{body}</div>'


def grouped_html(hits, labels: dict, best: float, pinned=frozenset()) -> str:
    """Each hit once, under its strongest priority; groups ordered by their best hit (search/grouping.py)."""
    parts = []
    for group in group_by_priority(hits, None, once=True):
        label = NONE_LABEL if group.priority_id == NONE_ID else labels.get(group.priority_id, group.priority_id)
        cards = "".join(card_html(h, labels, best, pinned=h.chunk_id in pinned) for h in group.hits)
        parts.append(f'<details class="thb-group" data-priority="{escape(group.priority_id)}" open><summary>{escape(label)}'
                     f'<span class="thb-count">{len(group.hits)}</span></summary>{cards}</details>')
    return "".join(parts)


def matrix(hits, labels: dict):
    """Countries, priority ids, per-cell hit lists; a hit counts once in each cell it belongs to."""
    countries = sorted({h.country or "?" for h in hits}, key=lambda c: country_label(c).lower())
    present = {p for h in hits for p in bucket_of(h)}
    prios = [p for p in labels if p in present] + sorted(present - set(labels) - {NONE_ID})
    prios += [NONE_ID] if NONE_ID in present else []
    cells = {(c, p): [h for h in hits if (h.country or "?") == c and p in bucket_of(h)]
             for c in countries for p in prios}
    return countries, prios, cells


def heatmap_html(hits, labels: dict, query: str, chosen: tuple[str, str] | None = None) -> str:
    """A table heatmap: counts per country and priority, totals per row and column, clickable cells."""
    if not hits:
        return message_html("Run a search on the Ask tab: its passages are counted here by country and priority.")
    countries, prios, cells = matrix(hits, labels)
    peak = max((len(v) for v in cells.values()), default=1) or 1
    head = "".join(f'<th class="thb-col" title="{escape(NONE_HINT if p == NONE_ID else labels.get(p, p))}">'
                   f'{escape(NONE_LABEL if p == NONE_ID else labels.get(p, p))}</th>' for p in prios)
    rows = []
    for c in countries:
        tds = []
        for p in prios:
            n = len(cells[(c, p)])
            on = " thb-on" if chosen == (c, p) else ""
            alpha = 0.08 + 0.8 * n / peak if n else 0
            style = f' style="background: rgba(29,111,184,{alpha:.2f}); color: {"#fff" if n / peak > 0.55 else "#1f2328"}"' if n else ""
            action = f' data-action="cell:{escape(c)}|{escape(p)}"' if n else ""
            tds.append(f'<td class="thb-cell{on}" data-country="{escape(c)}" data-priority="{escape(p)}"'
                       f'{action}{style}>{n or "·"}</td>')
        total = sum(1 for h in hits if (h.country or "?") == c)
        rows.append(f'<tr><th class="thb-row">{escape(country_label(c))}</th>{"".join(tds)}'
                    f'<td class="thb-total" data-country="{escape(c)}">{total}</td></tr>')
    col_totals = "".join(f'<td class="thb-total" data-priority="{escape(p)}">'
                         f'{len({h.chunk_id for c in countries for h in cells[(c, p)]})}</td>' for p in prios)
    return (f'<div class="thb-heatmap"><div class="thb-heat-title">Passages for “{escape(query[:80])}” by country and '
            f'thematic priority ({plural(len(hits), "passage")})</div><table id="heat-table"><thead><tr><th></th>{head}'
            f'<th>All priorities</th></tr></thead><tbody>{"".join(rows)}<tr class="thb-totals"><th>All countries</th>'
            f'{col_totals}<td class="thb-total">{len(hits)}</td></tr></tbody></table>'
            '<p class="thb-hint">A passage counts once in each priority it was tagged with, so a row can add up to more '
            'than its total, which counts each passage once. “No thematic priority”: '
            f'{escape(NONE_HINT)}. Click a cell to read its passages below.</p></div>')


def cell_html(hits, labels: dict, country: str, priority_id: str, pinned=frozenset(), notice: str = "") -> str:
    chosen = [h for h in sorted(hits, key=lambda h: h.rank) if (h.country or "?") == country
              and priority_id in bucket_of(h)]
    if not chosen:
        return message_html("No passages in this cell.")
    label = NONE_LABEL if priority_id == NONE_ID else labels.get(priority_id, priority_id)
    best = max(dots_value(h) for h in hits)
    if notice:  # nothing answers strongly: no hit is shown as a strong match, even the best
        best *= 5
    cards = "".join(card_html(h, labels, best, pinned=h.chunk_id in pinned) for h in chosen)
    return (f'<div class="thb-countline" id="cell-title">{escape(country_label(country))} × {escape(label)}: '
            f'{plural(len(chosen), "passage")}</div><div class="thb-list">{cards}</div>')

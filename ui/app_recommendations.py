"""Recommendations tab of the research app: GRETA's recommendations as a filterable table, a
country × priority matrix of counts by strength, and, for one country, how each compares with
the round before. A row's citation opens its paragraph in the document viewer.

The tab builds and wires its own widgets (`tab(h)` inside the layout's gr.Tabs); the HTML is made
by pure functions of index.recommendations.StoredRecommendation rows.
"""
from __future__ import annotations

import logging
from html import escape

from ingest.greta import STRENGTHS

log = logging.getLogger(__name__)

STRENGTH_COLOURS = {"urges": "#b42318", "considers": "#b54708", "invites": "#1d6fb8"}
# Inline, so the chip looks the same on the Ask tab (whose CSS this module does not own).
CHIP_STYLE = ("display:inline-block;padding:0 7px;border-radius:10px;color:#fff;font-size:0.8em;"
              "font-weight:600;margin-left:6px;background:{colour}")
CSS = """
.thb-recs table {border-collapse: collapse; width: 100%; font-size: 0.9em;}
.thb-recs th, .thb-recs td {border-bottom: 1px solid #eaeef2; padding: 6px 8px; text-align: left !important;
  vertical-align: top;}
.thb-recs td:first-child {min-width: 11em;}
.thb-recs tr.thb-rec:hover {background: #f3f6f9; cursor: pointer;}
.thb-recs a.thb-rec-link {color: inherit; text-decoration: none; display: block;}
.thb-recs a.thb-rec-cite {color: #0b5cad; font-weight: 600;}
.thb-status {font-size: 0.8em; color: #57606a; white-space: nowrap;}
.thb-matrix td.thb-cell {text-align: center; white-space: nowrap;}
.thb-matrix .thb-n {display: inline-block; min-width: 1.7em; margin: 0 1px; border-radius: 4px; color: #fff;
  font-size: 0.85em; text-align: center;}
"""


def strength_chip(hit) -> str:
    """The chip a search hit from a GRETA report shows: its paragraph's strongest recommendation."""
    strength = getattr(hit, "strength", "")
    if not strength:
        return ""
    colour = STRENGTH_COLOURS.get(strength, "#57606a")
    return (f'<span class="thb-strength" data-strength="{escape(strength)}" style="{CHIP_STYLE.format(colour=colour)}" '
            f'title="GRETA recommendation in this paragraph">GRETA {escape(strength)}</span>')


def view_url(rec, chunk_id: str = "") -> str:
    return (f"/doc/{escape(rec.doc_id)}/view?chunk={escape(chunk_id)}&amp;start={int(rec.start)}"
            f"&amp;end={int(rec.end)}")


def table_html(rows: list, labels: dict[str, str], chunk_ids: dict[int, str], statuses: dict[int, str] | None = None) -> str:
    """One row per recommendation: citation (a link to the paragraph), strength, text, who, articles,
    priorities, and its standing against the round before when `statuses` is given."""
    if not rows:
        return '<div class="thb-msg">No recommendation matches. GRETA reports are ingested with doc_type ' \
               '<code>greta_report</code> (or recognised from their front page).</div>'
    head = ["Citation", "Strength", "Recommendation", "Addressed to", "Articles", "Priorities"]
    if statuses is not None:
        head.append("Across rounds")
    out = ['<div class="thb-recs"><table><thead><tr>', *[f"<th>{h}</th>" for h in head], "</tr></thead><tbody>"]
    for rec in rows:
        url = view_url(rec, chunk_ids.get(rec.rec_id, ""))

        def cell(html: str) -> str:
            return (f'<td style="text-align:left"><a class="thb-rec-link" style="text-align:left" href="{url}" target="_blank" '
                    f'rel="noopener">{html}</a></td>')

        colour = STRENGTH_COLOURS.get(rec.strength, "#57606a")
        out.append(f'<tr class="thb-rec" data-rec="{rec.rec_id}" data-strength="{escape(rec.strength)}" '
                   f'data-country="{escape(rec.country)}">')
        out.append(f'<td style="text-align:left"><a class="thb-rec-cite" href="{url}" target="_blank" rel="noopener">'
                   f'{escape(rec.citation)}</a></td>')
        out.append(cell(f'<span class="thb-strength" style="{CHIP_STYLE.format(colour=colour)}">'
                        f'{escape(rec.strength)}</span>'))
        out.append(cell(escape(rec.text)))
        out.append(cell(escape("; ".join(rec.authorities))))
        out.append(cell(escape(", ".join(rec.articles))))
        out.append(cell(escape(", ".join(labels.get(p, p) for p in rec.priorities))))
        if statuses is not None:
            out.append(cell(f'<span class="thb-status">{escape(statuses.get(rec.rec_id, ""))}</span>'))
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def matrix_counts(rows: list) -> dict[tuple[str, str], dict[str, int]]:
    """{(country, priority): {strength: count}}; untagged recommendations count under "(none)"."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for rec in rows:
        for prio in rec.priorities or ("(none)",):
            cell = counts.setdefault((rec.country, prio), {s: 0 for s in STRENGTHS})
            cell[rec.strength] = cell.get(rec.strength, 0) + 1
    return counts


def matrix_html(rows: list, labels: dict[str, str]) -> str:
    counts = matrix_counts(rows)
    if not counts:
        return ""
    countries = sorted({c for c, _ in counts})
    prios = sorted({p for _, p in counts}, key=lambda p: (p == "(none)", labels.get(p, p)))
    legend = " ".join(f'<span class="thb-n" style="background:{STRENGTH_COLOURS[s]};padding:0 6px">{s}</span>'
                      for s in STRENGTHS)
    out = [f'<div class="thb-recs thb-matrix"><p>Counts by strength: {legend}</p><table><thead><tr><th>Country</th>']
    out += [f"<th>{escape(labels.get(p, p))}</th>" for p in prios]
    out.append("</tr></thead><tbody>")
    for country in countries:
        out.append(f"<tr><th>{escape(country)}</th>")
        for prio in prios:
            cell = counts.get((country, prio))
            inner = "".join(f'<span class="thb-n" title="{s}" style="background:{STRENGTH_COLOURS[s]}">{cell[s]}</span>'
                            for s in STRENGTHS if cell and cell[s]) if cell else "·"
            out.append(f'<td class="thb-cell" data-cell="{escape(country)}|{escape(prio)}">{inner}</td>')
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def load(settings, countries, strengths, priorities, rounds):
    """(rows, chunk ids, statuses or None): the filtered recommendations; with one country, each
    one's standing against the round before (and the previous round's ones no longer made)."""
    from index import catalog, store
    from index.recommendations import RecommendationFilters, list_recommendations

    db = settings.index_dir / catalog.DB_NAME
    if not db.is_file():
        return [], {}, None
    conn = store.connect(db, readonly=True)
    try:
        filters = RecommendationFilters(countries=tuple(countries or ()), strengths=tuple(strengths or ()),
                                        priorities=tuple(priorities or ()),
                                        rounds=tuple(int(r) for r in rounds or ()))
        rows = list_recommendations(conn, filters)
        statuses = None
        if len(countries or ()) == 1:
            from search.rounds import across_rounds

            links = across_rounds(settings.index, conn, countries[0])
            statuses = {ln.rec.rec_id: ln.label for ln in links}
            statuses.update({ln.previous.rec_id: f"repeated in round {ln.rec.round}" for ln in links
                             if ln.status == "repeated"})
            keep = {r.rec_id for r in rows}
            dropped = [ln.rec for ln in links if ln.status == "no longer made" and ln.rec.rec_id in keep]
            rows = [r for r in rows if r.rec_id not in {d.rec_id for d in dropped}] + dropped
        chunk_ids = _chunk_ids(conn, rows)
    finally:
        conn.close()
    return rows, chunk_ids, statuses


def _chunk_ids(conn, rows) -> dict[int, str]:
    """The chunk each recommendation's paragraph starts in (what the viewer opens)."""
    from index import store

    return {rec.rec_id: store.chunk_at(conn, rec.doc_id, rec.start) for rec in rows}


def _choices(settings):
    from index import catalog, store

    db = settings.index_dir / catalog.DB_NAME
    if not db.is_file():
        return (), ()
    conn = store.connect(db, readonly=True)
    try:
        choices = store.greta_choices(conn)
        return choices.countries, tuple(str(r) for r in choices.rounds)
    finally:
        conn.close()


def tab(h) -> None:
    """The Recommendations tab, built inside the caller's gr.Tabs(), with its own events."""
    import gradio as gr

    countries, rounds = _choices(h.settings)
    prio_choices = [(label, pid) for pid, label in h.labels.items()]
    with gr.Tab("Recommendations", id="recommendations") as recs_tab:
        gr.HTML(f"<style>{CSS}</style>", padding=False)
        gr.Markdown("GRETA's recommendations, extracted from its evaluation reports: **urges** (the state does not "
                    "comply), **considers … should**, **invites**. Pick one country to see what is repeated from "
                    "the round before. A row opens its paragraph.")
        with gr.Row():
            r_country = gr.Dropdown(list(countries), multiselect=True, label="Country", elem_id="r-country")
            r_strength = gr.Dropdown(list(STRENGTHS), multiselect=True, label="Strength", elem_id="r-strength")
            r_prio = gr.Dropdown(prio_choices, multiselect=True, label="Thematic priority", elem_id="r-prio")
            r_round = gr.Dropdown(list(rounds), multiselect=True, label="Round", elem_id="r-round")
        r_status = gr.Markdown("", elem_id="r-status")
        r_matrix = gr.HTML("", elem_id="r-matrix")
        r_table = gr.HTML("", elem_id="r-table")

    def show(c=None, s=None, p=None, r=None):
        try:
            rows, chunk_ids, statuses = load(h.settings, c, s, p, r)
        except Exception:  # the tab shows a message, never a traceback
            log.exception("recommendations view failed")
            return "Could not read the recommendations; the details are in the server log.", "", ""
        note = f"{len(rows)} recommendations"
        return note, matrix_html(rows, h.labels), table_html(rows, h.labels, chunk_ids, statuses)

    inputs, outputs = [r_country, r_strength, r_prio, r_round], [r_status, r_matrix, r_table]
    for widget in inputs:
        widget.input(show, inputs, outputs, trigger_mode="always_last")
    recs_tab.select(show, inputs, outputs)  # opening the tab shows what the index holds now

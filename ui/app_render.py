"""HTML for the research app: hits grouped by priority, the source view, the country matrix.

Pure functions of search-stage types: no I/O, everything HTML-escaped.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from ui.app_recommendations import strength_chip

OTHER_ID = "other"
ALL_ID = "all"

# The theme's web font (served by Gradio, subset) drew some bold capitals as small capitals ("CʙSS",
# "ʙeings"); system fonts have every glyph.
FONT_STACK = 'system-ui, "Segoe UI", Roboto, "Liberation Sans", Arial, "DejaVu Sans", sans-serif'
CSS = """
:root, .gradio-container {--font: FONT_STACK; --font-sans: FONT_STACK;}
.gradio-container, .gradio-container button, .gradio-container input, .gradio-container textarea,
.gradio-container table, .gradio-container td, .gradio-container th, .gradio-container h1,
.gradio-container h2 {font-family: FONT_STACK !important;}
.thb-msg {padding: 12px 16px; border-radius: 8px; background: #eef4fb; color: #1d3b5c;}
.thb-group {border: 1px solid #d0d7de; border-radius: 8px; margin: 8px 0; background: #fff;}
.thb-group > summary {cursor: pointer; padding: 8px 12px; font-weight: 600; background: #f3f6f9;
  border-radius: 8px; color: #1d3b5c;}
.thb-count {display: inline-block; min-width: 1.6em; padding: 0 6px; margin-left: 6px; border-radius: 10px;
  background: #1d6fb8; color: #fff; font-size: 0.85em; text-align: center;}
.thb-hit {padding: 10px 14px; border-top: 1px solid #eaeef2; color: #1f2328;}
.thb-hit .thb-cite {font-weight: 600;}
.thb-hit .thb-cite a {color: #0b5cad; text-decoration: none;}
.thb-hit .thb-cite a:hover {text-decoration: underline;}
.thb-meta {color: #57606a; font-size: 0.85em; margin: 2px 0 6px 0;}
.thb-tag {display: inline-block; padding: 0 6px; margin-right: 4px; border-radius: 4px; background: #eaeef2;}
.thb-passage {font-size: 0.92em; line-height: 1.45; white-space: normal;}
.thb-passage mark, .thb-doc mark {background: #ffe58f; padding: 0 1px;}
.thb-shared {color: #8250df; font-size: 0.8em; margin-left: 6px;}
.thb-new {color: #1a7f37; font-weight: 600;}
.thb-title {font-family: system-ui, "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-variant: normal;
  font-feature-settings: normal; font-weight: 650; font-size: 1.35em; margin: 4px 0; color: #1d3b5c;}
.thb-list .thb-hit {border: 1px solid #d0d7de; border-radius: 8px; margin: 8px 0; background: #fff;}
.thb-rank {color: #57606a;}
.thb-pin {float: right; border: 1px solid #d0d7de; background: #f6f8fa; border-radius: 6px; padding: 1px 8px;
  cursor: pointer; font-size: 0.85em;}
.thb-pin:hover {background: #eaeef2;}
.thb-pinned {float: right; color: #1a7f37; font-size: 0.85em;}
.thb-rel {color: #1d6fb8; margin-left: 6px; white-space: nowrap;}
.thb-chips {margin: 0 0 6px 0;}
.thb-chip {display: inline-block; padding: 0 8px; margin-right: 4px; border-radius: 10px; background: #ddf4ff;
  color: #0a3069; font-size: 0.8em;}
.thb-overview {border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 10px; background: #f6f8fa; margin: 6px 0;}
.thb-overview-head {font-weight: 600; color: #1d3b5c; margin-bottom: 4px;}
.thb-hint {font-weight: normal; color: #57606a; font-size: 0.85em;}
.thb-prio {border: 1px solid #b6c6d6; background: #fff; border-radius: 14px; padding: 2px 4px 2px 10px;
  margin: 3px 4px 3px 0; cursor: pointer; color: #1f2328; font-size: 0.88em;}
.thb-prio.thb-on {background: #1d6fb8; color: #fff; border-color: #1d6fb8;}
.thb-countline {color: #1d3b5c; font-weight: 600; margin: 8px 0 2px 0;}
.thb-note {color: #1a7f37; margin: 6px 0;}
.thb-heatmap table {border-collapse: collapse; font-size: 0.9em;}
.thb-heatmap th, .thb-heatmap td {border: 1px solid #d0d7de; padding: 4px 8px; text-align: center;}
.thb-heatmap th.thb-row {text-align: left; white-space: nowrap;}
.thb-heatmap th.thb-col {max-width: 120px; font-weight: 600; font-size: 0.85em;}
.thb-heatmap td.thb-cell[data-action] {cursor: pointer;}
.thb-heatmap td.thb-cell[data-action]:hover {outline: 2px solid #0b5cad;}
.thb-heatmap td.thb-on {outline: 3px solid #bf3989;}
.thb-heatmap .thb-total, .thb-heatmap .thb-totals th {font-weight: 700; background: #f3f6f9;}
.thb-heat-title {font-weight: 600; margin: 6px 0; color: #1d3b5c;}
""".replace("FONT_STACK", FONT_STACK)


@dataclass(frozen=True, slots=True)
class HitGroup:
    """A titled list of hits, as the page shows it (a PriorityGroup or the flat fallback)."""

    priority_id: str
    label: str
    hits: tuple
    shared_ranks: frozenset = frozenset()


def message_html(text: str) -> str:
    return f'<div class="thb-msg">{escape(text)}</div>'


def group_hits(hits, taxonomy_path) -> list[HitGroup]:
    """Group by thematic priority; one flat group when grouping is unavailable."""
    try:
        from ingest.taxonomy import load_taxonomy
        from search.grouping import group_by_priority

        groups = group_by_priority(list(hits), load_taxonomy(taxonomy_path))
        return [HitGroup(g.priority_id, g.label, tuple(g.hits), frozenset(g.shared_ranks)) for g in groups]
    except Exception:  # grouping not available yet, or taxonomy unreadable: show one list
        return [HitGroup(ALL_ID, "All results", tuple(hits))] if hits else []


def citation_of(hit) -> str:
    """The hit's citation plus its paragraph number when the citation lacks it."""
    from ui.app_pdf import cite_with_labels

    cite = cite_with_labels(hit, hit.citation)  # printed page labels, once the app has read them
    para = (hit.paragraph or "").strip()
    if para and para not in cite:
        cite += f", para. {para}" if para[:1].isdigit() else f", {para}"
    return cite


def marked_passage(text: str, spans) -> str:
    """Escape `text`, wrapping each (start, end) span in <mark>."""
    out, pos = [], 0
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if start < pos or start >= end:
            continue
        out += [escape(text[pos:start]), "<mark>", escape(text[start:end]), "</mark>"]
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


def view_url(hit) -> str:
    """The hit in its document: the chunk it came from, and the span it shows (a whole short
    provision, or overlapping chunks joined, can be longer than the chunk)."""
    return f"/doc/{escape(hit.doc_id)}/view?chunk={escape(hit.chunk_id)}&amp;start={int(hit.start)}&amp;end={int(hit.end)}"


def hit_html(hit, shared: bool = False, new: bool = False) -> str:
    meta = [f'<span class="thb-tag">{escape(x)}</span>' for x in
            (hit.doc_type.replace("_", " "), hit.country, hit.language, str(hit.year or "")) if x]
    badge = '<span class="thb-shared">also under another priority</span>' if shared else ""
    badge += strength_chip(hit)
    fresh = '<span class="thb-new">NEW · </span>' if new else ""
    passage = marked_passage(hit.text, [(h.start, h.end) for h in hit.highlights])
    return (f'<div class="thb-hit" data-rank="{hit.rank}" data-country="{escape(hit.country)}">'
            f'<div class="thb-cite">{fresh}{hit.rank}. <a class="thb-citation" href="{view_url(hit)}" '
            f'target="_blank" rel="noopener">{escape(citation_of(hit))}</a>{badge}</div>'
            f'<div class="thb-meta">{"".join(meta)} score {hit.score:.3f}</div>'
            f'<div class="thb-passage">{passage}</div></div>')


def results_html(groups: list[HitGroup], *, new_doc_ids: frozenset = frozenset(), note: str = "") -> str:
    if not groups:
        return message_html(note or "No passage matches this search.")
    parts = [f'<div class="thb-note">{escape(note)}</div>'] if note else []
    for i, group in enumerate(groups):
        hits = "".join(hit_html(h, h.rank in group.shared_ranks, h.doc_id in new_doc_ids) for h in group.hits)
        # The first three groups are open, and any group holding one of the three best hits (an
        # untagged best hit sits in "Other", which comes last): the top answers are never folded away.
        is_open = i < 3 or any(h.rank <= 3 for h in group.hits)
        parts.append(f'<details class="thb-group" data-priority="{escape(group.priority_id)}"{" open" if is_open else ""}>'
                     f'<summary>{escape(group.label)}<span class="thb-count">{len(group.hits)}</span></summary>'
                     f'{hits}</details>')
    return "".join(parts)


def hit_bucket(hit) -> tuple[str, ...]:
    """The priority ids a hit counts under in the matrix ("other" when untagged)."""
    return tuple(hit.priorities) or (OTHER_ID,)


def country_matrix(hits, labels: dict[str, str]):
    """Counts of hits per (country, priority): (countries, priority ids, rows of counts)."""
    countries = sorted({h.country or "?" for h in hits})
    prios = [p for p in labels if any(p in hit_bucket(h) for h in hits)]
    prios += sorted({p for h in hits for p in hit_bucket(h)} - set(prios))
    counts = [[sum(1 for h in hits if (h.country or "?") == c and p in hit_bucket(h)) for p in prios]
              for c in countries]
    return countries, prios, counts


def heatmap_figure(hits, labels: dict[str, str], query: str):
    import plotly.graph_objects as go

    countries, prios, counts = country_matrix(hits, labels)
    fig = go.Figure(go.Heatmap(z=counts, x=[labels.get(p, p) for p in prios], y=countries,
                               colorscale="Blues", text=counts, texttemplate="%{text}",
                               hovertemplate="%{y} × %{x}: %{z} hits<extra></extra>"))
    fig.update_layout(title=f"Relevant passages by country and priority: {query[:60]}",
                      height=max(320, 40 * len(countries) + 160), margin=dict(l=60, r=20, t=60, b=120),
                      xaxis=dict(tickangle=-30), yaxis=dict(autorange="reversed"))
    return fig


def in_cell(hit, country: str, priority_id: str) -> bool:
    return (hit.country or "?") == country and priority_id in hit_bucket(hit)

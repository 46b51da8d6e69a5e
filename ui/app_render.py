"""Shared HTML pieces of the research app: its CSS, a message box, a hit's citation and link, a
marked passage. Pure functions of search-stage types: no I/O, everything HTML-escaped.
"""
from __future__ import annotations

from html import escape

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
.thb-notice {color: #8a4b00; background: #fff4e0; border-left: 4px solid #d98300; padding: 6px 10px; font-weight: 600;}
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


def message_html(text: str) -> str:
    return f'<div class="thb-msg">{escape(text)}</div>'


def citation_of(hit) -> str:
    """The hit's citation (search/hits.py, the one format), its pages in printed labels once the app has read them."""
    from ui.app_pdf import cite_with_labels

    return cite_with_labels(hit, hit.citation)


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

"""Widgets and event wiring of the research app; the handlers live in ui.app.Handlers."""
from __future__ import annotations

from ui import app_basket as basket_ops
from ui import app_docs as docs
from ui import app_recommendations as recommendations

DOC_COLUMNS = ["title", "doc type", "country", "language", "year", "pages", "chunks", "path", "added (UTC)"]
FAIL_COLUMNS = ["path", "reason", "when (UTC)"]


def layout(h):
    import gradio as gr

    choices = docs.filter_choices(h.settings)
    prio_choices = [(h.labels.get(p, p), p) for p in choices.priorities] or [(v, k) for k, v in h.labels.items()]
    saved_names = sorted(basket_ops.load_saved(h.settings))
    with gr.Blocks(title="thb-research · CBSS TF-THB document search") as demo:
        hits_state = gr.State([])
        compare_state = gr.State([])
        basket_state = gr.State({"items": [], "queries": []})
        gr.Markdown("## CBSS Task Force against Trafficking in Human Beings · document research")
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                with gr.Row():
                    query = gr.Textbox(label="Question or keywords", scale=5, elem_id="query",
                                       placeholder="e.g. What must an employer check in its supply chain?")
                    go = gr.Button("Search", variant="primary", scale=1, elem_id="search-btn")
                with gr.Accordion("Filters", open=False, elem_id="filters"):
                    with gr.Row():
                        f_country = gr.Dropdown(list(choices.countries), multiselect=True, label="Country",
                                                elem_id="f-country")
                        f_type = gr.Dropdown(list(choices.doc_types), multiselect=True, label="Document type",
                                             elem_id="f-type")
                        f_lang = gr.Dropdown(list(choices.languages), multiselect=True, label="Language",
                                             elem_id="f-lang")
                    with gr.Row():
                        f_from = gr.Number(None, label=f"Year from ({choices.year_min}-)", precision=0,
                                           elem_id="f-from")
                        f_to = gr.Number(None, label=f"Year to (-{choices.year_max})", precision=0, elem_id="f-to")
                        f_prio = gr.Dropdown(prio_choices, multiselect=True, label="Thematic priority",
                                             elem_id="f-prio")
                status = gr.Markdown("", elem_id="status")
                results = gr.HTML(docs_hint(h), elem_id="results")
                with gr.Row():
                    pick = gr.CheckboxGroup([], label="Pick passages for the briefing basket", scale=5,
                                            elem_id="pick")
                    pin = gr.Button("Pin to basket", scale=1, elem_id="pin-btn")
                pin_status = gr.Markdown("", elem_id="pin-status")
                with gr.Accordion("Saved searches", open=False):
                    with gr.Row():
                        save_name = gr.Textbox(label="Name", scale=3)
                        save_btn = gr.Button("Save this search", scale=1)
                        saved = gr.Dropdown(saved_names, label="Saved searches", scale=3, elem_id="saved")
                        open_btn = gr.Button("Open (shows what is new)", scale=1)
                    save_status = gr.Markdown("")
            with gr.Tab("Compare countries", id="compare"):
                gr.Markdown("Hits for the current question (top 50), counted by country and thematic priority. "
                            "Pick a cell to read its passages.")
                plot = gr.Plot(label="Country × priority", elem_id="heatmap")
                with gr.Row():
                    cell_country = gr.Dropdown([], label="Country", elem_id="cell-country")
                    cell_prio = gr.Dropdown([], label="Priority", elem_id="cell-prio")
                    cell_btn = gr.Button("Show this cell", elem_id="cell-btn")
                cell_results = gr.HTML("", elem_id="cell-results")
            recommendations.tab(h)  # GRETA recommendations: ui/app_recommendations.py
            with gr.Tab("Briefing basket", id="basket"):
                basket_view = gr.HTML(basket_ops.basket_html(basket_ops.EMPTY_BASKET), elem_id="basket")
                with gr.Row():
                    item = gr.Dropdown([], label="Passage", scale=4, elem_id="basket-item")
                    up = gr.Button("↑ Up", scale=1)
                    down = gr.Button("↓ Down", scale=1)
                    remove = gr.Button("Remove", scale=1, variant="stop")
                with gr.Row():
                    md_btn = gr.Button("Export Markdown", elem_id="export-md")
                    docx_btn = gr.Button("Export DOCX", elem_id="export-docx")
                export_file = gr.File(label="Briefing file", elem_id="export-file", interactive=False)
                export_status = gr.Markdown("")
            with gr.Tab("Documents", id="documents"):
                with gr.Accordion("Add a document", open=True):
                    with gr.Row():
                        upload = gr.File(label="PDF, text, Markdown or HTML", elem_id="upload", scale=2)
                        with gr.Column(scale=3):
                            u_title = gr.Textbox(label="Title", elem_id="u-title")
                            with gr.Row():
                                u_type = gr.Dropdown(list(docs.DOC_TYPES), value="report", label="Document type")
                                u_country = gr.Textbox(label="Country code (DE, SE, INT…)", elem_id="u-country")
                                u_lang = gr.Textbox(label="Language (en, de…)", value="en", elem_id="u-lang")
                                u_year = gr.Textbox(label="Year", elem_id="u-year")
                    add_btn = gr.Button("Add and index", variant="primary", elem_id="add-btn")
                    add_status = gr.Markdown("", elem_id="add-status")
                doc_table = gr.Dataframe(headers=DOC_COLUMNS, value=docs.document_rows(h.settings),
                                         label="Documents in the index", interactive=False, wrap=True)
                fail_table = gr.Dataframe(headers=FAIL_COLUMNS, value=docs.failure_rows(h.settings),
                                          label="Documents that could not be read", interactive=False, wrap=True)

        filters = [f_country, f_type, f_lang, f_from, f_to, f_prio]
        search_io = dict(inputs=[query, *filters], outputs=[results, status, pick, hits_state])
        compare_io = dict(fn=h.compare, inputs=[query, *filters], outputs=[plot, cell_country, cell_prio, compare_state],
                          concurrency_id="search", concurrency_limit=4, show_progress="hidden")
        for trigger in (go.click, query.submit):
            trigger(h.search, concurrency_id="search", concurrency_limit=4, show_progress="minimal",
                    **search_io).then(**compare_io)
        for widget in filters:
            widget.input(h.search, concurrency_id="search", concurrency_limit=4, show_progress="minimal",
                          trigger_mode="always_last", **search_io).then(**compare_io)
        cell_btn.click(h.cell, [compare_state, cell_country, cell_prio], cell_results)
        basket_out = [basket_state, basket_view, item]
        pin.click(h.pin, [basket_state, hits_state, pick, query], [*basket_out, pin_status])
        up.click(lambda b, i: h.move(b, i, -1), [basket_state, item], basket_out)
        down.click(lambda b, i: h.move(b, i, 1), [basket_state, item], basket_out)
        remove.click(lambda b, i: h.move(b, i, 0), [basket_state, item], basket_out)
        md_btn.click(lambda b: h.export(b, "md"), basket_state, [export_file, export_status])
        docx_btn.click(lambda b: h.export(b, "docx"), basket_state, [export_file, export_status])
        save_btn.click(h.save_search, [save_name, query, *filters], [saved, save_status])
        open_btn.click(h.open_saved, saved, [query, *filters, results, status, pick, hits_state]).then(**compare_io)

        def add(file, title, doc_type, country, language, year, progress=gr.Progress()):
            return h.upload(file, title, doc_type, country, language, year, progress=progress)

        add_btn.click(add, [upload, u_title, u_type, u_country, u_lang, u_year], add_status,
                      concurrency_id="ingest", concurrency_limit=1).then(h.documents, None, [doc_table, fail_table])
    return demo


def docs_hint(h) -> str:
    from ui.app_render import message_html

    if h.searcher.size == 0:
        return message_html("The index is empty: add documents on the Documents tab, then ask a question.")
    return message_html(f"{h.searcher.size} passages indexed. Ask a question to search them.")

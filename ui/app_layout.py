"""Widgets and event wiring of the research app; the handlers live in ui.app.Handlers.

Everything that changes (filter choices, saved searches, the basket, the documents, the index
line) is filled by `demo.load`, so a reload shows the current state, and a link's query string
(?q=...&country=NO) runs its search on load.
"""

from ingest.greta import STRENGTHS
from ui import app_recommendations as recommendations
from ui import app_results as results

DOC_COLUMNS = ["title", "type", "country", "language", "year", "pages", "passages", "file", "added (UTC)", "id"]
DOC_WIDTHS = ["25%", "11%", "11%", "8%", "6%", "6%", "8%", "12%", "8%", "5%"]
FAIL_COLUMNS = ["path", "reason", "when (UTC)"]
# After a search, the address bar carries it (history.replaceState: no reload, no new entry).
URL_JS = "(v) => { history.replaceState(null, '', v ? '?' + v : location.pathname); return v; }"
COPY_JS = ("() => { const u = location.href; if (navigator.clipboard) navigator.clipboard.writeText(u)"
           ".catch(() => {}); return u; }")


def layout(h):
    import gradio as gr

    with gr.Blocks(title="thb-research · CBSS TF-THB document search") as demo:
        hits_state = gr.State([])
        view_state = gr.State(dict(results.DEFAULT_VIEW))
        basket_state = gr.State({"items": [], "queries": []})
        gr.HTML("<h2 class='thb-title'>CBSS Task Force against Trafficking in Human Beings · document research</h2>",
                elem_id="title")
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                index_info = gr.Markdown("", elem_id="index-line")
                with gr.Row():
                    query = gr.Textbox(label="Question or keywords", scale=5, elem_id="query",
                                       placeholder="e.g. What must an employer check in its supply chain?")
                    go = gr.Button("Search", variant="primary", scale=1, elem_id="search-btn")
                with gr.Accordion("Filters", open=False, elem_id="filters"):
                    with gr.Row():
                        f_country = gr.Dropdown([], multiselect=True, label="Country", elem_id="f-country")
                        f_type = gr.Dropdown([], multiselect=True, label="Document type", elem_id="f-type")
                        f_lang = gr.Dropdown([], multiselect=True, label="Language", elem_id="f-lang")
                    with gr.Row():
                        f_from = gr.Textbox("", label="Year from", placeholder="e.g. 2005", elem_id="f-from")
                        f_to = gr.Textbox("", label="Year to", placeholder="e.g. 2024", elem_id="f-to")
                        f_prio = gr.Dropdown([], multiselect=True, label="Thematic priority", elem_id="f-prio")
                        f_strength = gr.Dropdown(list(STRENGTHS), multiselect=True, elem_id="f-strength",
                                                 label="GRETA recommendation (urges, considers, invites)")
                with gr.Row():
                    status = gr.Markdown("", elem_id="status")
                    grouped = gr.Checkbox(False, label="Group by priority", elem_id="group-toggle", scale=0,
                                          min_width=180)
                    copy_btn = gr.Button("Copy link", elem_id="copy-link", scale=0, min_width=140, size="sm")
                link_box = gr.Textbox("", label="Link to this search", elem_id="link-box", visible="hidden")
                url_box = gr.Textbox("", elem_id="url-state", visible="hidden")
                results_html = gr.HTML(docs_hint(h), elem_id="results", js_on_load=results.ACTIONS_JS)
                more_btn = gr.Button("More results", elem_id="more-btn", visible=False)
                pin_status = gr.Markdown("", elem_id="pin-status")
                with gr.Accordion("Saved searches", open=False, elem_id="saved-box"):
                    with gr.Row():
                        save_name = gr.Textbox(label="Name", scale=3, elem_id="save-name")
                        save_btn = gr.Button("Save this search", scale=1, elem_id="save-btn")
                        saved = gr.Dropdown([], label="Saved searches", scale=3, elem_id="saved")
                        open_btn = gr.Button("Open (shows what is new)", scale=1, elem_id="open-btn")
                    save_status = gr.Markdown("", elem_id="save-status")
            with gr.Tab("Compare countries", id="compare"):
                heatmap = gr.HTML(results.heatmap_html([], h.labels, ""), elem_id="heatmap",
                                  js_on_load=results.ACTIONS_JS)
                cell_results = gr.HTML("", elem_id="cell-results", js_on_load=results.ACTIONS_JS)
            recommendations.tab(h)  # GRETA recommendations: ui/app_recommendations.py
            with gr.Tab("Briefing basket", id="basket"):
                basket_view = gr.HTML("", elem_id="basket")
                with gr.Row():
                    item = gr.Dropdown([], label="Passage", scale=4, elem_id="basket-item")
                    up = gr.Button("↑ Up", scale=1, elem_id="basket-up")
                    down = gr.Button("↓ Down", scale=1, elem_id="basket-down")
                    remove = gr.Button("Remove", scale=1, variant="stop", elem_id="basket-remove")
                with gr.Row():
                    md_btn = gr.Button("Export Markdown", elem_id="export-md")
                    docx_btn = gr.Button("Export DOCX", elem_id="export-docx")
                export_file = gr.File(label="Briefing file", elem_id="export-file", interactive=False)
                export_status = gr.Markdown("")
            with gr.Tab("Documents", id="documents"):
                docs_io = documents_tab(h)

        filters = [f_country, f_type, f_lang, f_from, f_to, f_prio, f_strength]
        search_out = [results_html, status, hits_state, view_state, more_btn, heatmap, cell_results, url_box]
        basket_out = [basket_state, basket_view, item]
        view_in = [query, *filters, hits_state, view_state, basket_state]

        def do_search(q, c, t, lang, yf, yt, p, s, basket, group):
            return h.search(q, c, t, lang, yf, yt, p, s, basket, group)

        search_kw = dict(fn=do_search, inputs=[query, *filters, basket_state, grouped], outputs=search_out,
                         concurrency_id="search", show_progress="minimal")
        go.click(api_name="search", **search_kw)  # the public search endpoint (/gradio_api/call/search)
        query.submit(api_visibility="private", **search_kw)
        for widget in filters:
            widget.input(trigger_mode="always_last", api_visibility="private", **search_kw)

        def do_more(q, c, t, lang, yf, yt, p, s, hits, view, basket):
            return h.more(q, c, t, lang, yf, yt, p, s, hits, view, basket)

        more_btn.click(do_more, view_in, search_out, concurrency_id="search", show_progress="minimal")

        def do_group(group, q, c, t, lang, yf, yt, p, s, hits, view, basket):
            return h.regroup(group, q, c, t, lang, yf, yt, p, s, hits, view, basket)

        grouped.input(do_group, [grouped, *view_in], search_out)

        def do_action(q, c, t, lang, yf, yt, p, s, hits, view, basket, evt: gr.EventData, request: gr.Request):
            return h.ask_action(q, c, t, lang, yf, yt, p, s, hits, view, basket, evt=evt, request=request)

        results_html.click(do_action, view_in, [*search_out, *basket_out, pin_status])
        url_box.change(None, url_box, None, js=URL_JS)
        copy_btn.click(None, None, link_box, js=COPY_JS).then(lambda: gr.update(visible=True), None, link_box)

        def do_heat(hits, basket, q, evt: gr.EventData, request: gr.Request):
            return h.heat_click(hits, basket, q, evt=evt, request=request)

        heatmap.click(do_heat, [hits_state, basket_state, query], [heatmap, cell_results])

        def do_cell(hits, basket, q, evt: gr.EventData, request: gr.Request):
            return h.cell_action(hits, basket, q, evt=evt, request=request)

        cell_results.click(do_cell, [hits_state, basket_state, query], [*basket_out, pin_status])

        def do_move(step):
            def fn(basket, chunk_id, request: gr.Request):
                return h.move(basket, chunk_id, step, request=request)
            return fn

        up.click(do_move(-1), [basket_state, item], basket_out)
        down.click(do_move(1), [basket_state, item], basket_out)
        remove.click(do_move(0), [basket_state, item], basket_out)
        md_btn.click(lambda b: h.export(b, "md"), basket_state, [export_file, export_status])
        docx_btn.click(lambda b: h.export(b, "docx"), basket_state, [export_file, export_status])

        def do_save(name, q, c, t, lang, yf, yt, p, s, request: gr.Request):
            return h.save_search(name, q, c, t, lang, yf, yt, p, s, request=request)

        save_btn.click(do_save, [save_name, query, *filters], [saved, save_status])

        def do_open(name, basket, group, request: gr.Request):
            return h.open_saved(name, basket, group, request=request)

        open_btn.click(do_open, [saved, basket_state, grouped], [query, *filters, *search_out])

        def do_load(request: gr.Request):
            return h.on_load(request=request)

        load_out = [query, f_country, f_type, f_lang, f_prio, f_from, f_to, grouped, f_strength, *search_out, saved,
                    *basket_out, docs_io["doc_table"], docs_io["fail_table"], index_info]
        demo.load(do_load, None, load_out)
        fresh_out = [f_country, f_type, f_lang, f_prio, docs_io["doc_table"], docs_io["fail_table"], index_info]
        docs_io["wire"](fresh_out)
    return demo


def docs_hint(h) -> str:
    from ui.app import docs_hint as hint

    return hint(h)


def documents_tab(h) -> dict:
    """The upload form and the document tables; `wire(outputs)` refreshes `outputs` after an ingest."""
    import gradio as gr

    from ui import app_docs as docs

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
    doc_table = gr.Dataframe(headers=DOC_COLUMNS, value=[], label="Documents in the index", interactive=False,
                             wrap=True, elem_id="doc-table", show_search="filter", column_widths=DOC_WIDTHS,
                             max_height=520)
    chosen_doc = gr.State("")
    with gr.Row():
        chosen_line = gr.Markdown("Click a row to choose a document.", elem_id="doc-chosen")
        delete_btn = gr.Button("Delete from the index", variant="stop", elem_id="doc-delete", scale=0, min_width=200)
        reingest_btn = gr.Button("Re-ingest", elem_id="doc-reingest", scale=0, min_width=140)
    doc_status = gr.Markdown("", elem_id="doc-status")
    fail_table = gr.Dataframe(headers=FAIL_COLUMNS, value=[], label="Documents that could not be read",
                              interactive=False, wrap=True, elem_id="fail-table")
    chosen_fail = gr.State("")
    with gr.Row():
        fail_line = gr.Markdown("", elem_id="fail-chosen")
        forget_btn = gr.Button("Remove this failed file", elem_id="fail-remove", scale=0, min_width=220)

    def pick_doc(evt: gr.SelectData):
        row = list(evt.row_value or [])
        return (row[-1], f"Chosen: **{row[0]}** ({row[7]})") if len(row) == len(DOC_COLUMNS) else ("", "")

    def pick_fail(evt: gr.SelectData):
        row = list(evt.row_value or [])
        return (row[0], f"Chosen: `{row[0]}`") if row else ("", "")

    doc_table.select(pick_doc, None, [chosen_doc, chosen_line])
    fail_table.select(pick_fail, None, [chosen_fail, fail_line])

    def add(file, title, doc_type, country, language, year, progress=gr.Progress()):
        """The outcome, and an empty file box ready for the next upload."""
        return h.upload(file, title, doc_type, country, language, year, progress=progress), None

    def wire(outputs):
        add_btn.click(add, [upload, u_title, u_type, u_country, u_lang, u_year], [add_status, upload],
                      concurrency_id="ingest", concurrency_limit=1).then(h.after_ingest, None, outputs)
        for button, kind, chosen, status in ((delete_btn, "delete", chosen_doc, doc_status),
                                             (reingest_btn, "reingest", chosen_doc, doc_status),
                                             (forget_btn, "forget", chosen_fail, fail_line)):
            button.click(lambda target, kind=kind: h.document_action(kind, target), chosen, status,
                         concurrency_id="ingest", concurrency_limit=1).then(h.after_ingest, None, outputs)

    return {"doc_table": doc_table, "fail_table": fail_table, "wire": wire}

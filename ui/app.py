"""The research app (Gradio): Ask, Compare countries, Briefing basket, Documents.

Thin: each handler parses widget values, calls one stage function, formats the result with
ui.app_render. File routes (/doc/{doc_id}/file, /doc/{doc_id}/view) serve only indexed documents.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from fastapi import Request  # module level: route signatures are resolved from this module's globals

from ingest.errors import ThbError
from search.query import clean_query
from ui import app_basket as basket_ops
from ui import app_docs as docs
from ui import app_labels
from ui import app_render as render
from ui import app_results as results
from ui import app_state
from ui import views
from ui.app_labels import plural
from ui.app_url import filter_values_of, form_from_url, url_query

log = logging.getLogger(__name__)

CANDIDATES = 50  # one search fetches this many: the list's pages, the overview and the heatmap share them
SEARCH_CONCURRENCY = 4
# Events that may wait for a worker; one more is refused at once with 503 "busy, retry" (ui/app_guard).
# A search takes 0.1-0.2 s of the searcher's lock on 2 cores, so 16 waiting is about 2-3 s of work:
# surplus requests past saturation get a fast answer, never a timeout.
QUEUE_MAX_SIZE = 16
FAILED = "Something went wrong; the details are in the server log. Try again, or change the search."


def priority_labels(settings) -> dict[str, str]:
    from index.taxonomy import TaxonomyError, load_taxonomy

    try:
        return {p.id: p.label for p in load_taxonomy(settings.index.taxonomy).priorities}
    except (OSError, TaxonomyError) as exc:  # taxonomy unreadable: ids stand for themselves
        log.warning("priority labels unavailable: %s", exc)
        return {}


def parse_filters(countries, doc_types, languages, year_from, year_to, priorities, strengths=()):
    return views.filters_from(countries, doc_types, languages, year_from, year_to, priorities, strengths)


def filters_dict(countries, doc_types, languages, year_from, year_to, priorities, strengths=()) -> dict:
    return {"countries": list(countries or ()), "doc_types": list(doc_types or ()),
            "languages": list(languages or ()), "year_from": year_from, "year_to": year_to,
            "priorities": list(priorities or ()), "strengths": list(strengths or ())}


class Handlers:
    """The app's event handlers over one Searcher; every one returns a message, never raises."""

    def __init__(self, settings, searcher=None):
        from search.engine import Searcher

        self.settings = settings
        self.searcher = searcher or Searcher(settings.search)
        self._warm_up()
        self.labels = priority_labels(settings)

    def _warm_up(self) -> None:
        """Load the sentence splitter and glossary now, so the first user search is not the slow one."""
        try:
            self.searcher.search("trafficking in human beings", top_k=1)
        except Exception:  # an unusable index shows its message on the first real search
            log.warning("warm-up search failed", exc_info=True)

    def _new_view(self, **changes) -> dict:
        """A fresh view of the results: first page, THB_TOP_K hits a page."""
        return dict(results.DEFAULT_VIEW, size=self.settings.search.top_k, **changes)

    def _run(self, query, filters, top_k):
        try:
            return self.searcher.search(query or "", filters, top_k), ""
        except ThbError as exc:
            return None, str(exc)
        except Exception:
            log.exception("search failed")
            return None, FAILED

    # Ask: one search of CANDIDATES passages feeds the list, its pages, the overview and the heatmap.

    def search(self, query, *values, request=None):
        """Ask tab: (results, status, hits, view, more button, heatmap, cell view, url)."""
        *filter_values, basket, grouped = values
        view = self._new_view(grouped=bool(grouped))
        return self._search(query, filter_values, basket, view)

    def _search(self, query, filter_values, basket, view, note: str = "", top_k: int = 0):
        import gradio as gr

        started = time.perf_counter()
        query = clean_query(query)  # lone surrogates from the API never reach the URL, state or tokenizer
        top_k = top_k or CANDIDATES
        result, error = self._run(query, parse_filters(*filter_values), top_k)
        url = url_query(query, filter_values, view)
        if result is None or not result.hits:
            text = error or (result.message if result else FAILED)
            return (render.message_html(text), "", [], view, gr.update(visible=False),
                    results.heatmap_html([], self.labels, ""), "", url)
        hits = list(result.hits)
        self._read_page_labels(hits)
        view = dict(view, k=top_k)
        status = f"{plural(len(hits), 'passage')} in {time.perf_counter() - started:.2f} s"
        return (results.results_view_html(hits, view, self.labels, pinned=pinned_ids(basket), note=note,
                                          notice=result.notice), status,
                hits, view, self._more_button(hits, view), results.heatmap_html(hits, self.labels, query or ""),
                "", url)

    def _read_page_labels(self, hits) -> None:
        """Printed page labels of the PDFs among the hits (read once per document)."""
        from ui.app_pdf import PAGE_LABELS, remember_labels

        for doc_id in {h.doc_id for h in hits if h.page and h.doc_id not in PAGE_LABELS}:
            remember_labels(doc_id, docs.source_file(self.settings, doc_id))

    def _more_button(self, hits, view):
        import gradio as gr

        shown, matching = results.visible_hits(hits, view)
        more = len(shown) < matching or (len(hits) >= view.get("k", CANDIDATES) and not view.get("focus"))
        return gr.update(visible=more)

    def more(self, query, *values):
        """The next PAGE_SIZE passages; a deeper search when the candidates run out."""
        *filter_values, hits, view, basket = values
        view = dict(view or self._new_view(), page=int((view or {}).get("page", 1)) + 1)
        needed = view["page"] * int(view.get("size") or results.PAGE_SIZE)
        if hits and needed > len(hits) and len(hits) >= view.get("k", CANDIDATES) and not view.get("focus"):
            return self._search(query, filter_values, basket, view, top_k=needed + CANDIDATES)
        return self._view(hits, view, basket, query, filter_values)

    def _view(self, hits, view, basket, query, filter_values):
        import gradio as gr

        query = clean_query(query)
        return (results.results_view_html(hits or [], view, self.labels, pinned=pinned_ids(basket)), gr.update(),
                hits, view, self._more_button(hits or [], view), gr.update(), gr.update(),
                url_query(query, filter_values, view))

    def regroup(self, grouped, query, *values):
        *filter_values, hits, view, basket = values
        return self._view(hits, dict(view or self._new_view(), grouped=bool(grouped)), basket, query, filter_values)

    def ask_action(self, query, *values, evt=None, request=None):
        """A click in the result list: toggle a priority of the overview, or pin a card."""
        import gradio as gr

        *filter_values, hits, view, basket = values
        action = str(getattr(evt, "action", "") or "")
        kind, _, arg = action.partition(":")
        view = dict(view or self._new_view())
        note = gr.update()
        if kind == "prio":
            view.update(focus="" if view.get("focus") == arg else arg, page=1)
        elif kind == "pin":
            basket, note = self._pin(basket, hits, arg, query, request)
        out = self._view(hits, view, basket, query, filter_values)
        return (*out, basket, *self._basket_views(basket), note)

    def _pin(self, basket, hits, chunk_id, query, request):
        chosen = [basket_ops.basket_item(h, query or "", self.labels) for h in hits or [] if h.chunk_id == chunk_id]
        basket = basket_ops.pin(basket, chosen)
        app_state.store_basket(self.settings, app_state.user_of(request), basket)
        return basket, f"{plural(len(basket['items']), 'passage')} in the basket"

    def _basket_views(self, basket):
        import gradio as gr

        basket = basket or basket_ops.EMPTY_BASKET
        return basket_ops.basket_html(basket), gr.update(choices=basket_ops.choices(basket), value=None)

    # Compare: the heatmap over the search's own candidates; a cell click lists its passages.

    def heat_click(self, hits, basket, query, evt=None, request=None):
        import gradio as gr

        kind, _, arg = str(getattr(evt, "action", "") or "").partition(":")
        if kind != "cell" or "|" not in arg:
            return gr.update(), gr.update()
        country, priority_id = arg.split("|", 1)
        return (results.heatmap_html(hits or [], self.labels, query or "", (country, priority_id)),
                results.cell_html(hits or [], self.labels, country, priority_id, pinned_ids(basket)))

    def cell_action(self, hits, basket, query, evt=None, request=None):
        """A pin button in the cell's passages."""
        import gradio as gr

        kind, _, arg = str(getattr(evt, "action", "") or "").partition(":")
        if kind != "pin":
            return (gr.update(),) * 4
        basket, note = self._pin(basket, hits, arg, query, request)
        return (basket, *self._basket_views(basket), note)

    # Basket

    def move(self, basket, chunk_id, step, request=None):
        import gradio as gr

        basket = basket_ops.move(basket or basket_ops.EMPTY_BASKET, chunk_id, step)
        app_state.store_basket(self.settings, app_state.user_of(request), basket)
        value = chunk_id if step and any(i["chunk_id"] == chunk_id for i in basket["items"]) else None
        return basket, basket_ops.basket_html(basket), gr.update(choices=basket_ops.choices(basket), value=value)

    def export(self, basket, kind):
        basket = basket or basket_ops.EMPTY_BASKET
        if not basket["items"]:
            return None, "Pin some passages first."
        folder = self.settings.home / "exports"
        path = basket_ops.write_docx(basket, folder) if kind == "docx" else basket_ops.write_markdown(basket, folder)
        return str(path), f"Exported {plural(len(basket['items']), 'passage')} to {path.name}"

    # Saved searches (server-side, per user)

    def save_search(self, name, query, *filter_values, request=None):
        import gradio as gr

        name, query = clean_query(name), clean_query(query)
        name = " ".join(name.split()) or " ".join(query.split())[:60]
        if not name or not (query or "").strip():
            return gr.update(), "Type a question and a name before saving."
        user = app_state.user_of(request)
        app_state.save_search(self.settings, user, name, query, filters_dict(*filter_values))
        return gr.update(choices=list(app_state.saved_searches(self.settings, user)), value=name), f"Saved “{name}”."

    def open_saved(self, name, basket, grouped, request=None):
        """Fill the form from a saved search; the note says which passages come from newer documents."""
        import gradio as gr

        user = app_state.user_of(request)
        entry = app_state.saved_searches(self.settings, user).get(name or "")
        if not entry:
            return (gr.update(),) * 8 + (render.message_html("Choose a saved search."),) + (gr.update(),) * 7
        since = app_state.mark_opened(self.settings, user, name)
        values = filter_values_of(entry["filters"])
        new_ids = docs.docs_added_since(self.settings, since)
        out = self._search(entry["query"], values, basket, self._new_view(grouped=bool(grouped)))
        fresh = [h for h in out[2] if h.doc_id in new_ids]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(since))
        note = (f"{plural(len(fresh), 'passage')} below come from documents added since you last opened "
                f"this search ({when})." if fresh else f"No new documents answer this search since {when}.")
        if out[2]:
            out = (results.results_view_html(out[2], out[3], self.labels, pinned=pinned_ids(basket), note=note),
                   *out[1:])
        return (entry["query"], *values, *out)

    # Page load: everything read fresh, and the search of the URL run.

    def on_load(self, request=None):
        """Fresh choices, saved searches, basket, documents, index line; the URL's search run."""
        import gradio as gr

        try:
            self.searcher.refresh()
        except Exception:
            log.warning("refresh on page load failed", exc_info=True)
        user = app_state.user_of(request)
        basket = app_state.load_basket(self.settings, user)
        params = dict(getattr(request, "query_params", None) or {}) if request is not None else {}
        form = form_from_url(params)
        linked = bool(form["query"].strip())  # a link sets the form; a plain load leaves what the user typed
        choice_updates = self.choice_updates(form if linked else None)
        saved = gr.update(choices=list(app_state.saved_searches(self.settings, user)), value=None)
        view = self._new_view(grouped=form["grouped"], focus=form["focus"], page=form["page"])
        if form["query"].strip():
            out = self._search(form["query"], form["values"], basket, view)
            if form["page"] > 1 and out[2]:
                out = self._search(form["query"], form["values"], basket, view, top_k=max(CANDIDATES, form["page"] * self.settings.search.top_k))
        else:  # leave the Ask view alone: a search started before the load answered stands
            out = (gr.update(),) * 8
        years = docs.filter_choices(self.settings)
        value = lambda v: {"value": v} if linked else {}  # noqa: E731
        return (form["query"] if linked else gr.update(), *choice_updates,
                gr.update(label=f"Year from (earliest {years.year_min})", **value(form["values"][3] or "")),
                gr.update(label=f"Year to (latest {years.year_max})", **value(form["values"][4] or "")),
                gr.update(**value(form["grouped"])), gr.update(**value(list(form["values"][6]))), *out, saved, basket, *self._basket_views(basket),
                *self.documents(), index_line(self))

    def choice_updates(self, form=None):
        import gradio as gr

        choices = docs.filter_choices(self.settings)
        values = (form or {}).get("values") or ((), (), (), None, None, ())
        value = lambda i: {"value": list(values[i])} if form else {}  # noqa: E731  (none: keep the user's)
        prios = [(self.labels.get(p, p), p) for p in choices.priorities] or [(v, k) for k, v in self.labels.items()]
        return (gr.update(choices=app_labels.choices(choices.countries, app_labels.country_label), **value(0)),
                gr.update(choices=app_labels.choices(choices.doc_types, app_labels.doc_type_label), **value(1)),
                gr.update(choices=app_labels.choices(choices.languages, app_labels.language_label), **value(2)),
                gr.update(choices=prios, **value(5)))

    def documents(self):
        """Both tables, read now, with their counts in their labels."""
        import gradio as gr

        rows, fails = docs.document_rows(self.settings), docs.failure_rows(self.settings)
        return (gr.update(value=rows, label=f"Documents in the index: {plural(len(rows), 'document')}, "
                                            f"{plural(sum(r[6] for r in rows), 'passage')}"),
                gr.update(value=fails, label=f"Documents that could not be read: {len(fails)}"))

    def document_action(self, kind: str, target: str) -> str:
        """Delete or re-ingest a document, or remove a failed file; a one-line outcome."""
        try:
            if kind == "delete":
                message = docs.delete_document(self.settings, target)
            elif kind == "reingest":
                message = docs.reingest_document(self.settings, target)
            else:
                message = docs.remove_failed(self.settings, target)
            self.searcher.refresh()
            return message
        except ThbError as exc:
            return f"Not done: {exc}"
        except Exception:
            log.exception("document action %s failed", kind)
            return FAILED

    def after_ingest(self):
        """Everything an ingest changes: choices, documents, the index line."""
        return (*self.choice_updates(), *self.documents(), index_line(self))

    def upload(self, file, title, doc_type, country, language, year, progress=None):
        """Save, ingest (one at a time), refresh the searcher; a one-line outcome."""
        if not file:
            return "Choose a file to upload."
        path = file if isinstance(file, str) else getattr(file, "name", "")
        target = None
        try:
            meta = {"title": title, "doc_type": doc_type, "country": country, "language": language, "year": year}
            try:
                target = docs.save_upload(self.settings, path, Path(path).name, meta)
            except docs.UploadRejected:
                docs.discard_received(path)  # Gradio's copy of a refused file does not stay behind
                raise
            from index.builder import ingest_paths

            tracker = (lambda it, desc: progress.tqdm(it, desc=desc)) if progress is not None else None
            summary = ingest_paths(self.settings.index, [self.settings.uploads_dir], progress=tracker, wait_s=120)
            self.searcher.refresh()
        except ThbError as exc:
            return f"Not added: {exc}"
        except Exception:
            log.exception("upload failed")
            return FAILED
        failed = [f"{Path(p).name}: {r}" for p, r in summary.failed if Path(p).name == target.name]
        if failed:  # a file the index refused leaves the uploads folder, so it fails no later upload
            docs.discard_upload(self.settings, target)
            docs.discard_received(path)
            return "Not added: " + "; ".join(failed)
        return f"Added {target.name}: it is searchable now. ({summary.line()})"


def pinned_ids(basket) -> frozenset:
    return frozenset(i["chunk_id"] for i in (basket or basket_ops.EMPTY_BASKET)["items"])


def index_line(h) -> str:
    n_docs = len(docs.document_rows(h.settings))
    return f"{plural(h.searcher.size, 'passage')} indexed from {plural(n_docs, 'document')}."


def docs_hint(h) -> str:
    if h.searcher.size == 0:
        return render.message_html("The index is empty: add documents on the Documents tab, then ask a question.")
    return render.message_html(f"{plural(h.searcher.size, 'passage')} indexed. Ask a question to search them.")


def build_app(settings, searcher=None):
    """The Gradio Blocks of the research app (no server: see build_server)."""
    from ui.app_layout import layout

    return layout(Handlers(settings, searcher))


def read_auth(env=os.environ) -> list[tuple[str, str]] | None:
    """Credentials from THB_AUTH="user:pass" or THB_AUTH_FILE (user:pass lines); None when unset."""
    lines = []
    if env.get("THB_AUTH"):
        lines.append(env["THB_AUTH"])
    if env.get("THB_AUTH_FILE"):
        try:
            lines += Path(env["THB_AUTH_FILE"]).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ThbError(f"THB_AUTH_FILE {env['THB_AUTH_FILE']}: cannot read ({exc.strerror})") from None
    pairs = [tuple(line.strip().split(":", 1)) for line in lines if ":" in line and not line.startswith("#")]
    return [(u, p) for u, p in pairs if u and p] or None


def build_server(settings, *, auth=None, searcher=None, host: str = "127.0.0.1", port: int = 7860):
    """A FastAPI app: document routes, then the Gradio app mounted at /."""
    import gradio as gr
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import FileResponse, HTMLResponse
    from starlette.routing import Mount

    from ui.app_guard import WILDCARD_BINDS, RequestGuard, allowed_host_names

    # No /docs, /redoc or /openapi.json: the app documents its API in Gradio's login-guarded view.
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    demo = build_app(settings, searcher)

    def allowed(request: Request) -> bool:
        if not auth:
            return True
        sub = next(r.app for r in app.routes if isinstance(r, Mount))
        token = (request.cookies.get(f"access-token-{sub.cookie_id}")
                 or request.cookies.get(f"access-token-unsecure-{sub.cookie_id}"))
        return bool(token and token in sub.tokens)

    @app.get("/doc/{doc_id}/file")
    def doc_file(doc_id: str, request: Request):
        if not allowed(request):
            raise HTTPException(401, "log in first")
        path = docs.source_file(settings, doc_id)
        if path is None:
            raise HTTPException(404, "no such document in the index")
        media = "application/pdf" if path.suffix.lower() == ".pdf" else "text/plain; charset=utf-8"
        return FileResponse(path, media_type=media, content_disposition_type="inline", filename=path.name)

    @app.get("/doc/{doc_id}/view", response_class=HTMLResponse)
    def doc_view(doc_id: str, request: Request, chunk: str = "", start: int | None = None, end: int | None = None):
        if not allowed(request):
            raise HTTPException(401, "log in first")
        page = docs.source_view_html(settings, doc_id, chunk, None if start is None or end is None else (start, end))
        if page is None:
            raise HTTPException(404, "no such document in the index")
        return HTMLResponse(page)

    demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=SEARCH_CONCURRENCY)
    exports = settings.home / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    # Gradio refuses a file over THB_MAX_FILE_MB while receiving it, so none waits in its temp folder.
    served = gr.mount_gradio_app(app, demo, path="/", auth=auth, ssr_mode=False, server_name=host, server_port=port,
                                 css=render.CSS, max_file_size=int(settings.ingest.max_file_mb * 1024 * 1024),
                                 footer_links=[], run_history=False, allowed_paths=[str(exports)],
                                 app_kwargs={"openapi_url": None, "docs_url": None, "redoc_url": None})
    served.add_middleware(RequestGuard, allowed=allowed_host_names(host, settings.allowed_hosts),
                          accept_ip_literals=host in WILDCARD_BINDS)
    # Gradio checks that a file named in a request was uploaded (inputs) or may be served (outputs)
    # only once `has_launched` is set, which launch() does and mount_gradio_app does not.
    demo.has_launched = True
    return served


def serve_app(settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Serve on host:port (local by default); never a public share link."""
    import uvicorn

    auth = read_auth()
    app = build_server(settings, auth=auth, host=host, port=port)
    print(f"thb-research app: http://{host}:{port}/  (Ctrl+C to stop){'  [login required]' if auth else ''}",
          flush=True)
    if host not in ("127.0.0.1", "localhost", "::1") and not auth:
        print("warning: listening beyond this machine without a login; set THB_AUTH=user:password", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")

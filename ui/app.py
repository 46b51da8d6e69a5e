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
from ui import app_basket as basket_ops
from ui import app_docs as docs
from ui import app_render as render

log = logging.getLogger(__name__)

SEARCH_TOP_K = 10
COMPARE_TOP_K = 50
SEARCH_CONCURRENCY = 4
# Events that may wait for a worker; one more is refused at once with 503 "busy, retry" (ui/app_guard).
# A search takes 0.1-0.2 s of the searcher's lock on 2 cores, so 16 waiting is about 2-3 s of work:
# surplus requests past saturation get a fast answer, never a timeout.
QUEUE_MAX_SIZE = 16
FAILED = "Something went wrong; the details are in the server log. Try again, or change the search."


def priority_labels(settings) -> dict[str, str]:
    try:
        from ingest.taxonomy import load_taxonomy

        return {p.id: p.label for p in load_taxonomy(settings.taxonomy).priorities}
    except Exception:  # taxonomy unreadable: ids stand for themselves
        return {}


def parse_filters(countries, doc_types, languages, year_from, year_to, priorities):
    from search.hits import Filters

    as_year = lambda v: int(v) if v not in (None, "") and int(v) > 0 else None  # noqa: E731
    return Filters(countries=tuple(countries or ()), doc_types=tuple(doc_types or ()),
                   languages=tuple(languages or ()), year_from=as_year(year_from), year_to=as_year(year_to),
                   priorities=tuple(priorities or ()))


def filters_dict(countries, doc_types, languages, year_from, year_to, priorities) -> dict:
    return {"countries": list(countries or ()), "doc_types": list(doc_types or ()),
            "languages": list(languages or ()), "year_from": year_from, "year_to": year_to,
            "priorities": list(priorities or ())}


class Handlers:
    """The app's event handlers over one Searcher; every one returns a message, never raises."""

    def __init__(self, settings, searcher=None):
        from search.engine import Searcher

        self.settings = settings
        self.searcher = searcher or Searcher(settings)
        self._warm_up()
        self.labels = priority_labels(settings)

    def _warm_up(self) -> None:
        """Load the sentence splitter and glossary now, so the first user search is not the slow one."""
        try:
            self.searcher.search("trafficking in human beings", top_k=1)
        except Exception:  # an unusable index shows its message on the first real search
            log.warning("warm-up search failed", exc_info=True)

    def _run(self, query, filters, top_k):
        try:
            return self.searcher.search(query or "", filters, top_k), ""
        except ThbError as exc:
            return None, str(exc)
        except Exception:
            log.exception("search failed")
            return None, FAILED

    def search(self, query, *filter_values):
        """Ask tab: hits grouped by priority, answering sentences marked, a status line."""
        return self._search(query, filter_values)

    def _search(self, query, filter_values):
        """Grouped results, a status line, the pin choices and the hits."""
        import gradio as gr

        started = time.perf_counter()
        result, error = self._run(query, parse_filters(*filter_values), SEARCH_TOP_K)
        if result is None or not result.hits:
            text = error or (result.message if result else FAILED)
            return render.message_html(text), "", gr.update(choices=[], value=[]), []
        groups = render.group_hits(result.hits, self.settings.taxonomy)
        status = f"{len(result.hits)} passages in {time.perf_counter() - started:.2f} s"
        pins = [(f"{h.rank}. {render.citation_of(h)[:80]}", h.chunk_id) for h in result.hits]
        return render.results_html(groups), status, gr.update(choices=pins, value=[]), list(result.hits)

    def compare(self, query, *filter_values):
        """Compare tab: country x priority heatmap over a larger k, and the cell choices."""
        import gradio as gr

        values = list(filter_values)
        values[0], values[5] = (), ()  # the matrix spans all countries and priorities
        result, _error = self._run(query, parse_filters(*values), COMPARE_TOP_K)
        hits = list(result.hits) if result else []
        if not hits:
            return None, gr.update(choices=[], value=None), gr.update(choices=[], value=None), []
        countries, prios, _ = render.country_matrix(hits, self.labels)
        prio_choices = [(self.labels.get(p, "Other" if p == render.OTHER_ID else p), p) for p in prios]
        return (render.heatmap_figure(hits, self.labels, query or ""),
                gr.update(choices=countries, value=countries[0]),
                gr.update(choices=prio_choices, value=prios[0]), hits)

    def cell(self, hits, country, priority_id):
        chosen = [h for h in hits or [] if country and priority_id and render.in_cell(h, country, priority_id)]
        if not chosen:
            return render.message_html("Pick a country and a priority that have hits (run a search first).")
        label = self.labels.get(priority_id, "Other" if priority_id == render.OTHER_ID else priority_id)
        return render.results_html([render.HitGroup(priority_id, f"{country} × {label}", tuple(chosen))])

    def pin(self, basket, hits, chosen, query):
        import gradio as gr

        items = [basket_ops.basket_item(h, query or "", self.labels) for h in hits or [] if h.chunk_id in (chosen or [])]
        basket = basket_ops.pin(basket, items)
        return basket, basket_ops.basket_html(basket), gr.update(choices=basket_ops.choices(basket), value=None), \
            f"{len(basket['items'])} passages in the basket"

    def move(self, basket, chunk_id, step):
        import gradio as gr

        basket = basket_ops.move(basket or basket_ops.EMPTY_BASKET, chunk_id, step)
        value = chunk_id if step and any(i["chunk_id"] == chunk_id for i in basket["items"]) else None
        return basket, basket_ops.basket_html(basket), gr.update(choices=basket_ops.choices(basket), value=value)

    def export(self, basket, kind):
        basket = basket or basket_ops.EMPTY_BASKET
        if not basket["items"]:
            return None, "Pin some passages first."
        folder = self.settings.home / "exports"
        path = basket_ops.write_docx(basket, folder) if kind == "docx" else basket_ops.write_markdown(basket, folder)
        return str(path), f"Exported {len(basket['items'])} passages to {path.name}"

    def save_search(self, name, query, *filter_values):
        import gradio as gr

        name = " ".join((name or "").split()) or " ".join((query or "").split())[:60]
        if not name or not (query or "").strip():
            return gr.update(), "Type a question and a name before saving."
        saved = basket_ops.save_search(self.settings, name, query, filters_dict(*filter_values))
        return gr.update(choices=sorted(saved), value=name), f"Saved “{name}”."

    def open_saved(self, name):
        """Fill the form from a saved search; its results flag documents added since last opened."""
        import gradio as gr

        entry = basket_ops.load_saved(self.settings).get(name or "")
        if not entry:
            return (gr.update(),) * 7 + (render.message_html("Choose a saved search."), "", gr.update(), [])
        since = basket_ops.mark_opened(self.settings, name)
        f = entry["filters"]
        values = (f.get("countries"), f.get("doc_types"), f.get("languages"), f.get("year_from"),
                  f.get("year_to"), f.get("priorities"))
        html, status, pins, hits = self.search(entry["query"], *values)
        new_ids = docs.docs_added_since(self.settings, since)
        fresh = [h for h in hits if h.doc_id in new_ids]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(since))
        if fresh:
            note = render.results_html([render.HitGroup("new", f"New since {when}", tuple(fresh))], new_doc_ids=new_ids)
        else:
            note = render.message_html(f"No new documents answer this search since {when}.")
        return (entry["query"], *values, note + html, status, pins, hits)

    def documents(self):
        return docs.document_rows(self.settings), docs.failure_rows(self.settings)

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
            summary = ingest_paths(self.settings, [self.settings.uploads_dir], progress=tracker, wait_s=120)
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
                                 css=render.CSS, max_file_size=int(settings.max_file_mb * 1024 * 1024),
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

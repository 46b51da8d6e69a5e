"""What the app reads from the index store and writes to the uploads folder.

Reads documents, chunks, paths and failures through index/store (read-only); uploads saved with a
sanitised name and a manifest.tsv row, then ingested through `index.builder.ingest_paths`.
"""
from __future__ import annotations

import csv
import json
import re
import unicodedata
from dataclasses import dataclass
from html import escape
from pathlib import Path

from index import catalog, store
from ingest.errors import ThbError
from search.passages import MAX_MERGED_CHARS
from ui.app_render import CSS, marked_passage

UPLOAD_TYPES = (".pdf", ".txt", ".md", ".html", ".htm")
DOC_TYPES = ("national_legislation", "international_instrument", "eu_legislation", "report",
             "taskforce_publication", "guidance", "unknown")
MANIFEST_FIELDS = ("path", "title", "doc_type", "issuer", "country", "language", "year",
                   "source", "license", "notes")
DOC_ID_RE = re.compile(r"^[0-9a-f]{8,64}$")
CONTEXT_CHARS = 4000
ID_CHARS = 10  # of a document id in the table: enough to tell 24-hex-digit ids apart


class UploadRejected(ThbError):
    """An uploaded file has the wrong type, is too large, or its metadata is invalid."""


@dataclass(frozen=True, slots=True)
class FilterChoices:
    """Values the filter widgets offer, read from the index."""

    countries: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    year_min: int = 1900
    year_max: int = 2030
    priorities: tuple[str, ...] = ()


def _open(settings):
    """A read-only connection to the index store, or None when there is no index yet."""
    return store.open_readonly(settings.index_dir / catalog.DB_NAME)


def filter_choices(settings) -> FilterChoices:
    conn = _open(settings)
    if conn is None:
        return FilterChoices()
    try:
        facets = store.document_facets(conn)
    finally:
        conn.close()
    return FilterChoices(facets.countries, facets.doc_types, facets.languages, facets.year_min or 1900,
                         facets.year_max or 2030, facets.priorities)


def document_rows(settings) -> list[list]:
    """Every document, readable: title, type, country, language, year, pages ("-" for text
    files), passages, file, added, id; newest first."""
    from ui.app_labels import country_label, doc_type_label, language_label

    conn = _open(settings)
    if conn is None:
        return []
    try:
        rows = store.document_listing(conn)
    finally:
        conn.close()
    out = []
    for r in rows:
        paths = r.doc_paths or ""
        pages = r.n_pages if paths.lower().split("; ")[0].endswith(".pdf") else "-"
        out.append([r.title, doc_type_label(r.doc_type), country_label(r.country) if r.country else "-",
                    language_label(r.language), r.year or "-", pages, r.n_chunks, paths, (r.added_utc or "")[:16],
                    r.doc_id[:ID_CHARS]])
    return out


def resolve_doc_id(settings, prefix: str) -> str:
    """The full id of the one document whose id starts with `prefix` (the table shows ID_CHARS)."""
    conn = _open(settings)
    if conn is None or not re.fullmatch(r"[0-9a-f]{6,64}", prefix or ""):
        return ""
    try:
        ids = store.document_ids_with_prefix(conn, prefix)
    finally:
        conn.close()
    return ids[0] if len(ids) == 1 else ""


def doc_paths(settings, doc_id: str) -> list[tuple[Path, Path]]:
    """(root, source file) of each path the document was ingested from."""
    conn = _open(settings)
    if conn is None or not DOC_ID_RE.match(doc_id or ""):
        return []
    try:
        return [(Path(r.root), Path(r.source_path)) for r in store.paths_of(conn, doc_id)]
    finally:
        conn.close()


def is_upload(settings, path: Path) -> bool:
    return Path(path).resolve().parent == Path(settings.uploads_dir).resolve()


def delete_upload_file(settings, path: Path) -> None:
    """Remove an uploaded file and its manifest row (only inside uploads/)."""
    path = Path(path)
    if not is_upload(settings, path):
        return
    path.unlink(missing_ok=True)
    manifest = Path(settings.uploads_dir) / "manifest.tsv"
    if manifest.is_file():
        with manifest.open(encoding="utf-8", newline="") as fh:
            rows = [r for r in csv.DictReader(fh, delimiter="\t") if r.get("path") != path.name]
        with manifest.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=MANIFEST_FIELDS, delimiter="\t", extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)


def delete_document(settings, doc_id: str) -> str:
    """Out of the index, and out of uploads/ when it was uploaded; a one-line outcome."""
    from index.removal import remove_documents

    doc_id = resolve_doc_id(settings, doc_id)
    paths = doc_paths(settings, doc_id)
    if not paths:
        return "Choose a document in the table first."
    if not remove_documents(settings.index, [doc_id], wait_s=120):
        return "That document is no longer in the index."
    for _root, source in paths:
        delete_upload_file(settings, source)
    uploaded = any(is_upload(settings, s) for _r, s in paths)
    return f"Deleted {paths[0][1].name} from the index{' and from the uploads' if uploaded else ''}."


def reingest_document(settings, doc_id: str) -> str:
    """Read the document's file again (from the folder it was ingested from, with its manifest)."""
    from index.builder import ingest_paths
    from index.removal import remove_documents

    doc_id = resolve_doc_id(settings, doc_id)
    paths = doc_paths(settings, doc_id)
    if not paths:
        return "Choose a document in the table first."
    root, source = paths[0]
    if not source.is_file():
        return f"Not re-ingested: {source} is gone; delete the document instead."
    remove_documents(settings.index, [doc_id], wait_s=120)
    summary = ingest_paths(settings.index, [root], wait_s=120)
    failed = [r for p, r in summary.failed if Path(p) == source]
    return f"Not re-ingested: {source.name}: {failed[0]}" if failed else f"Re-ingested {source.name}. ({summary.line()})"


def remove_failed(settings, doc_path: str) -> str:
    """Forget a failed file; an uploaded one is deleted from uploads/ as well."""
    from index.removal import forget_failures

    if not doc_path:
        return "Choose a failed file in the table first."
    path = Path(doc_path)
    uploaded = is_upload(settings, path)
    delete_upload_file(settings, path)
    forget_failures(settings.index, [doc_path], wait_s=120)
    return f"Removed {path.name}{' from the uploads' if uploaded else ''} and from the failure list."


def failure_rows(settings) -> list[list]:
    conn = _open(settings)
    if conn is None:
        return []
    try:
        return [[r.doc_path, r.reason, r.at_utc] for r in store.failures(conn)]
    finally:
        conn.close()


def docs_added_since(settings, since: float) -> frozenset[str]:
    conn = _open(settings)
    if conn is None:
        return frozenset()
    try:
        return store.document_ids_added_since(conn, since)
    finally:
        conn.close()


def source_file(settings, doc_id: str) -> Path | None:
    """The original file of an indexed document; None unless the id is in the index."""
    if not DOC_ID_RE.match(doc_id or ""):
        return None
    conn = _open(settings)
    if conn is None:
        return None
    try:
        for row in sorted(store.paths_of(conn, doc_id), key=lambda p: p.doc_path):
            path = Path(row.source_path)
            if path.is_file():
                return path
        return None
    finally:
        conn.close()


def source_view_html(settings, doc_id: str, chunk_id: str, span: tuple[int, int] | None = None) -> str | None:
    """A page showing the passage in its document: PDF page beside its text, or the section. `span`
    (the hit's start and end) is marked instead of the chunk's when it holds the chunk and lies in
    the document."""
    if not DOC_ID_RE.match(doc_id or ""):
        return None
    conn = _open(settings)
    if conn is None:
        return None
    try:
        doc = store.document(conn, doc_id)
        if doc is None:
            return None
        chunk = store.chunk_record(conn, doc_id, chunk_id)
        paths = store.paths_of(conn, doc_id)
        section_span = store.section_span(conn, doc_id, chunk.section) if chunk is not None and chunk.section else None
    finally:
        conn.close()
    return _view_page(doc, chunk, paths[0].source_path if paths else "", section_span, span)


def _view_page(doc, chunk, source_path: str, section_span, span=None) -> str:
    text = doc.text
    start, end = (chunk.start, chunk.end) if chunk is not None else (0, 0)
    if (span is not None and chunk is not None and 0 <= span[0] <= start < end <= span[1] <= len(text)
            and span[1] - span[0] <= MAX_MERGED_CHARS):  # no longer than a hit can be
        start, end = span
    is_pdf = source_path.lower().endswith(".pdf")
    page = chunk.page_start if chunk is not None and chunk.page_start else 1
    if is_pdf:
        starts = json.loads(doc.page_starts or "[0]") + [len(text)]
        lo, hi = starts[page - 1], starts[min(page, len(starts) - 1)]
        lo, hi = min(lo, start), max(hi, end)
        from ui.app_pdf import page_citation, remember_labels

        labels = remember_labels(doc.doc_id, Path(source_path))
        where = f"{page_citation(page, None, labels)} of {doc.n_pages} PDF pages"
    else:
        lo, hi = (section_span.start, section_span.end) if section_span else (start, end)
        lo, hi = max(0, min(lo, start - 1500)), min(len(text), max(hi, end + 1500))
        if hi - lo > 3 * CONTEXT_CHARS:
            lo, hi = max(0, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS)
        where = chunk.section if chunk is not None and chunk.section else "passage"
    body = marked_passage(text[lo:hi], [(start - lo, end - lo)])
    title = escape(doc.title)
    head = (f"<h1>{title}</h1><p class='meta'>{escape(doc.doc_type.replace('_', ' '))} · "
            f"{escape(doc.country or '')} · {escape(doc.language or '')} · {doc.year or ''} · "
            f"<b>{escape(str(where))}</b></p>")
    text_pane = f"<div class='thb-doc' id='text'>{'…' if lo > 0 else ''}{body}{'…' if hi < len(text) else ''}</div>"
    if is_pdf:
        src = f"/doc/{escape(doc.doc_id)}/file#page={page}&amp;zoom=page-width"
        marked = page_image_html(source_path, page, text[max(start, lo):min(end, hi)])
        main = (f"<div class='split'><div class='pdf'><p><a id='pdf-link' href='{src}' target='_blank'>Open the PDF at "
                f"{escape(where.split(' of ')[0])}</a></p>{marked}</div>{text_pane}</div>"
                f"<h2 class='meta'>The PDF</h2><iframe id='pdf-frame' src='{src}' title='PDF'></iframe>")
    else:
        main = text_pane
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{CSS}"
            "body{font-family:system-ui,sans-serif;margin:20px;color:#1f2328} h1{font-size:1.3em}"
            ".meta{color:#57606a}.split{display:flex;gap:16px}.pdf{flex:1 1 55%;min-width:0}"
            ".page-img{position:relative;border:1px solid #d0d7de}.page-img img{width:100%;display:block}"
            ".page-img .box{position:absolute;background:rgba(255,213,0,.28);outline:2px solid #d4a000}"
            "iframe{width:100%;height:80vh;"
            "border:1px solid #d0d7de}.thb-doc{flex:1 1 45%;min-width:0;white-space:pre-wrap;line-height:1.5;max-height:85vh;"
            "overflow:auto;border:1px solid #d0d7de;padding:12px;font-size:0.92em}</style></head><body>"
            f"{head}{main}<script>var t=document.getElementById('text'),m=t&&t.querySelector('mark');"
            "if(m)t.scrollTop=m.offsetTop-t.offsetTop-t.clientHeight/4;"
            "</script></body></html>")


def page_image_html(source_path: str, page: int, passage: str) -> str:
    """The cited page as an image with the passage boxed; a note instead when it cannot be drawn."""
    import base64

    from ui.app_pdf import passage_boxes, render_page_png

    path = Path(source_path)
    try:
        png = render_page_png(str(path), page, path.stat().st_mtime)
        boxes, covered = passage_boxes(str(path), page, passage) if png else ([], 0.0)
    except Exception:  # a page pypdf cannot position: the text pane still marks the passage
        png, boxes, covered = None, [], 0.0
    if not png:
        return "<p class='meta'>No page image (poppler-utils' pdftoppm is not installed).</p>"
    marks = "".join(f"<div class='box' style='left:{100 * l:.2f}%;top:{100 * t:.2f}%;width:{100 * w:.2f}%;"
                    f"height:{100 * h:.2f}%'></div>" for l, t, w, h in boxes)
    data = base64.b64encode(png).decode()
    return (f"<div class='page-img' id='page-image' data-boxes='{len(boxes)}' data-covered='{covered:.3f}'>"
            f"<img src='data:image/png;base64,{data}' alt='page {page}'>{marks}</div>")


def safe_filename(name: str) -> str:
    stem, suffix = Path(name).stem, Path(name).suffix.lower()
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:80] or "document"
    return stem + suffix


def upload_folder() -> Path:
    """Where Gradio writes what a browser uploads (GRADIO_TEMP_DIR, else <tmp>/gradio), resolved."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()).resolve()


def check_uploaded_path(tmp_path: str, folder: Path | None = None) -> Path:
    """The file a request names must be one Gradio received: inside its upload folder, no symlink.

    A request can name any path in a FileData payload; without this a POST to the add endpoint
    could index (and so serve) any file the server can read.
    """
    folder = (folder or upload_folder()).resolve()
    given = Path(tmp_path)
    if not given.is_absolute() or ".." in given.parts:
        raise UploadRejected(f"{given.name or tmp_path}: not a file this app received as an upload")
    # every component below the upload folder must be a real directory or file, never a link
    probe = given
    while probe != probe.parent:
        if probe.is_symlink():
            raise UploadRejected(f"{given.name}: a symbolic link is not accepted as an upload")
        if probe == folder:
            break
        probe = probe.parent
    resolved = given.resolve()
    if not resolved.is_relative_to(folder) or resolved == folder or not resolved.is_file():
        raise UploadRejected(f"{given.name or tmp_path}: not a file this app received as an upload")
    return resolved


def save_upload(settings, tmp_path: str, original_name: str, meta: dict, folder: Path | None = None) -> Path:
    """Check origin, type and size, copy into uploads_dir, record metadata in its manifest.tsv.

    `folder` is where accepted uploads must come from (Gradio's upload folder by default).
    """
    check_uploaded_path(tmp_path, folder)
    suffix = Path(original_name).suffix.lower()
    if suffix not in UPLOAD_TYPES:
        raise UploadRejected(f"{original_name}: {suffix or 'no extension'} files are not accepted; "
                             f"upload one of {', '.join(UPLOAD_TYPES)}")
    size = Path(tmp_path).stat().st_size
    if size > settings.ingest.max_file_mb * 1024 * 1024:
        raise UploadRejected(f"{original_name} is {size / 1048576:.1f} MB, over the "
                             f"{settings.ingest.max_file_mb:g} MB limit (THB_MAX_FILE_MB)")
    year = str(meta.get("year") or "").strip()
    if year and not (year.isdigit() and len(year) == 4):
        raise UploadRejected(f"year {year!r} is not a four-digit year")
    folder = settings.uploads_dir
    folder.mkdir(parents=True, exist_ok=True)
    name = safe_filename(original_name)
    target = folder / name
    n = 1
    while target.exists() and target.read_bytes() != Path(tmp_path).read_bytes():
        n += 1
        target = folder / f"{Path(name).stem}-{n}{Path(name).suffix}"
    target.write_bytes(Path(tmp_path).read_bytes())
    _write_manifest_row(folder, target.name, meta, year)
    return target


def discard_upload(settings, target: Path) -> None:
    """Take a file the index refused out of the uploads folder, with its manifest row."""
    target.unlink(missing_ok=True)
    manifest = settings.uploads_dir / "manifest.tsv"
    if not manifest.is_file():
        return
    with manifest.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r.get("path") != target.name]
    with manifest.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=MANIFEST_FIELDS, delimiter="\t", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def discard_received(tmp_path: str, folder: Path | None = None) -> None:
    """Delete Gradio's received copy of a refused upload; only a file inside its upload folder
    (anything else a request names is left alone)."""
    try:
        check_uploaded_path(tmp_path, folder).unlink(missing_ok=True)
    except (UploadRejected, OSError):
        pass


def _write_manifest_row(folder: Path, name: str, meta: dict, year: str) -> None:
    manifest = folder / "manifest.tsv"
    rows = []
    if manifest.is_file():
        with manifest.open(encoding="utf-8", newline="") as fh:
            rows = [r for r in csv.DictReader(fh, delimiter="\t") if r.get("path") != name]
    clean = lambda v: " ".join(str(v or "").split())  # noqa: E731  (no tabs/newlines in TSV cells)
    rows.append({"path": name, "title": clean(meta.get("title")) or Path(name).stem,
                 "doc_type": clean(meta.get("doc_type")) or "unknown", "issuer": "",
                 "country": clean(meta.get("country")).upper(), "language": clean(meta.get("language")).lower(),
                 "year": year, "source": "upload", "license": "", "notes": ""})
    with manifest.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=MANIFEST_FIELDS, delimiter="\t", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)

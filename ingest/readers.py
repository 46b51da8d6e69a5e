"""Read PDF, plain text, Markdown and HTML files into page texts, with one-line errors."""
from __future__ import annotations

import codecs
import concurrent.futures
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from ingest import spawner
from ingest.errors import UnreadableDocument

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".pdf", ".txt", ".md", ".markdown", ".html", ".htm"}


@dataclass(frozen=True, slots=True)
class RawDocument:
    """Text as read from a file: one string per page (one page for non-PDF files)."""

    pages: tuple[str, ...]
    paged: bool
    title_hint: str = ""
    ocr_pages: tuple[int, ...] = ()  # 1-based pages whose text came from OCR (ingest/ocr.py)
    ocr_seconds: float = 0.0


def read_document(path: Path, data: bytes, *, page_timeout_s: float = 20.0, ocr: str = "off",
                  language: str = "", progress=None) -> RawDocument:
    """Dispatch on the file suffix; raise UnreadableDocument with a reason the user can act on.

    `ocr` (auto | force | off) and `language` (ISO 639-1) say which PDF pages OCR reads.
    """
    suffix = path.suffix.lower()
    if not data:
        raise UnreadableDocument(path, "empty file (0 bytes)")
    if suffix == ".pdf":
        return read_pdf(path, data, page_timeout_s=page_timeout_s, ocr=ocr, language=language, progress=progress)
    if suffix in {".html", ".htm"}:
        return read_html(path, data)
    if suffix in {".txt", ".md", ".markdown"}:
        return RawDocument(pages=(decode_text(path, data),), paged=False)
    raise UnreadableDocument(path, f"unsupported file type {suffix or '(none)'}")


def decode_text(path: Path, data: bytes) -> str:
    """Decode bytes: BOMs first (UTF-8/16/32), then UTF-8, then Latin-1 for legacy files."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise UnreadableDocument(path, f"invalid {codec} text: {exc.reason}") from None
    if b"\x00" in data[:8192]:
        raise UnreadableDocument(path, "binary data, not text (NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    sample = text[:8192]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    controls += sum(1 for ch in sample if 0x80 <= ord(ch) < 0xA0)
    if sample and controls / len(sample) > 0.05:
        raise UnreadableDocument(path, "binary data, not text (control characters)")
    return text


def read_html(path: Path, data: bytes) -> RawDocument:
    """Visible text only: scripts, styles, templates and hidden elements are dropped."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head", "svg", "iframe"]):
        tag.decompose()
    for tag in soup.select("[hidden], [aria-hidden=true]"):
        tag.decompose()
    title = ""
    heading = soup.find(["h1", "h2"])
    if heading:
        title = heading.get_text(" ", strip=True)
    block = {"p", "div", "section", "article", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
             "br", "table", "ul", "ol", "blockquote", "pre", "header", "footer", "main"}
    for tag in soup.find_all(block):
        tag.insert_before("\n\n" if tag.name != "br" else "\n")
    text = soup.get_text()
    return RawDocument(pages=(text,), paged=False, title_hint=title)


def read_pdf(path: Path, data: bytes, *, page_timeout_s: float, ocr: str = "off", language: str = "",
             progress=None) -> RawDocument:
    """Text per page with pypdf, in a child process killed when a page exceeds its timeout.

    A thread cannot be stopped: a page that loops in pypdf would keep burning a CPU after its
    timeout. A child process can be killed, so every page is truly bounded. When no child can
    be started (restricted sandboxes), fall back to the in-process thread with a timeout.
    """
    try:
        outcome = _extract_in_child(data, page_timeout_s)
    except _NoChildProcess as exc:
        log.warning("%s: reading PDF in-process (no child process: %s)", path, exc)
        outcome = _extract_in_thread(data, page_timeout_s)
    if isinstance(outcome, str):
        raise UnreadableDocument(path, outcome)
    pages, title = outcome
    from ingest.ocr import with_ocr

    return with_ocr(path, data, RawDocument(pages=tuple(pages), paged=True, title_hint=title),
                    mode=ocr, language=language, progress=progress)


class _NoChildProcess(Exception):
    """The operating system refused to start the PDF worker process."""


# Cap on the worker's address space: a PDF that balloons memory fails alone, not the machine.
WORKER_MEMORY_BYTES = 4 << 30
STARTUP_TIMEOUT_S = 60.0


class _PdfWorker:
    """A long-lived `python -c ...` child that extracts PDFs; killed and replaced on a timeout.

    A plain subprocess rather than multiprocessing: forkserver/spawn re-import the caller's
    __main__ (breaking unguarded scripts), and fork copies a process full of torch threads.
    Messages are JSON lines on the child's stdout; requests are length-prefixed bytes on stdin.
    """

    def __init__(self):
        import os
        import subprocess
        import sys

        code = "from ingest.readers import serve_pdf_worker; serve_pdf_worker()"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
            THB_PDF_WORKER_PARENT=str(os.getpid()))
        try:  # forked from the spawner thread: a PR_SET_PDEATHSIG child dies with its forking thread
            self.proc = spawner.popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                      close_fds=True)
        except OSError as exc:
            raise _NoChildProcess(str(exc)) from None
        self.buffer = b""
        # Python start-up and the pypdf import are not the PDF's fault: wait for them apart.
        if self._next(STARTUP_TIMEOUT_S) != ["ready", None]:
            self.kill()
            raise _NoChildProcess("the PDF worker did not start")

    def extract(self, data: bytes, page_timeout_s: float):
        """(pages, title) or a reason string."""
        import struct

        try:
            self.proc.stdin.write(struct.pack(">Q", len(data)) + data)
            self.proc.stdin.flush()
        except OSError:
            return self._crashed("opening the file")
        pages: list[str] = []
        title, n_pages, what = "", None, "opening the file"
        while n_pages is None or len(pages) < n_pages:
            message = self._next(page_timeout_s)
            if message is None:
                self.kill()
                return f"{what}: text extraction exceeded {page_timeout_s:g} s (stopped)"
            if message is EOFError:
                return self._crashed(what)
            kind, value = message
            if kind == "fail":
                return value
            if kind == "open":
                n_pages, title = value
            elif kind == "page" and isinstance(value, str) and n_pages is not None:
                pages.append(value)
            else:  # a worker from another version of this module, or garbage: start afresh
                return self._crashed(f"{what} (unexpected worker message {kind!r})")
            what = f"page {len(pages) + 1}"
        return pages, title

    def _next(self, timeout_s: float):
        """The next message, None on timeout, EOFError when the child is gone."""
        import json
        import os
        import select
        import time

        deadline = time.monotonic() + timeout_s
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return EOFError
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def _crashed(self, what: str) -> str:
        self.kill()
        return f"{what}: PDF reader crashed (exit code {self.proc.returncode})"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass


_WORKER: _PdfWorker | None = None
_WORKER_LOCK = threading.Lock()


def _extract_in_child(data: bytes, page_timeout_s: float):
    """(pages, title) or a reason string, from the shared worker (started on first use)."""
    global _WORKER
    with _WORKER_LOCK:
        if _WORKER is None or not _WORKER.alive():
            _WORKER = _PdfWorker()
        return _WORKER.extract(data, page_timeout_s)


def stop_pdf_worker() -> None:
    """Stop the PDF worker process (it also exits by itself when this process ends)."""
    global _WORKER
    with _WORKER_LOCK:
        if _WORKER is not None:
            _WORKER.kill()
            _WORKER = None


def serve_pdf_worker() -> None:
    """Child side: read length-prefixed PDFs on stdin, answer JSON lines on stdout, until EOF."""
    import json
    import resource
    import struct
    import sys
    import warnings

    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    _die_with_parent()
    try:
        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    except (ValueError, OSError):
        pass
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer

    def send(kind, value):
        stdout.write(json.dumps([kind, value]).encode() + b"\n")
        stdout.flush()

    import pypdf  # noqa: F401 - loaded before "ready", so no PDF's timeout pays for it

    send("ready", None)
    while True:
        header = stdin.read(8)
        if len(header) < 8:
            return
        data = stdin.read(struct.unpack(">Q", header)[0])
        try:
            _serve_one(data, send)
        except (RecursionError, MemoryError) as exc:
            send("fail", f"corrupt PDF: {type(exc).__name__} while parsing")


def _die_with_parent() -> None:
    """Child side: end when the parent does, even by kill -9 in the middle of a page.

    Linux: prctl(PR_SET_PDEATHSIG, SIGKILL) has the kernel kill us when the parent's forking
    thread dies, hence ingest/spawner.py's long-lived thread; a watcher thread polling the
    parent's pid covers other systems (and a parent that died before the prctl took effect)."""
    import os
    import signal
    import sys
    import time

    parent = int(os.environ.get("THB_PDF_WORKER_PARENT") or os.getppid())
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, name="thb-pdf-parent", daemon=True).start()


def _serve_one(data: bytes, send) -> None:
    reader, n_pages, title = _open_pdf(data)
    if isinstance(reader, str):
        send("fail", reader)
        return
    send("open", (n_pages, title))
    for number in range(n_pages):
        try:
            text = _extract_page(reader, number)
        except Exception as exc:  # noqa: BLE001 - a parser failure is a bad document
            send("fail", f"page {number + 1}: text extraction failed: {type(exc).__name__}: {exc}")
            return
        send("page", text)


def _open_pdf(data: bytes):
    """(reader, n_pages, title), or (reason, 0, "") when the file cannot be opened."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception as exc:  # noqa: BLE001 - pypdf raises several kinds for unsupported crypto
                return f"encrypted PDF, cannot decrypt: {exc}", 0, ""
            if not ok:
                return "encrypted PDF (password required)", 0, ""
        n_pages = len(reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, IndexError) as exc:
        return f"corrupt PDF: {exc}", 0, ""
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad document, not a crash
        return f"corrupt PDF: {type(exc).__name__}: {exc}", 0, ""
    if n_pages == 0:
        return "PDF has no pages", 0, ""
    try:
        title = (reader.metadata.title or "").strip() if reader.metadata else ""
    except Exception:  # noqa: BLE001 - metadata is optional
        title = ""
    return reader, n_pages, str(title)


def _extract_in_thread(data: bytes, page_timeout_s: float):
    """Fallback without a child process: bounded wait, but a looping page keeps its thread."""
    reader, n_pages, title = _open_pdf(data)
    if isinstance(reader, str):
        return reader
    pages = []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdfpage")
    try:
        for number in range(n_pages):
            future = pool.submit(_extract_page, reader, number)
            try:
                pages.append(future.result(timeout=page_timeout_s))
            except concurrent.futures.TimeoutError:
                return f"page {number + 1}: text extraction exceeded {page_timeout_s:g} s"
            except Exception as exc:  # noqa: BLE001
                return f"page {number + 1}: text extraction failed: {type(exc).__name__}: {exc}"
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return pages, title


def _extract_page(reader, number: int) -> str:
    return reader.pages[number].extract_text() or ""

"""Ingest files into the index: incremental by content hash, one transaction, atomic files."""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index import catalog, incremental, recommendations, store, vectors
from index.checkpoint import checkpoint
from index.embedder import Embedder, model_dir
from index.tagging import load_tagger
from index.terms import analyze
from ingest.chunking import Chunker
from ingest.documents import Chunk, Document, embedding_text
from index.errors import DiskFull
from ingest.errors import ManifestError, UnreadableDocument
from ingest.metadata import read_manifest
from ingest.pipeline import SourceFile, check_follow_symlinks, discover, document_id, prepare_document
from index.settings import IndexSettings

log = logging.getLogger(__name__)


@dataclass(slots=True)
class IngestSummary:
    """What an ingest did; `failed` holds (path, reason) pairs."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    aliases: int = 0
    chunks: int = 0
    pages: int = 0
    seconds: float = 0.0
    failed: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ocr_pages: int = 0  # pages read by OCR (ingest/ocr.py), and the seconds that took
    ocr_seconds: float = 0.0
    recommendations: int = 0  # GRETA recommendations extracted (ingest/greta.py)
    # --engine ray: each document task's seconds, and the wall time from the first submit to the
    # last result (the part that more workers shorten; the rest is the one writer's)
    task_seconds: list[float] = field(default_factory=list)
    parallel_seconds: float = 0.0

    def line(self) -> str:
        extra = f"; {self.ocr_pages} pages by OCR in {self.ocr_seconds:.1f} s" if self.ocr_pages else ""
        extra += f"; {self.recommendations} GRETA recommendations" if self.recommendations else ""
        return (f"documents: {self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{len(self.failed)} failed, {self.removed} removed; {self.chunks} chunks; "
                f"{self.seconds:.1f} s{extra}")


@dataclass(slots=True)
class _Plan:
    new_docs: list[tuple[SourceFile, Document, list[Chunk], dict]] = field(default_factory=list)
    aliases: list[tuple[SourceFile, str, dict]] = field(default_factory=list)
    replaced_paths: list[tuple[str, str]] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)


def _remove_stale_temp_files(settings: IndexSettings) -> None:
    """Temp files left by a killed ingest (we hold the lock, so none is being written now)."""
    for tmp in settings.index_dir.glob(".*.tmp"):
        if tmp.is_dir():  # a postings folder being written (index/postings.py)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
    _remove_stale_rebuilds(settings)


@contextmanager
def disk_errors(settings: IndexSettings):
    """A full disk (ENOSPC writing FAISS, "database or disk is full" from SQLite) becomes one
    DiskFull line naming the disk, with this run's temp files removed; the store's transaction
    has rolled back (or committed whole), so the previous index stands."""
    try:
        yield
    except (OSError, RuntimeError, sqlite3.DatabaseError) as exc:
        if not _is_disk_full(exc):
            raise
        _remove_stale_temp_files(settings)
        raise DiskFull(f"disk full: {_disk_of(settings.home)} has {_free_mb(settings.home):.1f} MB free, not "
                       f"enough to write the index in {settings.index_dir}; free some space and run the ingest "
                       "again (the previous index is kept)") from None


def _is_disk_full(exc: BaseException) -> bool:
    import errno

    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(exc, sqlite3.DatabaseError):  # SQLITE_FULL
        return getattr(exc, "sqlite_errorcode", None) == 13 or "disk is full" in str(exc)
    return "No space left on device" in str(exc)  # faiss's RuntimeError quotes strerror(ENOSPC)


def _disk_of(path: Path) -> str:
    """The mount point of the file system holding `path`."""
    path = path.resolve()
    while not path.exists():
        path = path.parent
    device = path.stat().st_dev
    while path != path.parent and path.parent.stat().st_dev == device:
        path = path.parent
    return str(path)


def _free_mb(path: Path) -> float:
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free / 1048576


def ingest_paths(settings: IndexSettings, paths: list[Path], *, prune: bool = False, rebuild: bool = False,
                 progress=None, wait_s: float = 0.0, tagger=None, engine: str = "local",
                 address: str | None = None) -> IngestSummary:
    """Bring the index in line with the files under `paths`; one writer at a time.

    New chunks are tagged with thematic priorities by `tagger`, by default the one for
    settings.taxonomy, loaded only when there is something new; `tagger=False` skips tagging.
    `engine="ray"` reads, chunks and embeds new documents as Ray tasks (index/distributed.py) on
    the cluster at `address`; this process stays the one writer.
    """
    from index.distributed import check_engine

    check_engine(engine)
    lock = catalog.acquire_writer_lock(settings, wait_s)
    try:
        _remove_stale_temp_files(settings)
        with disk_errors(settings):
            if rebuild:
                return _rebuild_beside(settings, paths, progress=progress, tagger=tagger, engine=engine,
                                       address=address)
            catalog.check_store_integrity(settings)
            return _ingest_locked(settings, paths, prune=prune, progress=progress, tagger=tagger, engine=engine,
                                  address=address)
    finally:
        lock.release()


REBUILD_PREFIX = ".rebuild-"


def _rebuild_beside(settings: IndexSettings, paths: list[Path], *, progress, tagger, engine="local",
                    address=None) -> IngestSummary:
    """Build a new index in a folder beside the live one, then swap the two folders in one atomic
    rename; the old folder (and the files a running `thb serve` still reads) goes only afterwards.

    A searcher notices the swap by the store file's inode (search.engine.Searcher.refresh) and
    reopens. A kill at any point leaves the live index whole: the half-built folder is removed by
    the next ingest."""
    scratch = settings.home / f"{REBUILD_PREFIX}{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    fresh = dataclasses.replace(settings, home=scratch)
    # the new folder's lock is held too: once swapped in, it is the lock other ingests wait on
    new_lock = catalog.lock_for(fresh)
    new_lock.acquire()
    try:
        summary = _ingest_locked(fresh, paths, prune=False, progress=progress, tagger=tagger, engine=engine,
                                 address=address)
        checkpoint("before_swap", pause_dir=settings.index_dir)
        swap_folders(fresh.index_dir, settings.index_dir)
    finally:
        new_lock.release()
        shutil.rmtree(scratch, ignore_errors=True)  # after the swap: the old index
    return summary


def swap_folders(new: Path, live: Path) -> None:
    """Exchange two folders atomically (Linux renameat2 RENAME_EXCHANGE); where the file system
    cannot, move the live one aside and the new one in (two renames)."""
    import ctypes
    import errno

    libc = ctypes.CDLL(None, use_errno=True)
    at_fdcwd, rename_exchange = -100, 2
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None and live.is_dir():
        if renameat2(at_fdcwd, os.fsencode(new), at_fdcwd, os.fsencode(live), rename_exchange) == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(err, os.strerror(err), str(live))
    if live.is_dir():
        aside = new.with_name(new.name + ".old")
        os.replace(live, aside)
        os.replace(new, live)
        os.replace(aside, new)
    else:
        os.replace(new, live)


def _remove_stale_rebuilds(settings: IndexSettings) -> None:
    """Folders of rebuilds killed before their swap (we hold the lock: none is running)."""
    for folder in settings.home.glob(f"{REBUILD_PREFIX}*"):
        shutil.rmtree(folder, ignore_errors=True)


def _ingest_locked(settings: IndexSettings, paths: list[Path], *, prune: bool, progress, tagger, engine="local",
                   address=None) -> IngestSummary:
    started = time.perf_counter()
    summary = IngestSummary()
    manifest = catalog.read_manifest(settings.index_dir)
    catalog.check_compatible(manifest, settings)
    conn = store.connect(settings.index_dir / catalog.DB_NAME)
    try:
        sources, problems = discover(paths, follow_symlinks=check_follow_symlinks(settings.ingest.follow_symlinks))
        summary.failed.extend(problems)
        ml_new = None
        if engine == "ray":
            from index import distributed

            plan, vecs, ml_new = distributed.plan_and_embed(settings, conn, sources, summary, progress,
                                                            address=address, plan_fn=_plan)
        else:
            plan, vecs = _plan_and_embed(settings, conn, sources, summary, progress)
        ml_vecs, backfill = _multilingual_vectors(settings, conn, plan, progress, new=ml_new)
        tagger = _resolve_tagger(settings, conn, tagger, summary) if plan.new_docs else None
        generation_before = store.generation(conn)
        removed_ids = _write(settings, conn, plan, vecs, summary, prune=prune, roots=paths, tagger=tagger,
                             ml_vecs=ml_vecs, backfill=backfill)
        checkpoint("after_commit", pause_dir=settings.index_dir)
        # Both FAISS files are updated in place from this ingest's changes (index/incremental.py);
        # any disagreement with the store means a rebuild from it.
        ids = incremental.new_ids(conn, plan)
        index = incremental.update_vectors(settings, conn, manifest, generation_before,
                                           incremental.Delta(tuple(removed_ids), ids, vecs if len(ids) else None))
        vectors.write_index_atomic(index, settings.index_dir / catalog.FAISS_NAME, crash_point="faiss_write")
        ml_delta = incremental.Delta(tuple(removed_ids), ids, ml_vecs)
        ml_info = catalog.write_ml_vectors(settings, incremental.update_ml_vectors(
            settings, conn, manifest, generation_before, ml_delta, backfill))
        catalog.write_postings(settings, conn)
        checkpoint("before_manifest", pause_dir=settings.index_dir)
        catalog.write_manifest(settings, conn, index_type="flat", multilingual=ml_info)
    finally:
        conn.close()
    summary.seconds = time.perf_counter() - started
    return summary


ML_BATCH = 32


def _multilingual_vectors(settings: IndexSettings, conn, plan: "_Plan", progress, new=None):
    """Multilingual vectors (index/multilingual.py) of the new chunks, in plan order, and of the
    stored chunks that have none yet (ingested while it was off): (array or None, [(vec_id, vector)]).
    `new`: the new chunks' vectors when another engine made them already."""
    from index import multilingual

    if multilingual.check(settings.multilingual) == "off":
        return None, []
    texts = [] if new is not None else [c.embedding_text for _s, _d, chunks, _i in plan.new_docs for c in chunks]
    stale = store.chunk_texts(conn, without_ml=True)
    texts += [embedding_text(r.section, r.text) for r in stale]
    if not texts:
        return new, []
    encoder = multilingual.MultilingualEncoder.for_settings(settings)
    starts = range(0, len(texts), ML_BATCH)
    parts = [encoder.passages(texts[i:i + ML_BATCH])
             for i in (progress(starts, "multilingual embedding") if progress else starts)]
    vecs = np.concatenate(parts)
    n_new = len(texts) - len(stale)
    return (new if new is not None else vecs[:n_new]), [(r.vec_id, vecs[n_new + i]) for i, r in enumerate(stale)]


def _resolve_tagger(settings: IndexSettings, conn, tagger, summary: IngestSummary):
    """The priority tagger for new chunks: the one given, else the settings' taxonomy (False: none)."""
    if tagger is False:
        return None
    if tagger is None:
        tagger = load_tagger(settings)
    stored = store.get_meta(conn, "taxonomy")
    if stored and stored != tagger.taxonomy.id:
        summary.warnings.append(f"the index is tagged with taxonomy {stored!r}, new documents with "
                                f"{tagger.taxonomy.id!r}: run `thb retag --taxonomy FILE` to make them agree")
    return tagger


def _plan_and_embed(settings: IndexSettings, conn, sources: list[SourceFile], summary: IngestSummary, progress):
    """Read and chunk files on a worker thread while this thread embeds what is ready.

    Parsing (pypdf in a child process), cleaning, chunking and sentence finding overlap with the
    encoder instead of preceding it. Chunks are embedded in batches of EMBED_BATCH as documents
    arrive, each batch sorted by length (one padding width per model batch); rows come back in
    document order. The model is loaded only when a first new document arrives. `progress` wraps
    the files on the worker thread: reading leads embedding by at most the hand-off queue, so one
    bar tells both.
    """
    import queue
    import threading

    import numpy as np

    handoff: queue.Queue = queue.Queue(maxsize=16)
    outcome: dict = {}
    stop = threading.Event()

    def deliver(item):
        if stop.is_set():  # the embedding side failed: stop reading
            raise _Stopped
        handoff.put(item)

    def produce():
        try:
            outcome["plan"] = _plan(settings, conn, sources, summary, progress, on_file=deliver)
        except _Stopped:
            pass
        except BaseException as exc:  # re-raised on the calling thread
            outcome["error"] = exc
        finally:
            handoff.put(_DONE)

    worker = threading.Thread(target=produce, name="thb-read", daemon=True)
    worker.start()
    embedder, texts, parts, done = None, [], [], 0
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                break
            if item is None:
                continue
            if embedder is None:
                embedder = Embedder.for_settings(settings)
                checkpoint("before_embedding", pause_dir=settings.index_dir)
            texts.extend(c.embedding_text for c in item[2])
            while len(texts) - done >= EMBED_BATCH:
                parts.append(_embed_sorted(embedder, texts[done:done + EMBED_BATCH]))
                checkpoint("embedding", pause_dir=settings.index_dir)
                done += EMBED_BATCH
        if "error" in outcome:
            raise outcome["error"]
        if done < len(texts):
            parts.append(_embed_sorted(embedder, texts[done:]))
            checkpoint("embedding", pause_dir=settings.index_dir)
    finally:
        stop.set()
        while worker.is_alive():  # let a reader blocked on a full queue see the stop
            try:
                handoff.get(timeout=0.1)
            except queue.Empty:
                pass
        worker.join()
    vecs = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
    return outcome["plan"], vecs


_DONE = object()
EMBED_BATCH = 256


class _Stopped(Exception):
    """The reader thread's signal that the embedding side has given up."""


def _embed_sorted(embedder, texts: list[str]):
    """Vectors of texts in input order, encoded shortest first (each model batch pads to texts of
    nearly one length)."""
    import numpy as np

    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.empty((len(texts), embedder.dimension), dtype=np.float32)
    out[order] = embedder.embed_batch([texts[j] for j in order])
    return out


def _plan(settings: IndexSettings, conn, sources: list[SourceFile], summary: IngestSummary, progress,
          on_file=None, prepare=None) -> _Plan:
    """Decide, file by file, what is new, changed, unchanged or an alias of a known document.

    `on_file` hears of every file: the (source, document, chunks, info) of a new one, else None.
    `prepare(source, data, meta)` stands in for prepare_document (the Ray engine submits a task).
    """
    plan = _Plan()
    chunker = Chunker(model_dir(settings.model_name), chunk_tokens=settings.ingest.chunk_tokens,
                      overlap_tokens=settings.ingest.overlap_tokens, label_tokens=settings.ingest.label_tokens)
    manifests: dict[Path, dict] = {}
    limit = int(settings.ingest.max_file_mb * 1024 * 1024)
    pending_ids: dict[str, tuple[SourceFile, Document]] = {}
    bar = progress(sources, "reading and embedding") if progress else sources  # the files, in step with both
    for source in bar:
        known_new = len(plan.new_docs)
        key = (str(source.root), source.doc_path)
        plan.seen.add(key)
        if source.root not in manifests:
            manifests[source.root] = _manifest_rows(source.root, summary)
        meta = manifests[source.root].get(source.doc_path)
        try:
            stat = source.path.stat()
            if stat.st_size > limit:
                raise UnreadableDocument(source.path, f"file is {stat.st_size / 1048576:.1f} MB, over the "
                                         f"{settings.ingest.max_file_mb:g} MB limit (THB_MAX_FILE_MB)")
            known = store.find_path(conn, *key)
            relabel = bool(known) and _metadata_changed(conn, known.doc_id, meta)
            if known and known.size == stat.st_size and known.mtime == stat.st_mtime and not relabel:
                summary.unchanged += 1
                continue
            data = source.path.read_bytes()
            after = source.path.stat()
            if len(data) != after.st_size or (after.st_size, after.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                raise UnreadableDocument(source.path, "file changed while being read; run the ingest again")
            if len(data) > limit:
                raise UnreadableDocument(source.path, f"file is {len(data) / 1048576:.1f} MB, over the "
                                         f"{settings.ingest.max_file_mb:g} MB limit (THB_MAX_FILE_MB)")
            doc_id = document_id(data)
            info = {"size": len(data), "mtime": stat.st_mtime}
            relabel = relabel and known.doc_id == doc_id  # same bytes, new manifest row: index it anew
            if known and known.doc_id == doc_id and not relabel:
                store.touch_path(conn, *key, info["size"], info["mtime"])
                summary.unchanged += 1
                continue
            if known:
                plan.replaced_paths.append(key)
            exists = store.has_document(conn, doc_id)
            if (exists and not relabel) or doc_id in pending_ids:
                plan.aliases.append((source, doc_id, info))
                continue
            doc, chunks = (prepare(source, data, meta) if prepare else
                           prepare_document(source, data, meta, chunker, page_timeout_s=settings.ingest.pdf_page_timeout_s,
                                            ocr=settings.ingest.ocr, progress=progress))
            pending_ids[doc_id] = (source, doc)
            plan.new_docs.append((source, doc, chunks, dict(info, updated=bool(known))))
        except UnreadableDocument as exc:
            summary.failed.append((str(source.path), exc.reason))
        except OSError as exc:
            summary.failed.append((str(source.path), f"cannot read file: {exc.strerror or exc}"))
        finally:
            if on_file is not None:
                on_file(plan.new_docs[-1] if len(plan.new_docs) > known_new else None)
    return plan


def _metadata_changed(conn, doc_id: str, meta) -> bool:
    """Whether the manifest row of the only path holding `doc_id` says other things than the stored
    document (a re-upload with a new title, say): then the document is indexed again with them."""
    if meta is None or store.path_count(conn, doc_id) != 1:
        return False
    row = store.document_labels(conn, doc_id)
    if row is None:
        return False
    stored = (row.title, row.doc_type, row.issuer or "", row.country or "", row.year)
    wanted = (meta.title, meta.doc_type, meta.issuer or "", meta.country or "", meta.year)
    return stored != wanted or bool(meta.language and meta.language != row.language)


def _manifest_rows(root: Path, summary: IngestSummary) -> dict:
    try:
        rows, problems = read_manifest(root)
    except ManifestError as exc:
        summary.failed.append((str(root / "manifest.tsv"), str(exc).split(": ", 1)[-1]))
        return {}
    summary.warnings.extend(problems)
    return rows


def _write(settings: IndexSettings, conn, plan: _Plan, vecs, summary: IngestSummary, *, prune: bool,
           roots: list[Path], tagger, ml_vecs=None, backfill=()) -> list[int]:
    """All changes in one transaction; returns the FAISS ids that were deleted."""
    removed_ids: list[int] = []
    now = time.time()
    with store.transaction(conn):
        gen = store.bump_generation(conn)
        for vec_id, vec in backfill:
            store.set_ml_embedding(conn, vec_id, vec.tobytes())
        for key in plan.replaced_paths:
            removed_ids += store.drop_path(conn, key)
        if prune:
            for root in {str(p.expanduser().resolve()) for p in roots if p.expanduser().is_dir()}:
                for row in store.paths_under(conn, root):
                    if (row.root, row.doc_path) not in plan.seen:
                        removed_ids += store.drop_path(conn, (row.root, row.doc_path))
                        summary.removed += 1
        offset = 0
        for source, doc, chunks, info in plan.new_docs:
            m = doc.meta
            store.insert_document(conn, store.DocumentRecord(
                doc.doc_id, m.title, m.doc_type, m.issuer, m.country, m.language, m.year, doc.n_pages, doc.text,
                json.dumps(doc.page_starts), gen, now))
            _insert_path(conn, source, doc.doc_id, info)
            summary.recommendations += recommendations.write_document_extras(conn, doc, tagger)
            summary.ocr_pages += len(doc.ocr_pages)
            summary.ocr_seconds += doc.ocr_seconds
            scores = tagger.score_document([c.embedding_text for c in chunks], vecs[offset:offset + len(chunks)],
                                           None if ml_vecs is None else ml_vecs[offset:offset + len(chunks)],
                                           sections=[c.section for c in chunks], doc_type=m.doc_type,
                                           roles=[c.role for c in chunks]) \
                if tagger else None
            for i, chunk in enumerate(chunks):
                vec = vecs[offset + i]
                prios, prio_scores = ([], {}) if scores is None else scores[i]
                terms = analyze(chunk.embedding_text + "\n" + m.title, chunk.language or m.language)
                store.insert_chunk(conn, store.ChunkRecord(
                    vec_id=None, chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, ordinal=chunk.ordinal,
                    start=chunk.start, end=chunk.end, page_start=chunk.page_start, page_end=chunk.page_end,
                    section=chunk.section, paragraph=chunk.paragraph, language=chunk.language, text=chunk.text,
                    embedding=vec.tobytes(), priorities=json.dumps(prios), priority_scores=json.dumps(prio_scores),
                    sentences=json.dumps([list(sp) for sp in chunk.sentences]),
                    ml_embedding=None if ml_vecs is None else ml_vecs[offset + i].tobytes(), terms=" ".join(terms),
                    role=chunk.role))
            offset += len(chunks)
            summary.chunks += len(chunks)
            summary.pages += doc.n_pages
            if info.get("updated"):
                summary.updated += 1
            else:
                summary.added += 1
        for source, doc_id, info in plan.aliases:
            _insert_path(conn, source, doc_id, info)
            summary.aliases += 1
            summary.unchanged += 1
        for path, reason in summary.failed:
            store.record_failure(conn, str(Path(path).parent), path, reason, now)
        for source, *_ in plan.new_docs:
            store.clear_failure(conn, str(source.path))
        if tagger is not None and plan.new_docs:
            _warn_if_tagged_otherwise(conn, settings.index_dir, tagger.describe())
            store.set_meta(conn, "taxonomy", tagger.taxonomy.id, replace=False)
            store.set_meta(conn, "tagger", json.dumps(tagger.describe()), replace=False)
        checkpoint("before_commit", pause_dir=settings.index_dir)
    return removed_ids


def _warn_if_tagged_otherwise(conn, index_dir: Path, tagger: dict) -> None:
    """One line when the index's chunks were tagged by another tagger than the one tagging the new
    documents (a new taxonomy or tagging rule since): the two would group and count alike only
    after `thb retag`."""
    stored = store.get_meta(conn, "tagger")
    try:
        before = json.loads(stored).get("version") if stored else None
    except (ValueError, AttributeError):
        before = None
    if before and before != tagger.get("version"):
        log.warning("%s: the chunks already indexed were tagged by %s, new documents by %s; "
                    "run `thb retag` to tag all of them alike", index_dir, before, tagger.get("version"))


def _insert_path(conn, source: SourceFile, doc_id: str, info: dict) -> None:
    store.insert_path(conn, store.PathRecord(str(source.root), source.doc_path, str(source.path), doc_id,
                                             info["size"], info["mtime"]))

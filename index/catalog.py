"""Open an index folder: check its manifest, load FAISS, and keep FAISS and SQLite in step.

Layout of settings.index_dir: `thb.sqlite` (text, metadata, embeddings), `vectors.faiss`,
`manifest.json`. The manifest records model, dimension, schema and the store generation that
the FAISS file was written for; a FAISS file from another generation is rebuilt from SQLite.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path

from filelock import FileLock, Timeout

from index import postings, store, vectors
from index.embedder import model_dimension, vectors_compatible
from index.errors import IndexBusy, IndexDamaged, IndexMismatch
from index.settings import IndexSettings

log = logging.getLogger(__name__)

DB_NAME = "thb.sqlite"
FAISS_NAME = "vectors.faiss"
ML_FAISS_NAME = "vectors-multilingual.faiss"  # index/multilingual.py: the second embedding space
MANIFEST_NAME = "manifest.json"
LOCK_NAME = "ingest.lock"  # the one-writer lock of the index folder


def lock_for(settings: IndexSettings, *, wait_s: float = 0.0) -> FileLock:
    """The index's one-writer lock (not held): every writer (ingest, removal, retag) takes it."""
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(settings.index_dir / LOCK_NAME), timeout=wait_s)


def acquire_writer_lock(settings: IndexSettings, wait_s: float = 0.0) -> FileLock:
    """The index's one-writer lock, held; IndexBusy when another writer keeps it past `wait_s`."""
    lock = lock_for(settings, wait_s=wait_s)
    try:
        lock.acquire()
    except Timeout:
        raise IndexBusy(f"another ingest is running on {settings.index_dir} "
                        f"(lock {lock.lock_file}); wait for it to finish") from None
    return lock


def rebuild_hint(settings: IndexSettings) -> str:
    return f"run `thb ingest --rebuild PATH...` (THB_HOME={settings.home}) to rebuild it"


def read_manifest(index_dir: Path) -> dict | None:
    path = index_dir / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexMismatch(f"{path}: unreadable index manifest ({exc})") from None


def check_compatible(manifest: dict | None, settings: IndexSettings) -> None:
    """Refuse an index built with another model, dimension or schema."""
    _check_store_schema(settings)
    if manifest is None:
        return
    want = {"model": settings.model_name, "dimension": model_dimension(settings.model_name),
            "schema_version": store.SCHEMA_VERSION}
    for key, value in want.items():
        if key == "schema_version" and isinstance(manifest.get(key), int) and 2 <= manifest[key] < value:
            continue  # an older store reads as it is and is migrated in place by the next ingest
        if manifest.get(key) != value:
            raise IndexMismatch(
                f"index in {settings.index_dir} was built with {key}={manifest.get(key)!r}, "
                f"settings say {value!r}: {rebuild_hint(settings)}")
    built_with = manifest.get("encoder") or "torch-fp32"  # manifests before the field: torch fp32
    if not vectors_compatible(built_with, settings.encoder):
        raise IndexMismatch(
            f"index in {settings.index_dir} was built with encoder={built_with!r}, settings say "
            f"{settings.encoder!r} and their vectors differ: {rebuild_hint(settings)} or set THB_ENCODER")
    _check_multilingual(manifest, settings)


def _check_multilingual(manifest: dict, settings: IndexSettings) -> None:
    """Refuse multilingual vectors from another encoder than settings.multilingual (their spaces
    differ slightly: mixing them would rank by the encoder, not by meaning)."""
    from index import multilingual

    built_with = (manifest.get("multilingual") or {}).get("encoder")
    wanted = multilingual.encoder_id(settings.multilingual)
    if built_with and wanted and built_with != wanted:
        raise IndexMismatch(
            f"index in {settings.index_dir} has multilingual vectors from {built_with!r}, settings say "
            f"{settings.multilingual!r} ({wanted}): {rebuild_hint(settings)} or set THB_MULTILINGUAL")


def _check_store_schema(settings: IndexSettings) -> None:
    """The store's own schema version, so a missing or edited manifest cannot hide a newer schema."""
    import sqlite3

    path = settings.index_dir / DB_NAME
    if not path.is_file():
        return
    _check_not_truncated(settings, path)
    try:
        found = store.file_schema_version(path)
    except sqlite3.DatabaseError as exc:
        raise IndexMismatch(f"{path}: unreadable index store ({exc}): {rebuild_hint(settings)}") from None
    if found > store.SCHEMA_VERSION:
        raise IndexMismatch(f"index in {settings.index_dir} has store schema_version={found}, this version of "
                            f"thb reads {store.SCHEMA_VERSION}: {rebuild_hint(settings)}")


def _check_not_truncated(settings: IndexSettings, path: Path) -> None:
    """A zero-byte store beside a manifest or FAISS file once held an index: refuse it rather than
    let SQLite start an empty one in its place."""
    if path.stat().st_size == 0 and any((settings.index_dir / n).is_file()
                                        for n in (MANIFEST_NAME, FAISS_NAME, ML_FAISS_NAME)):
        raise IndexDamaged(f"index store {path} is empty (0 bytes) but the index held documents; it is left "
                           f"as it is: {rebuild_hint(settings)}")


def check_store_integrity(settings: IndexSettings) -> None:
    """Refuse a truncated or corrupt store (PRAGMA quick_check: every page and index entry read
    once: 0.5 s for a 92 MB store on this 2-core machine under load) with the rebuild command; the
    store is never replaced. Run when an ingest or a searcher opens the store, not at every search."""
    import sqlite3

    path = settings.index_dir / DB_NAME
    if not path.is_file():
        return
    _check_not_truncated(settings, path)
    try:
        problems = store.quick_check(path, 3)
    except sqlite3.DatabaseError as exc:
        problems = [str(exc)]
    if problems != ["ok"]:
        raise IndexDamaged(f"index store {path} is damaged ({'; '.join(problems)[:200]}); it is left as it is: "
                           f"{rebuild_hint(settings)}")


def write_manifest(settings: IndexSettings, conn, *, index_type: str, multilingual: dict | None = None) -> dict:
    """`multilingual`: what made the chunks' second vectors ({"encoder", "dimension", "vectors",
    "index_type"}), or None when the index has none."""
    held = store.counts(conn)
    counts = {"documents": held.documents, "chunks": held.chunks, "paths": held.paths}
    doc_ids = store.document_ids(conn)
    manifest = {
        "model": settings.model_name,
        "dimension": model_dimension(settings.model_name),
        "schema_version": store.SCHEMA_VERSION,
        "chunking": {"chunk_tokens": settings.ingest.chunk_tokens, "overlap_tokens": settings.ingest.overlap_tokens,
                     "label_tokens": settings.ingest.label_tokens, "unit": "model word pieces"},
        # What the FAISS file really holds (read from its header), else what the caller says.
        "index_type": vectors.describe_file(settings.index_dir / FAISS_NAME) or index_type,
        "encoder": settings.encoder,
        "multilingual": multilingual,
        "tagger": _tagger_meta(conn),
        "generation": store.generation(conn),
        "counts": counts,
        "corpus_fingerprint": hashlib.sha256("\n".join(doc_ids).encode()).hexdigest()[:16],
        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    path = settings.index_dir / MANIFEST_NAME
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(tmp, path)
    return manifest


def write_postings(settings: IndexSettings, conn) -> None:
    """The BM25 postings of the store's current generation, for searchers to map (index/postings.py).
    A cache: when it cannot be written, searchers build the postings themselves."""
    try:
        postings.write(settings.index_dir, postings.build(conn))
    except OSError as exc:
        log.warning("%s: BM25 postings not written (%s); searchers will build them", settings.index_dir, exc)


def _tagger_meta(conn) -> dict | None:
    """What tagged the chunks (index/tagging.py writes the meta row): taxonomy, method, version."""
    value = store.get_meta(conn, "tagger")
    try:
        return json.loads(value) if value else None
    except json.JSONDecodeError:
        return None


def record_tagger(index_dir: Path, tagger: dict) -> None:
    """Set the manifest's "tagger" entry after a re-tag (atomic rewrite; no manifest, nothing)."""
    manifest = read_manifest(index_dir)
    if manifest is None:
        return
    manifest["tagger"] = tagger
    path = index_dir / MANIFEST_NAME
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def load_vectors(settings: IndexSettings, conn, manifest: dict | None):
    """The FAISS index for the store's current generation, rebuilt from SQLite when stale."""
    path = settings.index_dir / FAISS_NAME
    current = store.generation(conn)
    if manifest and manifest.get("generation") == current and path.is_file():
        try:
            index = vectors.read_index(path)
            if index.ntotal == manifest["counts"]["chunks"]:
                return index
        except RuntimeError as exc:
            log.warning("%s: unreadable FAISS file, rebuilding from the store (%s)", path, exc)
    log.info("rebuilding FAISS index from the store (generation %s)", current)
    return vectors_from_store(settings, conn)


def vectors_from_store(settings: IndexSettings, conn):
    """A FAISS index built from every embedding the store holds (the store is the truth)."""
    dimension = model_dimension(settings.model_name)
    ids, vecs = store.all_embeddings(conn, dimension)
    return vectors.build_index(dimension, ids, vecs)


def load_ml_vectors(settings: IndexSettings, conn, manifest: dict | None):
    """The FAISS index of the multilingual vectors (None when the index has none, or has them from
    another encoder than this install's); rebuilt from SQLite when its file is stale."""
    from index import multilingual

    info = (manifest or {}).get("multilingual")
    if not info:
        return None
    if info.get("encoder") != multilingual.encoder_id(settings.multilingual):
        return None  # off, or another encoder (check_compatible refuses that before we get here)
    path = settings.index_dir / ML_FAISS_NAME
    if manifest.get("generation") == store.generation(conn) and path.is_file():
        try:
            index = vectors.read_index(path)
            if index.ntotal == info.get("vectors"):
                return index
        except RuntimeError as exc:
            log.warning("%s: unreadable FAISS file, rebuilding from the store (%s)", path, exc)
    return ml_vectors_from_store(conn)


def ml_vectors_from_store(conn):
    """A FAISS index of every multilingual vector the store holds, or None when it holds none."""
    from index import multilingual

    ids, vecs = store.ml_embeddings(conn, multilingual.DIMENSION)
    return vectors.build_index(multilingual.DIMENSION, ids, vecs) if len(ids) else None


def has_index(settings: IndexSettings) -> bool:
    return (settings.index_dir / DB_NAME).is_file()


def write_ml_vectors(settings: IndexSettings, index) -> dict | None:
    """Write the multilingual FAISS index (atomic rename); what the manifest records of it, or None
    (and no file) when the store holds no multilingual vectors."""
    from index import multilingual

    path = settings.index_dir / ML_FAISS_NAME
    if index is None:
        path.unlink(missing_ok=True)
        return None
    vectors.write_index_atomic(index, path)
    return {"encoder": multilingual.encoder_id(settings.multilingual), "dimension": multilingual.DIMENSION,
            "vectors": int(index.ntotal), "index_type": vectors.index_type(index)}

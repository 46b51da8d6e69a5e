"""A data home of N chunks grown from a real index, for end-to-end search at 100k and 1M chunks.

Every copy of a real document keeps its metadata, sections, language and priorities; each chunk's
sentences are shuffled (so postings and highlighting are not trivial copies) and its MiniLM and
multilingual vectors get Gaussian noise (cosine ~0.9 to the original), renormalised. The copy's
document text is its chunks' texts joined, so offsets, highlighting and whole provisions stay exact.
FTS5 terms are the original chunk's (a bag of words: shuffling sentences does not change it).
FAISS files are then built as an ingest would (`index.vectors.choose_index_type` by size).

    python -m bench.scale_home SOURCE_HOME TARGET_HOME --chunks 100000
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import catalog, multilingual, store, vectors

log = logging.getLogger(__name__)
NOISE = 0.02  # per-dimension sigma on unit 384-d vectors: cosine to the original about 0.93


def _sentences(text: str, spans) -> tuple[str, ...]:
    """A chunk's sentences (from its stored spans; the whole text when it has none)."""
    pieces = [text[a:b].strip() for a, b in (spans or [])]
    return tuple(p for p in pieces if p) or (text,)


def _shuffled(pieces: tuple[str, ...], rng) -> tuple[str, str]:
    """The sentences in a random order joined by spaces, and their spans as JSON."""
    order = rng.permutation(len(pieces)).tolist() if len(pieces) > 1 else [0]
    out, spans, at = [], [], 0
    for i in order:
        piece = pieces[i]
        out.append(piece)
        spans.append(f"[{at}, {at + len(piece)}]")
        at += len(piece) + 1
    return " ".join(out), "[" + ", ".join(spans) + "]"


@dataclass(frozen=True, slots=True)
class _Source:
    """The real index a home is grown from: its documents, chunk rows by document (in vec_id order),
    the file each document came from, and every chunk's two vectors stacked in the same order."""

    docs: list
    rows: dict
    paths: dict
    sentences: dict  # vec_id -> the chunk's sentences, shuffled in each copy
    embeddings: np.ndarray
    ml_embeddings: np.ndarray | None  # None unless every chunk has a multilingual vector

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.rows.values())


def _read_source(db: Path) -> _Source:
    src = store.connect(db, readonly=True)
    try:
        docs = store.all_documents(src)
        rows: dict[str, list] = {}
        for r in store.chunk_records(src):
            rows.setdefault(r.doc_id, []).append(r)
        paths = {r.doc_id: r.doc_path for r in store.all_paths(src)}
    finally:
        src.close()
    ordered = [r for d in docs for r in rows.get(d.doc_id, [])]
    emb = np.frombuffer(b"".join(r.embedding for r in ordered), dtype=np.float32).reshape(len(ordered), -1)
    has_ml = bool(ordered) and all(r.ml_embedding is not None for r in ordered)
    ml = (np.frombuffer(b"".join(r.ml_embedding for r in ordered), dtype=np.float32).reshape(len(ordered), -1)
          if has_ml else None)
    sentences = {r.vec_id: _sentences(r.text, json.loads(r.sentences or "null")) for r in ordered}
    return _Source(docs, rows, paths, sentences, emb, ml)


def _noisy(block: np.ndarray, rng) -> np.ndarray:
    """Each row plus N(0, NOISE) per dimension, renormalised: one numpy pass over a whole copy."""
    out = block + NOISE * rng.standard_normal(block.shape, dtype=np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def build(source: Path, target: Path, n_chunks: int, seed: int = 0) -> dict:
    """Grow target/index from source/index (read only) to n_chunks chunks; returns its manifest.
    The home is built in a staging folder beside it and renamed into place when complete."""
    src_manifest = catalog.read_manifest(source / "index")
    staging = target / f".grow-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "index").mkdir(parents=True)
    db = staging / "index" / catalog.DB_NAME
    store.copy_store(source / "index" / catalog.DB_NAME, db)
    src = _read_source(source / "index" / catalog.DB_NAME)
    conn = store.connect(db)
    try:
        with store.bulk_load(conn):
            ids, emb, ml = _grow(conn, src, n_chunks, np.random.default_rng(seed))
        settings = _settings_for(staging, src_manifest)
        manifest = _write_vectors(settings, conn, src_manifest, ids, emb, ml)
        catalog.write_postings(settings.index, conn)  # the BM25 postings a searcher maps, as an ingest writes them
    finally:
        conn.close()
    _swap_in(staging / "index", target / "index")
    shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _grow(conn, src: _Source, n_chunks: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Add copies of every source document until the store holds n_chunks chunks, in one
    transaction; returns every chunk's vec_id and vectors (the source's first), for FAISS."""
    total = src.total
    size = max(total, n_chunks)
    ids = np.empty(size, dtype=np.int64)
    emb = np.empty((size, src.embeddings.shape[1]), dtype=np.float32)
    ml = None if src.ml_embeddings is None else np.empty((size, src.ml_embeddings.shape[1]), dtype=np.float32)
    ids[:total] = [r.vec_id for d in src.docs for r in src.rows.get(d.doc_id, [])]
    emb[:total] = src.embeddings
    if ml is not None:
        ml[:total] = src.ml_embeddings
    copy, started = 0, time.perf_counter()
    with store.transaction(conn):
        while total < n_chunks:
            copy += 1
            block = _noisy(src.embeddings, rng)
            ml_block = None if ml is None else _noisy(src.ml_embeddings, rng)
            added = _copy_all(conn, src, copy, rng, n_chunks - total, block, ml_block)
            ids[total:total + len(added)] = added
            emb[total:total + len(added)] = block[:len(added)]
            if ml is not None:
                ml[total:total + len(added)] = ml_block[:len(added)]
            total += len(added)
            if copy % 10 == 0 or total >= n_chunks:
                elapsed = time.perf_counter() - started
                log.info("copy %d: %d chunks (%.0f s, %.0f chunks/s)", copy, total, elapsed,
                         (total - src.total) / max(elapsed, 1e-9))
        store.bump_generation(conn)
    return ids, emb, ml


def _copy_all(conn, src: _Source, copy: int, rng, room: int, block: np.ndarray, ml_block) -> list[int]:
    """One copy of every source document (the first `room` chunks of them): documents, paths,
    chunks and FTS5 rows in bulk. Row i of `block`/`ml_block` is the vector of the copy's chunk i."""
    docs, paths, chunks, at = [], [], [], 0
    for doc in src.docs:
        rows = src.rows.get(doc.doc_id, [])[:room - at]
        if not rows and at >= room:
            break
        doc_id = f"{doc.doc_id[:16]}c{copy:05d}"
        body, offset = [], 0
        for i, r in enumerate(rows):
            text, spans = _shuffled(src.sentences[r.vec_id], rng)
            ml_vec = None if ml_block is None else ml_block[at + i].tobytes()
            chunks.append(store.ChunkRecord(
                vec_id=None, chunk_id=f"{doc_id}:{i}", doc_id=doc_id, ordinal=i, start=offset,
                end=offset + len(text), page_start=None, page_end=None, section=r.section, paragraph=r.paragraph,
                language=r.language, text=text, embedding=block[at + i].tobytes(), priorities=r.priorities,
                priority_scores=r.priority_scores, sentences=spans, ml_embedding=ml_vec,
                terms=r.terms, role=r.role))
            body.append(text)
            offset += len(text) + 2
        at += len(rows)
        docs.append(dataclasses.replace(doc, doc_id=doc_id, title=f"{doc.title} (copy {copy})", n_pages=1,
                                        text="\n\n".join(body), page_starts="[]"))
        doc_path = src.paths.get(doc.doc_id, "")
        paths.append(store.PathRecord("scale-copies", f"copy{copy}/{doc_path}", f"copy{copy}/{doc_path}",
                                      doc_id, 0, 0.0))
    store.insert_documents(conn, docs)
    store.insert_paths(conn, paths)
    return store.insert_chunks(conn, chunks)


def _write_vectors(settings, conn, src_manifest: dict, ids: np.ndarray, emb: np.ndarray, ml) -> dict:
    """Both FAISS files, of the type `vectors.choose_index_type` picks for their size, and the manifest."""
    index_dir = settings.index.index_dir
    index = vectors.build_index(emb.shape[1], ids, emb)
    vectors.write_index_atomic(index, index_dir / catalog.FAISS_NAME)
    kind = vectors.index_type(index)
    del index
    info = None
    ml_index = (vectors.build_index(ml.shape[1], ids, ml) if ml is not None
                else catalog.ml_vectors_from_store(conn))
    if ml_index is not None:
        vectors.write_index_atomic(ml_index, index_dir / catalog.ML_FAISS_NAME)
        info = dict(src_manifest["multilingual"], vectors=int(ml_index.ntotal), index_type=vectors.index_type(ml_index))
    return catalog.write_manifest(settings.index, conn, index_type=kind, multilingual=info)


def _swap_in(new: Path, final: Path) -> None:
    """Put a finished index folder in place of the old one (if any) with renames."""
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)


def _settings_for(home: Path, manifest: dict):
    """Settings that accept the source's index (its encoder and multilingual encoder)."""
    from ui.settings import load_settings

    built = (manifest.get("multilingual") or {}).get("encoder")
    choice = next((c for c in multilingual.CHOICES if c != "off" and multilingual.encoder_id(c) == built), "off")
    return load_settings(home=home, encoder=manifest["encoder"], multilingual=choice)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--chunks", type=int, default=100_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.target.resolve() == args.source.resolve():
        raise SystemExit("target must differ from source")
    started = time.perf_counter()
    manifest = build(args.source, args.target, args.chunks)
    seconds = time.perf_counter() - started
    print(json.dumps({"chunks": manifest["counts"]["chunks"], "seconds": round(seconds, 1),
                      "chunks_per_s": round(manifest["counts"]["chunks"] / seconds), "index_type": manifest["index_type"],
                      "multilingual": manifest["multilingual"]}))


if __name__ == "__main__":
    main()

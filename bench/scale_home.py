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
import json
import logging
import shutil
import sqlite3
import time
from pathlib import Path

import numpy as np

from index import catalog, multilingual, store, vectors

log = logging.getLogger(__name__)
NOISE = 0.02  # per-dimension sigma on unit 384-d vectors: cosine to the original about 0.93


def _shuffled(text: str, spans, rng) -> tuple[str, list[list[int]]]:
    pieces = [text[a:b].strip() for a, b in (spans or [])] or [text]
    pieces = [p for p in pieces if p] or [text]
    order = rng.permutation(len(pieces))
    out, new_spans, at = [], [], 0
    for i in order:
        out.append(pieces[i])
        new_spans.append([at, at + len(pieces[i])])
        at += len(pieces[i]) + 1
    return " ".join(out), new_spans


def _noisy(blob: bytes | None, rng) -> bytes | None:
    if blob is None:
        return None
    vec = np.frombuffer(blob, dtype=np.float32) + rng.normal(0, NOISE, 384).astype(np.float32)
    return (vec / np.linalg.norm(vec)).astype(np.float32).tobytes()


def build(source: Path, target: Path, n_chunks: int, seed: int = 0) -> dict:
    """Grow target/index from source/index (read only) to n_chunks chunks; returns its manifest."""
    src_manifest = catalog.read_manifest(source / "index")
    (target / "index").mkdir(parents=True, exist_ok=True)
    db = target / "index" / catalog.DB_NAME
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source / 'index' / catalog.DB_NAME}?mode=ro", uri=True)
    dst = sqlite3.connect(db)
    src.backup(dst)
    dst.close()
    conn = store.connect(db)
    src.row_factory = sqlite3.Row
    docs = src.execute("SELECT * FROM documents").fetchall()
    chunks = {}
    for r in src.execute("SELECT c.*, f.terms FROM chunks c JOIN chunks_fts f ON f.rowid = c.vec_id ORDER BY vec_id"):
        chunks.setdefault(r["doc_id"], []).append(r)
    paths = {r["doc_id"]: r["doc_path"] for r in src.execute("SELECT doc_id, doc_path FROM paths")}
    rng = np.random.default_rng(seed)
    total = sum(len(v) for v in chunks.values())
    copy, started = 0, time.perf_counter()
    with store.transaction(conn):
        while total < n_chunks:
            copy += 1
            for doc in docs:
                if total >= n_chunks:
                    break
                total += _copy_document(conn, doc, chunks.get(doc["doc_id"], []), paths.get(doc["doc_id"], ""),
                                        copy, rng, n_chunks - total)
            log.info("copy %d: %d chunks (%.0f s)", copy, total, time.perf_counter() - started)
        store.bump_generation(conn)
    settings = _settings_for(target, src_manifest)
    vectors.write_index_atomic(catalog.vectors_from_store(settings, conn), target / "index" / catalog.FAISS_NAME)
    ml = catalog.ml_vectors_from_store(conn)
    info = None
    if ml is not None:
        vectors.write_index_atomic(ml, target / "index" / catalog.ML_FAISS_NAME)
        info = dict(src_manifest["multilingual"], vectors=int(ml.ntotal), index_type=vectors.index_type(ml))
    manifest = catalog.write_manifest(settings.index, conn, index_type="flat", multilingual=info)
    conn.close()
    return manifest


def _copy_document(conn, doc, rows, doc_path: str, copy: int, rng, room: int) -> int:
    doc_id = f"{doc['doc_id'][:16]}c{copy:05d}"
    texts, spans = [], []
    for r in rows[:room]:
        text, sp = _shuffled(r["text"], json.loads(r["sentences"] or "null"), rng)
        texts.append(text)
        spans.append(sp)
    body, starts, at = [], [], 0
    for text in texts:
        starts.append(at)
        body.append(text)
        at += len(text) + 2
    conn.execute("INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                 (doc_id, f"{doc['title']} (copy {copy})", doc["doc_type"], doc["issuer"], doc["country"],
                  doc["language"], doc["year"], 1, "\n\n".join(body), "[]", doc["added_generation"], doc["added_at"]))
    conn.execute("INSERT INTO paths VALUES (?,?,?,?,?,?)",
                 ("scale-copies", f"copy{copy}/{doc_path}", f"copy{copy}/{doc_path}", doc_id, 0, 0.0))
    for i, (r, text, sp, start) in enumerate(zip(rows, texts, spans, starts)):
        cur = conn.execute(
            "INSERT INTO chunks (chunk_id, doc_id, ordinal, start, end, page_start, page_end, section, paragraph, "
            "language, text, embedding, priorities, priority_scores, sentences, ml_embedding) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (f"{doc_id}:{i}", doc_id, i, start, start + len(text), None, None, r["section"], r["paragraph"],
             r["language"], text, _noisy(r["embedding"], rng), r["priorities"], r["priority_scores"],
             json.dumps(sp), _noisy(r["ml_embedding"], rng)))
        conn.execute("INSERT INTO chunks_fts(rowid, terms) VALUES (?, ?)", (cur.lastrowid, r["terms"]))
    return len(texts)


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
    shutil.rmtree(args.target / "index", ignore_errors=True)
    manifest = build(args.source, args.target, args.chunks)
    print(json.dumps({"chunks": manifest["counts"]["chunks"], "index_type": manifest["index_type"],
                      "multilingual": manifest["multilingual"]}))


if __name__ == "__main__":
    main()

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
import shutil
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
    store.copy_store(source / "index" / catalog.DB_NAME, db)
    conn = store.connect(db)
    src = store.connect(source / "index" / catalog.DB_NAME, readonly=True)
    docs = store.all_documents(src)
    chunks = {}
    for r in store.chunk_records(src):
        chunks.setdefault(r.doc_id, []).append(r)
    paths = {r.doc_id: r.doc_path for r in store.all_paths(src)}
    src.close()
    rng = np.random.default_rng(seed)
    total = sum(len(v) for v in chunks.values())
    copy, started = 0, time.perf_counter()
    with store.transaction(conn):
        while total < n_chunks:
            copy += 1
            for doc in docs:
                if total >= n_chunks:
                    break
                total += _copy_document(conn, doc, chunks.get(doc.doc_id, []), paths.get(doc.doc_id, ""),
                                        copy, rng, n_chunks - total)
            log.info("copy %d: %d chunks (%.0f s)", copy, total, time.perf_counter() - started)
        store.bump_generation(conn)
    settings = _settings_for(target, src_manifest)
    vectors.write_index_atomic(catalog.vectors_from_store(settings.index, conn), target / "index" / catalog.FAISS_NAME)
    ml = catalog.ml_vectors_from_store(conn)
    info = None
    if ml is not None:
        vectors.write_index_atomic(ml, target / "index" / catalog.ML_FAISS_NAME)
        info = dict(src_manifest["multilingual"], vectors=int(ml.ntotal), index_type=vectors.index_type(ml))
    manifest = catalog.write_manifest(settings.index, conn, index_type="flat", multilingual=info)
    conn.close()
    return manifest


def _copy_document(conn, doc, rows, doc_path: str, copy: int, rng, room: int) -> int:
    doc_id = f"{doc.doc_id[:16]}c{copy:05d}"
    texts, spans = [], []
    for r in rows[:room]:
        text, sp = _shuffled(r.text, json.loads(r.sentences or "null"), rng)
        texts.append(text)
        spans.append(sp)
    body, starts, at = [], [], 0
    for text in texts:
        starts.append(at)
        body.append(text)
        at += len(text) + 2
    store.insert_document(conn, dataclasses.replace(doc, doc_id=doc_id, title=f"{doc.title} (copy {copy})", n_pages=1,
                                                    text="\n\n".join(body), page_starts="[]"))
    store.insert_path(conn, store.PathRecord("scale-copies", f"copy{copy}/{doc_path}", f"copy{copy}/{doc_path}",
                                             doc_id, 0, 0.0))
    for i, (r, text, sp, start) in enumerate(zip(rows, texts, spans, starts)):
        store.insert_chunk(conn, dataclasses.replace(
            r, vec_id=None, chunk_id=f"{doc_id}:{i}", doc_id=doc_id, ordinal=i, start=start, end=start + len(text),
            page_start=None, page_end=None, text=text, embedding=_noisy(r.embedding, rng), sentences=json.dumps(sp),
            ml_embedding=_noisy(r.ml_embedding, rng)))
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

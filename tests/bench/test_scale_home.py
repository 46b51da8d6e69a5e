"""bench/scale_home.py: a home grown from a real index (the demo index, fake embedder: the subject
is the store and its files, not the model) is a valid index the real Searcher opens."""
from __future__ import annotations

import json

import numpy as np

from bench import scale, scale_home
from index import catalog, store, vectors


def test_a_grown_home_is_a_valid_index_of_shuffled_noisy_copies(fake_embedder, demo_index, tmp_path):
    src = store.connect(demo_index / "index" / catalog.DB_NAME, readonly=True)
    source = {r.vec_id: r for r in store.chunk_records(src)}
    src.close()
    n = int(len(source) * 2.5)
    manifest = scale_home.build(demo_index, tmp_path / "grown", n)
    index_dir = tmp_path / "grown" / "index"
    assert manifest["counts"]["chunks"] == n and sorted(p.name for p in index_dir.iterdir()) == [
        "manifest.json", f"postings-g{manifest['generation']}", "thb.sqlite", "vectors.faiss"]  # BM25 postings too
    assert not list((tmp_path / "grown").glob(".grow-*"))  # the staging folder is gone
    conn = store.connect(index_dir / catalog.DB_NAME, readonly=True)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.quick_check(index_dir / catalog.DB_NAME) == ["ok"]
    records = store.chunk_records(conn)
    assert len(records) == n and conn.execute("SELECT COUNT(*) FROM chunks_fts").fetchone()[0] == n
    index = vectors.read_index(index_dir / "vectors.faiss")
    ids, stored = store.all_embeddings(conn, index.d)
    assert index.ntotal == n and vectors.index_type(index) == vectors.choose_index_type(n)
    # FAISS holds the store's vectors under the store's ids
    _, found = index.search(stored[-5:], 1)
    assert found[:, 0].tolist() == ids[-5:].tolist()
    copies = [r for r in records if r.vec_id not in source]
    by_id = {r.chunk_id: r for r in source.values()}
    originals = {(o.doc_id[:16], o.ordinal): o for o in source.values()}
    assert copies and len({r.doc_id for r in copies}) > len({o.doc_id for o in source.values()})
    for r in copies[::7]:
        original = originals[(r.doc_id[:16], r.ordinal)]
        doc = store.document(conn, r.doc_id)
        assert doc.text[r.start:r.end] == r.text and r.terms == original.terms and r.section == original.section
        # the same sentences, and the stored spans point at them in the new order
        assert sorted(r.text[a:b] for a, b in json.loads(r.sentences)) == sorted(
            scale_home._sentences(original.text, json.loads(original.sentences or "null")))
        a = np.frombuffer(r.embedding, dtype=np.float32)
        b = np.frombuffer(original.embedding, dtype=np.float32)
        assert 0.8 < float(a @ b) < 0.999 and abs(float(np.linalg.norm(a)) - 1) < 1e-4
    conn.close()


def test_end_to_end_bench_searches_a_grown_home(fake_embedder, demo_index, tmp_path):
    """The searcher opens the grown home and finds copies; the bench row reports latency, memory
    and exact recall (flat index: 1.0 by construction)."""
    from search.engine import Searcher

    home = tmp_path / "grown"
    scale_home.build(demo_index, home, 600)
    settings = scale_home._settings_for(home, catalog.read_manifest(home / "index"))
    result = Searcher(settings.search).search("forced labour", top_k=10)
    assert result.hits and any("(copy " in h.title for h in result.hits)
    row = scale.run_end_to_end(home, ["forced labour", "trafficking in persons"], reps=1, log=lambda r: None)
    assert row["chunks"] == 600 and row["index"] == "flat" and row["queries"] == 2
    assert row["recall@10"] == 1.0 and row["chunkq_recall@100"] == 1.0
    assert row["held_faiss_minilm_mb"] > 0 and row["held_chunk_dicts_mb"] > 0


def test_ivf_tuning_probing_every_cell_is_exact(fake_embedder, demo_index, tmp_path):
    """bench/ivf_tuning.py on a grown home: IVF probing all its cells finds exactly what flat
    search finds (IVF-Flat keeps the vectors as they are); one cell finds less or the same."""
    from bench import ivf_tuning

    home = tmp_path / "grown"
    scale_home.build(demo_index, home, 2000)
    rows = ivf_tuning.tune(home, ["forced labour", "victim identification", "labour inspection"],
                           kinds=("ivf-flat",), nprobes=(1, vectors.nlist_for(2000)), near=20, filters=("INT", "XX"),
                           log=lambda r: None)
    assert [(r["section"], r["space"]) for r in rows] == [("ivf-tuning", "minilm")] * 2 + [("ivf-filter", "minilm")]
    one, every, by_country = rows
    assert by_country["country"] == "INT" and by_country["cells_recall@10"] == 1.0  # flat home: exact either way
    assert every["dev_recall@10"] == 1.0 and every["near_recall@100"] == 1.0
    assert one["near_recall@100"] <= every["near_recall@100"] and "nprobe=1" in one["index"]

"""Whole provisions (index/store: fetch_provisions) are their document's own text at their span,
whether joined from the chunks' texts or read from the document. Subject: the store, not the
model: the fake embedder's demo index (its chunks overlap)."""
from __future__ import annotations

from index import catalog, store
from index.store.chunks import _joined_text


def test_every_provision_is_its_documents_text(fake_embedder_home):
    conn = store.connect(fake_embedder_home.index_dir / catalog.DB_NAME, readonly=True)
    records = store.chunk_records(conn)
    wanted = {r.vec_id: (r.doc_id, r.section) for r in records if r.section}
    spans = store.fetch_provisions(conn, wanted, 2400)
    assert len(spans) > 5
    texts = {d.doc_id: d.text for d in store.all_documents(conn)}
    for vec_id, span in spans.items():
        assert span.text == texts[wanted[vec_id][0]][span.start:span.end]


def test_chunks_with_a_gap_are_not_joined():
    # rows as fetch_provisions reads them: (vec_id, doc, section, start, end, pages, pages, spans, text)
    touching = [(1, "d", "s", 0, 5, None, None, None, "abcde"), (2, "d", "s", 3, 9, None, None, None, "defghi")]
    assert _joined_text(touching) == "abcdefghi"
    gap = [(1, "d", "s", 0, 5, None, None, None, "abcde"), (2, "d", "s", 6, 9, None, None, None, "ghi")]
    assert _joined_text(gap) is None

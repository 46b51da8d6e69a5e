"""Whole provisions (index/store: fetch_provisions) are their document's own text at their span,
whether joined from the chunks' texts or read from the document. Subject: the store, not the
model: the fake embedder's demo index (its chunks overlap)."""
from __future__ import annotations

import pytest

from index import catalog, store
from index.store.provision_spans import _joined_text


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


def _layout_matches_rows(conn) -> tuple[dict, list]:
    records = store.chunk_records(conn)
    wanted = {r.vec_id: (r.doc_id, r.section) for r in records if r.section}
    from_rows = store.fetch_provisions(conn, wanted, 2400)
    from_layout = store.fetch_provisions(conn, wanted, 2400, layout=store.chunk_layout(conn))
    assert from_layout == from_rows
    texts = {d.doc_id: d.text for d in store.all_documents(conn)}
    for vec_id, span in from_layout.items():
        assert span.text == texts[wanted[vec_id][0]][span.start:span.end]
    return from_layout, records


def _with_a_gap(spans: dict, records: list) -> list:
    """The spans whose chunks leave a gap between them (their text is cut from the document's)."""
    out = []
    for vec_id, span in spans.items():
        doc, section = next((r.doc_id, r.section) for r in records if r.vec_id == vec_id)
        parts = sorted((r.start, r.end) for r in records if r.doc_id == doc and r.section == section
                       and span.start <= r.start < span.end)
        if any(b[0] > a[1] for a, b in zip(parts, parts[1:])):
            out.append(span)
    return out


def test_the_chunk_layout_finds_the_same_provisions(fake_embedder_home):
    conn = store.connect(fake_embedder_home.index_dir / catalog.DB_NAME, readonly=True)
    assert len(_layout_matches_rows(conn)[0]) > 5


@pytest.mark.slow
def test_the_chunk_layout_finds_the_same_provisions_in_real_documents(session_settings):
    # Real laws and reports: their runs include chunks with a gap between them, whose text is cut
    # from the document's (once per document when several are).
    conn = store.connect(session_settings.index.index_dir / catalog.DB_NAME, readonly=True)
    spans, records = _layout_matches_rows(conn)
    gaps = _with_a_gap(spans, records)
    assert len(spans) > 20 and len({(s.start, s.text[:40]) for s in gaps}) >= 2


def _tags_match_their_chunks(conn) -> int:
    """Each provision carries every priority of the chunks it is made of, strongest first; returns
    how many carry one that the chunk it was found for lacks."""
    import json

    records = {r.vec_id: r for r in store.chunk_records(conn)}
    wanted = {k: (r.doc_id, r.section) for k, r in records.items() if r.section}
    spans = store.fetch_provisions(conn, wanted, 2400, layout=store.chunk_layout(conn))
    gained = 0
    for vec_id, span in spans.items():
        doc, section = wanted[vec_id]
        parts = [r for r in records.values() if r.doc_id == doc and r.section == section
                 and span.start <= r.start and r.end <= span.end]
        assert len(parts) >= 2
        union = {p for r in parts for p in json.loads(r.priorities)}
        assert set(span.priorities) == union
        scores = [span.priority_scores.get(p, 0.0) for p in span.priorities]
        assert scores == sorted(scores, reverse=True)
        gained += bool(union - set(json.loads(records[vec_id].priorities)))
    return gained


@pytest.mark.slow
def test_a_provision_carries_the_priorities_of_all_its_chunks(session_settings):
    # Real laws and reports, tagged by the real tagger: a provision shown whole names everything
    # its chunks are about, not only what the chunk that ranked is about.
    conn = store.connect(session_settings.index.index_dir / catalog.DB_NAME, readonly=True)
    assert _tags_match_their_chunks(conn) >= 5

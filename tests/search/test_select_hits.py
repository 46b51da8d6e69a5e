"""Result hygiene: overlapping chunks merge into one hit; no document fills the page alone."""
from __future__ import annotations

from dataclasses import dataclass

from search.passages import merge_overlapping, select_hits

TEXT = "".join(f"Sentence number {i:03d} of the provision. " for i in range(200))


@dataclass(frozen=True, slots=True)
class FakeRow:
    """The fields select_hits reads from a stored chunk."""

    vec_id: int
    doc_id: str
    start: int
    end: int
    text: str
    page_start: int | None = None
    page_end: int | None = None
    sentences: tuple | None = None
    priorities: tuple = ()
    priority_scores: dict | None = None


def row(vec_id, doc_id, start, end, page=None, tags=None):
    tags = tags or {}
    return FakeRow(vec_id, doc_id, start, end, TEXT[start:end], page, page, sentences_of(TEXT[start:end]),
                   tuple(p for p, v in tags.items() if v >= 0.5), tags)


def sentences_of(text):
    """Spans of "Sentence number ... provision." pieces, a cut piece at either end included."""
    import re

    return tuple((m.start(), m.end()) for m in re.finditer(r"[^ ].*?(\.|$)(?= |$)", text))


def test_overlapping_chunks_merge_into_one_hit_spanning_both():
    best, worse = row(1, "a", 300, 700, page=2), row(2, "a", 100, 400, page=1)
    merged = merge_overlapping(best, worse)
    assert (merged.vec_id, merged.start, merged.end) == (1, 100, 700)
    assert merged.text == TEXT[100:700]
    assert (merged.page_start, merged.page_end) == (1, 2)
    hits = select_hits([best, worse, row(3, "b", 0, 200)], {}, top_k=10, max_per_doc=3)
    assert [(h.vec_id, h.start, h.end) for h in hits] == [(1, 100, 700), (3, 0, 200)]


def test_a_chunk_inside_a_better_one_adds_nothing():
    outer, inner = row(1, "a", 100, 700), row(2, "a", 200, 300)
    assert select_hits([outer, inner], {}, top_k=10, max_per_doc=3) == [outer]


def test_merging_stops_at_the_size_cap():
    a, b = row(1, "a", 0, 2000), row(2, "a", 1900, 3900)
    hits = select_hits([a, b], {}, top_k=10, max_per_doc=3, max_merged_chars=2400)
    assert hits == [a]


def test_one_document_does_not_fill_the_page_when_others_answer():
    rows = [row(i, "a", i * 500, i * 500 + 400) for i in range(6)] + [row(10, "b", 0, 100), row(11, "c", 0, 100)]
    hits = select_hits(rows, {}, top_k=5, max_per_doc=3)
    assert [h.doc_id for h in hits] == ["a", "a", "a", "b", "c"]
    # With nothing else to show, the deferred chunks fill the page.
    hits = select_hits(rows[:6], {}, top_k=5, max_per_doc=3)
    assert [h.vec_id for h in hits] == [0, 1, 2, 3, 4]


def test_merged_hit_keeps_whole_sentences_from_both_chunks():
    best, worse = row(1, "a", 305, 700), row(2, "a", 100, 410)  # both cut a sentence at their ends
    merged = merge_overlapping(best, worse)
    pieces = [merged.text[s:e] for s, e in merged.sentences]
    assert pieces[1:-1] == [f"Sentence number {i:03d} of the provision." for i in range(3, 18)]
    assert all(merged.text[s:e].strip() for s, e in merged.sentences)
    assert list(merged.sentences) == sorted(merged.sentences)
    assert all(a[1] <= b[0] for a, b in zip(merged.sentences, merged.sentences[1:]))


def test_merged_hit_without_stored_sentences_leaves_them_to_search():
    best = row(1, "a", 300, 700)
    worse = FakeRow(2, "a", 100, 400, TEXT[100:400])
    assert merge_overlapping(best, worse).sentences is None


def test_a_merged_hit_carries_the_priorities_of_both_chunks_strongest_first():
    best = row(1, "a", 300, 700, tags={"victim_protection": 0.6, "gender": 0.2})
    worse = row(2, "a", 100, 400, tags={"multi_stakeholder": 0.9, "gender": 0.55})
    merged = merge_overlapping(best, worse)
    assert merged.priorities == ("multi_stakeholder", "victim_protection", "gender")
    assert merged.priority_scores == {"victim_protection": 0.6, "gender": 0.55, "multi_stakeholder": 0.9}
    inside = merge_overlapping(row(3, "a", 0, 800, tags={"demand": 0.7}), row(4, "a", 100, 200))
    assert inside.priorities == ("demand",) and inside.text == TEXT[0:800]

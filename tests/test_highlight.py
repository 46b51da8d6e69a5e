"""Highlight offsets point at the sentence they name, for English and non-English hits."""
from __future__ import annotations

import numpy as np

from search.highlight import choose_sentences, split_sentences, term_overlap


def test_offsets_point_at_the_sentence_they_name():
    text = "Erster Satz über nichts.  Wer eine Person ausbeutet, wird mit Freiheitsstrafe bestraft.\n\nDritter Satz."
    spans = split_sentences([text])[0]
    assert all(text[s:e].strip() == text[s:e] and text[s:e] for s, e in spans)
    overlap = [term_overlap({"freiheitsstraf"}, text[s:e].lower().replace(".", "").split()) for s, e in spans]
    overlap = [1.0 if "Freiheitsstrafe" in text[s:e] else 0.0 for s, e in spans]
    hl = choose_sentences(spans, np.zeros(len(spans)), overlap, text)
    assert len(hl) == 1
    assert text[hl[0].start:hl[0].end] == hl[0].text
    assert hl[0].text == "Wer eine Person ausbeutet, wird mit Freiheitsstrafe bestraft."


def test_search_highlights_match_hit_text(searcher):
    for query in ["penalty for human trafficking in Germany", "Article 13 recovery and reflection period"]:
        result = searcher.search(query, top_k=5)
        assert result.hits
        for hit in result.hits:
            for h in hit.highlights:
                assert hit.text[h.start:h.end] == h.text


def test_german_hit_highlights_the_sentence_with_the_glossary_term(searcher):
    result = searcher.search("human trafficking penalty Germany", top_k=5)
    german = [h for h in result.hits if h.language == "de" and h.highlights]
    assert german
    assert any("menschenhandel" in hl.text.lower() or "freiheitsstrafe" in hl.text.lower()
               for h in german for hl in h.highlights)

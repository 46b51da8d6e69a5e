"""Highlight offsets point at the sentence they name, for English and non-English hits."""
from __future__ import annotations

import numpy as np
import pytest

from ingest.sentences import split_sentences
from search.highlight import choose_sentences, term_overlap


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


@pytest.mark.slow
def test_search_highlights_match_hit_text(searcher):
    for query in ["penalty for human trafficking in Germany", "Article 13 recovery and reflection period"]:
        result = searcher.search(query, top_k=5)
        assert result.hits
        for hit in result.hits:
            for h in hit.highlights:
                assert hit.text[h.start:h.end] == h.text


@pytest.mark.slow
def test_german_hit_highlights_the_sentence_with_the_glossary_term(searcher):
    result = searcher.search("human trafficking penalty Germany", top_k=5)
    german = [h for h in result.hits if h.language == "de" and h.highlights]
    assert german
    assert any("menschenhandel" in hl.text.lower() or "freiheitsstrafe" in hl.text.lower()
               for h in german for hl in h.highlights)


@pytest.mark.slow
def test_sentences_are_stored_at_ingest_and_point_into_the_chunk(searcher):
    rows = searcher.conn.execute("SELECT text, sentences FROM chunks").fetchall()
    assert rows and all(r["sentences"] is not None for r in rows)
    import json

    for r in rows:
        spans = json.loads(r["sentences"])
        assert spans, r["text"][:80]
        assert all(0 <= s < e <= len(r["text"]) for s, e in spans)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
        assert all(r["text"][s:e].strip() == r["text"][s:e] for s, e in spans)


def test_legal_abbreviations_do_not_end_a_sentence():
    text = ("Nach Art. 13 Abs. 2 Nr. 3 gilt dies. Die Strafe ist nach 4 kap. 1 a § zu bemessen.\n"
            "1.\nGegenstände, die durch die Tat hervorgebracht sind, vgl. z. B. die Richtlinie vom 20. Juli 2001.")
    pieces = [text[s:e] for s, e in split_sentences([text])[0]]
    assert pieces == ["Nach Art. 13 Abs. 2 Nr. 3 gilt dies.", "Die Strafe ist nach 4 kap. 1 a § zu bemessen.",
                      "1.\nGegenstände, die durch die Tat hervorgebracht sind, vgl. z. B. die Richtlinie vom 20. Juli 2001."]


@pytest.mark.slow
def test_answering_a_query_imports_neither_spacy_nor_torch(searcher):
    """Sentences come from the store and the query encoder is ONNX: a fresh `thb search` process
    starts without the two heaviest imports (cold start)."""
    import subprocess
    import sys

    code = ("import sys; from search.engine import Searcher; from ui.settings import load_settings; "
            "r = Searcher(load_settings().search).search('penalty for human trafficking in Germany'); "
            "assert r.hits and any(h.highlights for h in r.hits); "
            "print(sorted(m for m in ('spacy', 'torch', 'thinc', 'transformers') if m in sys.modules))")
    env = {**__import__("os").environ, "THB_HOME": str(searcher.settings.index.home)}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


@pytest.mark.parametrize("path, language", [
    ("legislation/de-stgb-strafgesetzbuch.txt", "de"),
    ("legislation/se-brottsbalken-1962-700-excerpt-4kap-6kap.txt", "sv"),
    ("legislation/pl-kodeks-karny-excerpt.txt", "pl"),
])
def test_matched_terms_are_each_sentences_analysis_cut_to_the_wanted_terms(path, language):
    """Highlighting analyses each distinct word of a hit once (index/terms.py matched_terms); its
    sets must be those of analysing every sentence on its own, compound parts and identifiers
    included."""
    import re

    from index.terms import analyze, identifier_terms, matched_terms, tokenize
    from tests.conftest import require_shared_corpus

    text = (require_shared_corpus() / path).read_text(encoding="utf-8")[:60_000]
    spans = [(m.start(), m.end()) for m in re.finditer(r"[^.\n]+", text)]
    every = [t for s, e in spans for t in analyze(text[s:e], language)]
    wanted = set(every[::5])
    got = matched_terms(wanted, text, spans, language)
    assert got == [wanted & set(analyze(text[s:e], language)) for s, e in spans]
    # the cases a word-by-word shortcut could miss occur here
    stems = {t for s, e in spans for t in analyze(text[s:e], language, compounds=False, identifiers=False)}
    assert any(m - stems for m in got)  # a compound's part or an identifier, not a word's stem
    assert any(t in wanted for s, e in spans for t in identifier_terms(text[s:e], language))
    assert not any(matched_terms(set(), text, spans, language))
    assert matched_terms({"zzzq"}, text, spans[:3], language) == [set(), set(), set()]
    assert len(tokenize(text)) > 1000

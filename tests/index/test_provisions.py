"""A provision of national law carries its priorities in all its chunks (index/provisions.py).

The pure rule on hand-made rows, then real chunks of ../shared/corpus legislation in seven
languages, chunked by the project's pipeline and tagged by the real default tagger (MiniLM)."""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from index.provisions import paragraph_spans, propagate, provision_spans
from tests.conftest import require_shared_corpus

IDS = ("sexual_exploitation", "labour_exploitation", "gender")
SEC, LAB = "sexual_exploitation", "labour_exploitation"


def _counts(rows):
    return lambda idx: np.asarray([rows[i] for i in idx], dtype=np.float32)


def test_spans_are_runs_of_one_section_label():
    assert provision_spans(["a", "a", "", "b", "b", "b", "a"]) == [(0, 2), (3, 6), (6, 7)]


PENALTY = ["§ 232 Menschenhandel (1) Mit Freiheitsstrafe von sechs Monaten bis zu fünf Jahren wird bestraft, wer",
           "1. diese Person ausgebeutet werden soll a) bei der Ausübung der Prostitution, b) durch Zwangsarbeit"]


def test_a_penalty_provision_spreads_only_its_evidenced_priorities():
    sections = ["StGB § 232 Menschenhandel"] * 2
    labels = [[], [SEC, LAB, "gender"]]
    counts = [[0, 0, 0], [1, 1, 0]]  # gender came from similarity alone: it stays where it was
    out = propagate(PENALTY, sections, "national_legislation", labels, _counts(counts), IDS)
    assert out == [[SEC, LAB], [SEC, LAB, "gender"]]


def test_non_legal_documents_and_untagged_provisions_are_left_alone():
    sections = ["StGB § 232 Menschenhandel"] * 2
    labels = [[], [SEC]]
    assert propagate(PENALTY, sections, "report", labels, _counts([[0, 0, 0], [1, 0, 0]]), IDS) == labels
    assert propagate(PENALTY, sections, "national_legislation", [[], []], _counts([[0] * 3] * 2), IDS) == [[], []]


ARTICLE_115 = ["§21. Mieniem znacznej wartości jest mienie, którego wartość w chwili popełnienia czynu zabronionego",
               "§22. Handlem ludźmi jest werbowanie, transport, dostarczanie, przekazywanie, przechowywanie lub",
               "-w celu jej wykorzystania, nawet za jej zgodą, w szczególności w prostytucji, pornografii lub "
               "innych formach seksualnego wykorzystania, w pracy lub usługach o charakterze przymusowym",
               "§23. Niewolnictwo jest stanem zależności, w którym człowiek jest traktowany jak przedmiot własności."]


def test_an_article_of_definitions_spreads_paragraph_by_paragraph():
    # Art. 115 as a whole is no penalty or definition by its own text (its definitions run from
    # "czyn zabroniony" to "statek wodny"); ingest's roles call its chunks definitions (the chapter
    # heading): then § 22's forms of exploitation reach § 22's opening chunk, and no other paragraph.
    sections = ["Kodeks karny Art. 115"] * 4
    labels = [[], [], [SEC, LAB], []]
    counts = _counts([[0, 0, 0], [0, 0, 0], [3, 2, 0], [0, 0, 0]])  # distinct seed terms in each chunk
    assert paragraph_spans([f"{sections[0]}\n{t}" for t in ARTICLE_115], sections, 0, 4) == [(0, 1), (1, 3), (3, 4)]
    out = propagate(ARTICLE_115, sections, "national_legislation", labels, counts, IDS, ["definition"] * 4)
    assert out == [[], [SEC, LAB], [SEC, LAB], []]
    assert propagate(ARTICLE_115, sections, "national_legislation", labels, counts, IDS) == labels  # no roles
    assert propagate(ARTICLE_115, sections, "national_legislation", labels, counts, IDS, ["penalty"] * 4) == labels
    # one seed term is no topic of a paragraph: "samorządu terytorialnego" in the list of public officials
    one = _counts([[0, 0, 0], [0, 0, 0], [3, 1, 0], [0, 0, 0]])
    assert propagate(ARTICLE_115, sections, "national_legislation", labels, one, IDS,
                     ["definition"] * 4) == [[], [SEC], [SEC, LAB], []]



def test_a_provision_punishing_a_listed_offence_carries_its_priorities():
    # The taxonomy's [[offences]]: a national-law penalty or definition naming trafficking in its
    # title or opening carries sexual and labour exploitation, though it names neither form.
    import re

    offences = (((SEC, LAB), re.compile(r"(?<!\w)handlu\s+ludźmi(?!\w)")),)
    sections = ["Kodeks karny Art. 189a"]

    def tags(text, doc_type="national_legislation"):
        return propagate([text], sections, doc_type, [[]], _counts([[0] * 3]), IDS, None, offences)

    punishes = "Art. 189a. § 1. Kto dopuszcza się handlu ludźmi, podlega karze pozbawienia wolności na czas nie krótszy od lat 3."
    assert tags(punishes) == [[SEC, LAB]]
    assert tags(punishes, "international_instrument") == [[]]  # national law only
    late = "Art. 189a. § 1. Kto " + "dopuszcza się czynu zabronionego, " * 8 + "w tym handlu ludźmi, podlega karze grzywny."
    assert tags(late) == [[]]  # named past the opening (200 characters)
    procedural = "Art. 189a. § 1. Ściganie handlu ludźmi następuje z urzędu."
    assert tags(procedural) == [[]]  # names it, punishes nothing

# --- real chunks, real tagger ---------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _chunks(rel: str):
    from index.embedder import model_dir
    from ingest import greta
    from ingest.chunking import Chunker
    from ingest.cleaning import clean_pages, join_pages
    from ingest.documents import Document
    from ingest.metadata import read_manifest, short_title
    from ingest.readers import read_document
    from ingest.roles import document_roles
    from ingest.structure import find_units

    root = require_shared_corpus()
    meta = read_manifest(root)[0][rel]
    raw = read_document(root / rel, (root / rel).read_bytes(), page_timeout_s=20, ocr="off", language=meta.language)
    text, starts = join_pages(clean_pages(raw.pages, paged=raw.paged))
    doc = Document("d", rel, str(root / rel), meta, text, page_starts=starts if raw.paged else ())
    report = greta.report_of(meta, text)
    units = greta.find_units(text, report) if report else find_units(text, short_title=short_title(meta))
    chunker = Chunker(model_dir("all-MiniLM-L6-v2"), chunk_tokens=200, overlap_tokens=40, label_tokens=32)
    chunks = chunker.chunk_document(doc, units)
    return meta.doc_type, tuple(dataclasses.replace(c, role=r) for c, r in zip(chunks, document_roles(doc, chunks)))


@pytest.fixture(scope="module")
def tagger():
    from index.tagging import load_tagger
    from ui.settings import load_settings

    return load_tagger(load_settings().index, trained=False)


def _tag_section(tagger, rel: str, section: str):
    """Tags of every chunk of one provision (all chunks whose section label is `section`); with
    "<label> § N", of the chunks of paragraph N of that provision only, the whole provision tagged."""
    doc_type, chunks = _chunks(rel)
    label, _, paragraph = section.partition(" § ")
    if paragraph and not any(c.section == section for c in chunks):
        section = label
    mine = [c for c in chunks if c.section == section]
    assert len(mine) >= 1, f"{rel}: no chunk in {section!r}; sections: {sorted({c.section for c in chunks})[:20]}"
    scored = tagger.score_document([c.embedding_text for c in mine], sections=[c.section for c in mine],
                                   doc_type=doc_type, roles=[c.role for c in mine])
    rows = [(c.text, labels) for c, (labels, _s) in zip(mine, scored)]
    if paragraph and section == label:
        spans = paragraph_spans([c.text for c in mine], [""] * len(mine), 0, len(mine))
        first, end = next((a, b) for a, b in spans if mine[a].text.lstrip().startswith(f"§{paragraph}."))
        rows = rows[first:end]
        assert len(rows) >= 2, rows  # the paragraph spans chunks: the case the rule is for
    return rows


L = "legislation/"


def _ids(cases):
    return [c.values[0] if hasattr(c, "marks") else c[0] for c in cases]
TRAFFICKING = [
    ("de-232", L + "de-stgb-strafgesetzbuch.txt", "StGB § 232 Menschenhandel", {SEC, LAB}),
    ("de-232a", L + "de-stgb-strafgesetzbuch.txt", "StGB § 232a Zwangsprostitution", {SEC}),
    ("de-232b", L + "de-stgb-strafgesetzbuch.txt", "StGB § 232b Zwangsarbeit", {LAB}),
    ("se-4-1a", L + "se-brottsbalken-1962-700-excerpt-4kap-6kap.txt", "BrB 4 kap. 1 a §", {SEC, LAB}),
    ("no-257", L + "no-straffeloven-2005.txt", "straffeloven § 257 Menneskehandel", {SEC, LAB}),
    ("fi-25-3", L + "fi-rikoslaki-1177-2014.txt", "Laki rikoslain muuttamisesta 1177/2014 25 luku 3 §", {SEC, LAB}),
    ("is-227a", L + "is-almenn-hegningarlog-ch24.txt", "Almenn hegningarlög nr. 19/1940 227. gr. a.", {SEC, LAB}),
    # a definition by its title, "jēdziens" (the notion of): ingest/roles.py _TITLE_DEFINITION
    ("lv-154.2", L + "lv-kriminallikums-ch15.txt", "Krimināllikums 154.2 pants Cilvēku tirdzniecības jēdziens", {SEC, LAB}),
    # punish trafficking as defined elsewhere in the code, naming neither form: the taxonomy's
    # [[offences]] (index/provisions.py), strict xfails until stop 17
    ("lv-154.1", L + "lv-kriminallikums-ch15.txt", "Krimināllikums 154.1 pants Cilvēku tirdzniecība", {SEC, LAB}),
    ("pl-115-22", L + "pl-kodeks-karny-excerpt.txt", "Kodeks karny Art. 115 § 22", {SEC, LAB}),
    ("pl-189a", L + "pl-kodeks-karny-excerpt.txt", "Kodeks karny Art. 189a", {SEC, LAB}),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, rel, section, expected", TRAFFICKING, ids=_ids(TRAFFICKING))
def test_every_chunk_of_a_trafficking_provision_carries_its_forms_of_exploitation(tagger, name, rel, section, expected):
    rows = _tag_section(tagger, rel, section)
    for text, labels in rows:
        assert expected <= set(labels), (name, labels, " ".join(text.split())[:200])



# Slavery, servitude and domestic work are labour exploitation (corpus/taxonomy/LABELLING.md, stop 17:
# the shared gold set tags the first two so).
LABOUR = [
    ("no-259", L + "no-straffeloven-2005.txt", "straffeloven § 259 Slaveri"),
    ("pl-115-23", L + "pl-kodeks-karny-excerpt.txt", "Kodeks karny Art. 115", "§23."),  # one chunk
    ("ilo-c189-9", "international/ilo-c189-domestic-workers-convention-2011.txt", "ILO C189 Article 9"),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, rel, section, opening", [c + ("",) * (4 - len(c)) for c in LABOUR],
                         ids=[c[0] for c in LABOUR])
def test_slavery_and_domestic_work_provisions_are_labour_exploitation(tagger, name, rel, section, opening):
    rows = [(t, labels) for t, labels in _tag_section(tagger, rel, section) if t.lstrip().startswith(opening)]
    assert rows and all(LAB in labels for _text, labels in rows), (name, rows)


PROCEDURAL = [
    ("fi", L + "fi-rikoslaki-1177-2014.txt", "Vahvistettava laki SDK 1177 2014 rikoslain muuttamisesta"),
    ("pl", L + "pl-kodeks-karny-excerpt.txt", "W rozumieniu tego kodeksu za statek wodny"),
    ("lv", L + "lv-kriminallikums-ch15.txt", "158.pants. Goda aizskaršana un neslavas celšana"),
]


@pytest.mark.slow
@pytest.mark.parametrize("lang, rel, marker", PROCEDURAL, ids=[p[0] for p in PROCEDURAL])
def test_procedural_clauses_of_national_law_stay_untagged(tagger, lang, rel, marker):
    _doc_type, chunks = _chunks(rel)
    sections = {c.section for c in chunks if marker in " ".join(c.text.split())}
    assert sections, f"{rel}: no chunk holds {marker!r}"
    for section in sections:  # the whole provision is tagged (so that it can spread), the clause must stay bare
        clause = [(t, labels) for t, labels in _tag_section(tagger, rel, section) if marker in " ".join(t.split())]
        assert clause and all(labels == [] for _t, labels in clause), (section, clause)

"""Whole provisions of law carry their priorities: a tag found in one chunk of a provision is the
provision's, so every chunk of it carries the tag.

A legal provision (the chunks of one legal document that share a section label with a provision
number, "StGB § 232 Menschenhandel", "BrB 4 kap. 1 a §") is split into several chunks, and the
forms of exploitation it names ("zur Ausübung der Prostitution", "tvangsarbeid ... herunder
tigging") usually sit in one of them. The chunk that carries the opening ("Mit Freiheitsstrafe
... wird bestraft, wer ...") then looks untagged, and a search that lands on it shows the
trafficking offence under "Other".

Rule (pure, no model): when the whole provision's role (ingest/roles.py) is `penalty` or
`definition`, each of its chunks gets, after its own priorities, every priority
that some chunk of the provision carries *with its own seed-term evidence* (at least one of the
priority's seed terms in that chunk). A provision that is not (a catch-all article of
definitions, Kodeks karny art. 115) is read paragraph by paragraph instead, when the chunks'
own roles (from ingest, which reads the chapter heading, "Objaśnienie wyrażeń ustawowych") say
`definition` and at least two of its chunks open a numbered paragraph ("§22."): a paragraph runs
to the next, and spreads over its own chunks only a priority that at least two distinct seed terms
in it evidence, since one word of a definition of a general legal term ("samorządu
terytorialnego" among public officials) is no topic. Art. 115 § 22, the definition of
trafficking, names prostitution, pornography, sexual exploitation, forced labour and begging:
both priorities reach its four chunks, and § 21 and § 23 keep their own.

A provision of national law that defines or punishes an offence the taxonomy lists under
[[offences]] (trafficking in human beings: "Menschenhandel", "handlu ludźmi", "cilvēku
tirdzniecība", ...), named in its title or its opening, carries that offence's priorities on
every chunk: every legal order in the corpus defines trafficking to include sexual exploitation
and forced labour, so Krimināllikums 154.1 and Kodeks karny art. 189a, which punish trafficking
as defined elsewhere in their codes, carry both though they name neither form.

Priorities found only by embedding similarity stay where they were. Procedural and final
clauses, tables of contents, references and editorial notes keep their own tags (they normally
have none), and so does every non-legal text.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from itertools import groupby

import numpy as np

from ingest.roles import LEGAL_TYPES, chunk_role

# Not `operative`: a catch-all article of definitions (Kodeks karny art. 115, 23 paragraphs from
# "statek wodny" to "handel ludźmi") would spread one paragraph's priorities to all the others.
PROVISION_ROLES = frozenset({"penalty", "definition"})
LAYOUT_ROLES = frozenset({"references", "editorial_note", "toc", "table"})
PROVISION_RULE = "provision-union/3"  # part of the tagger version: a change of this rule shows in the manifest
OFFENCE_TYPES = frozenset({"national_legislation"})
OPENING_CHARS = 200  # how much of a provision's first chunk counts as its opening
# A chunk that opens a numbered paragraph of an article: "§22.", "§ 3." (Kodeks karny art. 115).
PARAGRAPH_START = re.compile(r"^\W{0,3}§\s?\d+[a-z]?\.")


def provision_spans(sections: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) of each run of consecutive chunks with the same non-empty section label."""
    spans, i = [], 0
    for label, run in groupby(sections):
        n = len(list(run))
        if label:
            spans.append((i, i + n))
        i += n
    return spans


def propagate(texts: Sequence[str], sections: Sequence[str], doc_type: str, labels: list[list[str]],
              counts_of, ids: Sequence[str], roles: Sequence[str] | None = None,
              offences: Sequence[tuple[tuple[str, ...], re.Pattern]] = ()) -> list[list[str]]:
    """Per chunk of one document (in order): its labels plus the provision's evidenced labels, and
    the priorities of an offence it defines or punishes (`offences`: (priority ids, pattern of the
    offence's names) pairs).

    `counts_of(indices)` returns the (len(indices) x priorities) seed-term counts of those chunks
    (index/tagging.py `term_counts`); it is only called for the provisions that may change."""
    if doc_type not in LEGAL_TYPES:
        return labels
    out = [list(row) for row in labels]
    for start, end in provision_spans(sections):
        named = _named_offences(texts, sections, start, offences) if doc_type in OFFENCE_TYPES else []
        if named and _spreads(texts, sections, doc_type, start, end):
            _add(texts, sections, doc_type, start, end, named, out)
        if end - start < 2 or not any(labels[start:end]):
            continue
        if _spreads(texts, sections, doc_type, start, end):
            _spread(texts, sections, doc_type, labels, counts_of, ids, start, end, out)
            continue
        if roles is None or roles[start] != "definition":
            continue
        paragraphs = paragraph_spans(texts, sections, start, end)  # a catch-all article: each paragraph
        for first, last in paragraphs if len(paragraphs) >= 2 else ():
            if last - first >= 2 and any(labels[first:last]):
                _spread(texts, sections, doc_type, labels, counts_of, ids, first, last, out, min_terms=2)
    return out


def paragraph_spans(texts: Sequence[str], sections: Sequence[str], start: int, end: int) -> list[tuple[int, int]]:
    """(first, end) of each numbered paragraph among chunks start..end: from a chunk opening with
    a paragraph mark (after its section label, when the text is the encoders' "label\ntext") to
    the next such chunk; the chunks before the first belong to none."""
    opens = [i for i in range(start, end)
             if PARAGRAPH_START.match(texts[i].removeprefix(f"{sections[i]}\n") if sections[i] else texts[i])]
    return [(a, b) for a, b in zip(opens, opens[1:] + [end])]


def _named_offences(texts, sections, start: int, offences) -> list[str]:
    """The priorities of the offences a provision names in its title (section label) or opening."""
    if not offences:
        return []
    label = sections[start]
    opening = texts[start].removeprefix(f"{label}\n")[:OPENING_CHARS]
    text = " ".join(unicodedata.normalize("NFC", f"{label}\n{opening}").lower().split())
    return list(dict.fromkeys(pid for priorities, pattern in offences if pattern.search(text) for pid in priorities))


def _add(texts, sections, doc_type: str, start: int, end: int, priorities: list[str], out: list) -> None:
    """Each chunk of start..end but layout chunks gets `priorities` after its own."""
    for i in range(start, end):
        if chunk_role(texts[i], section=sections[i], doc_type=doc_type) in LAYOUT_ROLES:
            continue  # an amendment history or footnote inside the provision is not the provision
        out[i] += [pid for pid in priorities if pid not in out[i]]


def _spreads(texts, sections, doc_type: str, start: int, end: int) -> bool:
    provision = "\n".join(texts[start:end])
    return chunk_role(texts[start], section=sections[start], doc_type=doc_type,
                      provision_text=provision) in PROVISION_ROLES


def _spread(texts, sections, doc_type: str, labels, counts_of, ids, start: int, end: int, out: list, *,
            min_terms: int = 1) -> None:
    """Each chunk of start..end (but layout chunks) gets the priorities some chunk of it carries
    with its own seed-term evidence, and that at least `min_terms` seed terms of the span evidence."""
    counts = np.asarray(counts_of(list(range(start, end))))
    evidenced = [pid for j, pid in enumerate(ids)
                 if any(pid in labels[i] and counts[i - start, j] > 0 for i in range(start, end))
                 and counts[:, j].sum() >= min_terms]
    _add(texts, sections, doc_type, start, end, evidenced, out)

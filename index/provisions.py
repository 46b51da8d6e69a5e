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
priority's seed terms in that chunk). Priorities found only by embedding similarity stay where
they were. Procedural and final clauses, tables of contents, references and editorial notes keep
their own tags (they normally have none), and so does every non-legal text.
"""
from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

import numpy as np

from ingest.roles import LEGAL_TYPES, chunk_role

# Not `operative`: a catch-all article of definitions (Kodeks karny art. 115, 23 paragraphs from
# "statek wodny" to "handel ludźmi") would spread one paragraph's priorities to all the others.
PROVISION_ROLES = frozenset({"penalty", "definition"})
LAYOUT_ROLES = frozenset({"references", "editorial_note", "toc", "table"})
PROVISION_RULE = "provision-union/1"  # part of the tagger version: a change of this rule shows in the manifest


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
              counts_of, ids: Sequence[str]) -> list[list[str]]:
    """Per chunk of one document (in order): its labels plus the provision's evidenced labels.

    `counts_of(indices)` returns the (len(indices) x priorities) seed-term counts of those chunks
    (index/tagging.py `term_counts`); it is only called for the provisions that may change."""
    if doc_type not in LEGAL_TYPES:
        return labels
    out = [list(row) for row in labels]
    for start, end in provision_spans(sections):
        if end - start < 2 or not any(labels[start:end]):
            continue
        provision = "\n".join(texts[start:end])
        if chunk_role(texts[start], section=sections[start], doc_type=doc_type,
                      provision_text=provision) not in PROVISION_ROLES:
            continue
        counts = np.asarray(counts_of(list(range(start, end))))
        evidenced = [pid for j, pid in enumerate(ids)
                     if any(pid in labels[i] and counts[i - start, j] > 0 for i in range(start, end))]
        for i in range(start, end):
            if chunk_role(texts[i], section=sections[i], doc_type=doc_type) in LAYOUT_ROLES:
                continue  # an amendment history or footnote inside the provision is not the provision
            out[i] += [pid for pid in evidenced if pid not in out[i]]
    return out

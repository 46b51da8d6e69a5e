"""The role prior (search/ranking.py `role_prior`, Tuning.role_prior): a chunk whose role does not
answer a question of substance (preamble, editorial note, references, title page, table of
contents) keeps 1 - role_prior of its score. On the session index (real files, real encoders,
roles from ingest/roles.py), questions not in the dev set get the provision, not the note."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from search.ranking import Tuning, role_prior


def test_only_the_demoted_roles_lose_their_share():
    rows = {1: SimpleNamespace(role="preamble"), 2: SimpleNamespace(role="operative"),
            3: SimpleNamespace(role="editorial_note"), 4: SimpleNamespace(role="final_clause")}
    scores = {1: 1.0, 2: 0.9, 3: -0.5, 4: 0.8, 5: 0.7}  # 5: a candidate without a fetched row
    out = role_prior(dict(scores), [1, 2, 3, 4, 5], rows, Tuning(role_prior=0.2))
    assert out == pytest.approx({1: 0.8, 2: 0.9, 3: -0.6, 4: 0.8, 5: 0.7})  # a negative score goes down too
    assert role_prior(dict(scores), [1, 2, 3, 4, 5], rows, Tuning(role_prior=0.0)) == scores
    assert "final_clause" not in Tuning().role_prior_roles  # "when did it enter into force?" wants one


# Searched without the prior, each of these got a non-answering chunk first: Krimināllikums's
# editorial note, ILO C29's preamble, rikoslaki's and the Icelandic code's editorial notes.
FIRST_IS_A_PROVISION = [
    ("What is the penalty for trafficking in Latvia?", "lv-kriminallikums-ch15.txt", "penalty"),
    ("What is forced labour according to the ILO?", "ilo-c029-forced-labour-convention-1930.txt", "operative"),
    ("What is the penalty for human trafficking in Finland?", "fi-rikoslaki-1177-2014.txt", "penalty"),
]


@pytest.mark.slow
@pytest.mark.parametrize("question,document,role", FIRST_IS_A_PROVISION)
def test_the_provision_comes_before_the_note(searcher, question, document, role):
    hits = searcher.search(question).hits
    assert hits[0].doc_path.endswith(document) and hits[0].role == role, \
        [(h.doc_path, h.section, h.role) for h in hits[:3]]


@pytest.mark.slow
def test_a_soft_prior_still_shows_what_only_a_preamble_answers(searcher):
    # Why states agreed is what a preamble says: demoted by a fifth, it is still among the first.
    hits = searcher.search("Why did states agree on the Council of Europe trafficking convention?").hits
    assert any(h.role == "preamble" for h in hits[:3]), [(h.section, h.role) for h in hits[:3]]

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


# Questions not in the dev set; searched without the prior, each got an excerpt's editorial note
# first (or second), above the provision that answers.
EDITORIAL_NOTES_FIRST = [
    # (question, the answering provision's section label, the rank it reaches at worst, the first
    # rank the editorial note may hold); without the prior: 227. gr. a. 2nd under the note; 154.1
    # 3rd, the note 1st; Art. 115 1st, the note 2nd
    ("What does the Icelandic penal code say about trafficking?", "Almenn hegningarlög nr. 19/1940 227. gr. a.", 1, 2),
    ("What is the penalty for trafficking in Latvia?", "Krimināllikums 154.1 pants", 2, 3),
    ("How does Polish law define human trafficking?", "Kodeks karny Art. 115", 1, 4),
]


@pytest.mark.slow
@pytest.mark.parametrize("question,section,rank,note_rank", EDITORIAL_NOTES_FIRST)
def test_the_provision_comes_before_the_editorial_note(searcher, question, section, rank, note_rank):
    hits = searcher.search(question).hits
    shown = [(h.section, h.role) for h in hits[:4]]
    answer = next((i for i, h in enumerate(hits, start=1) if h.section.startswith(section)), None)
    note = next((i for i, h in enumerate(hits, start=1) if h.role == "editorial_note"), len(hits) + 1)
    assert answer is not None and answer <= rank and note >= note_rank, shown


@pytest.mark.slow
def test_a_soft_prior_still_shows_what_only_a_preamble_answers(searcher):
    # Why states agreed is what a preamble says: demoted by a fifth, it is still among the first.
    hits = searcher.search("Why did states agree on the Council of Europe trafficking convention?").hits
    assert any(h.role == "preamble" for h in hits[:3]), [(h.section, h.role) for h in hits[:3]]

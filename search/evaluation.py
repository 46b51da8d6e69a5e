"""Evaluate runs against evidence-passage judgments (../shared/eval format) with ranx.

A hit earns credit for an evidence passage when it comes from the same document and its text
covers at least 60% of the passage after normalisation: the rule of the dev set's score.py, so
scores do not depend on chunk boundaries. Each passage counts once, at the first hit that
covers it. The run then names passages, not chunks, and ranx computes nDCG and MRR. A ranked list
gives each hit one id, so a hit that covers two passages would be credited with one in ranx's
recall: recall is the share of passages any of the top k hits covers, as in score.py.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

METRICS = ("ndcg_burges@10", "mrr@10")  # recall: see the module notes


@dataclass(frozen=True, slots=True)
class EvalQuery:
    qid: str
    query: str
    kind: str
    relevant: tuple[dict, ...]


def load_queries(path: Path) -> list[EvalQuery]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                out.append(EvalQuery(str(row["qid"]), row["query"], row.get("kind", "all"),
                                     tuple(row.get("relevant", ()))))
    return out


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    text = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)
    text = re.sub(r"[^\w]+", " ", text.lower())
    return re.sub(r"\s+", " ", text).strip()


def covers(evidence: str, text: str, need: float = 0.6) -> bool:
    if not evidence:
        return False
    if evidence in text:
        return True
    m = SequenceMatcher(None, evidence, text, autojunk=False).find_longest_match(0, len(evidence), 0, len(text))
    return m.size >= need * len(evidence)


def same_doc(a: str, b: str) -> bool:
    a, b = a.replace("\\", "/").lstrip("./"), b.replace("\\", "/").lstrip("./")
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def judge(query: EvalQuery, hits: list[dict], k: int = 10, found: set[int] | None = None) -> list[tuple[str, float]]:
    """(run doc id, score) per hit: an evidence id where the hit covers a passage, else its chunk id.

    `found`, when given, receives the index of every passage the hits cover.
    """
    items = [normalise(r["evidence"]) for r in query.relevant]
    found = set() if found is None else found
    run = []
    for rank, hit in enumerate(hits[:k], start=1):
        text = normalise(hit.get("text", ""))
        doc_id = f"chunk:{hit.get('chunk_id', rank)}"
        best = None
        for i, ev in enumerate(items):
            if i in found or not same_doc(hit.get("doc_path", ""), query.relevant[i]["path"]):
                continue
            if covers(ev, text):
                found.add(i)
                if best is None or query.relevant[i].get("grade", 1) > query.relevant[best].get("grade", 1):
                    best = i
        if best is not None:
            doc_id = f"{query.qid}:ev{best}"
        run.append((doc_id, float(k - rank + 1)))
    return run


def qrels_dict(queries: list[EvalQuery]) -> dict:
    return {q.qid: {f"{q.qid}:ev{i}": int(r.get("grade", 1)) for i, r in enumerate(q.relevant)} for q in queries}


def evaluate(queries: list[EvalQuery], results: dict[str, list[dict]], *, k: int = 10) -> dict:
    """Metrics overall and per kind: {"all": {...}, "policy": {...}, ...}."""
    from ranx import Qrels, Run, evaluate as ranx_evaluate

    covered: dict[str, set[int]] = {q.qid: set() for q in queries}
    runs = {q.qid: dict(judge(q, results.get(q.qid, []), k, covered[q.qid])) for q in queries}
    out = {}
    kinds = ["all"] + sorted({q.kind for q in queries})
    for kind in kinds:
        subset = [q for q in queries if kind == "all" or q.kind == kind]
        qrels = Qrels(qrels_dict(subset))
        run_dict = {q.qid: runs[q.qid] or {f"chunk:none:{q.qid}": 0.0} for q in subset}
        scores = ranx_evaluate(qrels, Run(run_dict), [m.replace("@10", f"@{k}") for m in METRICS], make_comparable=True)
        out[kind] = {"queries": len(subset), **{name.split("@")[0].replace("_burges", ""): round(float(v), 4)
                                                 for name, v in scores.items()}}
        shares = [len(covered[q.qid]) / len(q.relevant) for q in subset if q.relevant]
        out[kind]["recall"] = round(sum(shares) / len(subset), 4) if subset else 0.0
    out["all"]["priority_agreement"] = priority_agreement(queries, results, k)
    return out


def priority_agreement(queries: list[EvalQuery], results: dict[str, list[dict]], k: int = 10) -> float | None:
    """Share of matched evidence passages whose gold priorities the matching hit carries."""
    checks = []
    for q in queries:
        items = [normalise(r["evidence"]) for r in q.relevant]
        found: set[int] = set()
        for hit in results.get(q.qid, [])[:k]:
            text = normalise(hit.get("text", ""))
            for i, ev in enumerate(items):
                if i in found or not same_doc(hit.get("doc_path", ""), q.relevant[i]["path"]):
                    continue
                if covers(ev, text):
                    found.add(i)
                    gold = set(q.relevant[i].get("priorities") or [])
                    if gold:
                        checks.append(bool(gold & set(hit.get("priorities") or [])))
    return round(sum(checks) / len(checks), 4) if checks else None


def write_trec_run(path: Path, results: dict[str, list[dict]], tag: str) -> None:
    """TREC run file: `qid Q0 docid rank score tag`, ties broken by (-score, docid)."""
    with path.open("w", encoding="utf-8") as fh:
        for qid, hits in results.items():
            ordered = sorted(hits, key=lambda h: (-h["score"], h["chunk_id"]))
            for rank, hit in enumerate(ordered, start=1):
                fh.write(f"{qid} Q0 {hit['chunk_id']} {rank} {hit['score']:.6f} {tag}\n")



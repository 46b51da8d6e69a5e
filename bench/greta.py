"""GRETA bench: recommendation extraction precision and recall on the fixture reports, and the
across-rounds cosine calibration.

`python -m bench.greta` writes the two Latvian fixture reports (tests/greta_fixtures.py), reads
them through the real pipeline (pypdf, cleaning, ingest/greta.py), and compares the extracted
recommendations with the fixture's truth: a hit is the same paragraph, strength and sentence
(whitespace-normalised). It then embeds both rounds with MiniLM and prints, for every round-3
recommendation, its best round-2 cosine and whether the fixture says it is a repeat. Prints a
table and appends JSON to bench/results.jsonl.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
# Round-3 paragraph -> the round-2 paragraph it repeats, in the fixture (tests/greta_fixtures.py).
REPEATS = {"5": "3", "7": "4", "9": "6"}


def extract(pdf: Path, round_: int):
    from ingest import greta
    from ingest.cleaning import clean_pages, join_pages
    from ingest.documents import DocumentMeta
    from ingest.readers import read_document

    raw = read_document(pdf, pdf.read_bytes())
    text, _starts = join_pages(clean_pages(raw.pages, paged=True))
    report = greta.report_of(DocumentMeta(pdf.stem, doc_type="greta_report", country="LV", round=round_), text)
    return greta.extract_recommendations(text, greta.find_units(text, report), report)


def extraction_scores(folder: Path) -> dict:
    """Precision and recall of (paragraph, strength, sentence) over both fixture rounds."""
    sys.path.insert(0, str(PROJECT / "tests"))
    import greta_fixtures as fx

    tp = fp = fn = 0
    strength_ok = 0
    for round_ in (2, 3):
        pdf = fx.write_report(folder / f"greta-lv-round{round_}.pdf", round_)
        got = {(r.paragraph, r.strength, " ".join(r.text.split())) for r in extract(pdf, round_)}
        want = {(str(n), s, " ".join(t.split())) for n, s, t in fx.expected_recommendations(round_)}
        tp += len(got & want)
        fp += len(got - want)
        fn += len(want - got)
        strength_ok += len({(p, s) for p, s, _t in got} & {(p, s) for p, s, _t in want})
    return {"expected": tp + fn, "extracted": tp + fp, "precision": round(tp / max(tp + fp, 1), 4),
            "recall": round(tp / max(tp + fn, 1), 4), "strength_correct": strength_ok}


def round_cosines(folder: Path) -> list[dict]:
    """Best round-2 cosine of each round-3 recommendation (MiniLM), with the fixture's truth."""
    import numpy as np

    from index.embedder import Embedder
    from ui.settings import load_settings

    r2 = extract(folder / "greta-lv-round2.pdf", 2)
    r3 = extract(folder / "greta-lv-round3.pdf", 3)
    embedder = Embedder.for_settings(load_settings().index)
    v2 = np.asarray(embedder.embed_batch([r.text for r in r2]))
    v3 = np.asarray(embedder.embed_batch([r.text for r in r3]))
    v2 /= np.linalg.norm(v2, axis=1, keepdims=True)
    v3 /= np.linalg.norm(v3, axis=1, keepdims=True)
    sims = v3 @ v2.T
    return [{"paragraph": r.paragraph, "best_round2_paragraph": r2[int(np.argmax(sims[i]))].paragraph,
             "cosine": round(float(sims[i].max()), 4), "repeat": REPEATS.get(r.paragraph) is not None}
            for i, r in enumerate(r3)]


def leave_one_out(cosines: list[dict]) -> float:
    """Share of pairs classified right by a threshold set (midpoint rule) without them."""
    right = 0
    for i, held in enumerate(cosines):
        rest = cosines[:i] + cosines[i + 1:]
        rep = [c["cosine"] for c in rest if c["repeat"]]
        non = [c["cosine"] for c in rest if not c["repeat"]]
        threshold = (min(rep) + max(non)) / 2 if rep and non else 0.79
        right += (held["cosine"] >= threshold) == held["repeat"]
    return round(right / len(cosines), 4)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.greta", description=__doc__.split("\n")[0])
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    from bench.runner import RESULTS, context
    from ui.settings import load_settings
    from search.rounds import REPEATED_MIN_COSINE

    ctx = context(load_settings())
    with tempfile.TemporaryDirectory(prefix="thb-bench-greta-") as tmp:
        scores = extraction_scores(Path(tmp))
        cosines = round_cosines(Path(tmp))
    print(f"commit {ctx['commit']}")
    print(f"extraction: {scores['extracted']} extracted, {scores['expected']} expected, precision "
          f"{scores['precision']:.3f}, recall {scores['recall']:.3f}")
    print(f"{'round-3 para':<14}{'best round-2':<14}{'cosine':>8}  fixture says  (threshold {REPEATED_MIN_COSINE})")
    for c in cosines:
        print(f"{c['paragraph']:<14}{c['best_round2_paragraph']:<14}{c['cosine']:>8.3f}  "
              f"{'repeat' if c['repeat'] else 'new'}")
    repeats = [c["cosine"] for c in cosines if c["repeat"]]
    others = [c["cosine"] for c in cosines if not c["repeat"]]
    print(f"repeats {min(repeats):.3f}-{max(repeats):.3f}; best non-repeat {max(others):.3f}")
    loo = leave_one_out(cosines)
    print(f"leave-one-out: threshold set on the other {len(cosines) - 1} pairs (midpoint), "
          f"{loo:.3f} of held-out pairs classified right; at {REPEATED_MIN_COSINE}: "
          f"{sum((c['cosine'] >= REPEATED_MIN_COSINE) == c['repeat'] for c in cosines) / len(cosines):.3f} in-sample")
    if not args.no_save:
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(dict(ctx, section="greta_extraction", **scores)) + "\n")
            fh.write(json.dumps(dict(ctx, section="greta_rounds", threshold=REPEATED_MIN_COSINE,
                                     repeat_min=min(repeats), nonrepeat_max=max(others), loo_accuracy=loo)) + "\n")


if __name__ == "__main__":
    main()

"""GRETA recommendations and OCR pages of a document, extracted, tagged and written at ingest.
Their rows and the listing for `thb recommendations` and the app are in index/store/recommendations.py.
"""
from __future__ import annotations

import logging
import sqlite3

import numpy as np

from index import store
from index.store.recommendations import (  # noqa: F401  (re-exported for their callers)
    RecommendationFilters, StoredRecommendation, list_recommendations, recommendation_vectors)
from ingest import greta
from ingest.documents import Document

log = logging.getLogger(__name__)


def write_document_extras(conn: sqlite3.Connection, doc: Document, tagger=None) -> int:
    """Within the caller's transaction: the document's OCR pages, and when it is a GRETA report,
    the report and its recommendations (tagged and embedded by `tagger` when given). Returns the
    number of recommendations written."""
    page_seconds = doc.ocr_seconds / len(doc.ocr_pages) if doc.ocr_pages else 0.0
    store.write_ocr_pages(conn, doc.doc_id, doc.ocr_pages, page_seconds)
    report = greta.report_of(doc.meta, doc.text)
    if report is None:
        return 0
    store.write_greta_report(conn, doc.doc_id, country=report.country, round_=report.round, year=doc.meta.year,
                             code=report.code, label=report.label)
    recs = greta.extract_recommendations(doc.text, greta.find_units(doc.text, report), report)
    texts = [r.text for r in recs]
    vecs = tagger.embedder.embed_batch(texts) if (tagger is not None and texts) else None
    tags = tagger.score_texts(texts, vecs) if vecs is not None else [([], {})] * len(recs)
    for i, (rec, (prios, scores)) in enumerate(zip(recs, tags)):
        store.insert_recommendation(
            conn, doc.doc_id, ordinal=rec.ordinal, paragraph=rec.paragraph, page_start=doc.page_at(rec.start),
            page_end=doc.page_at(max(rec.start, rec.end - 1)), start=rec.start, end=rec.end, strength=rec.strength,
            text=rec.text, authorities=rec.authorities, articles=rec.articles, source=rec.source,
            in_appendix=rec.in_appendix, priorities=prios, priority_scores=scores,
            embedding=None if vecs is None else np.asarray(vecs[i], dtype=np.float32).tobytes())
    log.info("%s: GRETA report %s, %d recommendations", doc.doc_path, report.label, len(recs))
    return len(recs)



"""The one owner of the index store `thb.sqlite`: every SQL statement on it lives in this package.

`from index import store; store.connect(path)`: the modules' public names are re-exported here.
- schema.py: numbered migrations, connections, transactions, generation, the meta table.
- documents.py: documents, the paths they were read from, failures.
- chunks.py: chunk rows, embeddings, FTS5 terms, and the joined view search reads.
- provision_spans.py: whole short provisions around chunks, and the chunk layout that finds them.
- recommendations.py: GRETA reports, their recommendations, OCR pages.
- search_reads.py: what the searcher reads once per index generation, and its filter and FTS5 queries.
Reads return frozen dataclasses, not tuples.
"""
from index.store.chunks import (CHUNK_SELECT, STRENGTH_ORDER, ChunkRecord, ChunkText, ChunkVectors, FtsRow,
                                StoredChunk, TextSpan, all_embeddings, chunk_at, chunk_flags, chunk_record,
                                chunk_records, chunk_texts, chunk_vec_ids, chunk_vectors, count_chunks,
                                fetch_chunks, fts_rows, insert_chunk, insert_chunks, ml_embeddings,
                                section_span, set_ml_embedding, set_priorities, strength_filter_sql)
from index.store.documents import (DocumentFacets, DocumentLabels, DocumentListing, DocumentRecord, FailureRecord,
                                   PathRecord, all_documents, document_paths, all_paths, clear_failure, document,
                                   document_facets, document_ids, document_ids_added_since,
                                   document_ids_with_prefix, document_labels, document_listing, drop_path,
                                   failures, find_path, has_document, insert_document, insert_documents, insert_path, insert_paths,
                                   path_count,
                                   paths_of, paths_under, record_failure, touch_path)
from index.store.provision_spans import ChunkLayout, ProvisionSpan, chunk_layout, fetch_provisions, union_tags
from index.store.recommendations import (GretaChoices, RecommendationFilters, StoredRecommendation, greta_choices,
                                         insert_recommendation, list_recommendations, recommendation_vectors,
                                         write_greta_report, write_ocr_pages)
from index.store.search_reads import ChunkOwner, chunk_owners, filtered_vec_ids, owners_and_layout, fts_bm25, languages, term_df
from index.store.schema import (MIGRATION_STEPS, MIGRATIONS, fill_roles, has_column, SCHEMA_VERSION, StoreCounts, bulk_load, bump_generation, connect, copy_store, counts,
                                file_schema_version, generation, get_meta, has_table, migrate, open_readonly,
                                quick_check, schema_version, set_meta, snapshot, transaction)

__all__ = [
    "CHUNK_SELECT", "MIGRATIONS", "SCHEMA_VERSION", "STRENGTH_ORDER",
    "ChunkRecord", "ChunkText", "ChunkVectors", "DocumentFacets", "DocumentLabels", "DocumentListing",
    "DocumentRecord", "FailureRecord", "FtsRow", "GretaChoices", "PathRecord", "RecommendationFilters",
    "StoreCounts", "StoredChunk", "snapshot", "StoredRecommendation", "TextSpan",
    "all_documents", "all_embeddings", "all_paths", "bump_generation", "chunk_at", "chunk_flags", "chunk_record",
    "chunk_records", "chunk_texts", "chunk_vec_ids", "chunk_vectors", "clear_failure", "connect", "copy_store",
    "count_chunks",
    "counts", "document", "document_facets", "document_ids", "document_ids_added_since",
    "document_ids_with_prefix", "document_labels", "document_listing", "drop_path", "failures", "fetch_chunks",
    "fetch_provisions", "file_schema_version", "find_path", "fts_rows", "generation", "get_meta", "greta_choices",
    "has_document", "has_table", "insert_chunk", "insert_document", "insert_path", "insert_recommendation",
    "list_recommendations", "migrate", "ml_embeddings", "open_readonly", "path_count", "paths_of", "paths_under",
    "quick_check", "recommendation_vectors", "record_failure", "schema_version", "section_span", "set_meta",
    "set_ml_embedding", "set_priorities", "strength_filter_sql", "touch_path", "transaction", "write_greta_report",
    "write_ocr_pages", "ChunkOwner", "ProvisionSpan", "MIGRATION_STEPS", "fill_roles", "has_column", "document_paths", "chunk_owners", "filtered_vec_ids", "fts_bm25", "languages", "term_df",
    "bulk_load", "owners_and_layout", "ChunkLayout", "chunk_layout", "insert_chunks", "insert_documents", "insert_paths",
    "union_tags",
]

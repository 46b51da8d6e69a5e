"""Index stage: the embedder, the FAISS vectors and the SQLite store of text and metadata."""

"""The peer recipe a team would assemble first: LangChain's recursive splitter, all-MiniLM-L6-v2 with
sentence-transformers, a flat FAISS index. Timed on the same files as our ingest, in the same run.

    python -m bench.peer [CORPUS]

Reading is pypdf's plain `extract_text` for PDFs and UTF-8 for text (no cleaning, no structure, no
language or priorities, no SQLite, no multilingual space): the floor our pipeline is compared with.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

CHUNK_CHARS, OVERLAP_CHARS = 1000, 200  # the splitter's usual RAG settings


def _read(path: Path) -> str:
    if path.suffix.lower() == ".pdf":
        from pypdf import PdfReader

        try:
            return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
        except Exception:  # the recipe skips what pypdf cannot read
            return ""
    return path.read_text(encoding="utf-8", errors="replace")


def run_peer(corpus: Path) -> dict:
    """Wall time of read + split + embed + FAISS add over every .txt/.md/.pdf file under corpus."""
    import faiss
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from sentence_transformers import SentenceTransformer

    from index.embedder import model_dir

    model = SentenceTransformer(str(model_dir("all-MiniLM-L6-v2")), device="cpu", local_files_only=True)
    model.encode(["warm up"])  # loading is not ingest time (ours is loaded first too)
    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_CHARS, chunk_overlap=OVERLAP_CHARS)
    files = sorted(p for p in corpus.rglob("*") if p.suffix.lower() in {".txt", ".md", ".pdf"})
    started = time.perf_counter()
    chunks = [c for path in files for c in splitter.split_text(_read(path))]
    vectors = model.encode(chunks, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    seconds = time.perf_counter() - started
    return {"section": "ingest-peer", "recipe": "langchain splitter + MiniLM (sentence-transformers) + FAISS flat",
            "docs": len(files), "chunks": len(chunks), "pipeline_s": round(seconds, 1),
            "pipeline_chunks_per_s": round(len(chunks) / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    print(run_peer(parser.parse_args().corpus))


if __name__ == "__main__":
    main()

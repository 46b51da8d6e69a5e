"""`thb ingest --engine ray`: reading, chunking and both embeddings of each new document as a Ray task.

The writer stays one process, this one: it holds the ingest lock, decides what is new (the same
`builder._plan` as the local engine, so unchanged files, aliases and replaced paths are decided
identically), ships each new file's bytes to a task (workers need no shared file system), and
writes the results in one transaction with the same atomic FAISS and manifest writes. A task does
what the local engine does for one document, with the same functions: `prepare_document`, then
MiniLM and multilingual-e5 on the chunks' embedding texts. Both encoders give a text the same vector
whatever its batch (int8: one text per run), so the index equals the local engine's.

A failed document is reported by its task with its reason (never raised across the cluster), so
one bad file never aborts the batch. `address` is passed to `ray.init`: None starts a local
cluster, "auto" joins the one this machine belongs to, "ray://host:10001" a remote one.
"""
from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass

import numpy as np

from ingest.errors import SettingsError, ThbError

log = logging.getLogger(__name__)

ENGINES = ("local", "ray")


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise SettingsError(f"unknown ingest engine {engine!r} (--engine); choose from {', '.join(ENGINES)}")
    return engine


class RayUnavailable(ThbError):
    """Ray is not installed (the `ray` extra) or the cluster cannot be reached."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """One task's result: the document, its chunks and their vectors, or the reason it failed."""

    doc: object | None
    chunks: list
    vectors: np.ndarray | None
    ml_vectors: np.ndarray | None
    error: str | None = None
    seconds: float = 0.0


@functools.lru_cache(maxsize=2)
def _chunker(model_name: str, chunk_tokens: int, overlap_tokens: int, label_tokens: int):
    from index.embedder import model_dir
    from ingest.chunking import Chunker

    return Chunker(model_dir(model_name), chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens,
                   label_tokens=label_tokens)


def prepare_and_embed(settings, source, data: bytes, meta) -> Prepared:
    """What a worker does for one new file (also callable in-process: the reference for tests)."""
    from index import multilingual
    from index.embedder import Embedder
    from ingest.errors import UnreadableDocument
    from ingest.pipeline import prepare_document

    started = time.perf_counter()
    chunker = _chunker(settings.model_name, settings.ingest.chunk_tokens, settings.ingest.overlap_tokens, settings.ingest.label_tokens)
    try:
        doc, chunks = prepare_document(source, data, meta, chunker, page_timeout_s=settings.ingest.pdf_page_timeout_s,
                                       ocr=settings.ingest.ocr)
    except UnreadableDocument as exc:
        return Prepared(None, [], None, None, error=exc.reason, seconds=time.perf_counter() - started)
    texts = [c.embedding_text for c in chunks]
    vectors = Embedder.for_settings(settings).embed_batch(texts)
    ml = None
    if multilingual.check(settings.multilingual) != "off":
        ml = multilingual.MultilingualEncoder.for_settings(settings).passages(texts)
    return Prepared(doc, chunks, vectors, ml, seconds=time.perf_counter() - started)


def _init(address: str | None):
    try:
        import ray
    except ImportError:
        raise RayUnavailable("--engine ray needs Ray: pip install -e '.[ray]'") from None
    if not ray.is_initialized():
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}})
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayUnavailable(f"cannot reach the Ray cluster at {address or 'a new local cluster'}: {exc}") from None
    return ray


def plan_and_embed(settings, conn, sources, summary, progress, *, address: str | None, plan_fn):
    """(plan, MiniLM vectors, multilingual vectors or None) of the new documents, made on Ray."""
    ray = _init(address)
    task = ray.remote(num_cpus=1)(prepare_and_embed)
    settings_ref = ray.put(settings)
    pending = {}

    def submit(source, data, meta):
        ref = task.remote(settings_ref, source, data, meta)
        pending[id(ref)] = ref
        return ref, None  # placeholders; filled in below once the task is done

    started = time.perf_counter()
    plan = plan_fn(settings, conn, sources, summary, progress, prepare=submit)
    refs = [doc for _s, doc, _c, _i in plan.new_docs]
    results = ray.get(refs) if refs else []
    summary.parallel_seconds = time.perf_counter() - started
    kept, parts, ml_parts, task_s = [], [], [], []
    for (source, _ref, _none, info), result in zip(plan.new_docs, results):
        task_s.append(result.seconds)
        if result.error is not None:
            summary.failed.append((str(source.path), result.error))
            continue
        kept.append((source, result.doc, result.chunks, info))
        parts.append(result.vectors)
        ml_parts.append(result.ml_vectors)
    plan.new_docs[:] = kept
    summary.task_seconds = task_s
    if task_s:
        log.info("ray: %d tasks, %.1f s of task time (median %.2f s)", len(task_s), sum(task_s), float(np.median(task_s)))
    vecs = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
    ml = np.concatenate(ml_parts) if ml_parts and ml_parts[0] is not None else None
    return plan, vecs, ml

"""The FAISS index of chunk vectors: ids are the store's vec_ids; writes are atomic renames.

The index type follows the number of vectors (`choose_index_type`), measured with `python -m bench
--scale` on clustered synthetic vectors and with `python -m bench --tune-ivf` on homes grown from
the shared corpus's real chunks (bench/scale_home.py), 2 cores, dim 384:
- exact inner product (`flat`) while a brute-force scan stays far under 50 ms p95;
- IVF-Flat beyond that, nlist ~ sqrt(n);
- IVF-SQ8 (8-bit scalar codes, 4x less memory) from FLAT_SQ8 vectors on.
nprobe grows with nlist (`nprobe_for`): the multilingual-e5 space needs a larger share of its cells
probed than MiniLM's for the same recall (its query vectors sit apart from its passage vectors).
IVF indexes keep our ids natively and support remove_ids, so incremental ingest works unchanged
(HNSW would not: it cannot remove vectors, and building it for 1M vectors takes far longer on 2 cores).
"""
from __future__ import annotations

import math
import os
import struct
import weakref
from pathlib import Path

import numpy as np

# Thresholds from bench/scale.py on this 2-core machine under load: flat search of 100k x 384 took
# p50 45 ms / p95 60 ms (one thread), over the 50 ms budget; IVF-Flat at 100k: p50 2 ms, recall 1.0.
# At 1M real-chunk vectors (bench --tune-ivf, dev questions, recall@10 / @100 against exact, p50):
#   e5      IVF-Flat nprobe 32: .928 / .803,  9 ms;  nprobe 64: .985 / .925, 16 ms  (1474 MB)
#   e5      IVF-SQ8  nprobe 32: .920 / .800,  7 ms;  nprobe 64: .978 / .920, 11 ms  ( 375 MB)
#   MiniLM  IVF-Flat nprobe 64: 1.0  / .999, 14 ms;  IVF-SQ8 nprobe 64: .969 / .986, 9 ms
# so at 1M SQ8 pays: the two spaces take 0.75 GB instead of 2.9 GB (resident memory at load 4.5 GB
# with IVF-Flat), at recall@10 >= .95 and less time per query. At 100k (nlist 316, nprobe 32, a tenth
# of the cells) IVF-Flat has e5 .98 / .92, MiniLM 1.0 / .99, and costs 300 MB for both spaces.
FLAT_MAX = 50_000
IVF_FLAT_MAX = 500_000
NPROBE = 32  # the least nprobe; nprobe_for(nlist) for larger indexes
NPROBE_SHARE = 16
# A filtered IVF search probes the cells nearest the query among those holding allowed vectors,
# until they hold as many allowed vectors as an unfiltered search scans (`_filtered_cells`). Probing
# nprobe / share cells of all (the former way, FILTER_BY_CELLS = False) lost most of the recall for
# a wide filter whose vectors gather in some cells: at 1M, e5, German chunks (44%) recall@10 .26.
FILTER_BY_CELLS = True
FILTER_COVER = 2.0  # allowed vectors probed, in units of what an unfiltered search scans
# The last filters' cell counts and bitmaps (_filter_of): (index, allowed array, ntotal, counts, bitmap).
FILTERS_KEPT = 16
_FILTERS: list = []
_CELL_MAPS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # index -> (ntotal, ids, cells)  # probe one cell in NPROBE_SHARE once nlist exceeds NPROBE * NPROBE_SHARE


def choose_index_type(n: int) -> str:
    """The index type for n vectors: "flat", "ivf-flat" or "ivf-sq8"."""
    if n <= FLAT_MAX:
        return "flat"
    return "ivf-flat" if n <= IVF_FLAT_MAX else "ivf-sq8"


def nlist_for(n: int) -> int:
    """IVF cell count: ~sqrt(n), the low end of the FAISS wiki guideline, so that k-means training
    stays within minutes on 2 cores; at most n // 39 (FAISS wants 39 training points per cell)."""
    return max(1, min(int(math.sqrt(max(n, 1))), max(1, n // 39)))


def nprobe_for(nlist: int) -> int:
    """Cells probed per query: NPROBE, or a sixteenth of the cells for large indexes (62 at 1M
    vectors), never more than there are."""
    return max(1, min(nlist, max(NPROBE, nlist // NPROBE_SHARE)))


def new_index(dimension: int, index_type: str = "flat", nlist: int = 1):
    """An empty index of the given type over normalised vectors, addressed by our own ids."""
    import faiss

    if index_type == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
    quantizer = faiss.IndexFlatIP(dimension)
    if index_type == "ivf-flat":
        index = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
    elif index_type == "ivf-sq8":
        index = faiss.IndexIVFScalarQuantizer(quantizer, dimension, nlist, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
    else:
        raise ValueError(f"unknown index type {index_type!r}")
    index.own_fields = True
    quantizer.this.disown()
    index.nprobe = nprobe_for(nlist)
    return index


def build_index(dimension: int, ids: np.ndarray, vectors: np.ndarray, index_type: str | None = None):
    """An index over (ids, vectors); its type from `choose_index_type(len(ids))` unless given."""
    index_type = index_type or choose_index_type(len(ids))
    if index_type == "flat":
        index = new_index(dimension)
    else:
        index = new_index(dimension, index_type, nlist_for(len(ids)))
        index.train(_training_sample(vectors, 40 * index.nlist))
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
    return index


def _training_sample(vectors: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    if len(vectors) <= size:
        return np.ascontiguousarray(vectors, dtype=np.float32)
    pick = np.random.default_rng(seed).choice(len(vectors), size, replace=False)
    return np.ascontiguousarray(vectors[np.sort(pick)], dtype=np.float32)


def index_type(index) -> str:
    """What kind of index this is, as recorded in the manifest ("flat", "ivf-flat nlist=.. nprobe=..")."""
    import faiss

    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index
    if isinstance(inner, faiss.IndexFlat):
        return "flat"
    ivf = faiss.downcast_index(faiss.extract_index_ivf(index))
    kind = "ivf-sq8" if isinstance(ivf, faiss.IndexIVFScalarQuantizer) else "ivf-flat"
    return f"{kind} nlist={ivf.nlist} nprobe={ivf.nprobe}"


# FAISS file fourccs (faiss/impl/index_write.cpp) of the types build_index makes.
_FOURCC = {b"IxM2": "flat", b"IxMp": "flat", b"IxFI": "flat", b"IwFl": "ivf-flat", b"IwSq": "ivf-sq8"}


def describe_file(path: Path) -> str | None:
    """The index type stored in a FAISS file, from its header alone (no load); None if unknown."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError:
        return None
    kind = _FOURCC.get(head[:4])
    if kind is None or kind == "flat":
        return kind
    # Index header: fourcc, int32 d, int64 ntotal, 2 x int64, uint8 is_trained, int32 metric
    # (+ float metric_arg when metric > 1); then the IVF header: size_t nlist, size_t nprobe.
    pos = 4 + 4 + 8 + 16 + 1
    metric = struct.unpack_from("<i", head, pos)[0]
    pos += 4 + (4 if metric > 1 else 0)
    nlist, nprobe = struct.unpack_from("<QQ", head, pos)
    return f"{kind} nlist={nlist} nprobe={nprobe}"


def read_index(path: Path):
    import faiss

    return faiss.read_index(str(path))


def write_index_atomic(index, path: Path, *, crash_point: str | None = None) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the old file.
    `crash_point`: the checkpoint (index/checkpoint.py) between the fsync and the rename."""
    import faiss

    from index.checkpoint import checkpoint

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        faiss.write_index(index, str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        if crash_point:
            checkpoint(crash_point)
        os.replace(tmp, path)
    except BaseException:  # a full disk, say: no half-written temp file stays behind
        tmp.unlink(missing_ok=True)
        raise


def remove_ids(index, ids: list[int]) -> None:
    import faiss

    if ids:
        index.remove_ids(faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64)))


def search(index, query: np.ndarray, top_k: int, allowed_ids: np.ndarray | None = None):
    """(scores, ids) of the top_k nearest vectors, optionally only among allowed ids."""
    import faiss

    if index.ntotal == 0 or top_k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    k = min(top_k, index.ntotal)
    params = None
    if allowed_ids is not None:
        if len(allowed_ids) == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        ivf = _ivf_or_none(index)
        if FILTER_BY_CELLS and isinstance(index, faiss.IndexIVF):
            return _search_cells(index, query, min(k, len(allowed_ids)), np.asarray(allowed_ids, dtype=np.int64))
        sel = faiss.IDSelectorBatch(np.asarray(allowed_ids, dtype=np.int64))
        if ivf is None:
            params = faiss.SearchParameters(sel=sel)
        else:
            # A filter keeps a share of each cell: probe more cells in proportion (all of them for
            # a narrow filter), so filtered recall matches unfiltered. SearchParametersIVF would
            # otherwise default to nprobe=1.
            nprobe = min(ivf.nlist, math.ceil(ivf.nprobe * index.ntotal / len(allowed_ids)))
            params = faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)
        k = min(k, len(allowed_ids))
    # One query: OpenMP threads only add barrier cost (3x slower p50 with 2 threads on 2 busy cores).
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        scores, ids = index.search(query.reshape(1, -1).astype(np.float32), k, params=params)
    finally:
        faiss.omp_set_num_threads(threads)
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]


def _search_cells(ivf, query: np.ndarray, k: int, allowed: np.ndarray):
    """Filtered IVF search over the cells `_filtered_cells` picks; the allowed ids as a bitmap (a
    hash set of 400,000 ids took longer to build than the search)."""
    import faiss

    q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    cells, scores = _filtered_cells(ivf, q, allowed)
    if not len(cells) or allowed.min() < 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    bitmap = _filter_of(ivf, allowed)[1]
    sel = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
    params = faiss.SearchParametersIVF(sel=sel, nprobe=len(cells))
    dist = np.empty((1, k), dtype=np.float32)
    labels = np.empty((1, k), dtype=np.int64)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        ivf.search_preassigned_c(1, faiss.swig_ptr(q), k, faiss.swig_ptr(cells.reshape(1, -1)),
                                 faiss.swig_ptr(scores.reshape(1, -1)), faiss.swig_ptr(dist),
                                 faiss.swig_ptr(labels), False, params)
    finally:
        faiss.omp_set_num_threads(threads)
    keep = labels[0] >= 0
    return dist[0][keep], labels[0][keep]


def _filtered_cells(ivf, q: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cells, centroid scores): the cells holding allowed vectors, nearest the query first, until
    they hold FILTER_COVER x nprobe x ntotal / nlist allowed vectors (what an unfiltered search
    scans, times FILTER_COVER)."""
    counts = _filter_of(ivf, allowed)[0]
    scores, order = ivf.quantizer.search(q, ivf.nlist)
    held = counts[order[0]] > 0
    order, scores = order[0][held], scores[0][held]
    need = FILTER_COVER * ivf.nprobe * ivf.ntotal / ivf.nlist
    take = int(np.searchsorted(np.cumsum(counts[order]), need)) + 1
    return np.ascontiguousarray(order[:take], dtype=np.int64), np.ascontiguousarray(scores[:take], dtype=np.float32)


def _filter_of(ivf, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(allowed vectors per cell, the allowed ids as a bitmap) of a filter. Kept for the last
    filters by the identity of their array: a searcher hands the same array for a country's chunks
    query after query, and at a million chunks making both took 13 ms a search."""
    for entry in _FILTERS:
        if entry[0]() is ivf and entry[1]() is allowed and entry[2] == ivf.ntotal:
            return entry[3], entry[4]
    ids, cell_of = _cell_map(ivf)
    at = np.searchsorted(ids, allowed).clip(0, max(len(ids) - 1, 0))
    found = at[ids[at] == allowed] if len(ids) else at[:0]
    counts = np.bincount(cell_of[found], minlength=ivf.nlist)
    mask = np.zeros(int(allowed.max()) + 1 if len(allowed) else 1, dtype=bool)
    mask[allowed[allowed >= 0]] = True
    bitmap = np.packbits(mask, bitorder="little")
    # weak references: a reloaded index or a query's own filter array is not kept alive here
    _FILTERS[:] = [(weakref.ref(ivf), weakref.ref(allowed), ivf.ntotal, counts, bitmap)] + [
        e for e in _FILTERS if e[0]() is not None and e[1]() is not None][:FILTERS_KEPT - 1]
    return counts, bitmap


def _cell_map(ivf) -> tuple[np.ndarray, np.ndarray]:
    """(sorted ids, cell of each) of an IVF index, read from its lists once and kept on it
    (about 10 bytes a vector); an index that has changed size since is read again."""
    import faiss

    cached = _CELL_MAPS.get(ivf)
    if cached is not None and cached[0] == ivf.ntotal:
        return cached[1], cached[2]
    invlists = ivf.invlists
    ids, cells = [], []
    for cell in range(ivf.nlist):
        n = invlists.list_size(cell)
        if n:
            ids.append(faiss.rev_swig_ptr(invlists.get_ids(cell), n).copy())
            cells.append(np.full(n, cell, dtype=np.int32))
    ids_arr = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    cells_arr = np.concatenate(cells) if cells else np.zeros(0, dtype=np.int32)
    order = np.argsort(ids_arr, kind="stable")
    _CELL_MAPS[ivf] = (ivf.ntotal, ids_arr[order], cells_arr[order])
    return ids_arr[order], cells_arr[order]


def _ivf_or_none(index):
    import faiss

    try:
        return faiss.extract_index_ivf(index)
    except RuntimeError:
        return None

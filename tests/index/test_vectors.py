"""Index type by size, approximate recall against exact search, and FAISS file descriptions."""
from __future__ import annotations

import numpy as np
import pytest

from bench.scale import clustered_vectors, queries_near, recall_at
from index import vectors


@pytest.mark.parametrize("n, kind", [(0, "flat"), (4270, "flat"), (vectors.FLAT_MAX, "flat"),
                                     (vectors.FLAT_MAX + 1, "ivf-flat"), (vectors.IVF_FLAT_MAX, "ivf-flat"),
                                     (vectors.IVF_FLAT_MAX + 1, "ivf-sq8"), (1_000_000, "ivf-sq8"),
                                     (3_000_000, "ivf-sq8")])
def test_choose_index_type_by_size(n, kind):
    assert vectors.choose_index_type(n) == kind


@pytest.fixture(scope="module")
def clustered():
    data = clustered_vectors(20_000, centroids=200)
    return data, queries_near(data, 50), np.arange(20_000, dtype=np.int64) * 3 + 1


@pytest.mark.parametrize("kind", ["ivf-flat", "ivf-sq8"])
def test_approximate_index_recall_at_10(clustered, kind, tmp_path):
    data, queries, ids = clustered
    exact = vectors.build_index(384, ids, data, "flat")
    approx = vectors.build_index(384, ids, data, kind)
    truth = [vectors.search(exact, q, 10)[1] for q in queries]
    found = [vectors.search(approx, q, 10)[1] for q in queries]
    assert recall_at(found, truth) >= 0.95
    path = tmp_path / "v.faiss"
    vectors.write_index_atomic(approx, path)
    assert vectors.describe_file(path) == vectors.index_type(approx) == f"{kind} nlist=141 nprobe=32"


def test_filtered_ivf_search_finds_allowed_ids_in_unprobed_cells(clustered):
    data, queries, ids = clustered
    index = vectors.build_index(384, ids, data, "ivf-flat")
    allowed = ids[::1000]  # 20 ids scattered over the cells
    _, got = vectors.search(index, queries[0], 10, allowed)
    assert len(got) == 10 and set(got) <= set(allowed)


def test_ivf_index_removes_ids(clustered):
    data, _, ids = clustered
    index = vectors.build_index(384, ids, data, "ivf-flat")
    vectors.remove_ids(index, [int(ids[0]), int(ids[1])])
    assert index.ntotal == len(ids) - 2
    assert vectors.search(index, data[0], 1)[1][0] != ids[0]


@pytest.mark.parametrize("n, nlist, nprobe", [(60_000, 244, 32), (100_000, 316, 32), (1_000_000, 1000, 62),
                                              (3_000_000, 1732, 108), (1000, 25, 25)])
def test_nprobe_grows_with_the_cells(n, nlist, nprobe):
    assert vectors.nlist_for(n) == nlist and vectors.nprobe_for(nlist) == nprobe


def test_flat_file_is_described_as_flat(tmp_path):
    index = vectors.build_index(384, np.arange(3), clustered_vectors(3, centroids=3))
    vectors.write_index_atomic(index, tmp_path / "v.faiss")
    assert vectors.describe_file(tmp_path / "v.faiss") == "flat" == vectors.index_type(index)


@pytest.mark.parametrize("kind", ["ivf-flat", "ivf-sq8"])
def test_a_filter_whose_vectors_gather_in_some_cells_keeps_its_recall(clustered, kind):
    """A country's chunks gather in some cells (a language, a topic): the filtered search probes
    the nearest cells holding them, so recall@10 against exact filtered search holds."""
    data, queries, ids = clustered
    exact = vectors.build_index(384, ids, data, "flat")
    approx = vectors.build_index(384, ids, data, kind)
    region = data @ data[0]
    allowed = ids[region > np.quantile(region, 0.7)]  # 30% of the vectors, in one part of the space
    far = queries[np.argsort(queries @ data[0])[:20]]  # queries far from that part
    truth = [vectors.search(exact, q, 10, allowed)[1] for q in far]
    found = [vectors.search(approx, q, 10, allowed)[1] for q in far]
    assert all(set(f) <= set(allowed) for f in found) and recall_at(found, truth) >= 0.95

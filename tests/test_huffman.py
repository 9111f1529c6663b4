"""The Huffman tree of hierarchical softmax: a prefix code, optimal, and word2vec's branches."""

import heapq

import numpy as np
import pytest

from d2lmini.huffman import expected_path_length, huffman_tree


def test_small_tree_by_hand():
    # counts 5, 1, 1, 3: words 1 and 2 merge (2), then with word 3 (5), then with word 0 (root)
    tree = huffman_tree([5, 1, 1, 3])
    assert tree.lengths.tolist() == [1, 3, 3, 2]
    codes = ["".join(map(str, tree.codes[w, :tree.lengths[w]])) for w in range(4)]
    assert codes == ["0", "100", "101", "11"]
    assert (tree.nodes[:, 0] == 2).all()  # every path starts at the root, inner node V - 2


def test_codes_form_a_complete_prefix_code_with_huffmans_optimal_length():
    counts = np.random.default_rng(0).zipf(1.6, size=500).clip(max=10**6)
    tree = huffman_tree(counts)
    codes = {"".join(map(str, tree.codes[w, :tree.lengths[w]])) for w in range(len(counts))}
    assert len(codes) == len(counts)  # distinct
    assert not any(a != b and b.startswith(a) for a in codes for b in codes)  # prefix-free
    assert np.isclose((2.0 ** -tree.lengths).sum(), 1.0)  # a full binary tree (Kraft equality)
    heap = [float(c) for c in counts]  # Huffman's cost: the sum of all merged weights
    heapq.heapify(heap)
    cost = 0.0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        cost += merged
        heapq.heappush(heap, merged)
    assert expected_path_length(tree, counts) * counts.sum() == pytest.approx(cost)


def test_paths_share_their_inner_nodes_consistently():
    tree = huffman_tree(np.arange(1, 33))
    seen = {}
    for w in range(32):
        for depth in range(tree.lengths[w]):
            prefix = tuple(tree.codes[w, :depth])
            assert seen.setdefault(prefix, tree.nodes[w, depth]) == tree.nodes[w, depth]
    assert sorted(set(seen.values())) == list(range(31))  # each of the V - 1 inner nodes once


@pytest.mark.parametrize("counts, message", [
    ([3], "at least 2 word counts"), ([[1, 2]], "1-D array"), ([1, -1], ">= 0"), ([1, np.nan], "finite"),
])
def test_bad_counts(counts, message):
    with pytest.raises(ValueError, match=message):
        huffman_tree(counts)


def test_expected_path_length_needs_one_count_per_word():
    tree = huffman_tree([1, 2, 3])
    assert expected_path_length(tree, [1, 2, 3]) == pytest.approx((2 * 1 + 2 * 2 + 1 * 3) / 6)
    with pytest.raises(ValueError, match=r"one entry per word of the tree \(3\)"):
        expected_path_length(tree, [1, 2])

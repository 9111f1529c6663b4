"""The Huffman tree of word2vec's hierarchical softmax, as arrays.

A binary tree whose leaves are the ``V`` words and whose ``V - 1`` inner nodes
each hold a vector: the probability of a word is the product, along the path
from the root to its leaf, of ``sigmoid(+-u_node . v)``, one factor per
branching. Huffman's construction puts frequent words near the root, so that
the mean path, weighted by word counts, is as short as a binary code can be
(about ``log2 V`` for uniform counts, fewer steps for Zipfian ones).

The tree is returned as padded arrays, so that a batch of paths is gathered in
one indexing operation: ``nodes[w, :lengths[w]]`` are the inner nodes from the
root down to word ``w`` and ``codes[w, :lengths[w]]`` the branch taken at each
(0 or 1, as in word2vec's ``vocab[w].code``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["HuffmanTree", "huffman_tree", "expected_path_length"]


@dataclass(frozen=True)
class HuffmanTree:
    """Paths from the root to every word: ``nodes`` and ``codes`` of shape
    ``(V, max_depth)``, padded with 0 beyond ``lengths[w]``; inner nodes are
    numbered ``0 .. V - 2``, the root being ``V - 2``."""

    nodes: np.ndarray  # (V, max_depth) int64, inner-node ids along each path
    codes: np.ndarray  # (V, max_depth) int8, the branch taken at each node (0 or 1)
    lengths: np.ndarray  # (V,) int64, the depth of each word's leaf

    @property
    def vocab_size(self) -> int:
        return len(self.lengths)

    @property
    def mask(self) -> np.ndarray:
        """``(V, max_depth)`` bool: which entries of ``nodes`` and ``codes`` are on the path."""
        return np.arange(self.nodes.shape[1]) < self.lengths[:, None]


def huffman_tree(counts) -> HuffmanTree:
    """Build the Huffman tree of a vocabulary from its word counts, as word2vec does.

    The two least frequent nodes are merged, ``V - 1`` times; with the counts
    sorted, the candidates are the front of the sorted leaves and the front of
    the inner nodes made so far (both queues stay sorted), so each merge takes
    constant time (word2vec's ``CreateBinaryTree``). This loop runs once per
    vocabulary, not per token or per step. The paths are then read for all words
    at once, one tree level per iteration.

    Args:
        counts: ``(V,)`` non-negative word counts, ``V >= 2`` (ties are broken by id).
    """
    counts = np.asarray(counts)
    if counts.ndim != 1 or len(counts) < 2:
        raise ValueError(f"counts must be a 1-D array of at least 2 word counts, got shape {counts.shape}")
    if not np.issubdtype(counts.dtype, np.number) or not np.all(np.isfinite(counts)) or (counts < 0).any():
        raise ValueError("counts must be finite numbers >= 0 (one count per word of the vocabulary)")
    V = len(counts)
    order = np.argsort(counts, kind="stable")  # leaves, least frequent first
    weight = np.concatenate([counts[order].astype(np.float64), np.zeros(V - 1)])
    node_of = np.concatenate([order, V + np.arange(V - 1)])  # queue position -> node id (leaves 0..V-1)
    parent = np.zeros(2 * V - 1, dtype=np.int64)
    bit = np.zeros(2 * V - 1, dtype=np.int8)
    leaf, inner = 0, V  # fronts of the two queues (positions in weight / node_of)
    for made in range(V, 2 * V - 1):  # the new inner node's queue position
        picked = []
        for _ in range(2):
            if leaf < V and (inner >= made or weight[leaf] <= weight[inner]):
                picked.append(leaf)
                leaf += 1
            else:
                picked.append(inner)
                inner += 1
        weight[made] = weight[picked[0]] + weight[picked[1]]
        parent[node_of[picked[0]]] = parent[node_of[picked[1]]] = node_of[made]
        bit[node_of[picked[1]]] = 1  # the heavier of the two takes branch 1, as in word2vec
    root = 2 * V - 2
    # Walk up from every leaf at once, one level per step, collecting (inner node, bit).
    steps_nodes, steps_bits = [], []
    current = np.arange(V)
    depth = np.zeros(V, dtype=np.int64)
    while (current != root).any():
        below_root = current != root
        steps_nodes.append(np.where(below_root, parent[current] - V, -1))
        steps_bits.append(np.where(below_root, bit[current], 0))
        depth += below_root
        current = np.where(below_root, parent[current], root)
    up_nodes, up_bits = np.stack(steps_nodes, axis=1), np.stack(steps_bits, axis=1)  # leaf -> root order
    # Reverse each path so that it starts at the root: entry k of word w is step depth[w] - 1 - k.
    k = np.arange(up_nodes.shape[1])
    source = np.clip(depth[:, None] - 1 - k, 0, None)
    on_path = k < depth[:, None]
    rows = np.arange(V)[:, None]
    nodes = np.where(on_path, up_nodes[rows, source], 0).astype(np.int64)
    codes = np.where(on_path, up_bits[rows, source], 0).astype(np.int8)
    return HuffmanTree(nodes, codes, depth)


def expected_path_length(tree: HuffmanTree, counts) -> float:
    """Mean number of branchings per word occurrence: the cost of one hierarchical-softmax step."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.shape != (tree.vocab_size,):
        raise ValueError(f"counts must have one entry per word of the tree ({tree.vocab_size}), "
                         f"got shape {counts.shape}")
    return float((tree.lengths * counts).sum() / counts.sum())

"""RFC 6962 Merkle tree hashing over the custody log (as Certificate Transparency does).

Leaf hash = SHA-256(0x00 ‖ leaf bytes), node hash = SHA-256(0x01 ‖ left ‖ right); the tree
of n leaves splits at the largest power of two below n. Inclusion proofs show one event is
in a tree of a given size and root; consistency proofs show a later tree extends an
earlier one (nothing before it was removed, edited or reordered). Written here because
the algorithms are short and exactly specified (RFC 6962 section 2.1), and a verifier that
reads only a bundle must be able to run them without a service.
"""

from __future__ import annotations

import hashlib


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root(leaves: list[bytes]) -> bytes:
    """MTH of leaf hashes."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def inclusion_proof(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the sibling hashes from leaf `index` up to the root."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return inclusion_proof(index, leaves[:k]) + [root(leaves[k:])]
    return inclusion_proof(index - k, leaves[k:]) + [root(leaves[:k])]


class Tree:
    """A fixed list of leaf hashes with every subtree root remembered, so proofs for many
    leaves (a bundle's events) cost a logarithm each, not a pass over the tree."""

    def __init__(self, leaves: list[bytes]):
        self.leaves = leaves
        self._roots: dict[tuple[int, int], bytes] = {}

    def root(self, start: int = 0, end: int | None = None) -> bytes:
        end = len(self.leaves) if end is None else end
        if end - start == 0:
            return hashlib.sha256(b"").digest()
        if end - start == 1:
            return self.leaves[start]
        found = self._roots.get((start, end))
        if found is None:
            k = start + _split(end - start)
            found = node_hash(self.root(start, k), self.root(k, end))
            self._roots[(start, end)] = found
        return found

    def inclusion_proof(self, index: int) -> list[bytes]:
        """The same PATH as `inclusion_proof(index, leaves)`."""
        path: list[bytes] = []
        start, end = 0, len(self.leaves)
        while end - start > 1:
            k = start + _split(end - start)
            if index < k:
                path.append(self.root(k, end))
                end = k
            else:
                path.append(self.root(start, k))
                start = k
        return path[::-1]


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes:
    """The root a leaf and its proof lead to (RFC 9162 section 2.1.3.2)."""
    if index >= size:
        raise ValueError("leaf index beyond the tree")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ValueError("proof too long")
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("proof too short")
    return r


def consistency_proof(old_size: int, leaves: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 section 2.1.2."""
    def subproof(m: int, d: list[bytes], complete: bool) -> list[bytes]:
        n = len(d)
        if m == n:
            return [] if complete else [root(d)]
        k = _split(n)
        if m <= k:
            return subproof(m, d[:k], complete) + [root(d[k:])]
        return subproof(m - k, d[k:], False) + [root(d[:k])]

    if old_size == 0 or old_size > len(leaves):
        raise ValueError("no consistency proof for these sizes")
    return subproof(old_size, leaves, True)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: list[bytes]) -> bool:
    """RFC 9162 section 2.1.4.2."""
    if old_size == new_size:
        return old_root == new_root and not proof
    if old_size == 0 or old_size > new_size or not proof:
        return False
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        proof = [old_root, *proof]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root

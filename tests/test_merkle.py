"""RFC 6962 hashing of the custody log: roots, inclusion and consistency proofs, checked
against a tree built independently here and against every tampering of a proof."""

from __future__ import annotations

import hashlib

import pytest

from archivers import merkle


def naive_root(data: list[bytes]) -> bytes:
    """MTH straight from RFC 6962 section 2.1, written independently of the module."""
    if len(data) == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1 << ((len(data) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + naive_root(data[:k]) + naive_root(data[k:])).digest()


DATA = [f"event {i}".encode() for i in range(23)]
LEAVES = [merkle.leaf_hash(d) for d in DATA]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 23])
def test_root_matches_the_rfc_definition(n):
    assert merkle.root(LEAVES[:n]) == naive_root(DATA[:n])


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 23])
def test_every_leaf_proves_its_inclusion_and_a_changed_proof_fails(n):
    top = merkle.root(LEAVES[:n])
    for i in range(n):
        proof = merkle.inclusion_proof(i, LEAVES[:n])
        assert merkle.root_from_inclusion(i, n, LEAVES[i], proof) == top
        if proof:
            bent = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
            assert merkle.root_from_inclusion(i, n, LEAVES[i], bent) != top
        other = (i + 1) % n
        if other != i:
            assert merkle.root_from_inclusion(i, n, LEAVES[other], proof) != top


@pytest.mark.parametrize("old,new", [(1, 2), (2, 3), (3, 7), (4, 8), (5, 23), (8, 23),
                                     (16, 17), (22, 23)])
def test_a_later_tree_proves_it_extends_an_earlier_one(old, new):
    proof = merkle.consistency_proof(old, LEAVES[:new])
    old_root, new_root = merkle.root(LEAVES[:old]), merkle.root(LEAVES[:new])
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)
    rewritten = [*LEAVES[:new]]
    rewritten[old - 1] = merkle.leaf_hash(b"edited")  # history changed before `old`
    assert not merkle.verify_consistency(old, new, old_root, merkle.root(rewritten),
                                         merkle.consistency_proof(old, rewritten))


def test_the_remembering_tree_gives_the_same_roots_and_paths():
    """What export uses for many proofs at once agrees with the plain RFC 6962 functions
    (whose outputs the tests above check against the RFC's own shapes)."""
    for n in range(1, len(LEAVES) + 1):
        tree = merkle.Tree(LEAVES[:n])
        assert tree.root() == merkle.root(LEAVES[:n])
        assert [tree.inclusion_proof(i) for i in range(n)] == \
            [merkle.inclusion_proof(i, LEAVES[:n]) for i in range(n)]

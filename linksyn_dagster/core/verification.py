"""Majority verification: a verifier solves an item k times without its key; the item is
kept only when a majority of the k answers is the key."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

AGREES, DISAGREES, NO_MAJORITY, UNVERIFIED = "agrees", "disagrees", "no_majority", "unverified"
NOT_VERIFIED = "not_verified"  # the verdict of every item when verification is off (k = 0)


def first_wave(k: int) -> int:
    """Answers asked first: a majority of k. When they all equal the key the verdict is
    settled and the rest are never asked (most items of a good model cost k/2 + 1 calls)."""
    return k // 2 + 1


def settled(answers: Sequence[str | None], key: str, k: int) -> bool:
    """Whether the answers so far already decide whether the item is kept: a majority of k
    equal the key (kept), or so many answered another letter that no majority of k can
    (dropped). Then the rest of the k are never asked. A failed call (None) settles nothing."""
    hits = sum(a == key for a in answers)
    others = sum(a is not None and a != key for a in answers)
    return hits >= first_wave(k) or others > k - first_wave(k)


def verdict(answers: Sequence[str | None], key: str, k: int) -> str:
    """The verdict of k asked answers (None = a call that failed): ``agrees`` when more than
    k/2 are the key, ``disagrees`` when more than k/2 are one other letter, ``no_majority``
    otherwise, ``unverified`` when fewer than a majority of k answers came back at all."""
    given = [a for a in answers if a is not None]
    need = first_wave(k)
    if len(given) < need:
        return UNVERIFIED
    counts = Counter(given)
    if counts[key] >= need:
        return AGREES
    top, count = max(counts.items(), key=lambda kv: (kv[1], kv[0] != key))
    return DISAGREES if count >= need and top != key else NO_MAJORITY

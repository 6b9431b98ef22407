"""Fuzzy string matching, with rapidfuzz when installed and the standard library otherwise.

rapidfuzz scores thousands of names in a fraction of a millisecond (C++); difflib
gives the same ranking on the short strings addresses are made of, only slower, so
the package works without it.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

try:  # pragma: no cover - which branch runs depends on the environment
    from rapidfuzz import fuzz, process

    HAS_RAPIDFUZZ = True
except ImportError:  # pragma: no cover
    HAS_RAPIDFUZZ = False

__all__ = ["HAS_RAPIDFUZZ", "best_matches", "similarity"]


def similarity(a: str, b: str) -> float:
    """Similarity of two strings in [0, 1] (normalised Indel distance)."""
    if HAS_RAPIDFUZZ:
        return float(fuzz.ratio(a, b)) / 100.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def best_matches(
    query: str, choices: Sequence[str], *, limit: int, cutoff: float,
) -> list[tuple[int, float]]:
    """Positions and scores (0-1) of the `limit` choices most similar to `query`."""
    if not choices or not query:
        return []
    if HAS_RAPIDFUZZ:
        found = process.extract(query, choices, scorer=fuzz.ratio, limit=limit,
                                score_cutoff=cutoff * 100.0)
        return [(int(j), float(s) / 100.0) for _c, s, j in found]
    scored = [(j, similarity(query, c)) for j, c in enumerate(choices)]
    scored = [t for t in scored if t[1] >= cutoff]
    scored.sort(key=lambda t: -t[1])
    return scored[:limit]

"""Deterministic train/validation/test assignment grouped by problem text; pure Python."""
from __future__ import annotations

import hashlib
import unicodedata

SPLITS = ("train", "validation", "test")


def problem_normalise(problem: str) -> str:
    """Return the problem text as compared for grouping: NFKC, case-folded, spaces collapsed.

    Two traces of the same problem (e.g. two generators' solutions) must share a split, also
    when one copy differs only in whitespace or case.
    """
    if not problem.isascii():
        problem = unicodedata.normalize("NFKC", problem)
    return " ".join(problem.split()).casefold()


def split_assign(problem: str, *, seed: int, fractions: tuple[float, float, float]) -> str:
    """Return the split of a problem: sha256(seed, normalised text) read as a number in [0, 1).

    The same seed and text always give the same split, whatever else is in the export.
    """
    digest = hashlib.sha256(f"{seed}\x00{problem_normalise(problem)}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    train, validation, test = fractions
    # Empty splits are checked first so rounding in train + validation never leaks into them.
    if u < train or (validation == 0 and test == 0):
        return "train"
    if u < train + validation or test == 0:
        return "validation"
    return "test"

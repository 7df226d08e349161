"""Helpers for the pure agreement tests: random label sets and dense reference matrices."""
import numpy as np

from labeling.agreement.data import LabelTable

CATEGORIES = ("negative", "neutral", "positive")


def random_table(
    seed: int,
    *,
    n_items: int = 300,
    n_coders: int = 4,
    n_categories: int = 3,
    p_missing: float = 0.3,
    p_agree: float = 0.6,
    steps_per_trace: int = 6,
    equal: bool = False,
    gold_every: int = 0,
) -> LabelTable:
    """Return a random table: each coder copies a hidden truth with p_agree, else guesses."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_categories, n_items)
    item = np.repeat(np.arange(n_items), n_coders)
    coder = np.tile(np.arange(n_coders), n_items)
    guess = rng.integers(0, n_categories, item.size)
    value = np.where(rng.random(item.size) < p_agree, truth[item], guess)
    keep = np.ones(item.size, bool) if equal else rng.random(item.size) >= p_missing
    names = {c: f"coder{c}" for c in range(n_coders)}
    categories = CATEGORIES if n_categories == 3 else tuple(f"c{i}" for i in range(n_categories))
    gold_item = np.arange(0, n_items, gold_every) if gold_every else None
    return LabelTable.from_arrays(
        item=item[keep] * 7 + 3,  # arbitrary, non-contiguous step ids
        coder=coder[keep],
        value=value[keep],
        trace=(item[keep] // steps_per_trace) + 1000,
        step_index=item[keep] % steps_per_trace,
        polarity=(value[keep] % 3) - 1,
        coder_names=names,
        categories=categories,
        gold_item=None if gold_item is None else gold_item * 7 + 3,
        gold_value=None if gold_item is None else truth[gold_item],
    )


def reliability_matrix(table: LabelTable, by: str = "value") -> np.ndarray:
    """Return the coders x items matrix the krippendorff package reads (NaN = missing)."""
    data = np.full((table.n_coders, table.n_items), np.nan)
    values = table.value if by == "value" else table.polarity
    data[table.coder, table.item] = values
    return data

"""Agreement over time: figures per time window (e.g. ISO week) of the steps completed in it."""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from labeling.agreement.data import LabelTable
from labeling.agreement.metrics import (
    fleiss_kappa_from_stats,
    fleiss_stats,
    krippendorff_alpha,
    percent_agreement_from_stats,
)


def _value(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def agreement_by_window(
    *,
    item: npt.ArrayLike,
    coder: npt.ArrayLike,
    value: npt.ArrayLike,
    window: npt.ArrayLike,
    categories: list[str],
) -> list[dict[str, Any]]:
    """Return, per window in ascending order, the agreement of the steps completed in it.

    One row per label: step (`item`), annotator (`coder`), category code (`value`) and the
    window of the label's last change (`window`, any sortable integer such as year*100+week).
    A step belongs to the window of its latest label, when its set of labels became what it
    is; the window's figures use every label of those steps. Each row: window, labels made
    in the window, pairable steps completed, percent agreement, Fleiss' kappa (Fleiss 1971)
    and Krippendorff's nominal alpha (Krippendorff 2011); a figure is None when undefined.
    """
    item_a = np.asarray(item, dtype=np.int64).reshape(-1)
    coder_a = np.asarray(coder, dtype=np.int64).reshape(-1)
    value_a = np.asarray(value, dtype=np.int64).reshape(-1)
    window_a = np.asarray(window, dtype=np.int64).reshape(-1)
    if item_a.size == 0:
        return []
    windows, window_code = np.unique(window_a, return_inverse=True)
    items, item_code = np.unique(item_a, return_inverse=True)
    latest = np.full(items.size, -1, dtype=np.int64)
    np.maximum.at(latest, item_code, window_code)
    step_window = latest[item_code]
    made = np.bincount(window_code, minlength=windows.size)
    rows: list[dict[str, Any]] = []
    k = len(categories)
    for w in range(windows.size):
        mask = step_window == w
        table = LabelTable.from_arrays(
            item=item_a[mask], coder=coder_a[mask], value=value_a[mask], categories=categories
        )
        stats = fleiss_stats(table.item_counts) if table.n_labels else np.zeros(2 + k)
        pairable = int(stats[1])
        rows.append(
            {
                "window": int(windows[w]),
                "labels_made": int(made[w]),
                "pairable_steps": pairable,
                "percent_agreement": _value(float(percent_agreement_from_stats(stats))),
                "fleiss_kappa": _value(float(fleiss_kappa_from_stats(stats))),
                "krippendorff_alpha_nominal": (
                    _value(krippendorff_alpha(table, "nominal")) if pairable else None
                ),
            }
        )
    return rows

"""Agreement by window: a step counts in the window of its latest label."""
import pytest

from labeling.agreement.metrics import fleiss_kappa
from labeling.agreement.trend import agreement_by_window


def test_step_belongs_to_the_window_of_its_latest_label():
    rows = agreement_by_window(
        item=[1, 1, 2, 2, 3, 3], coder=[1, 2, 1, 2, 1, 2], value=[0, 0, 0, 1, 1, 1],
        window=[5, 5, 5, 6, 6, 6], categories=["a", "b"],
    )
    assert [r["window"] for r in rows] == [5, 6]
    assert [r["labels_made"] for r in rows] == [3, 3]
    assert [r["pairable_steps"] for r in rows] == [1, 2]
    assert rows[0]["percent_agreement"] == 1.0
    assert rows[0]["fleiss_kappa"] is None  # one category only: chance agreement is 1
    assert rows[1]["percent_agreement"] == 0.5
    assert rows[1]["fleiss_kappa"] == pytest.approx(fleiss_kappa([[1, 1], [0, 2]]))


def test_no_labels_give_no_windows():
    assert agreement_by_window(item=[], coder=[], value=[], window=[], categories=["a"]) == []

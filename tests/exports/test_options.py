"""Export option validation: pure, no database."""
import pytest

from exports.options import OptionsInvalid, options_from_dict


def test_defaults_give_a_train_only_trl_export_with_neutral_as_negative():
    options = options_from_dict({"format": "trl"})
    assert options.split == (1.0, 0.0, 0.0)
    assert options.neutral == "negative"
    assert options_from_dict({"format": "prm800k"}).neutral == "keep"
    assert options_from_dict({"format": "processbench"}).neutral == "positive"


def test_annotator_aggregate_names_the_user():
    options = options_from_dict({"format": "prm800k", "aggregate": "annotator:source-prm800k-x"})
    assert (options.aggregate, options.annotator) == ("annotator", "source-prm800k-x")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"format": "csv"}, "format"),
        ({"format": "trl", "aggregate": "soft"}, "aggregate"),
        ({"format": "trl", "neutral": "keep"}, "neutral"),
        ({"format": "trl", "split": "0.8,0.1"}, "split"),
        ({"format": "trl", "split": "0.8,0.3,0.1"}, "split"),
        ({"format": "trl", "aggregate": "annotator"}, "aggregate"),
        ({"format": "trl", "labeled_from": "2024-02-01", "labeled_to": "2024-01-01"}, "labeled_to"),
        ({"format": "trl", "min_annotators": 0}, "min_annotators"),
    ],
)
def test_bad_options_are_refused_naming_the_option(data, field):
    with pytest.raises(OptionsInvalid) as excinfo:
        options_from_dict(data)
    assert excinfo.value.field == field


def test_options_survive_a_round_trip_through_json_values():
    options = options_from_dict({
        "format": "native", "aggregate": "soft", "split": "0.8,0.1,0.1", "seed": 4,
        "annotators": "b,a", "labeled_from": "2024-01-01",
    })
    assert options.annotators == ("a", "b")
    assert options_from_dict(options.as_dict()) == options

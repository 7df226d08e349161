"""`manage.py agreement`: readable table, JSON with every key, filters, errors."""
import io
import json

import pytest
from django.core.management import CommandError, call_command
from sklearn.metrics import cohen_kappa_score

from labeling.models import AgreementReport
from labeling.services.projects import source_annotator_get_or_create
from tests.labeling.agreement_setup import annotators, trace_with_labels

pytestmark = pytest.mark.django_db

KEYS = {
    "percent_agreement", "cohen_kappa_mean", "cohen_kappa_pairs", "fleiss_kappa",
    "krippendorff_alpha_nominal", "krippendorff_alpha_ordinal", "first_error",
    "per_annotator", "per_category", "n_items", "n_labels", "n_annotators",
}
ANN = ["positive", "positive", "negative", "neutral", "negative"]
BOB = ["positive", "neutral", "negative", "neutral", "positive"]


def _run(*args) -> str:
    out = io.StringIO()
    call_command("agreement", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def labeled(project):
    ann, bob = annotators(project, "ann", "bob")
    trace_with_labels(project, {ann: ANN[:3], bob: BOB[:3]})
    trace_with_labels(project, {ann: ANN[3:], bob: BOB[3:]})
    return project


def test_json_has_every_key_and_kappa_equals_sklearn(labeled):
    result = json.loads(_run("demo-math", "--json"))
    assert KEYS <= result.keys()
    assert result["n_labels"] == 10 and result["n_items"] == 5 and result["n_annotators"] == 2
    assert result["cohen_kappa_pairs"][0]["value"] == pytest.approx(
        cohen_kappa_score(ANN, BOB), abs=1e-9
    )
    assert result["cohen_kappa_pairs"][0]["n_items"] == 5
    assert result["first_error"]["n_pairs"] == 2


def test_bootstrap_adds_intervals_and_is_reproducible(labeled):
    first = json.loads(_run("demo-math", "--json", "--bootstrap", "50", "--seed", "3"))
    again = json.loads(_run("demo-math", "--json", "--bootstrap", "50", "--seed", "3"))
    assert first == again
    fig = first["percent_agreement"]
    assert fig["ci_low"] <= fig["value"] <= fig["ci_high"]
    assert first["bootstrap"]["resamples"] == 50


def test_table_prints_headline_figures(labeled):
    text = _run("demo-math")
    assert "Fleiss' kappa" in text
    assert "Krippendorff's alpha, nominal" in text
    assert "ann / bob (n=5)" in text


def test_source_annotators_are_left_out_unless_included(labeled):
    source = source_annotator_get_or_create(source="prm800k")
    trace_with_labels(labeled, {source: ["positive", "negative"]})
    assert json.loads(_run("demo-math", "--json"))["n_annotators"] == 2
    included = json.loads(_run("demo-math", "--json", "--include-sources"))
    assert included["n_annotators"] == 3
    assert "source-prm800k" in included["annotators"]


def test_one_annotator_prints_reasons(project):
    (ann,) = annotators(project, "ann")
    trace_with_labels(project, {ann: ["positive", "negative"]})
    result = json.loads(_run("demo-math", "--json"))
    assert result["fleiss_kappa"]["value"] is None
    assert "only one annotator" in result["fleiss_kappa"]["reason"]
    assert "undefined (only one annotator" in _run("demo-math")


def test_command_stores_the_report(labeled):
    _run("demo-math", "--json")
    report = AgreementReport.objects.get(project=labeled)
    assert report.state == AgreementReport.State.SUCCEEDED
    assert report.result["n_labels"] == 10


def test_unknown_project_is_an_error(db):
    with pytest.raises(CommandError, match="No project with slug 'nope'"):
        _run("nope", "--json")


def test_bad_metadata_filter_is_an_error(labeled):
    with pytest.raises(CommandError, match="KEY:VALUE"):
        _run("demo-math", "--metadata", "nocolon")
    with pytest.raises(CommandError, match="metadata key"):
        _run("demo-math", "--metadata", "a__contains:x")


def test_confidence_level_widens_the_interval(labeled):
    narrow = json.loads(_run("demo-math", "--json", "--bootstrap", "200", "--confidence", "0.5"))
    wide = json.loads(_run("demo-math", "--json", "--bootstrap", "200", "--confidence", "0.99"))

    def width(r):
        return r["percent_agreement"]["ci_high"] - r["percent_agreement"]["ci_low"]

    assert width(narrow) <= width(wide)
    assert wide["bootstrap"]["confidence"] == 0.99
    with pytest.raises(CommandError, match="--confidence"):
        _run("demo-math", "--confidence", "95")

"""PRM800K import → export as prm800k with the source annotator's labels → import: same labels."""
import json
from collections import defaultdict

import pytest

from exports.options import options_from_dict
from exports.services import export_write
from labeling.models import StepLabel
from labeling.services import imports
from labeling.services.projects import project_create

pytestmark = pytest.mark.django_db


def labels_by_labeler(project) -> dict:
    """Return {(labeler, problem, step index): (polarity, is_unsure)} for a project."""
    rows = StepLabel.objects.filter(trace__project=project).values_list(
        "annotator__username", "trace__problem", "step__index", "polarity", "is_unsure"
    )
    return {(user.removeprefix("source-prm800k-"), problem, i): (p, u) for user, problem, i, p, u in rows}


@pytest.mark.parametrize("sample", ["prm800k_phase1_sample.jsonl", "prm800k_phase2_sample.jsonl"])
def test_prm800k_labels_survive_an_export_and_reimport(fixtures_dir, tmp_path, lead, sample):
    source = fixtures_dir / "exports" / sample
    first = project_create(name="First", slug="first", lead=lead)
    imports.trace_import(project=first, path=source, format="prm800k", created_by=lead)
    before = labels_by_labeler(first)
    assert before

    labelers = sorted({json.loads(line)["labeler"] for line in source.read_text().splitlines()})
    exported = tmp_path / "exported.jsonl"
    with exported.open("w") as out:
        for labeler in labelers:
            folder = tmp_path / labeler
            manifest = export_write(
                project=first,
                options=options_from_dict(
                    {"format": "prm800k", "aggregate": f"annotator:source-prm800k-{labeler}"}
                ),
                out_dir=folder,
            )
            for entry in manifest["files"]:
                out.write((folder / entry["path"]).read_text())
    per_labeler = defaultdict(int)
    for line in exported.read_text().splitlines():
        per_labeler[json.loads(line)["labeler"]] += 1
    assert set(per_labeler) == set(labelers)

    second = project_create(name="Second", slug="second", lead=lead)
    imports.trace_import(project=second, path=exported, format="prm800k", created_by=lead)
    assert labels_by_labeler(second) == before

"""An export reads one consistent snapshot: labels changed while it runs are not mixed in."""
import json

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from exports.options import options_from_dict
from exports.services import export_write
from labeling.models import Category, Membership
from labeling.services.projects import membership_set, project_create
from tests.exports.conftest import labels_add
from tests.labeling.factories import TraceFactory, UserFactory


@pytest.mark.django_db(transaction=True)
def test_labels_changed_during_an_export_do_not_reach_its_files(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("REPEATABLE READ snapshots are a PostgreSQL feature; SQLite locks instead")
    lead = UserFactory(username="snap-lead")
    project = project_create(name="Snapshot", slug="snapshot", lead=lead)
    membership_set(project=project, user=lead, role=Membership.Role.LEAD)
    for i in range(4):
        trace = TraceFactory(project=project, problem=f"Snapshot problem {i}", content_hash=f"s{i}", steps=2)
        labels_add(trace, lead, [1, 1])
    negative = Category.objects.get(version=project.taxonomy_version, key="negative")
    wrapper = connections[DEFAULT_DB_ALIAS]
    other = type(wrapper)(dict(wrapper.settings_dict), alias=DEFAULT_DB_ALIAS)
    changed = []

    def progress(processed: int, total: int) -> None:
        if not changed:
            # Another session relabels every step and commits, after the export began reading.
            with other.cursor() as cursor:
                cursor.execute(
                    "UPDATE labeling_steplabel SET polarity = -1, category_id = %s", [negative.pk]
                )
            changed.append(True)

    try:
        manifest = export_write(
            project=project, options=options_from_dict({"format": "trl"}), out_dir=tmp_path,
            progress=progress,
        )
    finally:
        other.close()
    assert changed
    records = [json.loads(x) for x in (tmp_path / "data" / "train.jsonl").read_text().splitlines()]
    assert [r["labels"] for r in records] == [[True, True]] * 4
    assert manifest["label_distribution"]["negative"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_failing_helper_reader_raises_in_the_export(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("helper readers share PostgreSQL snapshots only")
    from exports.selectors import _SnapshotReader, export_snapshot

    with export_snapshot() as snapshot:
        assert snapshot.snapshot_id
        reader = _SnapshotReader("SELECT * FROM no_such_table", [], snapshot.snapshot_id, 10)
        with pytest.raises(Exception, match="no_such_table"):
            list(reader)

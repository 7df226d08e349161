"""trace_import: counts, source annotators, dedupe, all-or-nothing, every bad input refused."""

import json
import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from labeling.errors import ImportRejected
from labeling.models import GoldLabel, Project, Step, StepLabel, Trace, User
from labeling.selectors.agreement import AgreementFilters, label_arrays_for_project
from labeling.services import trace_writer
from labeling.services.imports import _prefetched, trace_import
from labeling.services.projects import project_create

pytestmark = pytest.mark.django_db


def _fixture(fixtures_dir, name):
    return fixtures_dir / "importers" / name


def _snapshot():
    return (
        Trace.objects.count(),
        Step.objects.count(),
        StepLabel.objects.count(),
        User.objects.count(),
        Project.objects.count(),
    )


@pytest.mark.parametrize(
    ("name", "fmt", "traces", "steps", "labels"),
    [
        ("prm800k_phase1_sample.jsonl", "prm800k", 3, 41, 28),
        ("prm800k_phase2_sample.jsonl", "prm800k", 9, 177, 76),
        ("processbench_gsm8k_30.jsonl", "processbench", 30, 159, 122),
        ("processbench_math_20.json", "processbench", 20, 131, 102),
        ("math_shepherd_synthetic.jsonl", "math-shepherd", 3, 8, 8),
        ("trl_synthetic.jsonl", "trl", 3, 6, 6),
        ("native_sample.jsonl", "native", 3, 6, 4),
    ],
)
def test_each_fixture_imports_with_its_counts_and_a_second_import_adds_nothing(
    project, fixtures_dir, name, fmt, traces, steps, labels
):
    path = _fixture(fixtures_dir, name)
    result = trace_import(project=project, path=path)
    assert (result.format, result.traces_added, result.steps_added, result.labels_added) == (
        fmt,
        traces,
        steps,
        labels,
    )
    assert Trace.objects.filter(project=project).count() == traces
    assert Step.objects.filter(trace__project=project).count() == steps
    assert StepLabel.objects.filter(trace__project=project).count() == labels
    assert all(t.step_count == t.steps.count() for t in Trace.objects.all())

    again = trace_import(project=project, path=path)
    assert (again.traces_added, again.steps_added, again.labels_added) == (0, 0, 0)
    assert again.duplicates_skipped == traces
    assert again.labels_skipped == labels
    assert Trace.objects.count() == traces and StepLabel.objects.count() == labels


def test_text_import_uses_the_splitter(project, fixtures_dir):
    result = trace_import(
        project=project, path=_fixture(fixtures_dir, "text_steps.txt"), splitter="line"
    )
    assert (result.format, result.traces_added, result.steps_added, result.labels_added) == (
        "text",
        2,
        5,
        0,
    )
    trace = Trace.objects.order_by("id").first()
    assert trace.final_answer == "14" and trace.source_format == "text"


def test_labels_in_the_file_belong_to_non_person_source_annotators(project, fixtures_dir):
    trace_import(project=project, path=_fixture(fixtures_dir, "processbench_gsm8k_30.jsonl"))
    annotators = User.objects.filter(step_labels__isnull=False).distinct()
    assert [(u.username, u.is_source) for u in annotators] == [("source-processbench", True)]
    assert not annotators[0].has_usable_password()


def test_processbench_labels_map_to_the_default_taxonomy(project, fixtures_dir):
    before = timezone.now()
    trace_import(project=project, path=_fixture(fixtures_dir, "processbench_gsm8k_30.jsonl"))
    stamps = StepLabel.objects.values_list("created_at", "updated_at", "rationale").distinct()
    assert len(stamps) == 1 and before <= stamps[0][0] <= timezone.now()
    trace = Trace.objects.get(external_id="gsm8k-0")  # label 1: step 0 right, step 1 wrong
    labels = {
        x.step.index: (x.category.key, x.polarity)
        for x in trace.step_labels.select_related("step", "category")
    }
    assert labels == {0: ("positive", 1), 1: ("negative", -1)}
    assert trace.metadata == {"id": "gsm8k-0", "final_answer_correct": False, "label": 1}
    assert trace.is_outcome_correct is False and trace.generator == "Qwen2-7B-Instruct"


def test_each_prm800k_labeler_is_its_own_source_annotator(project, fixtures_dir):
    path = _fixture(fixtures_dir, "prm800k_phase2_sample.jsonl")
    labelers = {json.loads(x)["labeler"] for x in path.read_text().splitlines()}
    trace_import(project=project, path=path)
    names = set(User.objects.filter(step_labels__isnull=False).values_list("username", flat=True))
    assert names == {f"source-prm800k-{x}" for x in labelers}
    assert User.objects.filter(username__in=names, is_source=True).count() == len(labelers)


def test_phase2_steps_after_the_first_error_stay_unlabeled(project, fixtures_dir):
    path = _fixture(fixtures_dir, "prm800k_phase2_sample.jsonl")
    raw = json.loads(path.read_text().splitlines()[0])
    trace_import(project=project, path=path)
    trace = Trace.objects.get(external_id=f"{raw['labeler']}/{raw['timestamp']}")
    assert trace.step_count == 13
    labeled = list(trace.step_labels.order_by("step__index").values_list("step__index", "polarity"))
    assert [i for i, _p in labeled] == list(range(7))
    assert labeled[-1][1] == -1
    assert trace.metadata["finish_reason"] == "found_error"
    assert trace.metadata["generation"] == 6
    assert trace.final_answer == "7200"


def test_flagged_becomes_unsure_and_two_labelers_share_one_trace(project, fixtures_dir, tmp_path):
    raw = json.loads(
        _fixture(fixtures_dir, "prm800k_phase2_sample.jsonl").read_text().splitlines()[0]
    )
    other = json.loads(json.dumps(raw))
    other["labeler"] = "00000000-0000-0000-0000-000000000002"
    other["timestamp"] = "2022-12-01T10:00:00.000000"
    other["label"]["steps"][0]["completions"][0]["flagged"] = True
    other["label"]["steps"][0]["completions"][0]["rating"] = 0
    path = tmp_path / "two.jsonl"
    path.write_text(json.dumps(raw) + "\n" + json.dumps(other) + "\n")

    result = trace_import(project=project, path=path)
    assert (result.traces_added, result.duplicates_skipped, result.labels_added) == (1, 1, 14)
    trace = Trace.objects.get()
    assert [x["labeler"] for x in trace.metadata["labelings"]] == [raw["labeler"], other["labeler"]]
    first_step = {
        label.annotator.username: (label.polarity, label.is_unsure)
        for label in StepLabel.objects.filter(step__index=0).select_related("annotator")
    }
    assert first_step == {
        f"source-prm800k-{raw['labeler']}": (1, False),
        f"source-prm800k-{other['labeler']}": (0, True),
    }


def test_prm800k_qc_questions_stay_ordinary_traces_labelled_by_each_labeler(
    project, fixtures_dir
):
    """PRM800K's QC flag marks solutions served to every labeler and graded against OpenAI's
    gold, which the release does not carry: the trace is no QC trace here (that needs gold on
    every step), keeps the flag in its metadata, and is a multi-annotator item for agreement."""
    trace_import(project=project, path=_fixture(fixtures_dir, "prm800k_qc_synthetic.jsonl"))
    trace = Trace.objects.get()
    assert trace.is_qc is False
    assert trace.metadata["is_quality_control_question"] is True
    assert not GoldLabel.objects.exists()
    labels = dict(
        StepLabel.objects.filter(step__index=1).values_list("annotator__username", "polarity")
    )
    assert labels == {"source-prm800k-qc-labeler-a": 1, "source-prm800k-qc-labeler-b": 0}
    table = label_arrays_for_project(
        project_id=project.pk, filters=AgreementFilters(include_sources=True)
    )
    assert (table.n_traces, table.n_items, table.n_labels) == (1, 3, 6)


def test_a_new_labeler_of_an_imported_trace_adds_labels_and_metadata_only(
    project, fixtures_dir, tmp_path
):
    raw = json.loads(
        _fixture(fixtures_dir, "prm800k_phase2_sample.jsonl").read_text().splitlines()[0]
    )
    first = tmp_path / "one.jsonl"
    first.write_text(json.dumps(raw) + "\n")
    trace_import(project=project, path=first)
    raw["labeler"], raw["timestamp"] = "someone-else", "2023-01-01T00:00:00"
    second = tmp_path / "two.jsonl"
    second.write_text(json.dumps(raw) + "\n")
    result = trace_import(project=project, path=second)
    assert (result.traces_added, result.labels_added, result.duplicates_skipped) == (0, 7, 1)
    assert len(Trace.objects.get().metadata["labelings"]) == 2


def test_traces_keep_the_file_order(project, fixtures_dir):
    trace_import(project=project, path=_fixture(fixtures_dir, "processbench_gsm8k_30.jsonl"))
    ids = list(Trace.objects.order_by("id").values_list("external_id", flat=True))
    expected = [
        json.loads(x)["id"]
        for x in _fixture(fixtures_dir, "processbench_gsm8k_30.jsonl").read_text().splitlines()
    ]
    assert ids == expected


def test_native_labels_keep_annotator_category_and_unsure(project, fixtures_dir):
    trace_import(project=project, path=_fixture(fixtures_dir, "native_sample.jsonl"))
    rows = set(
        StepLabel.objects.values_list(
            "annotator__username", "step__index", "category__key", "is_unsure"
        )
    )
    assert rows == {
        ("source-native-alice", 0, "positive", False),
        ("source-native-alice", 1, "positive", False),
        ("source-native-bob", 1, "negative", True),
        ("source-native", 0, "negative", False),
    }


BAD_INPUTS = [
    (
        "malformed-json",
        '{"problem": "p", "steps": ["a"]}\n{"problem": "q", "steps": [\n',
        2,
        "json",
    ),
    ("missing-field", '{"problem": "p", "steps": ["a"]}\n{"steps": ["a"]}\n', 2, "problem"),
    ("mistyped-field", '{"problem": "p", "steps": ["a"], "generator": 7}\n', 1, "generator"),
    ("empty-step", '{"problem": "p", "steps": ["a", ""]}\n', 1, "steps[1]"),
    ("steps-not-list", '{"problem": "p", "steps": "a. b."}\n', 1, "steps"),
    (
        "duplicate-id",
        '{"id": 1, "problem": "p", "steps": ["a"]}\n{"id": 1, "problem": "q", "steps": ["b"]}\n',
        2,
        "id",
    ),
    ("empty-file", "", 1, "file"),
    ("blank-file", "\n  \n", 1, "file"),
    (
        "wrong-label-type",
        '{"problem": "p", "steps": ["a"], "labels": [{"step": 0, "polarity": "good"}]}\n',
        1,
        "labels[0].polarity",
    ),
    (
        "unknown-category",
        '{"problem": "p", "steps": ["a"], '
        '"labels": [{"step": 0, "polarity": 1, "category": "nope"}]}\n',
        1,
        "labels (step 0)",
    ),
]


@pytest.mark.parametrize(
    ("case", "content", "line", "field"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_is_refused_with_line_and_field_and_nothing_is_written(
    project, tmp_path, case, content, line, field
):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    before = _snapshot()
    with pytest.raises(ImportRejected) as exc:
        trace_import(
            project=project, path=path, format="native" if case != "empty-file" else "auto"
        )
    assert {"line": line, "field": field} in [
        {"line": e["line"], "field": e["field"]} for e in exc.value.errors
    ]
    assert "nothing was imported" in exc.value.message
    assert _snapshot() == before


def test_non_utf8_file_is_refused(project, tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(
        '{"problem": "p", "steps": ["a"]}\n{"problem": "café", "steps": ["a"]}\n'.encode("latin-1")
    )
    before = _snapshot()
    with pytest.raises(ImportRejected) as exc:
        trace_import(project=project, path=path)
    assert exc.value.errors[0]["line"] == 2 and exc.value.errors[0]["field"] == "encoding"
    assert _snapshot() == before


def test_a_line_over_the_limit_is_refused(project, tmp_path, settings):
    settings.IMPORT_MAX_LINE_BYTES = 200
    path = tmp_path / "long.jsonl"
    path.write_text(
        '{"problem": "p", "steps": ["a"]}\n{"problem": "p", "steps": ["' + "x" * 300 + '"]}\n'
    )
    before = _snapshot()
    with pytest.raises(ImportRejected) as exc:
        trace_import(project=project, path=path, format="native")
    assert exc.value.errors == [
        {"line": 2, "field": "line", "message": "the line is longer than the limit of 200 bytes"}
    ]
    assert _snapshot() == before


def test_a_file_over_the_upload_limit_is_refused(project, fixtures_dir, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1000
    before = _snapshot()
    with pytest.raises(ImportRejected) as exc:
        trace_import(project=project, path=_fixture(fixtures_dir, "processbench_gsm8k_30.jsonl"))
    assert (
        exc.value.errors[0]["field"] == "file"
        and "over the limit of 1000" in exc.value.errors[0]["message"]
    )
    assert _snapshot() == before


def test_errors_are_collected_for_the_whole_file_up_to_the_cap(project, tmp_path, settings):
    path = tmp_path / "many.jsonl"
    path.write_text("".join(f'{{"problem": "p{i}", "steps": []}}\n' for i in range(30)))
    with pytest.raises(ImportRejected) as exc:
        trace_import(project=project, path=path)
    assert [e["line"] for e in exc.value.errors] == list(range(1, 31))
    settings.IMPORT_MAX_ERRORS = 5
    with pytest.raises(ImportRejected) as exc:
        trace_import(project=project, path=path)
    assert len(exc.value.errors) == 5 and "at least 5" in exc.value.message


def test_one_bad_record_at_the_end_of_a_big_file_writes_nothing(project, tmp_path, monkeypatch):
    monkeypatch.setattr("labeling.services.imports.BATCH_RECORDS", 10)
    lines = [
        f'{{"problem": "p{i}", "steps": ["a", "b"], "labels": [{{"step": 0, "polarity": 1}}]}}'
        for i in range(50)
    ]
    lines.append('{"problem": "last", "steps": ["a"], "labels": [{"step": 3, "polarity": 1}]}')
    path = tmp_path / "f.jsonl"
    path.write_text("\n".join(lines) + "\n")
    before = _snapshot()
    with pytest.raises(ImportRejected) as exc:
        trace_import(project=project, path=path)
    assert exc.value.errors[0]["line"] == 51
    assert _snapshot() == before


def test_a_failure_while_writing_rolls_everything_back(project, tmp_path, monkeypatch):
    monkeypatch.setattr("labeling.services.imports.BATCH_RECORDS", 10)
    path = tmp_path / "f.jsonl"
    path.write_text("".join(f'{{"problem": "p{i}", "steps": ["a"]}}\n' for i in range(35)))
    calls = {"n": 0}
    original = trace_writer.TraceWriter.write

    def failing_write(self, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return original(self, batch)

    monkeypatch.setattr(trace_writer.TraceWriter, "write", failing_write)
    before = _snapshot()
    with pytest.raises(RuntimeError):
        trace_import(project=project, path=path)
    assert _snapshot() == before


def test_duplicates_inside_one_file_are_one_trace(project, tmp_path):
    path = tmp_path / "dup.jsonl"
    path.write_text('{"problem": "p", "steps": ["a"]}\n{"problem": "p", "steps": ["a"]}\n')
    result = trace_import(project=project, path=path)
    assert (result.traces_added, result.duplicates_skipped) == (1, 1)


def test_the_same_trace_in_two_projects_is_imported_into_each(project, fixtures_dir):
    other = project_create(name="Other", slug="other")
    path = _fixture(fixtures_dir, "trl_synthetic.jsonl")
    trace_import(project=project, path=path)
    assert trace_import(project=other, path=path).traces_added == 3


def test_a_splitter_for_a_json_file_and_an_unknown_format_are_refused(project, fixtures_dir):
    with pytest.raises(ImportRejected) as exc:
        trace_import(
            project=project, path=_fixture(fixtures_dir, "trl_synthetic.jsonl"), splitter="line"
        )
    assert exc.value.errors[0]["field"] == "splitter"
    with pytest.raises(ImportRejected) as exc:
        trace_import(
            project=project, path=_fixture(fixtures_dir, "trl_synthetic.jsonl"), format="csv"
        )
    assert exc.value.errors[0]["field"] == "format"


def test_progress_reaches_the_total(project, fixtures_dir):
    seen = []
    trace_import(
        project=project,
        path=_fixture(fixtures_dir, "trl_synthetic.jsonl"),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[-1] == (3, 3)
    assert [d for d, _t in seen] == sorted(d for d, _t in seen)


def test_step_text_survives_exactly_with_backslashes_tabs_and_newlines(project, tmp_path):
    tricky = ["\\frac{1}{2}\tand\r\n\\\\n literal", "ünï ∑ 😀 \\N", "line\nbreak\\"]
    path = tmp_path / "t.jsonl"
    path.write_text(
        json.dumps({"problem": "p\\q", "steps": tricky, "metadata": {"k": "a\tb"}}) + "\n"
    )
    trace_import(project=project, path=path)
    trace = Trace.objects.get()
    assert list(trace.steps.order_by("index").values_list("text", flat=True)) == tricky
    assert trace.problem == "p\\q" and trace.metadata == {"k": "a\tb"}


def test_the_fast_path_and_the_per_row_checks_write_the_same_rows(project, fixtures_dir, settings):
    """On PostgreSQL the import may skip per-row FK triggers; both ways give the same data."""
    settings.IMPORT_PG_BULK_FK_LOCKS = False
    trace_import(project=project, path=_fixture(fixtures_dir, "prm800k_phase2_sample.jsonl"))
    settings.IMPORT_PG_BULK_FK_LOCKS = True
    other = project_create(name="Other", slug="other")
    trace_import(project=other, path=_fixture(fixtures_dir, "prm800k_phase2_sample.jsonl"))

    def rows(p):
        return sorted(
            StepLabel.objects.filter(trace__project=p).values_list(
                "step__index",
                "step__trace__external_id",
                "annotator__username",
                "polarity",
                "category__key",
            )
        )

    assert rows(project) == rows(other) and len(rows(project)) == 76
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW session_replication_role")
            assert cursor.fetchone()[0] == "origin"


def test_prefetching_keeps_order_passes_errors_and_stops_the_reader_early():
    assert list(_prefetched(iter(range(50)), size=3)) == list(range(50))

    def broken():
        yield 1
        raise ValueError("bad read")

    with pytest.raises(ValueError, match="bad read"):
        list(_prefetched(broken(), size=2))

    closed = []

    def endless():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.append(True)

    stream = _prefetched(endless(), size=2)
    assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
    stream.close()
    assert closed == [True]


@pytest.mark.django_db(transaction=True)
def test_two_imports_into_one_project_take_turns_on_postgresql(project, fixtures_dir):
    """A second import waits for the first, then finds its traces and adds nothing."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite already allows one writer at a time")
    path = _fixture(fixtures_dir, "trl_synthetic.jsonl")
    results = []
    with transaction.atomic():
        results.append(trace_import(project=project, path=path))

        def second():
            try:
                results.append(trace_import(project=project, path=path))
            finally:
                connections.close_all()

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=1)
        assert thread.is_alive()  # blocked on the first import's lock
    thread.join(timeout=30)
    assert [r.traces_added for r in results] == [3, 0]
    assert results[1].duplicates_skipped == 3
    assert Trace.objects.count() == 3


def test_native_source_annotator_names_are_kept_as_they_are(project, tmp_path):
    """A native export of imported PRM800K labels re-imports onto the same source annotator."""
    path = tmp_path / "n.jsonl"
    label = {"annotator": "source-prm800k-abc", "step": 0, "polarity": 0, "unsure": True}
    path.write_text(json.dumps({"problem": "p", "steps": ["a"], "labels": [label]}) + "\n")
    trace_import(project=project, path=path)
    user = User.objects.get(step_labels__isnull=False)
    assert (user.username, user.is_source) == ("source-prm800k-abc", True)

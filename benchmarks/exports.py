"""Export speed: 100,000 traces x 10 steps x 2 annotators (2,000,000 step labels) to TRL JSONL.

    python -m benchmarks exports [--traces N] [--steps N] [--annotators N] [--keep]

Creates the PostgreSQL database `bench_exports` (dropped at the end unless --keep), loads the
rows with COPY, runs `manage.py export … --format trl` in a child process and prints its wall
time, records per second and peak RSS, next to a bare `COPY (SELECT …) TO STDOUT` of the same
label rows joined to their steps and traces (the floor). Targets: <= 15 s, <= 300 MB, <= 3x COPY.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import drop_database, recreate_database

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "bench_exports"
SLUG = "bench-exports"

FLOOR_SQL = """
COPY (
  SELECT t.id, t.problem, s.index, s.text, sl.annotator_id, sl.polarity, sl.is_unsure
  FROM labeling_steplabel sl
  JOIN labeling_step s ON s.id = sl.step_id
  JOIN labeling_trace t ON t.id = sl.trace_id
  WHERE t.project_id = {project_id}
  ORDER BY t.id, s.index, sl.annotator_id
) TO STDOUT
"""


# The same rows unjoined: what the exporter reads, one table at a time.
LEAN_FLOOR_SQL = [
    "COPY (SELECT id, external_id, problem, final_answer, ground_truth_answer, generator "
    "FROM labeling_trace WHERE project_id = {project_id} ORDER BY id) TO STDOUT",
    "COPY (SELECT s.trace_id, s.index, s.id, s.text FROM labeling_step s JOIN labeling_trace t "
    "ON t.id = s.trace_id WHERE t.project_id = {project_id} ORDER BY s.trace_id, s.index) TO STDOUT",
    "COPY (SELECT sl.trace_id, sl.step_id, sl.polarity, sl.is_unsure FROM labeling_steplabel sl "
    "JOIN labeling_trace t ON t.id = sl.trace_id WHERE t.project_id = {project_id} "
    "ORDER BY sl.trace_id) TO STDOUT",
]


def _admin_url(base: str, name: str) -> str:
    return base.rsplit("/", 1)[0] + "/" + name


def _server_conninfo(base_url: str) -> str:
    return _admin_url(base_url, "postgres").replace("postgres://", "postgresql://")


def _load(traces: int, steps: int, annotators: int) -> int:
    """Migrate, create the project and users with the services, COPY the rows; return project id."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from labeling.models import Category
    from labeling.services.projects import project_create
    from tests.labeling.factories import UserFactory

    call_command("migrate", verbosity=0)
    lead = UserFactory(username="bench-lead")
    project = project_create(name="Bench exports", slug=SLUG, lead=lead)
    users = [UserFactory(username=f"bench-ann-{i}") for i in range(annotators)]
    categories = {c.polarity: c.pk for c in Category.objects.filter(version=project.taxonomy_version)}
    rng = random.Random(1234)
    words = ("compute", "the", "sum", "of", "x", "and", "y", "so", "we", "get", "$\\frac{a}{b}$", "then")
    # Pools of texts keep the load fast; problem numbers keep every problem distinct.
    problems = [" ".join(rng.choice(words) for _ in range(25)) + "?" for _ in range(997)]
    step_texts = [" ".join(rng.choice(words) for _ in range(18)) + "." for _ in range(1009)]
    now = "2024-01-01 00:00:00+00"
    raw = connection.connection
    started = time.perf_counter()
    with raw.cursor() as cur:
        # Generated rows are valid by construction: skip the deferred foreign-key triggers.
        cur.execute("SET session_replication_role = replica")
        with cur.copy(
            "COPY labeling_trace (id, project_id, external_id, problem, final_answer, "
            "ground_truth_answer, generator, metadata, source_format, content_hash, step_count, "
            "is_qc, created_at) FROM STDIN"
        ) as copy:
            for t in range(1, traces + 1):
                problem = f"Problem {t}: {problems[t % len(problems)]}"
                copy.write_row((t, project.pk, f"b{t}", problem, "42", "42", "bench-gen", "{}",
                                "bench", f"{t:064x}", steps, False, now))
        with cur.copy("COPY labeling_step (id, trace_id, index, text) FROM STDIN") as copy:
            sid = 0
            for t in range(1, traces + 1):
                for i in range(steps):
                    sid += 1
                    text = f"Step {i + 1}: {step_texts[(sid * 7) % len(step_texts)]}"
                    copy.write_row((sid, t, i, text))
        with cur.copy(
            "COPY labeling_steplabel (step_id, trace_id, annotator_id, category_id, polarity, "
            "rationale, is_unsure, created_at, updated_at) FROM STDIN"
        ) as copy:
            sid = 0
            for t in range(1, traces + 1):
                for _ in range(steps):
                    sid += 1
                    for user in users:
                        r = rng.random()
                        polarity = 1 if r < 0.75 else (-1 if r < 0.92 else 0)
                        copy.write_row((sid, t, user.pk, categories[polarity], polarity, "",
                                        False, now, now))
        for table in ("labeling_trace", "labeling_step", "labeling_steplabel"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        cur.execute("SET session_replication_role = DEFAULT")
    raw.commit()
    with raw.cursor() as cur:
        cur.execute("ANALYZE")
    raw.commit()
    print(f"loaded {traces:,} traces, {traces * steps:,} steps, {traces * steps * annotators:,} "
          f"step labels in {time.perf_counter() - started:.1f} s")
    connection.close()
    return project.pk


def _floor_seconds(project_id: int, queries: list[str]) -> tuple[float, int]:
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    raw.commit()
    started = time.perf_counter()
    size = 0
    with raw.cursor() as cur:
        # The same sort memory the export's snapshot transaction asks for.
        cur.execute("SET LOCAL work_mem = '256MB'")
        for query in queries:
            with cur.copy(query.format(project_id=project_id)) as copy:
                for block in copy:
                    size += len(block)
    elapsed = time.perf_counter() - started
    raw.commit()
    return elapsed, size


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks exports")
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--annotators", type=int, default=2)
    parser.add_argument("--file-format", default="jsonl", choices=["jsonl", "parquet"])
    parser.add_argument("--keep", action="store_true", help="keep the bench_exports database")
    args = parser.parse_args(argv)

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.startswith(("postgres://", "postgresql://")):
        sys.exit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://…")
    url = _admin_url(base, DB_NAME)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    sys.path.insert(0, str(ROOT))
    recreate_database(_server_conninfo(base), DB_NAME)
    try:
        project_id = _load(args.traces, args.steps, args.annotators)
        floor, floor_bytes = _floor_seconds(project_id, [FLOOR_SQL])
        lean, lean_bytes = _floor_seconds(project_id, LEAN_FLOOR_SQL)
        with tempfile.TemporaryDirectory() as out:
            env = {**os.environ, "DATABASE_URL": url}
            command = [sys.executable, "manage.py", "export", SLUG, "--format", "trl",
                       "--file-format", args.file_format, "--split", "0.8,0.1,0.1", "--seed", "1",
                       "--out", out, "--verbosity", "1"]
            started = time.perf_counter()
            done = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
            elapsed = time.perf_counter() - started
            # "N records, M steps in X s -> DIR": the export alone, without Python/Django start-up.
            inner = float(done.stdout.split(" in ")[1].split(" s")[0])
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            peak_mb = usage.ru_maxrss / 1024
            cpu = usage.ru_utime + usage.ru_stime
            manifest = __import__("json").loads((Path(out) / "manifest.json").read_text())
            data_bytes = sum(f["bytes"] for f in manifest["files"])
        records = manifest["totals"]["records"]
        labels = args.traces * args.steps * args.annotators
        print(f"export trl {args.file_format}: {records:,} records, {manifest['totals']['steps']:,} "
              f"steps from {labels:,} step labels, {data_bytes / 1e6:.1f} MB of files")
        print(f"  time          {elapsed:8.2f} s   (target <= 15 s; the whole command, start-up included)")
        print(f"  export only   {inner:8.2f} s   (snapshot, stream, aggregate, write, checksums)")
        print(f"  records/s     {records / elapsed:10,.0f}")
        print(f"  label rows/s  {labels / elapsed:10,.0f}")
        print(f"  peak RSS      {peak_mb:8.1f} MB (target <= 300 MB)")
        print(f"  CPU time      {cpu:8.2f} s   (of the exporting process; the rest is waiting on "
              f"PostgreSQL or for a CPU)")
        print(f"bare COPY (SELECT … join of the same {labels:,} label rows) TO STDOUT: "
              f"{floor:.2f} s, {floor_bytes / 1e6:.1f} MB")
        print(f"  ratio export / COPY  {elapsed / floor:5.2f}x (target <= 3x); "
              f"export only {inner / floor:.2f}x")
        print(f"bare COPY of the same rows unjoined (traces, steps, labels; what the exporter "
              f"reads): {lean:.2f} s, {lean_bytes / 1e6:.1f} MB")
        print(f"  ratio export / unjoined COPY  {elapsed / lean:5.2f}x; export only {inner / lean:.2f}x")
        print(f"load average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    finally:
        from django.db import connection

        connection.close()
        if not args.keep:
            drop_database(_server_conninfo(base), DB_NAME)

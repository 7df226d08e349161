"""Import speed and memory: N traces x 10 steps of native JSONL into PostgreSQL and SQLite.

    python -m benchmarks imports [--sizes 10000,20000] [--steps 10] [--labels]
        [--pg postgres://postgres@127.0.0.1:5432/bench_imports] [--skip-pg] [--skip-sqlite]

Each import runs in a fresh child process against a fresh database (the PostgreSQL database
is created and dropped here), so the peak RSS it reports is that import's alone. Running two
sizes shows whether memory grows with the file: it should not, as the file is streamed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = (
    "add subtract multiply divide both sides by the equation gives so therefore we get "
    "term factor root square sum product value answer check result then next"
).split()


def generate(path: Path, *, traces: int, steps: int, labels: bool, seed: int = 0) -> int:
    """Write a native JSONL file of traces x steps (about 3 KB per 10-step trace)."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(traces):
            step_texts = [
                f"Step {j + 1}: "
                + " ".join(rng.choices(WORDS, k=40))
                + f" = {rng.randint(0, 10**6)}."
                for j in range(steps)
            ]
            record = {
                "id": f"bench-{i}",
                "problem": f"Problem {i}: " + " ".join(rng.choices(WORDS, k=30)) + "?",
                "steps": step_texts,
                "final_answer": str(rng.randint(0, 1000)),
                "generator": "bench-model",
                "metadata": {"seed": seed, "n": i},
            }
            if labels:
                record["labels"] = [
                    {"annotator": "bench", "step": j, "polarity": rng.choice((-1, 0, 1))}
                    for j in range(steps)
                ]
            f.write(json.dumps(record) + "\n")
    return path.stat().st_size


def _child(db_url: str, file: str) -> None:
    """Run one import in this process and print its figures as JSON."""
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from labeling.services.imports import trace_import
    from labeling.services.projects import project_create

    project = project_create(name="Bench", slug="bench")
    server_cpu = _server_cpu_reader()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_before, server_before = _cpu_seconds(), server_cpu()
    start = time.perf_counter()
    result = trace_import(project=project, path=file, format="native")
    seconds = time.perf_counter() - start
    cpu_after, server_after = _cpu_seconds(), server_cpu()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "traces": result.traces_added,
                "steps": result.steps_added,
                "labels": result.labels_added,
                "rss_before_kb": rss_before,
                "rss_peak_kb": rss_after,
                "client_cpu": cpu_after - cpu_before,
                "server_cpu": None if server_before is None else server_after - server_before,
            }
        )
    )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _server_cpu_reader():
    """Return a function reading the CPU seconds of this connection's PostgreSQL backend.

    Works when the server runs on this machine (it reads /proc); otherwise returns None.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return lambda: None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    stat = Path(f"/proc/{pid}/stat")
    ticks = os.sysconf("SC_CLK_TCK")

    def read() -> float | None:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / ticks

    return read


def _manage(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _psql_admin(pg_url: str, sql: str) -> None:
    import psycopg

    admin = pg_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql)


def _run_one(db_url: str, file: Path) -> dict:
    # Production settings: with DEBUG on, Django keeps the SQL of the last 9,000 queries, which
    # for bulk_create on SQLite would show up as memory use.
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": "memory://",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "benchmark-only-secret-key",
    }
    _manage(env, "migrate", "-v0")
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.imports", "--child", db_url, str(file)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _report(label: str, size_bytes: int, figures: dict) -> None:
    s = figures["seconds"]
    print(
        f"{label:<11} {figures['traces']:>7} traces {figures['steps']:>8} steps "
        f"{figures['labels']:>8} labels  {size_bytes / 1e6:6.1f} MB  {s:6.2f} s  "
        f"{figures['traces'] / s:>8.0f} traces/s  {figures['steps'] / s:>8.0f} steps/s  "
        f"peak RSS {figures['rss_peak_kb'] / 1024:6.1f} MB "
        f"(before import {figures['rss_before_kb'] / 1024:.1f} MB)"
    )
    server = figures.get("server_cpu")
    print(
        f"{'':<11} CPU: import process {figures['client_cpu']:.2f} s"
        + (f", database backend {server:.2f} s" if server is not None else "")
        + f"; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        _child(argv[1], argv[2])
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks imports")
    parser.add_argument("--sizes", default="10000,20000", help="trace counts, comma-separated")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument(
        "--labels", action="store_true", help="add one source label per step (about 34 MB)"
    )
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/bench_imports")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench_imports_") as tmp:
        tmpdir = Path(tmp)
        for traces in sizes:
            file = tmpdir / f"traces_{traces}.jsonl"
            size_bytes = generate(file, traces=traces, steps=args.steps, labels=args.labels)
            if not args.skip_pg:
                name = args.pg.rsplit("/", 1)[1]
                _psql_admin(args.pg, f'DROP DATABASE IF EXISTS "{name}"')
                _psql_admin(args.pg, f'CREATE DATABASE "{name}"')
                try:
                    _report("postgresql", size_bytes, _run_one(args.pg, file))
                finally:
                    _psql_admin(args.pg, f'DROP DATABASE IF EXISTS "{name}"')
            if not args.skip_sqlite:
                db = tmpdir / f"bench_{traces}.sqlite3"
                _report("sqlite", size_bytes, _run_one(f"sqlite:///{db}", file))
            file.unlink()


if __name__ == "__main__":
    main(sys.argv[1:])

"""Label-save throughput and latency against PostgreSQL behind gunicorn, plus the trace page.

    python -m benchmarks labels [--clients 32] [--requests 30000] [--seconds 20] ...

1. creates a fresh PostgreSQL database `bench_labels` (dropped at the end), migrates it and
   seeds a project with one annotator per client, each with in-progress traces and a
   session (in the cache when --cache-url is set, as in production with CACHE_URL);
2. starts gunicorn on 127.0.0.1 with DATABASE_URL (and CACHE_URL) pointing at them;
3. drives PUT /api/projects/<slug>/traces/<id>/labels/<step>/ with N concurrent keep-alive
   clients (session cookie + CSRF, like the browser), bounded by a request count and a time
   limit, and prints saves/s and p50/p95/p99 latency. The clients are closed loops (send,
   wait for the whole response, send again) multiplexed by one thread, so the load generator
   takes ~0.1 ms of CPU per request from the 2 cores it shares with the server;
4. the same for the bulk endpoint (all 8 labels of a trace per request): traces/s;
5. times the trace page of a 50-step trace in-process (Django test client), cold and warm,
   and reads the Server-Timing header the view sets.

Each HTTP phase also prints the CPU time per request of the app server (gunicorn and its
workers), of the PostgreSQL backends serving the database and of the load generator, read
before and after: the load-independent cost, since wall times on a busy machine include waiting for a
core. Figures are printed, never asserted: this machine's load varies.
"""
import argparse
import http.client
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "bench_labels"

STEP_TEXTS = [
    r"Let $x$ be the number of apples, so $3x + 5 = 20$ and therefore $x = \frac{20 - 5}{3}$.",
    r"Squaring both sides gives $$\left(\sqrt{a^2 + b^2}\right)^2 = a^2 + b^2 = 25.$$",
    r"By the **triangle inequality**, $|a + b| \le |a| + |b|$, with equality iff $ab \ge 0$.",
    r"Summing the series: $\sum_{k=1}^{n} k = \frac{n(n+1)}{2}$, so for $n = 10$ we get $55$.",
    r"The derivative is \(f'(x) = 2x - 4\), which vanishes at $x = 2$; check $f''(2) = 2 > 0$.",
]


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks labels", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=30000, help="single-label saves, at most")
    parser.add_argument("--bulk-requests", type=int, default=4000, help="bulk saves (8 labels), at most")
    parser.add_argument("--seconds", type=float, default=20.0, help="time limit of each phase")
    # With the single-threaded load generator, 2 gunicorn processes x 2 threads beat 1x16, 1x8
    # and 1x4 on 2 cores: 556 vs 396, 444 and 426 saves/s, p99 102 vs 177, 152 and 128 ms.
    # Few threads keep GIL hand-offs rare; two processes let Python use both cores while
    # PostgreSQL (~45 % of a save's CPU) waits on I/O. --reuse-port (below) matters: without
    # it one process accepted all 32 keep-alive connections (311 saves/s, p99 180 ms); with
    # it they split 16/16 (462 saves/s, p99 101 ms).
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="gunicorn gthread threads per worker")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--page-requests", type=int, default=200)
    parser.add_argument(
        "--server-url",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server (without database name)",
    )
    parser.add_argument(
        "--cache-url",
        default=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/7"),
        help="CACHE_URL for the app (sessions are then read from it); '' for none",
    )
    parser.add_argument("--keep-db", action="store_true")
    return parser.parse_args(argv)


def _admin_sql(server_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _setup_django(database_url: str, cache_url: str = "") -> None:
    os.environ["DATABASE_URL"] = database_url
    if cache_url:
        os.environ["CACHE_URL"] = cache_url
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + secrets.token_hex(16))
    os.environ["DJANGO_SETTINGS_MODULE"] = "annotator.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _seed(clients: int) -> dict:
    """Create the project, one annotator per client, and their in-progress assignments."""
    import hashlib
    from importlib import import_module

    from django.conf import settings
    from django.utils import timezone

    from labeling.models import Assignment, Membership, Step, Trace, User
    from labeling.services.projects import membership_set, project_create

    lead = User.objects.create_user("bench-lead", password="x")
    project = project_create(name="Bench", slug="bench", lead=lead, overlap=clients)

    def traces(n: int, steps: int, tag: str, unique: bool = False) -> list[Trace]:
        made = Trace.objects.bulk_create(
            Trace(
                project=project, problem=f"{tag} problem {i}: find $x$.", step_count=steps,
                content_hash=hashlib.sha256(f"{tag}-{i}".encode()).hexdigest(),
            )
            for i in range(n)
        )
        Step.objects.bulk_create(
            Step(
                trace=t, index=j,
                text=STEP_TEXTS[j % len(STEP_TEXTS)] + (f" Hence $s_{{{j}}} = {j}$ in {t.pk}." if unique else ""),
            )
            for t in made
            for j in range(steps)
        )
        return made

    single = traces(clients * 4, 50, "single")
    bulk = traces(clients * 40, 8, "bulk")
    # Unique step texts, so the first view really renders 50 steps (no shared cache hit).
    page_trace, warm_trace = traces(2, 50, "page", unique=True)
    users, sessions, single_plan, bulk_plan = [], [], [], []
    now = timezone.now()
    for c in range(clients):
        user = User.objects.create_user(f"bench-ann-{c}", password="x")
        membership_set(project=project, user=user, role=Membership.Role.ANNOTATOR)
        users.append(user)
        mine_single = single[c * 4:(c + 1) * 4]
        mine_bulk = bulk[c * 40:(c + 1) * 40]
        Assignment.objects.bulk_create(
            Assignment(trace=t, annotator=user, state=Assignment.State.IN_PROGRESS, started_at=now)
            for t in [*mine_single, *mine_bulk]
        )
        session = import_module(settings.SESSION_ENGINE).SessionStore()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[0]
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session.create()
        sessions.append(session.session_key)
        single_plan.append([t.pk for t in mine_single])
        bulk_plan.append([t.pk for t in mine_bulk])
    for t in (page_trace, warm_trace):
        Assignment.objects.create(trace=t, annotator=users[0], state=Assignment.State.IN_PROGRESS, started_at=now)
    return {
        "slug": project.slug, "sessions": sessions, "single": single_plan, "bulk": bulk_plan,
        "page_trace": page_trace.pk, "warm_trace": warm_trace.pk, "page_user": users[0].pk,
    }


def _start_gunicorn(args: argparse.Namespace, database_url: str) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=database_url, DJANGO_DEBUG="false", LOG_LEVEL="ERROR")
    if args.cache_url:
        env["CACHE_URL"] = args.cache_url
    command = [
        sys.executable, "-m", "gunicorn", "annotator.wsgi:application",
        "--bind", f"127.0.0.1:{args.port}", "--workers", str(args.workers),
        "--worker-class", "gthread", "--threads", str(args.threads),
        "--keep-alive", "30", "--log-level", "warning", "--backlog", "512", "--reuse-port",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=2)
            conn.request("GET", "/login/")
            conn.getresponse().read()
            conn.close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("gunicorn exited during start-up") from None
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("gunicorn did not answer within 30 s")


REQUEST_TIMEOUT = 30.0  # seconds: a request still unanswered then counts as an error


def _drive(args, plan, *, limit: int, make_request, seed: int = 0) -> tuple[list[float], int, float]:
    """Run `clients` closed-loop keep-alive clients until `limit` requests or the time limit.

    One thread multiplexes every client's socket (selectors): each client sends a request,
    waits for the whole response, then sends its next one. Thirty-two Python threads with
    http.client cost the shared 2 cores far more CPU per request than the server's share
    allows; this loop keeps the load generator's cost small and reports it (client CPU).
    Returns the latencies of the 200 answers, the number of failed requests (other status,
    broken connection, or no answer within REQUEST_TIMEOUT) and the elapsed time.
    """
    import selectors
    import socket

    selector = selectors.DefaultSelector()
    deadline = time.monotonic() + args.seconds
    latencies: list[float] = []
    errors = 0
    sent = 0
    cookie = {c: f"sessionid={plan['sessions'][c]}; csrftoken={'b' * 32}" for c in range(args.clients)}

    class Client:
        def __init__(self, c: int):
            self.c, self.rng = c, random.Random(seed * 1000 + c)
            self.sock = None
            self.t0 = 0.0

        def connect(self) -> None:
            if self.sock is not None:
                selector.unregister(self.sock)
                self.sock.close()
            self.sock = socket.create_connection(("127.0.0.1", args.port), timeout=REQUEST_TIMEOUT)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            selector.register(self.sock, selectors.EVENT_READ, self)

        def send(self) -> bool:
            """Send the next request; False when the count or the time limit is reached."""
            nonlocal sent, errors
            while sent < limit and time.monotonic() < deadline:
                sent += 1
                method, path, body = make_request(self.c, self.rng)
                payload = body.encode()
                head = (
                    f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n"
                    f"Cookie: {cookie[self.c]}\r\nX-CSRFToken: {'b' * 32}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
                ).encode()
                self.buffer, self.expected, self.status = b"", None, 0
                self.t0 = time.perf_counter()
                try:
                    self.sock.sendall(head + payload)
                    return True
                except OSError:  # the server dropped the connection: count it, reconnect
                    errors += 1
                    self.connect()
            self.t0 = 0.0
            return False

        def on_readable(self) -> bool:
            """Read what arrived; True when the response is complete."""
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
            if self.expected is None:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return False
                head = self.buffer[:end].decode("latin-1").split("\r\n")
                self.status = int(head[0].split()[1])
                length = next(
                    (int(line.split(":", 1)[1]) for line in head[1:] if line.lower().startswith("content-length:")),
                    None,
                )
                if length is None:
                    raise ConnectionError("response without Content-Length")
                self.expected = end + 4 + length
            return len(self.buffer) >= self.expected

    clients = [Client(c) for c in range(args.clients)]
    for client in clients:
        client.connect()
    t0 = time.perf_counter()
    active = sum(client.send() for client in clients)
    while active:
        ready = selector.select(timeout=1.0)
        for key, _ in ready:
            client = key.data
            try:
                if not client.on_readable():
                    continue
                if client.status == 200:
                    latencies.append(time.perf_counter() - client.t0)
                else:
                    errors += 1
            except (OSError, ValueError, IndexError):
                errors += 1
                client.connect()
            if not client.send():
                active -= 1
        now = time.perf_counter()
        for client in clients:  # unanswered for too long: an error, on a fresh connection
            if client.t0 and now - client.t0 > REQUEST_TIMEOUT:
                errors += 1
                client.connect()
                if not client.send():
                    active -= 1
    elapsed = time.perf_counter() - t0
    for client in clients:
        selector.unregister(client.sock)
        client.sock.close()
    selector.close()
    return latencies, errors, elapsed


def _cpu_seconds(root_pid: int) -> float:
    """CPU time (user + system) used so far by a process and its direct children (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == root_pid or ppid == root_pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _pg_backend_pids(database_url: str) -> list[int]:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


def _pids_cpu(pids: list[int]) -> dict[int, float]:
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


class CpuMeter:
    """CPU seconds spent by the app server (gunicorn and its workers) and by the PostgreSQL
    backends serving the benchmark database, between start() and stop(): the load-independent
    cost of a request (wall times on a busy machine include waiting for a core)."""

    def __init__(self, server_pid: int, database_url: str):
        self.server_pid, self.database_url = server_pid, database_url

    def start(self) -> None:
        self.app0 = _cpu_seconds(self.server_pid)
        self.pg0 = _pids_cpu(_pg_backend_pids(self.database_url))
        self.client0 = time.process_time()

    def stop(self, n: int, unit: str) -> str:
        app = _cpu_seconds(self.server_pid) - self.app0
        pg_now = _pids_cpu(_pg_backend_pids(self.database_url))
        pg = sum(cpu - self.pg0.get(pid, 0.0) for pid, cpu in pg_now.items())
        client = time.process_time() - self.client0
        n = max(1, n)
        return (f"   CPU per {unit}: app {app / n * 1000:.2f} ms + PostgreSQL {pg / n * 1000:.2f} ms "
                f"= {(app + pg) / n * 1000:.2f} ms ({len(pg_now)} backends); "
                f"load generator {client / n * 1000:.2f} ms")


def _percentiles(values: list[float]) -> str:
    if not values:
        return "no requests"
    q = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {q[49] * 1000:.1f} ms · p95 {q[94] * 1000:.1f} ms · p99 {q[98] * 1000:.1f} ms"


def _report(name: str, unit: str, per_request: int, latencies, errors, elapsed) -> None:
    """Print the throughput and latency percentiles of the successful requests."""
    done = len(latencies)
    print(
        f"{name}: {done} answered 200 in {elapsed:.2f} s, {errors} failed → "
        f"{done * per_request / elapsed:.0f} {unit}/s · {_percentiles(latencies)}"
    )


def _time_trace_page(plan: dict, n: int) -> None:
    from django.test import Client

    from labeling.models import User

    client = Client()
    client.force_login(User.objects.get(pk=plan["page_user"]))
    # Warm the process (imports, templates, connection) on another trace first, so "first
    # view" below measures rendering 50 unseen steps, not Python start-up.
    assert client.get(f"/projects/{plan['slug']}/traces/{plan['warm_trace']}/").status_code == 200
    url = f"/projects/{plan['slug']}/traces/{plan['page_trace']}/"
    t0 = time.perf_counter()
    first = client.get(url)
    cold = time.perf_counter() - t0
    assert first.status_code == 200, first.status_code
    walls, server = [], []
    cpu0 = time.process_time()
    for _ in range(n):
        t0 = time.perf_counter()
        response = client.get(url)
        walls.append(time.perf_counter() - t0)
        server.append(float(response["Server-Timing"].split("dur=")[1]))
    print(
        f"trace page, 50 steps (in-process, {n} requests): first view (renders 50 steps) "
        f"{cold * 1000:.1f} ms; then "
        f"median {statistics.median(walls) * 1000:.1f} ms, p95 "
        f"{statistics.quantiles(walls, n=20)[18] * 1000:.1f} ms (whole request through middleware); "
        f"view Server-Timing median {statistics.median(server):.1f} ms; "
        f"CPU {(time.process_time() - cpu0) / n * 1000:.1f} ms per page"
    )


def main(argv: list[str]) -> None:
    args = _parse(argv)
    database_url = f"{args.server_url}/{DB_NAME}"
    print(f"bench_labels: {args.clients} clients, gunicorn gthread {args.workers}×{args.threads}, "
          f"{os.cpu_count()} cores, PostgreSQL at {urlparse(args.server_url).hostname}, "
          f"cache {args.cache_url or 'none (sessions in the database)'}")
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    _admin_sql(args.server_url, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    _admin_sql(args.server_url, f'CREATE DATABASE "{DB_NAME}"')
    server = None
    try:
        _setup_django(database_url, args.cache_url)
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        t0 = time.perf_counter()
        plan = _seed(args.clients)
        print(f"seeded in {time.perf_counter() - t0:.1f} s")
        connections.close_all()
        server = _start_gunicorn(args, database_url)
        categories = ["positive", "neutral", "negative"]
        slug = plan["slug"]

        def single(c: int, rng: random.Random):
            trace = rng.choice(plan["single"][c])
            body = {"category": rng.choice(categories), "is_unsure": rng.random() < 0.1,
                    "rationale": "checked" if rng.random() < 0.2 else ""}
            return "PUT", f"/api/projects/{slug}/traces/{trace}/labels/{rng.randrange(50)}/", json.dumps(body)

        # Warm-up: every worker imports, connects and loads the taxonomy once.
        saved_seconds, args.seconds = args.seconds, 3.0
        _drive(args, plan, limit=args.clients * 10, make_request=single, seed=1)  # other labels than the run's
        args.seconds = saved_seconds
        meter = CpuMeter(server.pid, database_url)
        meter.start()
        latencies, errors, elapsed = _drive(args, plan, limit=args.requests, make_request=single)
        _report("single label PUT", "saves", 1, latencies, errors, elapsed)
        print(meter.stop(len(latencies) + errors, "save"))

        def bulk(c: int, rng: random.Random):
            trace = rng.choice(plan["bulk"][c])
            labels = [{"step_index": i, "category": rng.choice(categories)} for i in range(8)]
            return "PUT", f"/api/projects/{slug}/traces/{trace}/labels/", json.dumps({"labels": labels})

        meter.start()
        latencies, errors, elapsed = _drive(args, plan, limit=args.bulk_requests, make_request=bulk)
        _report("bulk PUT (8 labels)", "traces", 1, latencies, errors, elapsed)
        print(meter.stop(len(latencies) + errors, "trace"))
        print(f"   = {len(latencies) * 8 / elapsed:.0f} labels/s through the bulk endpoint")

        print("load average after the runs: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        server.terminate()
        server.wait(20)
        server = None
        _time_trace_page(plan, args.page_requests)
        if args.cache_url:  # leave nothing behind in the shared Redis database
            from django.core.cache import cache

            cache.delete_many([f"django.contrib.sessions.cached_db{key}" for key in plan["sessions"]])
        connections.close_all()
    finally:
        if server is not None:
            server.terminate()
            server.wait(20)
        if not args.keep_db:
            _admin_sql(args.server_url, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')

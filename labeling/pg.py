"""PostgreSQL statements run on a plain psycopg cursor of Django's connection.

Django's psycopg cursors bind parameters on the client, so they can neither prepare a
statement on the server nor ask for binary results. The hot paths that need one of those
(the one-statement label save, the integer-array reads of agreement and adjudication) run
here instead: same connection and transaction, Django's exception mapping, and the query
logged like any other, so query-count tests see it on every database.
"""
import time
from typing import Any

import psycopg
from django.db import connection


def pg_fetch(sql: str, params: Any, *, prepare: bool = False, binary: bool = False) -> list[tuple]:
    """Run one statement on Django's PostgreSQL connection and return all its rows."""
    connection.ensure_connection()
    started = time.monotonic()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=prepare, binary=binary)
        rows = cursor.fetchall()
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return rows

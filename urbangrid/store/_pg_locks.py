"""Bounded lock waits on PostGIS, and the one line that says who holds a lock.

Every store session waits at most :func:`lock_timeout_s` for any lock; a wait
that runs out becomes :class:`~urbangrid.store.base.StoreBusyError` with
:func:`busy_message`: ``store busy: … held by …, since …``.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from urbangrid.store.base import LOCK_TIMEOUT_S, lock_timeout_s

__all__ = ["LOCK_TIMEOUT_S", "busy_message", "describe_dsn", "lock_timeout_s"]


def busy_message(con: psycopg.Connection[Any], target: str, what: str) -> str:
    """``store busy: <what> held by …, since …`` naming the oldest other open
    transaction of the database (the holder a lock wait ran into), asked on `con`
    (idle: the failed transaction rolled back)."""
    try:
        row = con.execute(
            "SELECT pid, usename, coalesce(nullif(application_name, ''), 'no application'), "
            "state, xact_start FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL ORDER BY xact_start LIMIT 1"
        ).fetchone()
    except psycopg.Error:
        row = None
    if row is None:
        holder, since = "another session (gone now)", "moments ago"
    else:
        pid, user, app, state, start = row
        holder = f"role {user!r} (pid {pid}, {app}, {state})"
        since = f"{start:%Y-%m-%d %H:%M:%S %Z}"
    return (
        f"store busy: {what} of {target} held by {holder}, since {since}; nothing was "
        f"written. Try again when it ends, or end that session "
        f"(waited {lock_timeout_s():g} s; URBANGRID_LOCK_TIMEOUT_S sets the wait)"
    )


def describe_dsn(dsn: str) -> str:
    """The DSN without its password, for messages."""
    try:
        info = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparseable DSN>"
    host = info.get("host", "localhost")
    port = info.get("port", "5432")
    return f"postgresql://{info.get('user', '')}@{host}:{port}/{info.get('dbname', '')}"

"""`db grant-readonly` makes a role that only reads, or fails saying why (issue 19)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from urbangrid.cli.main import main
from urbangrid.errors import StoreConnectionError
from urbangrid.store.postgis import grant_readonly


@pytest.fixture
def roles(pg_dsn: str) -> Iterator[list[str]]:
    """Names for roles a test creates (dropped after)."""
    made: list[str] = []
    yield made
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        for role in made:
            con.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            con.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def fresh(roles: list[str]) -> str:
    roles.append(f"ug_g_{os.getpid()}_{time.monotonic_ns() % 10**9}")
    return roles[-1]


def as_role(dsn: str, role: str) -> str:
    return psycopg.conninfo.make_conninfo(dsn, user=role, password="pw")


def test_a_role_that_had_all_keeps_nothing_but_reading(pg_dsn: str, roles: list[str]) -> None:
    role = fresh(roles)
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'pw'").format(sql.Identifier(role)))
        for kind in ("TABLES", "SEQUENCES", "FUNCTIONS"):
            con.execute(
                sql.SQL("GRANT ALL ON ALL {} IN SCHEMA urbangrid TO {}").format(
                    sql.SQL(kind), sql.Identifier(role)
                )
            )
        con.execute(sql.SQL("GRANT ALL ON SCHEMA urbangrid TO {}").format(sql.Identifier(role)))
    done = grant_readonly(pg_dsn, role)
    assert any(s.startswith("REVOKE ALL ON ALL SEQUENCES") for s in done)
    with psycopg.connect(as_role(pg_dsn, role), autocommit=True) as ro:
        assert ro.execute("SELECT count(*) FROM urbangrid.component").fetchone() == (0,)
        for statement in (
            "CREATE FUNCTION urbangrid.t() RETURNS trigger LANGUAGE plpgsql AS "
            "'BEGIN RETURN NEW; END'",
            "CREATE TRIGGER t BEFORE INSERT ON urbangrid.component "
            "FOR EACH ROW EXECUTE FUNCTION public.unknown()",
            "SELECT setval('urbangrid.component_fid_seq', 1000)",
            "DELETE FROM urbangrid.component",
            "UPDATE urbangrid.layer_registry SET name = name",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                ro.execute(statement)


def test_the_owner_is_refused(pg_dsn: str) -> None:
    owner = psycopg.conninfo.conninfo_to_dict(pg_dsn)["user"]
    assert isinstance(owner, str)
    with pytest.raises(StoreConnectionError, match="no grant can make it read-only"):
        grant_readonly(pg_dsn, owner)
    out = CliRunner().invoke(main, ["db", "grant-readonly", owner, pg_dsn])
    assert out.exit_code == 1 and "no grant can make it read-only" in out.output
    assert "Traceback" not in out.output


def test_a_dsn_that_cannot_grant_fails(pg_dsn: str, roles: list[str]) -> None:
    reader, other = fresh(roles), fresh(roles)
    grant_readonly(pg_dsn, reader, create=True, password="pw")
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(other)))
    out = CliRunner().invoke(main, ["db", "grant-readonly", other, as_role(pg_dsn, reader)])
    assert out.exit_code == 1, out.output
    assert "is not read-only after the grants" in out.output or "cannot grant" in out.output
    assert "GRANT SELECT" not in out.output  # no statement is printed as if it took

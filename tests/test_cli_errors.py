"""Every CLI command with bad arguments: one line, a non-zero exit code, no
traceback (issue 19).

Bad arguments: a missing file, an empty file, a store path that does not exist,
a wrong DSN (server, password, database), a read-only role's DSN for commands
that write, non-numeric and out-of-range coordinates. Exit codes: 2 usage
(click's checks or urbangrid's, one ``error: …`` line like the rest), 1 anything
else (``urbangrid --help``), 3 and 4 for loads (``urbangrid load --help``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

import urbangrid
from urbangrid.cli.main import main
from urbangrid.data import data_path
from urbangrid.store.postgis import grant_readonly

WRONG_DSN = "postgresql://urbangrid:wrong-password@localhost:5432/postgres"
NO_DB = "postgresql://urbangrid:urbangrid@localhost:5432/no_such_database_ug19"

# (id, arguments): {missing} a path that does not exist, {empty_csv} … an empty
# file of that suffix, {store} an urbangrid GeoPackage, {nostore} a .gpkg path that
# does not exist, {wrong} a DSN with a wrong password, {nodb} a missing database.
# fmt: off
CASES: list[Any] = [
    ("db-init-wrong-dsn", ["db", "init", "{wrong}"]),
    ("db-init-no-folder", ["db", "init", "{missing}/x.gpkg"]),
    ("db-info-missing", ["db", "info", "{nostore}"]),
    ("db-info-nodb", ["db", "info", "{nodb}"]),
    ("db-info-not-gpkg", ["db", "info", "{empty_csv}"]),
    ("db-check-missing", ["db", "check", "{nostore}"]),
    ("db-check-wrong-dsn", ["db", "check", "{wrong}"]),
    ("grant-readonly-gpkg", ["db", "grant-readonly", "somebody", "{store}"]),
    ("grant-readonly-wrong-dsn", ["db", "grant-readonly", "somebody", "{wrong}"]),
    ("load-missing-file", ["load", "components", "{missing}/s.shp", "--store", "{store}"]),
    ("load-empty-geojson", ["load", "components", "{empty_geojson}", "--store", "{store}"]),
    ("load-empty-csv", ["load", "components", "{empty_csv}", "--store", "{store}",
                        "--crs", "EPSG:4326"]),
    ("load-empty-shp", ["load", "components", "{empty_shp}", "--store", "{store}"]),
    ("load-missing-store", ["load", "components", "{empty_geojson}", "--store", "{nostore}",
                            "--dry-run"]),
    ("load-wrong-dsn", ["load", "streets", "{empty_geojson}", "--store", "{wrong}"]),
    ("load-bad-crs", ["load", "components", "{empty_geojson}", "--store", "{store}",
                      "--crs", "EPSG:999999"]),
    ("load-bad-admin-code", ["load", "components", "{empty_geojson}", "--store", "{store}",
                             "--admin-code", "abc"]),
    ("load-history-missing", ["load", "history", "--store", "{nostore}"]),
    ("load-history-wrong-dsn", ["load", "history", "--store", "{wrong}"]),
    ("rollback-unknown", ["load", "rollback", "nope", "--store", "{store}"]),
    ("rollback-missing-store", ["load", "rollback", "nope", "--store", "{nostore}"]),
    ("components-stats-missing", ["components", "stats", "{nostore}"]),
    ("components-stats-nodb", ["components", "stats", "{nodb}"]),
    ("locate-text", ["locate", "{store}", "abc", "39.99"]),
    ("locate-huge", ["locate", "{store}", "1e308", "39.99"]),
    ("locate-nan", ["locate", "{store}", "nan", "39.99"]),
    ("locate-out-of-range", ["locate", "{store}", "500", "95"]),
    ("locate-missing-store", ["locate", "{nostore}", "116.3", "39.99"]),
    ("locate-wrong-dsn", ["locate", "{wrong}", "116.3", "39.99"]),
    ("reverse-text", ["reverse", "{store}", "abc,def"]),
    ("reverse-missing-store", ["reverse", "{nostore}", "116.3,39.99"]),
    ("geocode-missing-store", ["geocode", "{nostore}", "成府路55号"]),
    ("geocode-empty-csv", ["geocode", "{store}", "--csv", "{empty_csv}"]),
    ("grids-generate-missing-osm", ["grids", "generate", "{store}", "--osm", "{missing}/a.osm",
                                    "--version", "v"]),
    ("grids-generate-empty-osm", ["grids", "generate", "{store}", "--osm", "{empty_osm}",
                                  "--version", "v"]),
    ("grids-generate-short-code", ["grids", "generate", "{nostore}", "--osm", "{wudaokou}",
                                   "--community-codes", "110108", "--version", "v"]),
    ("grids-generate-too-few-codes", ["grids", "generate", "{nostore}", "--osm", "{wudaokou}",
                                      "--community-codes", "110108014001,110108014002",
                                      "--version", "v"]),
    ("grids-validate-missing", ["grids", "validate", "{nostore}", "--out", "{missing}/q.gpkg"]),
    ("grids-diff-unknown", ["grids", "diff", "{store}", "a", "b"]),
    ("route-missing", ["route", "{missing}/x.graphml"]),
    ("route-empty", ["route", "{empty_graphml}"]),
    ("staffing-missing-store", ["staffing", "{nostore}"]),
    ("solve-carp-missing", ["solve", "carp", "{missing}/x.dat"]),
    ("solve-carp-empty", ["solve", "carp", "{empty_dat}"]),
    ("solve-postman-empty", ["solve", "postman", "{empty_graphml}"]),
    ("scale-assign-missing", ["scale", "assign", "{missing}/p.csv", "--grid", "{store}",
                              "--out", "{missing}/o.parquet"]),
    ("gazetteer-load-missing", ["gazetteer", "load", "{nostore}", "--osm", "{missing}/a.osm"]),
    ("admin-load-missing", ["admin", "load", "{store}", "--divisions", "{missing}/d.csv"]),
]
# fmt: on


def _id(case: Any) -> str:
    return str(case.values[0] if hasattr(case, "values") else case[0])


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("cli_errors")
    store = folder / "store.gpkg"
    urbangrid.connect(store).close()
    out = {"store": str(store), "missing": str(folder / "missing"),
           "nostore": str(folder / "typo.gpkg"), "wrong": WRONG_DSN, "nodb": NO_DB,
           "wudaokou": str(data_path("osm/beijing_haidian_wudaokou.osm.bz2"))}
    for suffix in ("csv", "geojson", "shp", "osm", "graphml", "dat"):
        path = folder / f"empty.{suffix}"
        path.write_bytes(b"")
        out[f"empty_{suffix}"] = str(path)
    return out


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args)
    text = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        text += f"\nTraceback: uncaught {type(result.exception).__name__}: {result.exception}"
    return result.exit_code, text


@pytest.mark.parametrize(("case", "args"), CASES, ids=[_id(c) for c in CASES])
def test_bad_arguments_give_one_line_and_an_exit_code(
    case: str, args: list[str], places: dict[str, str]
) -> None:
    before = sorted(os.listdir(Path(places["store"]).parent))
    code, output = _run([a.format(**places) for a in args])
    assert code != 0, output
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and "Error:" not in output, output
    if code == 1:
        assert not errors[0].startswith("error: internal error"), output
    # A bad argument creates no store.
    after = sorted(os.listdir(Path(places["store"]).parent))
    assert [n for n in after if n not in before and n.endswith(".gpkg")] == [], after


@pytest.fixture
def reader_dsn(pg_dsn: str) -> Iterator[str]:
    role = f"ug_cli_{os.getpid()}_{time.monotonic_ns() % 10**8}"
    grant_readonly(pg_dsn, role, create=True, password="pw")
    try:
        yield psycopg.conninfo.make_conninfo(pg_dsn, user=role, password="pw")
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as con:
            con.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            con.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_read_only_role_gets_one_line_from_writing_commands(
    reader_dsn: str, places: dict[str, str], tmp_path: Path
) -> None:
    import geopandas as gpd
    import shapely

    survey = tmp_path / "s.geojson"
    gpd.GeoDataFrame(
        {"小类代码": ["0101"], "部件状态": ["完好"], "数据来源": ["实测"]},
        geometry=[shapely.Point(116.33, 39.99)], crs="EPSG:4326",
    ).to_file(survey, engine="pyogrio")
    code, output = _run(["db", "init", reader_dsn])  # nothing to apply: says so
    assert "Traceback" not in output and "up to date" in output, output
    for args in (
        ["load", "components", str(survey), "--store", reader_dsn, "--admin-code", "110108"],
        ["load", "rollback", "nope", "--store", reader_dsn],
        ["db", "grant-readonly", "somebody", reader_dsn],
    ):
        code, output = _run(args)
        assert code != 0 and "Traceback" not in output, (args, output)
        errors = [line for line in output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, (args, output)
    # Reading works for it.
    code, output = _run(["db", "info", reader_dsn])
    assert code == 0, output


# fmt: off
USAGE: list[Any] = [
    (["--bogus"], "error: no such option '--bogus'; see `urbangrid --help`"),
    (["nosuch"], "error: no such command 'nosuch'; see `urbangrid --help`"),
    (["grids", "generate"], "error: missing argument 'STORE'; see `urbangrid grids generate "
                            "--help`"),
    (["grids", "generate", "{nostore}", "--versio", "v"],
     "error: no such option '--versio' (did you mean '--version'?); see `urbangrid grids "
     "generate --help`"),
    (["grids", "generate", "{nostore}", "--version", "v", "--target-m2", "big"],
     "error: invalid value for '--target-m2': 'big' is not a valid float"),
    (["grids", "generate", "{nostore}", "--osm", "{wudaokou}", "--community-codes", "110108",
      "--version", "v"],
     "error: invalid value for --community-codes: '110108' is not a 12-digit community code "
     "(社区代码)"),
    (["grids", "diff", "{store}", "a", "b", "--lang", "fr"],
     "error: invalid value for '--lang': 'fr' is not one of 'zh', 'en'"),
]
# fmt: on


@pytest.mark.parametrize(("args", "line"), USAGE, ids=[" ".join(a[:2]) for a, _ in USAGE])
def test_usage_errors_are_one_error_line_with_exit_code_2(
    args: list[str], line: str, places: dict[str, str]
) -> None:
    """click printed its own three lines ("Usage: …", "Try …", "Error: Invalid value …")
    where every other failure is one line "error: …"; now usage errors are too."""
    result = CliRunner().invoke(main, [a.format(**places) for a in args], prog_name="urbangrid")
    assert result.exit_code == 2, result.output
    assert result.output.strip() == line, result.output

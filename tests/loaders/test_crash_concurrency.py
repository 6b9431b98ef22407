"""Crash safety (SIGKILL mid-load) on both stores, and 8 concurrent loaders into PostGIS."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyogrio
import pytest
import shapely

import urbangrid
from tests.loaders.test_survey_load import survey_frame
from urbangrid.loaders.pipeline import load_survey

#: County of new component IDs: these stores hold no district to take it from.
COUNTY = "320508"

TABLES = ("component", "component_serial", "load_changeset", "load_change")
ROOT = Path(__file__).resolve().parents[2]


def big_survey(copies: int) -> gpd.GeoDataFrame:
    """The bundled real components repeated `copies` times, copy k shifted 0.1(k + 1)
    degrees north (clear of the originals) with its own source keys: a district-sized
    survey of real street-furniture patterns."""
    base = survey_frame()
    parts = []
    for k in range(copies):
        part = base.copy()
        part["来源编号"] = part["来源编号"] + f"#copy{k}"
        shift = np.array([0.0, (k + 1) * 0.1])
        part["geometry"] = shapely.transform(part.geometry.values, lambda c, d=shift: c + d)
        parts.append(part)
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=base.crs)


def checksum(target: str) -> dict[str, str]:
    """MD5 of every row of the loader's tables, in fid order."""
    out = {}
    if target.endswith(".gpkg"):
        con = sqlite3.connect(target)
        for t in TABLES:
            h = hashlib.md5()
            for row in con.execute(f"SELECT * FROM {t} ORDER BY fid"):
                h.update(repr(row).encode())
            out[t] = h.hexdigest()
        con.close()
        return out
    with psycopg.connect(target) as con:
        for t in TABLES:
            out[t] = con.execute(
                f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY fid), '')) "
                f"FROM urbangrid.{t} x"
            ).fetchone()[0]
    return out


LOADER = """
import sys, urbangrid
from urbangrid.loaders.pipeline import load_survey
with urbangrid.connect(sys.argv[1]) as s:
    r = load_survey(s, sys.argv[2], admin_code="320508", commit=True,
                    by=sys.argv[3] if len(sys.argv) > 3 else None)
    print(r.changeset.summary() if r.changeset else r.summary(), flush=True)
"""


def _in_transaction(target: str, proc: subprocess.Popen[bytes], app: str) -> bool:
    if target.endswith(".gpkg"):
        journal = Path(target + "-journal")
        return journal.exists() and journal.stat().st_size > 0
    with psycopg.connect(target, autocommit=True) as con:
        row = con.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
            "AND backend_xid IS NOT NULL",
            (app,),
        ).fetchone()
    return bool(row and row[0])


@pytest.mark.parametrize("kind", ["gpkg", "postgis"])
def test_sigkill_mid_load_leaves_store_unchanged(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    target = str(tmp_path / "store.gpkg") if kind == "gpkg" else request.getfixturevalue("pg_dsn")
    first = tmp_path / "first.gpkg"
    pyogrio.write_dataframe(survey_frame(("cambridge_hydrants",)), first)
    with urbangrid.connect(target) as s:
        assert load_survey(s, first, admin_code=COUNTY, commit=True).changeset_id
    before = checksum(target)
    big = tmp_path / "big.gpkg"
    pyogrio.write_dataframe(big_survey(12), big)
    app = f"ug11_crash_{os.getpid()}"
    script = tmp_path / "loader.py"
    script.write_text(LOADER)
    log = tmp_path / "loader.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(script), target, str(big)],
            cwd=ROOT,
            env={**os.environ, "PGAPPNAME": app},
            stdout=out,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + 300
        while not _in_transaction(target, proc, app):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the loader never started writing"
            time.sleep(0.02)
        time.sleep(0.2)
        assert proc.poll() is None, "the load finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    if kind == "postgis":
        # The server notices the dead client and aborts its transaction.
        deadline = time.monotonic() + 30
        while _in_transaction(target, proc, app) and time.monotonic() < deadline:
            time.sleep(0.1)
    with urbangrid.connect(target) as s:  # a GeoPackage rolls its hot journal back on open
        s.count("component")
    assert checksum(target) == before
    with urbangrid.connect(target) as s:
        result = load_survey(s, big, admin_code=COUNTY, commit=True)
        assert result.changeset is not None
        assert result.changeset.count("added") == len(big_survey(12))
        assert s.count("component") == len(big_survey(12)) + 1960


def _overlapping_loads(tmp_path: Path, target: str, frame: pd.DataFrame, files: int,
                       parts: int) -> None:  # fmt: skip
    """`frame` cut into `parts` steps and written to `files` files, windows of 3 steps
    each overlapping the next by 2 (the last to the end: every row in 1–3 files),
    loaded into `target` by one loader process per file, all at once; each must
    finish."""
    step = len(frame) // parts
    paths = []
    for i in range(files):
        last = i == files - 1
        part = frame.iloc[i * step :] if last else frame.iloc[i * step : i * step + 3 * step]
        path = tmp_path / f"part{i}.gpkg"
        pyogrio.write_dataframe(part, path)
        paths.append(path)
    script = tmp_path / "loader.py"
    script.write_text(LOADER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), target, str(f), f"loader{i}"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i, f in enumerate(paths)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err.decode()[-2000:]


def test_eight_concurrent_loaders_into_postgis(pg_dsn: str, tmp_path: Path) -> None:
    frame = big_survey(2)
    n = len(frame)
    _overlapping_loads(tmp_path, pg_dsn, frame, 8, 10)
    with urbangrid.connect(pg_dsn) as s:
        comp = s.read("component", columns=["component_id", "source"])
        log = s.read("load_changeset")
        versions = s.read("component", columns=["component_id"], all_versions=True)
    assert len(comp) == n  # no row lost
    assert comp["source"].is_unique and comp["component_id"].is_unique  # none duplicated
    assert len(versions) == n  # overlapping rows were unchanged, not rewritten
    # A loader whose rows were all loaded by others changes nothing and records nothing.
    assert int(log["n_added"].sum()) == n and 1 <= len(log) <= 8
    serials = comp["component_id"].str[-6:].astype(int)
    keys = comp["component_id"].str[:10]
    assert not pd.DataFrame({"k": keys, "s": serials}).duplicated().any()


def test_four_concurrent_loaders_into_a_geopackage(tmp_path: Path) -> None:
    """SQLite lets one writer in at a time: four overlapping loads queue on the
    file (bounded busy wait, retried) and every row is stored once."""
    target = tmp_path / "store.gpkg"
    urbangrid.connect(target).close()
    frame = big_survey(1)
    n = len(frame)
    _overlapping_loads(tmp_path, str(target), frame, 4, 6)
    with urbangrid.connect(target) as s:
        comp = s.read("component", columns=["component_id", "source"])
        versions = s.read("component", columns=["component_id"], all_versions=True)
    assert len(comp) == n and len(versions) == n
    assert comp["source"].is_unique and comp["component_id"].is_unique

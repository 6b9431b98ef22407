"""Benchmark: load 316,851 component records into PostGIS and GeoPackage, against ogr2ogr.

316,851 is the component count of a real 70 km² street district (STANDARDS.md). The
records are the real bundled extracts (OSM street furniture of Beijing, Shanghai and
Helsinki; City of Cambridge MA street lights, hydrants, poles, signals, benches …:
18,392 records, points and lines) **tiled with offsets** (tile t shifted t × 0.01°
east) until the count is reached. They are written once to a FlatGeobuf file and once
to a GeoPackage; every contender then loads the same file in the same run:

* urbangrid → PostGIS (issue 4; from the GeoPackage too, issue 11): read the file
  (pyogrio through Arrow), validate every record against the demo city profile
  (subclass, state, source, geometry), allocate serials and 16-digit IDs, write
  (binary COPY with history columns; into the empty layer through a staging
  table whose indexes are built on two connections at once, then swapped in;
  the step-by-step route rebuilds them once, in its transaction). Timed two ways:
  ``append_component_file`` streams 50,000-record batches into one COPY, so the
  next batch is read and checked while the server stores this one; and step by
  step over the whole file (read, validate, IDs, ``Store.write``), for the
  figures per step. A load of 1,000 records before them loads the compiled COPY
  encoder (a one-off per process, 0.3–0.7 s, printed but not counted);
* urbangrid → GeoPackage: the same, into a fresh ``.gpkg`` (packed R*Tree);
* the loader route (issue 11): ``urbangrid load components FILE --store DSN`` into an
  empty store, in process (:func:`urbangrid.loaders.pipeline.load_survey`) and as the
  command (which adds interpreter start-up and imports): mapping, row validation,
  duplicate checks, change set and its record on top of the write;
* ``ogr2ogr`` (GDAL) → PostGIS and → GeoPackage: a plain copy, no validation, no IDs.

Each load into PostGIS goes into a fresh database; each GeoPackage is new.

Usage::

    python benchmarks/components_load.py [--dsn postgresql://...] [--workdir DIR]
        [--skip-loader]

``--dsn`` is a superuser DSN of the test server (default ``$URBANGRID_TEST_DSN`` or
``postgresql://urbangrid:urbangrid@localhost:5432/postgres``); a throw-away database
``ug_bench_components`` is created and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyogrio
import shapely
from psycopg import sql

import urbangrid
from urbangrid.loaders.osm_components import read_bundled_components
from urbangrid.spatial.components.codes import demo_profile
from urbangrid.spatial.components.records import (
    RECORD_COLUMNS,
    _assign_ids,
    append_component_file,
    validate_components,
)
from urbangrid.store import init_store

N_RECORDS = 316_851
DB = "ug_bench_components"
PG_TARGET_S = 5.0
BATCH_ROWS = 50_000


def build_records(n: int) -> gpd.GeoDataFrame:
    """Real bundled records, tiled with 0.01° eastward offsets up to ``n`` rows."""
    base, _ = read_bundled_components(demo_profile())
    tiles, t = [], 0
    while sum(len(x) for x in tiles) < n:
        tile = base.copy()
        tile["geometry"] = shapely.transform(
            tile.geometry.values, lambda xy, t=t: xy + np.array([t * 0.01, 0.0])
        )
        tile["source"] = tile["source"] + f"@tile{t}"
        # Each tile's extra fields differ, so no JSON text repeats across tiles.
        tile["extra"] = [
            json.dumps({**(v or {}), "tile": t}, ensure_ascii=False) for v in base["extra"]
        ]
        tiles.append(tile)
        t += 1
    out = gpd.GeoDataFrame(pd.concat(tiles, ignore_index=True), crs="EPSG:4326").iloc[:n]
    print(
        f"records: {len(out):,} = {len(base):,} real records tiled {t}× with 0.01° offsets "
        "(the data is tiled: 18 shifted copies of the bundled extracts)"
    )
    return out.reset_index(drop=True)


def read_records(path: Path) -> gpd.GeoDataFrame:
    """The file as a GeoDataFrame through Arrow (strings stay in Arrow buffers)."""
    return pyogrio.read_dataframe(path, use_arrow=True)


def urbangrid_stream(target: str, path: Path) -> dict[str, float]:
    """`append_component_file`: read, validate, IDs and COPY overlapped batch by batch."""
    steps: dict[str, float] = {}
    t = time.perf_counter()
    with urbangrid.connect(target) as store:
        steps["connect"] = time.perf_counter() - t
        t = time.perf_counter()
        append_component_file(store, path, demo_profile(), batch_rows=BATCH_ROWS)
        steps["streamed load"] = time.perf_counter() - t
    return steps


def urbangrid_load(target: str, path: Path) -> dict[str, float]:
    """Read, validate, allocate IDs, write; returns seconds per step."""
    profile = demo_profile()
    steps: dict[str, float] = {}
    t = time.perf_counter()
    with urbangrid.connect(target) as store:
        steps["connect"] = time.perf_counter() - t
        t = time.perf_counter()
        frame = read_records(path)
        steps["read"] = time.perf_counter() - t
        t = time.perf_counter()
        # What load_components does, step by step so each can be timed.
        frame = validate_components(frame, profile, source=path.name, check_json=False)
        steps["validate"] = time.perf_counter() - t
        t = time.perf_counter()
        frame = _assign_ids(store, frame, profile, profile.admin_code)
        steps["IDs"] = time.perf_counter() - t
        t = time.perf_counter()
        cols = [c for c in RECORD_COLUMNS if c in frame.columns]
        store.write("component", frame[[*cols, frame.geometry.name]], "append", source=path.name)
        steps["write"] = time.perf_counter() - t
    return steps


def loader_load(dsn: str, path: Path) -> None:
    from urbangrid.loaders.pipeline import load_survey

    with urbangrid.connect(dsn) as store:
        load_survey(store, path, "components", commit=True)


def _faster(ratio: float) -> str:
    return "urbangrid faster" if ratio > 1 else "ogr2ogr faster"


class Run:
    """Times contenders and prints one line each."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def time(self, label: str, fn: Callable[[], object]) -> float:
        t0 = time.perf_counter()
        out = fn()
        dt_s = time.perf_counter() - t0
        self.seconds[label] = dt_s
        detail = ""
        if isinstance(out, dict):
            detail = "  (" + ", ".join(f"{k} {v:.2f}" for k, v in out.items()) + ")"
        print(f"{label:<52} {dt_s:7.2f} s  {N_RECORDS / dt_s:>10,.0f} rows/s{detail}", flush=True)
        return dt_s

    def ratio(self, ogr: str, ours: str, what: str) -> None:
        if ogr in self.seconds and ours in self.seconds:
            r = self.seconds[ogr] / self.seconds[ours]
            print(
                f"{what}: ogr2ogr {self.seconds[ogr]:.2f} s / urbangrid "
                f"{self.seconds[ours]:.2f} s = {r:.2f}× ({_faster(r)})"
            )


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} cores)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--dsn",
        default=os.environ.get(
            "URBANGRID_TEST_DSN", "postgresql://urbangrid:urbangrid@localhost:5432/postgres"
        ),
    )
    ap.add_argument("--workdir", default=None)
    ap.add_argument(
        "--skip-loader",
        action="store_true",
        help="leave out the loader route (the slowest contender)",
    )
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="ug_bench_"))
    work.mkdir(parents=True, exist_ok=True)

    records = build_records(N_RECORDS)
    fgb = work / "components_316851.fgb"
    gpkg_in = work / "components_316851.gpkg"
    for path, driver in ((fgb, "FlatGeobuf"), (gpkg_in, "GPKG")):
        path.unlink(missing_ok=True)
        records.to_file(path, driver=driver, engine="pyogrio", layer="components")
        print(f"input file: {path} ({path.stat().st_size / 1e6:.1f} MB, {driver})")
    t0 = time.perf_counter()
    validate_components(records, demo_profile())
    print(
        f"(validation alone, JSON parsed in Python: {time.perf_counter() - t0:.2f} s; the "
        "loads below leave JSON to the store, which parses it once)"
    )
    print(f"urbangrid {urbangrid.__version__}, Python {sys.version.split()[0]}, {_load()}")

    admin = psycopg.connect(args.dsn, autocommit=True)
    pg_dsn = psycopg.conninfo.make_conninfo(args.dsn, dbname=DB)
    info = psycopg.conninfo.conninfo_to_dict(pg_dsn)
    pg = "PG:" + " ".join(f"{k}={v}" for k, v in info.items() if v is not None)
    ogr = shutil.which("ogr2ogr")

    def fresh_db() -> None:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB)))
        store, _ = init_store(pg_dsn)  # schema creation is not part of the load
        store.close()

    def count(table: str) -> int:
        with psycopg.connect(pg_dsn) as con:
            return con.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(table))
            ).fetchone()[0]

    def ogr2ogr(dst_driver: str, dst: str, src: Path) -> Callable[[], object]:
        cmd = [
            ogr or "ogr2ogr",
            "-f",
            dst_driver,
            dst,
            str(src),
            "-nln",
            "ogr_components",
            "-nlt",
            "GEOMETRY",
            "-overwrite",
        ]
        if dst_driver == "PostgreSQL":
            cmd += ["-lco", "GEOMETRY_NAME=geom"]
        return lambda: subprocess.run(cmd, check=True)

    print()
    run = Run()
    pg_fgb = "urbangrid FlatGeobuf → PostGIS (streamed, 50k batches)"
    pg_steps = "urbangrid FlatGeobuf → PostGIS (one batch, step by step)"
    pg_gpkg = "urbangrid GeoPackage → PostGIS (issue 11)"
    gp_fgb = "urbangrid FlatGeobuf → GeoPackage (read+validate+IDs)"
    try:
        # One small load first: it loads the compiled COPY encoder (numba's disk cache),
        # a one-off per process, so the two PostGIS routes below compare like for like.
        small = work / "warm_up.fgb"
        small.unlink(missing_ok=True)
        records.iloc[:1000].to_file(small, driver="FlatGeobuf", engine="pyogrio")
        fresh_db()
        t0 = time.perf_counter()
        urbangrid_stream(pg_dsn, small)
        print(
            f"warm-up load of 1,000 records (loads the compiled encoder once per process): "
            f"{time.perf_counter() - t0:.2f} s, not counted below"
        )
        fresh_db()
        run.time(pg_fgb, lambda: urbangrid_stream(pg_dsn, fgb))
        assert count("urbangrid.component") == N_RECORDS
        fresh_db()
        run.time(pg_steps, lambda: urbangrid_load(pg_dsn, fgb))
        assert count("urbangrid.component") == N_RECORDS
        fresh_db()
        run.time(pg_gpkg, lambda: urbangrid_stream(pg_dsn, gpkg_in))
        assert count("urbangrid.component") == N_RECORDS
        out_gpkg = work / "urbangrid.gpkg"
        out_gpkg.unlink(missing_ok=True)
        urbangrid.connect(out_gpkg).close()  # schema creation is not part of the load
        run.time(gp_fgb, lambda: urbangrid_load(str(out_gpkg), fgb))
        with urbangrid.connect(out_gpkg) as check:
            assert check.count("component") == N_RECORDS
        if ogr is None:
            print("ogr2ogr not found: install GDAL (apt-get install gdal-bin) for the comparison")
        else:
            version = subprocess.run([ogr, "--version"], capture_output=True, text=True).stdout
            print(f"ogr2ogr: {version.strip()}")
            run.time("ogr2ogr FlatGeobuf → PostGIS (copy only)", ogr2ogr("PostgreSQL", pg, fgb))
            assert count("ogr_components") == N_RECORDS
            run.time("ogr2ogr GeoPackage → PostGIS (copy only)", ogr2ogr("PostgreSQL", pg, gpkg_in))
            assert count("ogr_components") == N_RECORDS
            ogr_gpkg = work / "ogr.gpkg"
            ogr_gpkg.unlink(missing_ok=True)
            run.time(
                "ogr2ogr FlatGeobuf → GeoPackage (copy only)", ogr2ogr("GPKG", str(ogr_gpkg), fgb)
            )
        if not args.skip_loader:
            fresh_db()
            run.time(
                "loader route in process (load_survey, GeoPackage)",
                lambda: loader_load(pg_dsn, gpkg_in),
            )
            assert count("urbangrid.component") == N_RECORDS
            fresh_db()
            cli = shutil.which("urbangrid") or str(Path(sys.executable).with_name("urbangrid"))
            run.time(
                "loader route: urbangrid load components (command)",
                lambda: subprocess.run(
                    [cli, "load", "components", str(gpkg_in), "--store", pg_dsn],
                    check=True,
                    stdout=subprocess.DEVNULL,
                ),
            )
            assert count("urbangrid.component") == N_RECORDS
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))
        admin.close()
    print()
    print(f"after the run: {_load()}")
    pg_s = run.seconds[pg_fgb]
    verdict = "met" if pg_s <= PG_TARGET_S else "NOT met"
    print(f"PostGIS target ≤ {PG_TARGET_S:.0f} s including validation: {verdict} ({pg_s:.2f} s)")
    run.ratio("ogr2ogr FlatGeobuf → PostGIS (copy only)", pg_fgb, "into PostGIS from FlatGeobuf")
    run.ratio(
        "ogr2ogr GeoPackage → PostGIS (copy only)",
        pg_gpkg,
        "into PostGIS from GeoPackage (issue 11)",
    )
    run.ratio("ogr2ogr FlatGeobuf → GeoPackage (copy only)", gp_fgb, "into GeoPackage")
    run.ratio(
        "ogr2ogr GeoPackage → PostGIS (copy only)",
        "loader route in process (load_survey, GeoPackage)",
        "loader route (in process) vs ogr2ogr from GeoPackage",
    )


if __name__ == "__main__":
    main()

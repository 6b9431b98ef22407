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
  figures per step. Nothing is compiled at run time (the COPY encoder is Cython
  built at install since issue 21), so no warm-up load precedes the timed ones;
* urbangrid → GeoPackage: the same, into a fresh ``.gpkg`` (packed R*Tree);
* the loader route (issue 11): ``urbangrid load components FILE --store DSN`` into an
  empty store, in process (:func:`urbangrid.loaders.pipeline.load_survey`) and as the
  command (which adds interpreter start-up and imports): mapping, row validation,
  duplicate checks, change set and its record on top of the write. Into an empty
  layer it takes the staged route too (issue 21): the COPY goes into a staging table
  on a second connection, the indexes are built on two connections at once, and the
  swap joins the load's transaction, so the rows and the change set record commit
  together;
* ``ogr2ogr`` (GDAL) → PostGIS and → GeoPackage: a plain copy, no validation, no IDs.

Like for like: **cold against cold**. Every contender, urbangrid and ogr2ogr alike, is
a new process per run (interpreter or binary start-up, imports and the load), timed
from outside, ``--repeat`` runs each, each run into a fresh database or a new file
(schema creation not timed); the median and the best are printed and the ratios are
ogr2ogr's median over urbangrid's median (and best over best). The urbangrid routes
run as ``python benchmarks/components_load.py --child ROUTE TARGET FILE``, except the
loader route, which is the ``urbangrid load components`` command itself. ``--steps``
adds the step-by-step figures of one warm in-process load (informative, no ratio).

Usage::

    python benchmarks/components_load.py [--dsn postgresql://...] [--workdir DIR]
        [--repeat 3] [--skip-loader] [--steps]

``--dsn`` is a superuser DSN of the test server (default ``$URBANGRID_TEST_DSN`` or
``postgresql://urbangrid:urbangrid@localhost:5432/postgres``); a throw-away database
``ug_bench_components`` is created and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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
        profile = demo_profile()
        # New IDs take their county from admin_code (never the profile's own, issue 19).
        append_component_file(
            store, path, profile, admin_code=profile.admin_code, batch_rows=BATCH_ROWS
        )
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
        load_survey(store, path, "components", commit=True, admin_code="320508")


def _faster(ratio: float) -> str:
    return "urbangrid faster" if ratio > 1 else "ogr2ogr faster"


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} cores)"


def _threads(admin: psycopg.Connection) -> str:
    """What runs at once in each contender (client threads, server backends)."""
    (workers,) = admin.execute("SHOW max_parallel_maintenance_workers").fetchone() or ("?",)
    return (
        "threads: ogr2ogr one client thread, one server backend (its index builds one after "
        "another); urbangrid streamed: read/validate thread + COPY writer thread, one backend, "
        "then the staged index build on two connections at once; urbangrid load components: "
        "one client thread + the in-file duplicate search in a second thread (while the rows "
        "are checked) + the COPY writer thread, one backend for the COPY (into a staging "
        "table, on a second connection), then the index builds on two connections at once "
        "(each taking the next index from one queue, GiST first) and the swap in the load's "
        f"transaction. Server B-tree builds may add up to {workers} parallel workers "
        f"(max_parallel_maintenance_workers) for either. {os.cpu_count()} cores."
    )


def child(route: str, target: str, path: str) -> None:
    """One urbangrid load in this (new) process: ``stream`` or ``steps``."""
    if route == "stream":
        urbangrid_stream(target, Path(path))
    else:
        urbangrid_load(target, Path(path))


class Contender:
    """A command timed cold: a new process per run, after ``prepare`` (not timed)."""

    def __init__(self, label: str, cmd: list[str], prepare: Callable[[], None],
                 check: Callable[[], None]) -> None:  # fmt: skip
        self.label, self.cmd, self.prepare, self.check = label, cmd, prepare, check
        self.times: list[float] = []
        self.steps: list[str] = []  # the command's own "took … (read …, apply …)" line

    def run(self, repeat: int) -> None:
        for _ in range(repeat):
            self.prepare()
            t = time.perf_counter()
            done = subprocess.run(self.cmd, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - t
            self.steps += [x for x in done.stdout.splitlines() if x.startswith("took ")][-1:]
            if done.returncode != 0:
                last = (done.stderr.strip() or "?").splitlines()[-1]
                print(f"{self.label:<58} did not finish (exit {done.returncode}): {last}")
                self.times = []
                return
            self.times.append(elapsed)
            self.check()
        med = statistics.median(self.times)
        print(f"{self.label:<58} median {med:6.2f} s  best {min(self.times):6.2f} s  "
              f"{N_RECORDS / med:>9,.0f} rows/s  runs {', '.join(f'{t:.2f}' for t in self.times)}",
              flush=True)  # fmt: skip
        if self.steps:  # the command's own split of each run (interpreter start not in it)
            print(f"{'':<58} {' | '.join(self.steps)}")


def _ratio(ogr: Contender | None, ours: Contender | None, what: str) -> None:
    if ogr is None or ours is None or not ogr.times or not ours.times:
        return
    r = statistics.median(ogr.times) / statistics.median(ours.times)
    rb = min(ogr.times) / min(ours.times)
    print(f"{what}: ogr2ogr / urbangrid = {r:.2f}× median, {rb:.2f}× best ({_faster(r)})")
    print("RESULT " + json.dumps({
        "benchmark": "components_load", "what": f"{N_RECORDS:,} components {what}",
        "peer": ogr.label, "mode": "cold (new process each)", "statistic": "median",
        "urbangrid_s": statistics.median(ours.times), "peer_s": statistics.median(ogr.times),
        "ratio": r, "command": "python benchmarks/components_load.py"}, ensure_ascii=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dsn", default=os.environ.get(
        "URBANGRID_TEST_DSN", "postgresql://urbangrid:urbangrid@localhost:5432/postgres"))
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-loader", action="store_true",
                    help="leave out the loader route (the slowest contender)")
    ap.add_argument("--steps", action="store_true",
                    help="also one warm in-process load, step by step")
    ap.add_argument("--only", default=None, metavar="ROUTES",
                    help="comma-separated routes to run: fgb_pg, gpkg_pg, fgb_gpkg, loader "
                         "(each against its ogr2ogr peer; the loader's is gpkg_pg)")
    ap.add_argument("--child", nargs=3, metavar=("ROUTE", "TARGET", "FILE"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    work = Path(args.workdir or tempfile.mkdtemp(prefix="ug_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    records = build_records(N_RECORDS)
    fgb = work / "components_316851.fgb"
    gpkg_in = work / "components_316851.gpkg"
    for path, driver in ((fgb, "FlatGeobuf"), (gpkg_in, "GPKG")):
        path.unlink(missing_ok=True)
        records.to_file(path, driver=driver, engine="pyogrio", layer="components")
        print(f"input file: {path} ({path.stat().st_size / 1e6:.1f} MB, {driver})")
    print(f"urbangrid {urbangrid.__version__}, Python {sys.version.split()[0]}, {_load()}")
    admin = psycopg.connect(args.dsn, autocommit=True)
    pg_dsn = psycopg.conninfo.make_conninfo(args.dsn, dbname=DB)
    info = psycopg.conninfo.conninfo_to_dict(pg_dsn)
    pg = "PG:" + " ".join(f"{k}={v}" for k, v in info.items() if v is not None)
    ogr = shutil.which("ogr2ogr")
    out_gpkg = work / "urbangrid.gpkg"
    ogr_gpkg = work / "ogr.gpkg"

    def fresh_db() -> None:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB)))
        store, _ = init_store(pg_dsn)  # schema creation is not part of the load
        store.close()

    def fresh_gpkg(path: Path, schema: bool) -> Callable[[], None]:
        def go() -> None:
            path.unlink(missing_ok=True)
            if schema:
                urbangrid.connect(path).close()
        return go

    def count_pg(table: str) -> Callable[[], None]:
        def go() -> None:
            with psycopg.connect(pg_dsn) as con:
                row = con.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(table)))
                assert row.fetchone()[0] == N_RECORDS  # type: ignore[index]
        return go

    def count_gpkg() -> None:
        with urbangrid.connect(out_gpkg) as check:
            assert check.count("component") == N_RECORDS

    def ogr_cmd(dst_driver: str, dst: str, src: Path) -> list[str]:
        cmd = [ogr or "ogr2ogr", "-f", dst_driver, dst, str(src), "-nln", "ogr_components",
               "-nlt", "GEOMETRY", "-overwrite"]  # fmt: skip
        return cmd + (["-lco", "GEOMETRY_NAME=geom"] if dst_driver == "PostgreSQL" else [])

    me = [sys.executable, str(Path(__file__).resolve()), "--child"]
    ours = {
        "fgb_pg": Contender("urbangrid FlatGeobuf → PostGIS (streamed)",
                            [*me, "stream", pg_dsn, str(fgb)], fresh_db,
                            count_pg("urbangrid.component")),
        "gpkg_pg": Contender("urbangrid GeoPackage → PostGIS (streamed)",
                             [*me, "stream", pg_dsn, str(gpkg_in)], fresh_db,
                             count_pg("urbangrid.component")),
        "fgb_gpkg": Contender("urbangrid FlatGeobuf → GeoPackage",
                              [*me, "steps", str(out_gpkg), str(fgb)],
                              fresh_gpkg(out_gpkg, True), count_gpkg),
    }  # fmt: skip
    if not args.skip_loader:
        cli = shutil.which("urbangrid") or str(Path(sys.executable).with_name("urbangrid"))
        ours["loader"] = Contender("urbangrid load components (GeoPackage → PostGIS)",
                                   [cli, "load", "components", str(gpkg_in), "--store", pg_dsn,
                                    "--admin-code", "320508"],
                                   fresh_db, count_pg("urbangrid.component"))  # fmt: skip
    peers: dict[str, Contender] = {}
    if ogr is None:
        print("ogr2ogr not found: install GDAL (apt-get install gdal-bin) for the comparison")
    else:
        version = subprocess.run([ogr, "--version"], capture_output=True, text=True).stdout
        print(f"ogr2ogr: {version.strip()}")
        peers = {
            "fgb_pg": Contender("ogr2ogr FlatGeobuf → PostGIS (copy only)",
                                ogr_cmd("PostgreSQL", pg, fgb), fresh_db,
                                count_pg("ogr_components")),
            "gpkg_pg": Contender("ogr2ogr GeoPackage → PostGIS (copy only)",
                                 ogr_cmd("PostgreSQL", pg, gpkg_in), fresh_db,
                                 count_pg("ogr_components")),
            "fgb_gpkg": Contender("ogr2ogr FlatGeobuf → GeoPackage (copy only)",
                                  ogr_cmd("GPKG", str(ogr_gpkg), fgb),
                                  fresh_gpkg(ogr_gpkg, False), lambda: None),
        }  # fmt: skip
    print(f"\ncold: a new process per run, {args.repeat} runs each, fresh target each run")
    print(_threads(admin))
    only = set((args.only or "fgb_pg,gpkg_pg,fgb_gpkg,loader").split(","))
    try:
        for key in ("fgb_pg", "gpkg_pg", "fgb_gpkg", "loader"):
            if key not in only and not (key == "gpkg_pg" and "loader" in only):
                continue
            for side in (ours, peers):
                if key in side and (key in only or side is peers):
                    side[key].run(args.repeat)
        if args.steps:
            fresh_db()
            t = time.perf_counter()
            steps = urbangrid_load(pg_dsn, fgb)
            print(f"one warm in-process load, step by step: {time.perf_counter() - t:.2f} s ("
                  + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()) + ")")
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))
        admin.close()
    print(f"\nafter the run: {_load()}")
    if ours["fgb_pg"].times:
        pg_s = statistics.median(ours["fgb_pg"].times)
        verdict = "met" if pg_s <= PG_TARGET_S else "NOT met"
        print(f"PostGIS target ≤ {PG_TARGET_S:.0f} s including validation (cold process): "
              f"{verdict} ({pg_s:.2f} s)")  # fmt: skip
    _ratio(peers.get("fgb_pg"), ours["fgb_pg"], "into PostGIS from FlatGeobuf")
    _ratio(peers.get("gpkg_pg"), ours["gpkg_pg"], "into PostGIS from GeoPackage")
    _ratio(peers.get("fgb_gpkg"), ours["fgb_gpkg"], "into GeoPackage")
    _ratio(peers.get("gpkg_pg"), ours.get("loader"), "loader command from GeoPackage")


if __name__ == "__main__":
    main()

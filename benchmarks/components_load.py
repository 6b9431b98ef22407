"""Benchmark: load 316,851 component records into PostGIS and GeoPackage, against ogr2ogr.

316,851 is the component count of a real 70 km² street district (STANDARDS.md). The
records are the real bundled extracts (OSM street furniture of Beijing, Shanghai and
Helsinki; City of Cambridge MA street lights, hydrants, poles, signals, benches …:
18,392 records, points and lines) **tiled with offsets** (tile t shifted t × 0.01°
east) until the count is reached. They are written once to a FlatGeobuf file; every
contender then loads that same file in the same run:

* urbangrid → PostGIS: read the file, validate every record against the demo city
  profile (subclass, state, source, geometry), allocate serials and 16-digit IDs,
  bulk COPY with history columns;
* urbangrid → GeoPackage: the same, into a fresh ``.gpkg`` (R*Tree kept by triggers);
* ``ogr2ogr`` (GDAL) → PostGIS and → GeoPackage: a plain copy, no validation, no IDs.

Usage::

    python benchmarks/components_load.py [--dsn postgresql://...] [--workdir DIR]

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
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql
from pyogrio._compat import HAS_PYARROW

import urbangrid
from urbangrid.loaders.osm_components import read_bundled_components
from urbangrid.spatial.codes import demo_profile
from urbangrid.spatial.components import validate_components, write_components
from urbangrid.store import init_store

N_RECORDS = 316_851
DB = "ug_bench_components"


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
    print(f"records: {len(out):,} = {len(base):,} real records tiled {t}× with 0.01° offsets")
    return out.reset_index(drop=True)


def timed(label: str, n: int, fn: object) -> float:
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    dt_s = time.perf_counter() - t0
    print(f"{label:<44} {dt_s:7.2f} s  {n / dt_s:>10,.0f} rows/s")
    return dt_s


def urbangrid_load(target: str, path: Path) -> None:
    profile = demo_profile()
    with urbangrid.connect(target) as store:
        frame = gpd.read_file(path, engine="pyogrio", use_arrow=HAS_PYARROW)
        write_components(store, frame, profile, mode="append", source=path.name)


def _faster(ratio: float) -> str:
    return "urbangrid faster" if ratio > 1 else "ogr2ogr faster"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--dsn",
        default=os.environ.get(
            "URBANGRID_TEST_DSN", "postgresql://urbangrid:urbangrid@localhost:5432/postgres"
        ),
    )
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="ug_bench_"))
    work.mkdir(parents=True, exist_ok=True)

    records = build_records(N_RECORDS)
    src = work / "components_316851.fgb"
    records.to_file(src, driver="FlatGeobuf", engine="pyogrio")
    print(f"input file: {src} ({src.stat().st_size / 1e6:.1f} MB, FlatGeobuf)")
    t0 = time.perf_counter()
    validate_components(records, demo_profile())
    print(f"(validation alone: {time.perf_counter() - t0:.2f} s, included in the urbangrid rows)")

    admin = psycopg.connect(args.dsn, autocommit=True)
    pg_dsn = psycopg.conninfo.make_conninfo(args.dsn, dbname=DB)

    def fresh_db() -> None:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB)))
        store, _ = init_store(pg_dsn)
        store.close()

    print()
    results = {}
    try:
        fresh_db()
        results["urbangrid → PostGIS (read+validate+IDs+COPY)"] = timed(
            "urbangrid → PostGIS (read+validate+IDs+COPY)",
            N_RECORDS,
            lambda: urbangrid_load(pg_dsn, src),
        )
        gpkg = work / "urbangrid.gpkg"
        gpkg.unlink(missing_ok=True)
        urbangrid.connect(gpkg).close()  # schema creation is not part of the load
        with urbangrid.connect(pg_dsn) as check:
            assert check.count("component") == N_RECORDS
        results["urbangrid → GeoPackage (read+validate+IDs)"] = timed(
            "urbangrid → GeoPackage (read+validate+IDs)",
            N_RECORDS,
            lambda: urbangrid_load(str(gpkg), src),
        )
        ogr = shutil.which("ogr2ogr")
        if ogr is None:
            print("ogr2ogr not found: install GDAL (apt-get install gdal-bin) for the comparison")
        else:
            info = psycopg.conninfo.conninfo_to_dict(pg_dsn)
            pg = "PG:" + " ".join(f"{k}={v}" for k, v in info.items() if v is not None)
            version = subprocess.run([ogr, "--version"], capture_output=True, text=True).stdout
            print(f"ogr2ogr: {version.strip()}")
            results["ogr2ogr → PostGIS"] = timed(
                "ogr2ogr → PostGIS (copy only)",
                N_RECORDS,
                lambda: subprocess.run(
                    [
                        ogr,
                        "-f",
                        "PostgreSQL",
                        pg,
                        str(src),
                        "-nln",
                        "ogr_components",
                        "-nlt",
                        "GEOMETRY",
                        "-lco",
                        "GEOMETRY_NAME=geom",
                        "-overwrite",
                    ],
                    check=True,
                ),
            )
            out = work / "ogr.gpkg"
            out.unlink(missing_ok=True)
            results["ogr2ogr → GeoPackage"] = timed(
                "ogr2ogr → GeoPackage (copy only)",
                N_RECORDS,
                lambda: subprocess.run(
                    [
                        ogr,
                        "-f",
                        "GPKG",
                        str(out),
                        str(src),
                        "-nln",
                        "ogr_components",
                        "-nlt",
                        "GEOMETRY",
                    ],
                    check=True,
                ),
            )
            with psycopg.connect(pg_dsn) as con:
                n = con.execute("SELECT count(*) FROM ogr_components").fetchone()[0]
            assert n == N_RECORDS, n
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))
        admin.close()
    pg_s = results["urbangrid → PostGIS (read+validate+IDs+COPY)"]
    print()
    verdict = "met" if pg_s <= 5 else "NOT met"
    print(f"PostGIS target ≤ 5 s including validation: {verdict} ({pg_s:.2f} s)")
    if "ogr2ogr → PostGIS" in results:
        ratio = results["ogr2ogr → PostGIS"] / pg_s
        print(f"urbangrid vs ogr2ogr into PostGIS: {ratio:.2f}× ({_faster(ratio)})")
        ratio = (
            results["ogr2ogr → GeoPackage"] / results["urbangrid → GeoPackage (read+validate+IDs)"]
        )
        print(f"urbangrid vs ogr2ogr into GeoPackage: {ratio:.2f}× ({_faster(ratio)})")


if __name__ == "__main__":
    main()

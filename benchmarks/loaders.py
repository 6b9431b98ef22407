"""Benchmark: the survey loader's own overhead, step by step (issue 11).

Two measurements, each printed as seconds per step:

* **re-run**: a 42,000-row component survey (GeoPackage, a contractor's layout:
  Chinese field names and values, no IDs, source keys) loaded into an empty store,
  then loaded again unchanged — the second run must find 42,000 unchanged rows and
  write nothing. Into a fresh GeoPackage and a fresh PostGIS database.
* **fresh load**: 316,851 rows (the component count of a real 70 km² district)
  from a GeoPackage into an empty PostGIS store, as
  ``urbangrid load components FILE --store DSN`` does it. The loader's own steps
  (read, map, validate, the diff against the empty store, the change-set record)
  are timed apart from the store write (``Store.write``: helper code in
  ``urbangrid/store``) and the ID allocation (``spatial.components``). In the same
  run, into fresh databases: ``ogr2ogr`` GeoPackage → PostGIS of the same file (a
  plain copy: no validation, no IDs, no change set) and the ratio, and the command
  itself (``urbangrid load components FILE --store DSN --on-invalid skip``, wall
  time with interpreter start-up and imports).

The rows are the real bundled extracts (OSM street furniture of Beijing, Shanghai
and Helsinki; City of Cambridge MA street lights, hydrants, benches …: 18,392
records) tiled with 0.01° eastward offsets, each tile with its own source keys.

Usage::

    python benchmarks/loaders.py [--dsn postgresql://...] [--workdir DIR] [--repeat 3]
                                 [--rows 42000] [--fresh-rows 316851] [--skip-fresh]
                                 [--skip-rerun] [--skip-cli]

``--dsn`` is a superuser DSN (default ``$URBANGRID_TEST_DSN`` or the local test
server); throw-away databases ``ug_bench_loaders_*`` are created and dropped.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyogrio
import shapely
from psycopg import sql

import urbangrid
from urbangrid.loaders import pipeline
from urbangrid.loaders.osm_components import BUNDLED_SOURCES, read_bundled_components
from urbangrid.spatial.components import records as components
from urbangrid.spatial.components.codes import demo_profile
from urbangrid.store import init_store

DEFAULT_DSN = "postgresql://urbangrid:urbangrid@localhost:5432/postgres"


def survey(n: int) -> gpd.GeoDataFrame:
    """`n` real component records in a contractor's layout, tiles 0.01° apart."""
    rec, _ = read_bundled_components(demo_profile(), BUNDLED_SOURCES)
    owner = rec["dept_name2"] if "dept_name2" in rec.columns else pd.Series(None, index=rec.index)
    base = pd.DataFrame(
        {
            "小类代码": rec["subclass_code"].astype(str),
            "部件名称": rec["name"].where(rec["name"].notna(), None),
            "部件状态": "好",
            "数据来源": "实测",
            "来源编号": rec["source"].astype(str),
            "权属单位": owner.where(owner.notna(), "城市管理局"),
            "备注": "普查2024",
        }
    )
    geoms = rec.geometry.values
    parts, t = [], 0
    while sum(len(p) for p in parts) < n:
        tile = base.copy()
        tile["来源编号"] = tile["来源编号"] + f"#t{t}"
        tile["geometry"] = shapely.transform(geoms, lambda c, t=t: c + np.array([t * 0.01, 0.0]))
        parts.append(tile)
        t += 1
    frame = pd.concat(parts, ignore_index=True).iloc[:n]
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


@contextlib.contextmanager
def fresh_db(admin_dsn: str, name: str) -> Iterator[str]:
    with psycopg.connect(admin_dsn, autocommit=True) as con:
        con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = psycopg.conninfo.make_conninfo(admin_dsn, dbname=name)
    store, _ = init_store(dsn)
    store.close()
    try:
        yield dsn
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as con:
            con.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


class Timer:
    """Seconds per load step (from the progress callback) and per wrapped function."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []
        self.inner: dict[str, float] = {}

    def progress(self, step: str) -> None:
        self.steps.append((step, time.perf_counter()))

    def wrap(self, module: Any, name: str, label: str) -> Callable[[], None]:
        """Time every call of module.name under `label`; returns the undo."""
        original = getattr(module, name)
        self.inner.setdefault(label, 0.0)  # printed in the order wrapped

        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.inner[label] = self.inner.get(label, 0.0) + time.perf_counter() - t

        setattr(module, name, timed)
        return lambda: setattr(module, name, original)

    def report(self, end: float) -> str:
        marks = [*self.steps, ("", end)]
        parts = [f"{s} {b - a:.2f}" for (s, a), (_, b) in itertools.pairwise(marks)]
        inner = ", ".join(f"{k} {v:.2f}" for k, v in self.inner.items())
        total = end - self.steps[0][1]
        return f"{total:.2f} s: " + ", ".join(parts) + (f"  [inside: {inner}]" if inner else "")


def timed_load(target: str, path: Path, *, inner: bool = False) -> tuple[Any, str, float]:
    """One committed load of `path` into `target`: result, seconds per step, total seconds."""
    timer = Timer()
    undo = []
    if inner:
        # The validate step = the schema checks (loaders.validate), the component
        # checks (the loader's subclass names + spatial.components.validate_components)
        # and the duplicates within the file. The apply step = ID allocation
        # (spatial.components) + the loader's diff + apply_changeset, which is the
        # store write of the layer (Store.write, in urbangrid/store) and of the
        # change-set record (load_changeset, load_change).
        undo = [
            timer.wrap(pipeline, "validate_rows", "validate_rows"),
            timer.wrap(pipeline, "_component_checks", "component checks"),
            timer.wrap(components, "validate_components", "of which validate_components"),
            timer.wrap(pipeline, "duplicates_in_file", "duplicates in file"),
            timer.wrap(pipeline, "_assign_component_ids", "ids"),
            timer.wrap(pipeline, "diff_rows", "diff"),
            timer.wrap(pipeline, "apply_changeset", "apply_changeset"),
        ]
    try:
        with urbangrid.connect(target) as store:
            if inner:
                writes: dict[str, float] = {}
                original = store.write

                def write(layer: str, *a: Any, **k: Any) -> Any:
                    t = time.perf_counter()
                    try:
                        return original(layer, *a, **k)
                    finally:
                        label = f"write {layer}"
                        writes[label] = writes.get(label, 0.0) + time.perf_counter() - t

                store.write = write  # type: ignore[method-assign]
            # the benchmark's components carry IDs of the demo profile's county (320508)
            result = pipeline.load_survey(
                store, path, commit=True, on_invalid="skip", progress=timer.progress,
                admin_code="320508",
            )
            end = time.perf_counter()
            if inner:
                timer.inner.update(writes)
    finally:
        for u in undo:
            u()
    return result, timer.report(end), end - timer.steps[0][1]


def ogr2ogr_command(dsn: str, path: Path) -> list[str]:
    """``ogr2ogr`` copying `path` into a new table of `dsn` (its COPY path)."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    pg = "PG:" + " ".join(f"{k}={v}" for k, v in info.items() if v is not None)
    cmd = [shutil.which("ogr2ogr") or "ogr2ogr", "-f", "PostgreSQL", pg, str(path)]
    return [*cmd, "-nln", "ogr_components", "-nlt", "GEOMETRY", "-lco", "GEOMETRY_NAME=geom"]


def loader_command(dsn: str, path: Path) -> list[str]:
    """``urbangrid load components FILE --store DSN --on-invalid skip``."""
    script = Path(sys.executable).with_name("urbangrid")  # the installed command
    start = [str(script)] if script.exists() else [sys.executable, "-m", "urbangrid.cli.main"]
    cmd = [*start, "load", "components", str(path), "--admin-code", "320508"]
    return [*cmd, "--store", dsn, "--on-invalid", "skip"]


def timed_command(cmd: list[str]) -> float:
    """Wall seconds of one run of `cmd` (start-up included); its output is shown only
    when it fails."""
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if done.returncode:
        print(done.stdout, done.stderr, sep="\n")
        raise SystemExit(f"{cmd[0]} exited with {done.returncode}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dsn", default=os.environ.get("URBANGRID_TEST_DSN", DEFAULT_DSN))
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--rows", type=int, default=42_000)
    ap.add_argument("--fresh-rows", type=int, default=316_851)
    ap.add_argument("--skip-fresh", action="store_true")
    ap.add_argument("--skip-rerun", action="store_true", help="only the fresh load")
    ap.add_argument("--skip-cli", action="store_true", help="no run of the command")
    ap.add_argument("--repeat", type=int, default=3, help="unchanged re-runs per store")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="ug_bench_loaders_"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
        f"{os.getloadavg()[2]:.2f}; workdir {work}"
    )
    try:
        path = work / f"survey_{args.rows}.gpkg"
        if not args.skip_rerun:
            pyogrio.write_dataframe(survey(args.rows), path, layer="部件")
        for kind in () if args.skip_rerun else ("gpkg", "postgis"):
            with contextlib.ExitStack() as stack:
                if kind == "gpkg":
                    target = str(work / "rerun.gpkg")
                    Path(target).unlink(missing_ok=True)
                else:
                    target = stack.enter_context(fresh_db(args.dsn, "ug_bench_loaders_rerun"))
                first, t1, _ = timed_load(target, path)
                print(f"{kind:8s} {args.rows} rows, first load  {t1}")
                for k in range(args.repeat):
                    again, t2, _ = timed_load(target, path)
                    assert again.changeset is not None and again.changeset.empty
                    assert again.changeset.unchanged == args.rows - len(first.set_aside)
                    print(f"{kind:8s} {args.rows} rows, unchanged re-run #{k + 1} {t2}")
        if not args.skip_fresh:
            big = work / f"survey_{args.fresh_rows}.gpkg"
            pyogrio.write_dataframe(survey(args.fresh_rows), big, layer="部件")
            with fresh_db(args.dsn, "ug_bench_loaders_fresh") as dsn:
                result, t, ours = timed_load(dsn, big, inner=True)
                assert result.changeset is not None
                print(f"postgis  {args.fresh_rows} rows, fresh load {t}")
                print(
                    f"         {result.changeset.summary()}; "
                    f"{sum(p.get('severity') == 'warning' for p in result.problems)} warnings, "
                    f"{len(result.set_aside)} set aside"
                )
            runs = {"ogr2ogr": ogr2ogr_command}
            if not args.skip_cli:
                runs["command"] = loader_command
            wall = {}
            for name, command in runs.items():
                with fresh_db(args.dsn, f"ug_bench_loaders_{name}") as dsn:
                    wall[name] = timed_command(command(dsn, big))
            ogr = wall["ogr2ogr"]
            print(
                f"ogr2ogr  {args.fresh_rows} rows, GeoPackage → PostGIS {ogr:.2f} s (plain copy); "
                f"ogr2ogr / loader = {ogr / ours:.2f} ({'loader' if ours < ogr else 'ogr2ogr'} "
                "faster)"
            )
            if "command" in wall:
                print(
                    f"command  {args.fresh_rows} rows, urbangrid load components … --on-invalid "
                    f"skip: {wall['command']:.2f} s wall (start-up and imports included); "
                    f"ogr2ogr / command = {ogr / wall['command']:.2f}"
                )
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}"
    )


if __name__ == "__main__":
    main()

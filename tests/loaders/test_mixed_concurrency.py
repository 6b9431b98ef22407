"""Concurrent loaders of overlapping files, of both kinds (issue 19): ``urbangrid load
components`` (the CLI: diff and apply) and the streamed API (``append_component_file``),
8 into PostGIS and 4 into one GeoPackage. Every writer takes the layer's load lock
first, so none sees a deadlock, and the union of the inputs is stored once: one
current row per source key, IDs and serials unique."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

import urbangrid
from urbangrid.loaders.osm_components import CAMBRIDGE_DATASETS, read_bundled_components
from urbangrid.spatial.components.codes import demo_profile

ROOT = Path(__file__).resolve().parents[2]
COUNTY = "320508"  # the stores hold no district: every loader names the county

STREAMED = """
import sys, urbangrid
from urbangrid.spatial.components.codes import demo_profile
from urbangrid.spatial.components.records import append_component_file
with urbangrid.connect(sys.argv[1]) as s:
    r = append_component_file(s, sys.argv[2], demo_profile(), admin_code=sys.argv[3])
    print(r, flush=True)
"""


@pytest.fixture(scope="module")
def universe() -> gpd.GeoDataFrame:
    """Bundled Cambridge components (PDDL) and a copy 0.1 degrees north with its own
    source keys, without points within 2 m of another: the CLI refuses a new feature
    that close to a stored one, whichever loader stored it."""
    sources = tuple(f"cambridge_{d}" for d in CAMBRIDGE_DATASETS)
    rec, _ = read_bundled_components(demo_profile(), sources)
    rec = rec[["subclass_code", "source", "geometry"]].reset_index(drop=True)
    north = rec.assign(source=rec["source"] + "#n")
    north["geometry"] = shapely.transform(north.geometry.values, lambda c: c + np.array([0.0, 0.1]))
    both = gpd.GeoDataFrame(pd.concat([rec, north], ignore_index=True), crs=rec.crs)
    metric = both.to_crs(both.estimate_utm_crs())
    tree = shapely.STRtree(metric.geometry.values)
    pairs = tree.query(metric.geometry.values, predicate="dwithin", distance=2.0)
    crowded = np.unique(pairs[:, pairs[0] != pairs[1]])
    keep = np.setdiff1d(np.arange(len(both)), crowded)
    return both.iloc[keep].reset_index(drop=True)


def contractor_file(rows: gpd.GeoDataFrame, path: Path) -> Path:
    """What the CLI loads: the contractor's Chinese layout (小类代码, 部件状态 …)."""
    pyogrio.write_dataframe(
        gpd.GeoDataFrame(
            {
                "小类代码": rows["subclass_code"],
                "部件状态": "好",
                "数据来源": "实测",
                "来源编号": rows["source"],
            },
            geometry=rows.geometry.values,
            crs=rows.crs,
        ),
        path,
    )
    return path


def record_file(rows: gpd.GeoDataFrame, path: Path) -> Path:
    """What the streamed API loads: record columns, the same rows and values."""
    frame = rows.assign(status="完好", data_source="实测")
    pyogrio.write_dataframe(frame, path, driver="FlatGeobuf", SPATIAL_INDEX="NO")
    return path


def run_loaders(target: str, parts: list[tuple[str, Path]]) -> None:
    """Start every loader at once; each must exit 0, none may name a deadlock."""
    # Up to 8 loads queue on one lock on a busy 2-core machine: longer than the
    # default minute of waiting is fine here.
    env = {**os.environ, "URBANGRID_LOCK_TIMEOUT_S": "600"}
    procs = []
    for kind, path in parts:
        if kind == "cli":
            cmd = [sys.executable, "-m", "urbangrid.cli", "load", "components", str(path),
                   "--store", target, "--admin-code", COUNTY, "--by", path.stem]  # fmt: skip
        else:
            cmd = [sys.executable, "-c", STREAMED, target, str(path), COUNTY]
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE))  # fmt: skip
    outs = [p.communicate(timeout=600) for p in procs]
    for (kind, path), p, (out, err) in zip(parts, procs, outs, strict=True):
        text = (out + err).decode()
        assert p.returncode == 0, f"{kind} {path.name}: {text[-2000:]}"
        assert "deadlock" not in text.lower() and "Traceback" not in text, text[-2000:]


def check_union(target: str, universe: gpd.GeoDataFrame) -> None:
    """One current row per source key of the union, IDs and serials unique."""
    with urbangrid.connect(target, readonly=True) as s:
        comp = s.read("component", columns=["component_id", "source", "subclass_code"])
    assert sorted(comp["source"]) == sorted(universe["source"])  # none lost, none twice
    assert comp["component_id"].is_unique
    assert comp["component_id"].str[:6].eq(COUNTY).all()
    assert (comp["component_id"].str[6:10] == comp["subclass_code"]).all()
    # Serials: unique per county and subclass (the ID is county + subclass + serial).
    assert not comp["component_id"].str[:10].add(comp["component_id"].str[-6:]).duplicated().any()


def windows(n: int, count: int) -> list[slice]:
    """`count` windows over rows 0..n, each overlapping the next by half its length,
    together covering every row."""
    step = n // (count + 1)
    out = [slice(i * step, (i + 2) * step) for i in range(count)]
    out[-1] = slice(out[-1].start, n)
    return out


def test_eight_mixed_loaders_into_postgis(
    pg_dsn: str, universe: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    universe = universe.iloc[:24_000]
    n = len(universe)
    # One streamed load of 20,000 rows (into the empty layer: a staged load with
    # its side-by-side index builds and swap, if it gets the lock first) and seven
    # windows, CLI and streamed in turn, together covering the rest.
    parts: list[tuple[str, Path]] = [
        ("api", record_file(universe.iloc[:20_000], tmp_path / "big.fgb"))
    ]
    for i, rows in enumerate(windows(n - 12_000, 7)):
        rows = slice(rows.start + 12_000, rows.stop + 12_000)
        if i % 2 == 0:
            parts.append(("cli", contractor_file(universe.iloc[rows], tmp_path / f"c{i}.gpkg")))
        else:
            parts.append(("api", record_file(universe.iloc[rows], tmp_path / f"s{i}.fgb")))
    run_loaders(pg_dsn, parts)
    check_union(pg_dsn, universe)


def test_four_mixed_loaders_into_a_geopackage(universe: gpd.GeoDataFrame, tmp_path: Path) -> None:
    target = tmp_path / "store.gpkg"
    urbangrid.connect(target).close()
    sub = universe.iloc[::4].reset_index(drop=True)  # a quarter: SQLite writes one at a time
    parts: list[tuple[str, Path]] = []
    for i, rows in enumerate(windows(len(sub), 4)):
        if i % 2 == 0:
            parts.append(("cli", contractor_file(sub.iloc[rows], tmp_path / f"c{i}.gpkg")))
        else:
            parts.append(("api", record_file(sub.iloc[rows], tmp_path / f"s{i}.fgb")))
    run_loaders(str(target), parts)
    check_union(str(target), sub)

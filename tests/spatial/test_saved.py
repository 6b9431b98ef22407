"""Saved lookups (urbangrid.spatial.index.saved) and `urbangrid locate` opening them.

The saved file must answer exactly as the GridHierarchy it was written from, point for
point, in the index CRS and in GCJ-02; a stale stamp is never read; the command line
builds the file once and opens it afterwards, rebuilding after the store changes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.spatial.test_index import _tiny_city
from urbangrid.spatial.index.saved import (
    HIERARCHY_COLUMNS,
    QuickLookup,
    cache_file,
    file_stamp,
    read_hierarchy,
    write_hierarchy,
)


def _points(n: int, seed: int) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    # Inside the grids, beside them (areas only), far away, on shared edges, NaN.
    x = np.concatenate([rng.uniform(116.395, 116.445, n), [116.41, 116.42, 116.40, np.nan]])
    y = np.concatenate([rng.uniform(39.895, 39.915, n), [39.905, 39.91, 39.90, 39.9]])
    return x, y


def _hierarchies() -> list[Any]:
    from urbangrid.spatial.admin.hierarchy import GridHierarchy

    grids, areas = _tiny_city()
    areas.loc[2, "name"] = None  # a name missing from the admin layer
    grids.loc[3, "community_code"] = None  # a grid row without its community
    return [GridHierarchy.from_frames(grids, areas), GridHierarchy.from_frames(grids.iloc[:3])]


@pytest.mark.parametrize("crs", ["EPSG:4326", "GCJ-02", "BD-09"])
def test_saved_lookup_answers_as_the_hierarchy(tmp_path: Path, crs: str) -> None:
    from urbangrid.spatial.crs.transform import transform_xy

    x, y = _points(400, 3)
    px, py = transform_xy(x, y, crs=4326, to_crs=crs)
    for k, h in enumerate(_hierarchies()):
        path = tmp_path / f"h{k}.npz"
        assert write_hierarchy(h, path, "stamp-1")
        quick = QuickLookup.open(path, "stamp-1")
        assert quick is not None
        cols = quick.columns(px, py, crs=crs)
        assert cols is not None  # every CRS here is a fast path on a WGS84 index
        got = {c: [None if i < 0 else d[i] for i in idx] for c, (idx, d) in cols.items()}
        want = h.locate_many(px, py, crs=crs)
        for c in HIERARCHY_COLUMNS:
            assert got[c] == want[c].tolist(), c
        for a, b in zip(px[::37].tolist(), py[::37].tolist(), strict=True):
            one = quick.locate(a, b, crs=crs)
            assert one is None or one == h.locate(a, b, crs=crs)
        reloaded = read_hierarchy(path, "stamp-1")
        assert reloaded is not None
        assert reloaded.locate_many(px, py, crs=crs).equals(want)


@pytest.mark.parametrize("crs", ["EPSG:4326", "GCJ-02", "BD-09", "EPSG:4490"])
def test_gauss_kruger_lookup_answers_degrees_compiled(tmp_path: Path, crs: str) -> None:
    # Grids in CGCS2000 Gauss-Krüger metres: degrees and phone points are projected by
    # the compiled Krüger series, no pyproj, the same answers as the hierarchy (issue 21).
    from urbangrid.spatial.admin.hierarchy import GridHierarchy
    from urbangrid.spatial.crs.transform import transform_xy

    grids, areas = _tiny_city()
    h = GridHierarchy.from_frames(grids.to_crs(4548), areas.to_crs(4548))  # type: ignore[attr-defined]
    x, y = _points(400, 5)
    px, py = transform_xy(x, y, crs=4326, to_crs=crs)
    path = tmp_path / "gk.npz"
    assert write_hierarchy(h, path, "stamp-gk")
    quick = QuickLookup.open(path, "stamp-gk")
    assert quick is not None
    cols = quick.columns(px, py, crs=crs)
    assert cols is not None
    got = {c: [None if i < 0 else d[i] for i in idx] for c, (idx, d) in cols.items()}
    want = h.locate_many(px, py, crs=crs)
    for c in HIERARCHY_COLUMNS:
        assert got[c] == want[c].tolist(), c
    assert any(v is not None for v in got["grid_code"])


def test_stale_or_foreign_files_are_not_read(tmp_path: Path) -> None:
    h = _hierarchies()[0]
    path = tmp_path / "h.npz"
    assert write_hierarchy(h, path, "v1")
    assert QuickLookup.open(path, "v2") is None
    assert read_hierarchy(path, "v2") is None
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    assert QuickLookup.open(tmp_path / "bad.npz", "v1") is None
    assert QuickLookup.open(tmp_path / "missing.npz", "v1") is None


def test_a_point_obviously_in_another_crs_is_left_to_the_library(tmp_path: Path) -> None:
    h = _hierarchies()[0]
    path = tmp_path / "h.npz"
    write_hierarchy(h, path, "s")
    quick = QuickLookup.open(path, "s")
    assert quick is not None
    # Metres against a degree grid: GridIndex raises CRSMismatchError; the quick path
    # must not answer "nothing here" instead.
    assert quick.locate(450_000.0, 4_420_000.0, crs="EPSG:4326") is None
    assert quick.columns(np.array([450_000.0, 1.0]), np.array([4_420_000.0, 2.0]),
                         crs="EPSG:4326") is None  # fmt: skip
    assert quick.columns(np.array([116.41]), np.array([39.905]), crs="EPSG:3857") is None


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "urbangrid.cli.main", "locate", *args],
                          capture_output=True, text=True, check=False, env=env)  # fmt: skip


def test_cli_builds_once_then_opens_and_rebuilds_after_a_write(tmp_path: Path) -> None:
    import os

    import urbangrid

    grids, areas = _tiny_city()
    store = tmp_path / "city.gpkg"
    with urbangrid.connect(store) as s:
        s.write("unit_grid", grids)
        s.write("admin_area", areas)
    env = {**os.environ, "URBANGRID_CACHE_DIR": str(tmp_path / "cache")}
    first = _run(str(store), "116.425", "39.905", env=env)
    assert first.returncode == 0, first.stderr
    assert "grid_code\t110105002001001" in first.stdout
    saved = list((tmp_path / "cache").glob("hierarchy-*.npz"))
    assert len(saved) == 1
    stamp = file_stamp(store)
    assert stamp is not None and saved[0].name == cache_file("hierarchy", str(store), stamp).name
    before = saved[0].stat().st_mtime_ns
    again = _run(str(store), "116.425,39.905", env=env)  # LON,LAT in one argument
    assert again.stdout == first.stdout and saved[0].stat().st_mtime_ns == before
    outside = _run(str(store), "-71.06", "42.36", env=env)  # negative numbers, no grid
    assert outside.returncode == 3
    assert "outside every unit grid" in outside.stderr and "Traceback" not in outside.stderr
    with urbangrid.connect(store) as s:
        s.retire("unit_grid", ["110105002001001"])
    moved = _run(str(store), "116.425", "39.905", env=env)
    assert moved.returncode == 3 and "street_code\t110105002" in moved.stdout
    assert [p.name for p in (tmp_path / "cache").glob("hierarchy-*.npz")] != [saved[0].name]


def test_cli_csv_writes_whole_table(tmp_path: Path) -> None:
    import os

    import pandas as pd

    import urbangrid

    grids, areas = _tiny_city()
    store = tmp_path / "city.gpkg"
    with urbangrid.connect(store) as s:
        s.write("unit_grid", grids)
        s.write("admin_area", areas)
    pts = tmp_path / "pts.csv"
    pts.write_text('id,lon,lat,note\n1,116.405,39.905,"a, b"\n2,116.435,39.905,\n'
                   "3,x,1,\n4,0,0,\n")  # fmt: skip
    env = {**os.environ, "URBANGRID_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "out.csv"
    res = _run(str(store), "--csv", str(pts), "-o", str(out), env=env)
    assert res.returncode == 4, res.stderr  # written; row 3 ("x") named and left blank
    assert "row 3: field 'lon' value 'x': not a number" in res.stderr
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert table["note"].tolist() == ["a, b", "", "", ""]
    assert table["grid_code"].tolist() == ["110105001001001", "110105002001002", "", ""]
    assert table["street_name"].tolist() == ["建外街道", "朝外街道", "", ""]
    assert "2 of 4 points in a unit grid" in res.stderr


def test_from_store_opens_the_saved_index_until_the_grids_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    import pandas as pd

    import urbangrid
    from urbangrid.spatial.index.engine import GridIndex

    monkeypatch.setenv("URBANGRID_CACHE_DIR", str(tmp_path / "cache"))
    grids, _ = _tiny_city()
    x, y = _points(300, 5)
    with urbangrid.connect(tmp_path / "s.gpkg") as store:
        store.write("unit_grid", grids)
        built = GridIndex.from_store(store)  # no grid version: nothing saved
        assert not list((tmp_path / "cache").glob("index-*.npz"))
        store.write("grid_version", pd.DataFrame([{
            "version": "v1", "loaded_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            "county_codes": "110105", "n_grids": 4, "n_added": 4, "n_removed": 0,
            "n_changed": 0, "source": "test", "note": None}]), "append")  # fmt: skip
        first = GridIndex.from_store(store)
        assert len(list((tmp_path / "cache").glob("index-*.npz"))) == 1
        opened = GridIndex.from_store(store)
        assert opened.grid_version == "v1" and opened.keys is not None
        assert opened.keys.dtype == object and opened.keys.tolist() == built.keys.tolist()  # type: ignore[union-attr]
        want = built.locate_many(x, y, crs=4326)
        assert (opened.locate_many(x, y, crs=4326) == want).all()
        assert (first.locate_many(x, y, crs=4326) == want).all()
        assert opened.locate(116.425, 39.905, crs=4326) == "110105002001001"
        store.retire("unit_grid", ["110105002001001"])  # one grid fewer: rebuilt
        after = GridIndex.from_store(store)
        assert after.locate(116.425, 39.905, crs=4326) is None and len(after) == 3
        assert len(list((tmp_path / "cache").glob("index-*.npz"))) == 1


def test_cli_csv_in_a_crs_only_pyproj_knows(tmp_path: Path) -> None:
    """EPSG:3857 input is not a fast path: the library answers, same columns."""
    import os

    import pandas as pd

    import urbangrid
    from urbangrid.spatial.crs.transform import transform_xy

    grids, areas = _tiny_city()
    store = tmp_path / "city.gpkg"
    with urbangrid.connect(store) as s:
        s.write("unit_grid", grids)
        s.write("admin_area", areas)
    mx, my = (a.tolist() for a in transform_xy([116.405, 116.435], [39.905, 39.905],
                                                crs=4326, to_crs=3857))  # fmt: skip
    pts = tmp_path / "pts.csv"
    pts.write_text(f"x,y\n{mx[0]!r},{my[0]!r}\n{mx[1]!r},{my[1]!r}\n")
    env = {**os.environ, "URBANGRID_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "out.csv"
    res = _run(str(store), "--csv", str(pts), "--x", "x", "--y", "y", "--crs", "EPSG:3857",
               "-o", str(out), env=env)  # fmt: skip
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert table["grid_code"].tolist() == ["110105001001001", "110105002001002"]
    assert table["x"].tolist() == [repr(mx[0]), repr(mx[1])]  # the input text, as written

"""The Store capabilities features use (issue 18: a sealed store), on both back ends."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import urbangrid
from urbangrid.errors import StoreError
from urbangrid.store import PostGISOnlyError, Store, StoreConflictError

JAN = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
FEB = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)


def components(n: int, x0: float = 120.60) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "component_id": [f"32050801010{i:05d}" for i in range(1, n + 1)],
            "edition": ["cjt214-2007"] * n,
            "class_code": ["01"] * n,
            "subclass_code": ["0101"] * n,
            "name": ["上水井盖"] * n,
            "status": ["完好"] * n,
            "data_source": ["实测"] * n,
            "source": [f"s{i}" for i in range(1, n + 1)],
        },
        geometry=[shapely.Point(x0 + 0.001 * i, 31.30) for i in range(n)],
        crs="EPSG:4326",
    )


def test_protocol_is_kept(store: Store) -> None:
    assert isinstance(store, Store)


def test_is_empty_counts_retired_rows(store: Store) -> None:
    assert store.is_empty("component")
    store.write("component", components(2), at=JAN)
    store.retire("component", ["3205080101000001", "3205080101000002"], at=FEB)
    assert store.count("component") == 0 and not store.is_empty("component")


def test_current_values(store: Store) -> None:
    assert store.current_values("component", "source", ["s1"], "component_id") == {}
    store.write("component", components(3), at=JAN)
    store.retire("component", ["3205080101000002"], at=FEB)
    got = store.current_values("component", "source", ["s1", "s2", "nope"], "component_id")
    assert got == {"s1": "3205080101000001"}
    many = [f"s{i}" for i in range(1, 800)]  # more than SQLite binds at once
    assert set(store.current_values("component", "source", many, "component_id")) == {"s1", "s3"}


def test_serials(store: Store) -> None:
    assert store.reserve_serials("3205080101", 5) == 5
    assert store.reserve_serials("3205080101", 2) == 7
    store.raise_serials({"3205080101": 3, "3205080102": 40})
    assert store.reserve_serials("3205080101", 1) == 8
    assert store.reserve_serials("3205080102", 1) == 41


def test_knn_radius_holds_k(store: Store) -> None:
    assert store.knn_radius("component", 120.6, 31.3, 1) is None
    store.write("component", components(10), at=JAN)
    r = store.knn_radius("component", 120.6, 31.3, 3)
    assert r is not None
    box = (120.6 - r, 31.3 - r, 120.6 + r, 31.3 + r)
    assert len(store.read("component", bbox=box)) >= 3
    assert store.knn_radius("component", 120.6, 31.3, 3, as_of=JAN - dt.timedelta(days=1)) is None


def test_undo_versions_and_delete_keys(store: Store) -> None:
    store.write("component", components(2), at=JAN)
    changed = components(2)
    changed.loc[0, "status"] = "破损"
    store.write("component", changed, "upsert", at=FEB)
    deleted, reopened = store.undo_versions(
        "component", ["3205080101000001"], ["3205080101000001"], FEB
    )
    assert (deleted, reopened) == (1, 1)
    assert list(store.read("component")["status"]) == ["完好", "完好"]
    assert store.delete_keys("component", ["3205080101000002"]) == 1
    assert store.read("component", all_versions=True)["component_id"].tolist() == [
        "3205080101000001"
    ]


def test_lock_layer_inside_a_transaction(store: Store) -> None:
    with store.transaction():
        store.lock_layer("component", timeout_s=5)
        store.write("component", components(1), at=JAN)
    assert store.count("component") == 1


def test_side_store_commits_on_its_own(store: Store) -> None:
    with store.side_store() as side:
        assert side.reserve_serials("k", 3) == 3
    assert store.reserve_serials("k", 1) == 4


def test_postgis_only_capabilities_on_gpkg(tmp_path: Path) -> None:
    with urbangrid.connect(tmp_path / "s.gpkg") as store:
        for call in (
            store.ensure_locate_functions,
            lambda: store.grant_readonly("reader"),
        ):
            with pytest.raises(
                PostGISOnlyError, match="needs a PostGIS store; this is a GeoPackage"
            ):
                call()
        assert issubclass(PostGISOnlyError, StoreError)


def test_gpkg_writer_busy_is_a_conflict(tmp_path: Path) -> None:
    path = tmp_path / "s.gpkg"
    with (
        urbangrid.connect(path) as a,
        urbangrid.connect(path) as b,
        a.transaction(),
        pytest.raises(StoreConflictError),  # b waits 0.05 s for a's write lock
    ):
        b.lock_layer("component", timeout_s=0.05)


def test_pg_lock_timeout_is_a_conflict(pg_dsn: str) -> None:
    with urbangrid.connect(pg_dsn) as a, urbangrid.connect(pg_dsn) as b, a.transaction():
        a.lock_layer("component")
        with pytest.raises(StoreConflictError), b.transaction():
            b.lock_layer("component", timeout_s=0.1)


def test_no_driver_outside_store() -> None:
    """No module outside urbangrid/store imports psycopg or sqlite3 (function-local too)."""
    root = Path(urbangrid.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        if path.relative_to(root).parts[0] == "store":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [
                f"{path.relative_to(root)}: {n}"
                for n in names
                if n.split(".")[0] in ("psycopg", "sqlite3")
            ]
    assert found == []

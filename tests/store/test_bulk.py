"""Bulk writes: large loads on both back ends keep indexes, answer bbox queries, and
report bad values by row and field with nothing written."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from urbangrid.errors import StoreSchemaError, ValidationError
from urbangrid.store import Store
from urbangrid.store.postgis import BULK_ROWS


def streets(n: int, seed: int = 7) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x = 116.30 + rng.random(n) * 0.05
    y = 39.99 + rng.random(n) * 0.03
    return gpd.GeoDataFrame(
        {
            "edge_id": [f"e{i}" for i in range(n)],
            "length_m": rng.random(n) * 100,
            "oneway": rng.random(n) > 0.5,
            "name": pd.Series([f"路{i}" if i % 3 else None for i in range(n)], dtype="str"),
            "tags": [
                json.dumps({"i": i, "名": "街"}, ensure_ascii=False) if i % 2 else None
                for i in range(n)
            ],
        },
        geometry=shapely.linestrings(np.stack([np.c_[x, y], np.c_[x + 1e-4, y]], axis=1)),
        crs="EPSG:4326",
    )


def _indexes(store: Store, table: str) -> set[str]:
    if store.kind == "postgis":
        rows = store.connection.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'urbangrid' AND tablename = %s",
            (table,),
        ).fetchall()
    else:
        rows = store.connection.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name = ?",
            (table,),
        ).fetchall()
    return {r[0] for r in rows}


def test_large_load_keeps_spatial_index(store: Store) -> None:
    n = BULK_ROWS + 5_000  # above the thresholds for rebuilding indexes after the load
    frame = streets(n)
    before = _indexes(store, "street_centreline")
    assert store.write("street_centreline", frame).inserted == n
    assert _indexes(store, "street_centreline") == before  # every index rebuilt
    box = (116.31, 40.00, 116.32, 40.01)
    want = int(shapely.intersects(frame.geometry.values, shapely.box(*box)).sum())
    assert len(store.read("street_centreline", bbox=box)) == want
    if store.kind == "gpkg":  # packed R*Tree, then kept up by the triggers
        check = "SELECT rtreecheck('rtree_street_centreline_geom')"
        assert store.connection.execute(check).fetchone() == ("ok",)
        store.write(
            "street_centreline", frame.iloc[:10].assign(edge_id=[f"x{i}" for i in range(10)])
        )
        assert store.connection.execute(check).fetchone() == ("ok",)
        assert len(store.read("street_centreline", bbox=box)) >= want


def test_large_load_round_trips_every_value(store: Store) -> None:
    frame = streets(BULK_ROWS + 10)
    store.write("street_centreline", frame)
    back = store.read("street_centreline")
    assert back["edge_id"].tolist() == frame["edge_id"].tolist()
    assert back["length_m"].tolist() == frame["length_m"].tolist()  # exact doubles
    assert back["oneway"].tolist() == frame["oneway"].tolist()
    assert back["name"].isna().tolist() == frame["name"].isna().tolist()
    assert back["name"].dropna().tolist() == frame["name"].dropna().tolist()
    assert back["tags"][1] == {"i": 1, "名": "街"} and back["tags"][0] is None
    assert all(shapely.equals_exact(back.geometry.values, frame.geometry.values, tolerance=0))
    # The bulk path stores what a row-by-row upsert compares with: a re-run changes nothing.
    again = store.write("street_centreline", frame, "upsert")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(frame))


@pytest.mark.parametrize("n", [5, BULK_ROWS + 5])
def test_bad_json_text_is_named_by_row_and_nothing_is_written(store: Store, n: int) -> None:
    frame = streets(n)
    frame.loc[3, "tags"] = "{bad"
    frame.loc[n - 1, "tags"] = '{"x": NaN}'  # Python's json takes NaN; the stores do not
    with pytest.raises(ValidationError) as err:
        store.write("street_centreline", frame, source="survey.gpkg")
    problems = err.value.problems
    assert {(p["row"], p["field"]) for p in problems} == {(3, "tags"), (n - 1, "tags")}
    assert all(p["file"] == "survey.gpkg" for p in problems)
    assert problems[0]["value"] == "{bad"
    assert "nothing was written" in str(err.value)
    assert store.count("street_centreline") == 0


def test_bad_json_listed_with_other_problems(store: Store) -> None:
    frame = streets(4)
    frame.loc[1, "tags"] = "[1,"
    frame["length_m"] = frame["length_m"].astype(object)
    frame.loc[2, "length_m"] = "long"
    with pytest.raises(ValidationError) as err:
        store.write("street_centreline", frame)
    assert {(p["row"], p["field"]) for p in err.value.problems} == {(1, "tags"), (2, "length_m")}


def test_bad_json_in_an_upsert_names_the_input_row(store: Store) -> None:
    frame = streets(6)
    store.write("street_centreline", frame.iloc[:3])
    frame.loc[4, "tags"] = "nope"
    with pytest.raises(ValidationError) as err:
        store.write("street_centreline", frame, "upsert")
    assert [(p["row"], p["field"]) for p in err.value.problems] == [(4, "tags")]
    assert store.count("street_centreline") == 3


def test_json_objects_and_text_store_alike(store: Store) -> None:
    frame = streets(3)
    frame["tags"] = [{"b": 1, "a": [1, 2]}, '{"a": [1, 2], "b": 1}', None]
    frame["edge_id"] = ["o", "t", "n"]
    store.write("street_centreline", frame)
    back = store.read("street_centreline")
    assert back["tags"][0] == back["tags"][1] == {"a": [1, 2], "b": 1}


def test_large_append_of_stored_keys_is_a_key_error(store: Store) -> None:
    frame = streets(BULK_ROWS + 5)
    store.write("street_centreline", frame.iloc[:10])
    with pytest.raises(StoreSchemaError):
        store.write("street_centreline", frame)  # e0 … e9 are there already
    assert store.count("street_centreline") == 10


def test_nul_in_text_is_named_by_row(store: Store) -> None:
    frame = streets(4)
    frame["name"] = frame["name"].astype(object)
    frame.loc[2, "name"] = "a\x00b"
    if store.kind == "gpkg":  # SQLite text holds NUL
        store.write("street_centreline", frame)
        assert store.read("street_centreline")["name"][2] == "a\x00b"
        return
    with pytest.raises(ValidationError) as err:  # PostgreSQL text cannot
        store.write("street_centreline", frame)
    assert [(p["row"], p["field"]) for p in err.value.problems] == [(2, "name")]
    assert store.count("street_centreline") == 0


def test_rolled_back_bulk_load_leaves_the_layer_as_it_was(store: Store) -> None:
    frame = streets(BULK_ROWS + 5)
    before = _indexes(store, "street_centreline")
    with pytest.raises(RuntimeError), store.transaction():
        store.write("street_centreline", frame)  # indexes dropped, table emptied, COPY FREEZE
        raise RuntimeError("boom")
    assert store.count("street_centreline") == 0
    assert _indexes(store, "street_centreline") == before
    assert store.write("street_centreline", frame).inserted == len(frame)
    assert len(store.read("street_centreline", bbox=(116.30, 39.99, 116.31, 40.0))) > 0

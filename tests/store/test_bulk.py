"""Bulk writes: large loads on both back ends keep indexes and answer bbox queries."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from urbangrid.store import Store


def test_large_load_keeps_spatial_index(store: Store) -> None:
    n = 25_000  # above the PostGIS threshold for rebuilding GiST after COPY
    rng = np.random.default_rng(7)
    x = 116.30 + rng.random(n) * 0.05
    y = 39.99 + rng.random(n) * 0.03
    frame = gpd.GeoDataFrame(
        {"edge_id": [f"e{i}" for i in range(n)], "length_m": rng.random(n) * 100},
        geometry=shapely.linestrings(np.stack([np.c_[x, y], np.c_[x + 1e-4, y]], axis=1)),
        crs="EPSG:4326",
    )
    assert store.write("street_centreline", frame).inserted == n
    box = (116.31, 40.00, 116.32, 40.01)
    want = int(shapely.intersects(frame.geometry.values, shapely.box(*box)).sum())
    assert len(store.read("street_centreline", bbox=box)) == want
    if store.kind == "gpkg":  # packed R*Tree, then kept up by the triggers
        check = "SELECT rtreecheck('rtree_street_centreline_geom')"
        assert store.connection.execute(check).fetchone() == ("ok",)
        store.write("street_centreline", frame.iloc[:10].assign(
            edge_id=[f"x{i}" for i in range(10)]))
        assert store.connection.execute(check).fetchone() == ("ok",)
        assert len(store.read("street_centreline", bbox=box)) >= want
    if store.kind == "postgis":
        (gist,) = store.connection.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'urbangrid' AND "
            "tablename = 'street_centreline' AND indexdef LIKE '%USING gist%'"
        ).fetchone()
        assert gist == 1

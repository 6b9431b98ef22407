"""A re-run's rows stored exactly as they would be written are found by the server
(Store.identical_keys, issue 21): the diff is the one the row-by-row comparison gives."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely

from urbangrid.loaders.pipeline import load_survey
from urbangrid.store import Store

from .test_json_extra import COUNTY, store_layout


def _changes(result) -> list:  # type: ignore[no-untyped-def]
    cs = result.changeset
    assert cs is not None
    out = [(c.key, c.action, c.row, sorted(c.fields or {}), c.distance_m) for c in cs.changes]
    return [cs.unchanged, cs.counts(), sorted(out, key=repr), len(cs.rows)]


def test_identical_rows_give_the_row_by_row_diff(store: Store, tmp_path: Path) -> None:
    frame = store_layout(40)
    path = tmp_path / "survey.gpkg"
    pyogrio.write_dataframe(frame, path, layer="components")
    first = load_survey(store, path, admin_code=COUNTY, commit=True)
    assert first.committed
    assert first.changeset is not None
    if store.identical_keys("component", first.changeset.rows) is None:
        assert store.target.endswith(".gpkg")  # GeoPackage leaves it to the caller
    # Unchanged rows, and beside them: a changed name, a moved point (0.3 m), a point
    # moved below the rounding grid (no change), JSON in another key order (no
    # change), a changed JSON value, a new row.
    again = frame.copy()
    again.loc[2, "name"] = "新名称"
    xy = shapely.get_coordinates(again.geometry.values)
    again.loc[5, "geometry"] = shapely.Point(xy[5, 0] + 4e-6, xy[5, 1])
    again.loc[6, "geometry"] = shapely.Point(xy[6, 0] + 1e-11, xy[6, 1])
    again.loc[8, "extra"] = json.dumps({"note": "消火栓", "asset": 8}, ensure_ascii=False)
    again.loc[9, "extra"] = json.dumps({"asset": 9, "note": "已更换"}, ensure_ascii=False)
    new = again.iloc[[0]].copy()
    new["source"] = "new:1"
    new["geometry"] = [shapely.Point(xy[0, 0] + 0.01, xy[0, 1])]
    again = pd.concat([again, new], ignore_index=True)
    pyogrio.write_dataframe(again, path, layer="components")
    fast = load_survey(store, path, admin_code=COUNTY)  # dry runs: nothing written
    store.identical_keys = lambda *a, **k: None  # type: ignore[method-assign]
    slow = load_survey(store, path, admin_code=COUNTY)
    assert _changes(fast) == _changes(slow)
    unchanged, counts = _changes(fast)[:2]
    assert unchanged == 37 and counts["changed"] == 2 and counts["moved"] == 1
    assert counts["added"] == 1
    cs = fast.changeset
    assert cs is not None
    moved = next(c.distance_m for c in cs.changes if c.action == "moved")
    assert moved is not None and np.isclose(moved, 0.3, atol=0.05)

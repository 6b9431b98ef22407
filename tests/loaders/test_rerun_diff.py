"""The re-run diff compares whole columns at once; JSON by canonical text."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyogrio

from urbangrid.loaders.changeset import _differing, rollback_changeset
from urbangrid.loaders.pipeline import load_survey
from urbangrid.store import Store

from .test_json_extra import COUNTY, store_layout


def test_json_pairs_are_compared_canonically() -> None:
    old = [{"a": 1, "b": [1, 2]}, {"a": 1}, {"a": 1}, None, None, {"x": "盲道"}]
    new = [{"b": [1, 2], "a": 1}, {"a": True}, {"a": 2}, None, {"a": 1}, {"x": "盲道"}]
    assert _differing(old, new, "json").tolist() == [False, True, True, False, True, False]


def test_plain_columns_are_compared_as_arrays() -> None:
    d = dt.date(2024, 5, 1)
    assert _differing(["a", None, "b", None], ["a", None, "c", "x"], "text").tolist() == [
        False,
        False,
        True,
        True,
    ]
    assert _differing([d, d, None], [d, dt.date(2024, 5, 2), None], "date").tolist() == [
        False,
        True,
        False,
    ]
    assert _differing([1, 2], [1, 3], "integer").tolist() == [False, True]


def test_a_changed_json_value_is_found_and_rolled_back(store: Store, tmp_path: Path) -> None:
    """On PostGIS the server compares the JSON (only changed rows are read back);
    the change set still holds old and new values and the row's full image."""
    frame = store_layout(30)
    path = tmp_path / "survey.gpkg"
    pyogrio.write_dataframe(frame, path, layer="components")
    first = load_survey(store, path, admin_code=COUNTY, commit=True)
    assert first.committed
    # Key order and spacing are no change; 1 -> true and a new value are.
    frame["extra"] = [json.dumps({"note": "消火栓", "asset": i}) for i in range(30)]
    frame.loc[3, "extra"] = json.dumps({"asset": True, "note": "消火栓"}, ensure_ascii=False)
    frame.loc[7, "extra"] = json.dumps({"asset": 7, "note": "已更换"}, ensure_ascii=False)
    pyogrio.write_dataframe(frame, path, layer="components")
    again = load_survey(store, path, admin_code=COUNTY, commit=True)
    cs = again.changeset
    assert cs is not None and cs.counts()["changed"] == 2 and cs.unchanged == 28, cs.summary()
    fields = {c.row: c.fields for c in cs.changes}
    assert {r: sorted(f) for r, f in fields.items()} == {4: ["extra"], 8: ["extra"]}
    assert fields[8]["extra"][0] == {"asset": 7, "note": "消火栓"}
    assert fields[8]["extra"][1] == {"asset": 7, "note": "已更换"}
    assert again.changeset_id is not None
    rollback_changeset(store, again.changeset_id)
    stored = store.read("component").sort_values("source")
    extras = [json.loads(v) if isinstance(v, str) else v for v in stored["extra"]]
    assert sorted(e["asset"] for e in extras) == list(range(30))
    assert all(e["note"] == "消火栓" for e in extras)

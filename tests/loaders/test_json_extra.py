"""JSON ``extra`` in survey files: kept as text when clean, every bad value still reported.

Real rows: the bundled City of Cambridge hydrants (PDDL) in the store's own layout
(English column names, ``extra`` as JSON text), as ``read_bundled_components`` gives
them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from urbangrid.loaders.osm_components import read_bundled_components
from urbangrid.loaders.pipeline import load_survey
from urbangrid.loaders.validate import _clean_arrow_json
from urbangrid.spatial.components.codes import demo_profile
from urbangrid.store import Store

#: County of new component IDs: these stores hold no district to take it from.
COUNTY = "320508"


def store_layout(n: int = 40) -> pd.DataFrame:
    rec, _ = read_bundled_components(demo_profile(), ("cambridge_hydrants",))
    rec = rec.iloc[:n].reset_index(drop=True)
    rec["extra"] = [
        json.dumps({"asset": i, "note": "消火栓"}, ensure_ascii=False) for i in range(n)
    ]
    return rec


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ('{"a": "b"}', True),
        ('{"a": [1, 2, {"c": null}]}', True),
        ('{"a": "tab\\there"}', True),  # \t is allowed text
        ('{"a": "\\u0001"}', False),  # an escaped control character
        ('{"a": "\\b"}', False),
        ('{"a": "\\u2028"}', False),
        ('{"a": "x\x01"}', False),  # a raw one
        ('{"a": ', False),  # not JSON
        ('{"a": "' + "x" * 2001 + '"}', False),  # a string over MAX_TEXT
    ],
)
def test_clean_json_column_test(text: str, clean: bool) -> None:
    column = pd.Series(['{"ok": 1}', None, text], dtype="str")
    assert _clean_arrow_json(column) is clean


def test_extra_json_text_loads_as_objects(store: Store, tmp_path: Path) -> None:
    frame = store_layout()
    frame["维护班组"] = "一组"  # a field no mapping knows: merged into extra
    path = tmp_path / "survey.gpkg"
    pyogrio.write_dataframe(frame, path, layer="components")
    done = load_survey(store, path, admin_code=COUNTY, commit=True)
    assert done.committed and not done.set_aside
    assert "extra" in done.mapped.used and done.mapped.unmapped == ["维护班组"]
    stored = store.read("component").sort_values("source")
    extras = [json.loads(v) if isinstance(v, str) else v for v in stored["extra"]]
    assert all(e["note"] == "消火栓" and e["维护班组"] == "一组" for e in extras)
    assert sorted(e["asset"] for e in extras) == list(range(len(frame)))
    again = load_survey(store, path, admin_code=COUNTY, commit=True)
    assert again.changeset is not None and again.changeset.empty  # idempotent


def test_extra_json_problems_are_reported_by_row(store: Store, tmp_path: Path) -> None:
    frame = store_layout()
    frame.loc[2, "extra"] = '{"asset": '
    frame.loc[5, "extra"] = '{"note": "bell\\u0007"}'
    path = tmp_path / "survey.gpkg"
    pyogrio.write_dataframe(frame, path, layer="components")
    result = load_survey(store, path, admin_code=COUNTY, commit=True, on_invalid="skip")
    bad = {(p["row"], p["field"]) for p in result.problems if p.get("severity") != "warning"}
    assert bad == {(3, "extra"), (6, "extra")}
    assert result.set_aside == [3, 6] and store.count("component") == len(frame) - 2
    stored = store.read("component")
    assert all(json.loads(v)["note"] == "消火栓" for v in stored["extra"] if isinstance(v, str))

"""Re-loading a survey whose rows lack a source key (来源编号), or repeat one, changes
nothing: such rows are the stored components standing on their spot."""

from __future__ import annotations

from pathlib import Path

import shapely

from tests.loaders.test_survey_load import COUNTY, survey_frame, write_survey
from urbangrid.loaders.pipeline import load_survey
from urbangrid.store import Store


def test_rerun_of_rows_without_or_with_repeated_source_keys(store: Store, tmp_path: Path) -> None:
    frame = survey_frame(("cambridge_litter_barrels",)).iloc[:8].copy()
    frame.loc[0:1, "来源编号"] = None  # two rows without a key on one spot
    frame.loc[1, "geometry"] = frame.loc[0, "geometry"]
    frame.loc[1, "备注"] = "the second barrel"
    frame.loc[2:3, "来源编号"] = "dup"  # one key for two barrels
    path = write_survey(frame, tmp_path, "geojson")
    first = load_survey(store, path, "components", admin_code=COUNTY, commit=True)
    assert first.changeset_id and not first.blocked, first.summary()
    before = store.read("component").set_index("component_id")
    again = load_survey(store, path, "components", admin_code=COUNTY, commit=True)
    assert not again.blocked, again.summary()
    assert again.changeset_id is None, again.summary()  # nothing to change
    assert "nothing to change" in again.summary()
    after = store.read("component").set_index("component_id")
    assert sorted(after.index) == sorted(before.index) and len(after) == 8
    # each row kept its own ID: the two on one spot, the two under one key
    assert (after["note"] == before.loc[after.index, "note"]).all()
    same = shapely.equals(after.geometry.values, before.loc[after.index].geometry.values)
    assert same.all()

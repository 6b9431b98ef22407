"""The change-set record: added features in blocks, read back one per feature, rolled back.

Real rows: the bundled City of Cambridge litter barrels and hydrants (PDDL) in a
contractor's layout (:func:`tests.loaders.test_survey_load.survey_frame`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pandas as pd
import pytest

from tests.loaders.test_survey_load import current, survey_frame, write_survey
from urbangrid.loaders import changeset
from urbangrid.loaders.changeset import (
    CHANGE_LAYER,
    AddedChanges,
    FeatureChange,
    layer_is_empty,
    read_changes,
    rollback_changeset,
)
from urbangrid.loaders.pipeline import load_survey
from urbangrid.store import Store

#: County of new component IDs: these stores hold no district to take it from.
COUNTY = "320508"

JAN, FEB = dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 2, 1, tzinfo=dt.UTC)


def test_added_changes_is_a_lazy_sequence() -> None:
    added = AddedChanges(["a", "b", None], [1, 2, 5])
    assert len(added) == 3
    assert added[1] == FeatureChange("b", "added", 2)
    assert added[-1] == FeatureChange(None, "added", 5)
    assert added[:2] == [FeatureChange("a", "added", 1), FeatureChange("b", "added", 2)]
    assert [c.row for c in added] == [1, 2, 5]
    with pytest.raises(ValueError, match="2 keys but 1 rows"):
        AddedChanges(["a", "b"], [1])


@pytest.mark.parametrize(
    "rows", [[1, 2, 3, 5, 6, 9], [], [4], [3, 2, 1], [1, None, 3], list(range(1, 10_001))]
)
def test_file_rows_are_recorded_as_runs(rows: list[int | None]) -> None:
    runs = changeset._row_runs(rows)
    assert changeset._rows_of(runs) == rows
    if rows and None not in rows and rows == sorted(rows):
        assert len(runs) == 1 + sum(b - a != 1 for a, b in itertools.pairwise(rows))


def test_first_load_records_blocks_and_rolls_back(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changeset, "_ADDED_BLOCK", 7)  # several blocks from a small file
    frame = survey_frame(("cambridge_litter_barrels",))
    n = len(frame)
    assert layer_is_empty(store, "component")
    dry = load_survey(store, write_survey(frame, tmp_path, "gpkg"), admin_code=COUNTY)
    assert dry.changeset is not None and isinstance(dry.changeset.changes, AddedChanges)
    assert dry.changeset.counts()["added"] == n and layer_is_empty(store, "load_change")
    done = load_survey(
        store, write_survey(frame, tmp_path, "gpkg"), admin_code=COUNTY, commit=True, at=JAN
    )
    assert done.changeset_id is not None and not layer_is_empty(store, "component")
    # One load_change row per block of 7 added features, not one per feature.
    raw = store.read(CHANGE_LAYER, where={"changeset_id": done.changeset_id})
    assert len(raw) == -(-n // 7)
    assert set(raw["action"]) == {"added"} and raw["file_row"].isna().all()
    fields = [json.loads(f) if isinstance(f, str) else f for f in raw["fields"]]
    assert all(len(f["file_rows"]) == 1 for f in fields)  # 1…n in runs of 7: one run each
    lines = read_changes(store, done.changeset_id)
    stored = store.read("component")
    assert len(lines) == n and set(lines["action"]) == {"added"}
    assert sorted(lines["feature_key"]) == sorted(stored["component_id"])
    assert sorted(lines["file_row"].astype(int)) == list(range(1, n + 1))
    counts = rollback_changeset(store, done.changeset_id)
    assert counts == {"deleted": n, "restored": 0}
    assert store.count("component") == 0


def test_mixed_change_set_keeps_one_row_per_changed_feature(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changeset, "_ADDED_BLOCK", 5)
    frame = survey_frame(("cambridge_litter_barrels",))
    first = frame.iloc[:-12].copy()
    load_survey(
        store, write_survey(first, tmp_path, "gpkg"), admin_code=COUNTY, commit=True, at=JAN
    )
    before = current(store)
    frame.loc[:2, "部件状态"] = "坏"  # three changed, twelve added
    (tmp_path / "v2").mkdir()
    second = load_survey(
        store, write_survey(frame, tmp_path / "v2", "gpkg"), admin_code=COUNTY, commit=True, at=FEB
    )
    assert second.changeset is not None and second.changeset_id is not None
    assert not isinstance(second.changeset.changes, AddedChanges)
    assert second.changeset.counts()["added"] == 12
    assert second.changeset.counts()["changed"] == 3
    raw = store.read(CHANGE_LAYER, where={"changeset_id": second.changeset_id})
    assert sorted(raw["action"].tolist()) == ["added"] * 3 + ["changed"] * 3
    lines = read_changes(store, second.changeset_id)
    assert lines["action"].value_counts().to_dict() == {"added": 12, "changed": 3}
    changed = lines[lines["action"] == "changed"]
    assert changed["fields"].map(lambda f: f["status"]).tolist() == [["完好", "破损"]] * 3
    assert sorted(lines.loc[lines["action"] == "added", "file_row"].astype(int)) == list(
        range(len(frame) - 11, len(frame) + 1)
    )
    rollback_changeset(store, second.changeset_id)
    assert current(store).equals(before)


def test_per_feature_records_still_read_and_roll_back(store: Store, tmp_path: Path) -> None:
    """Change sets recorded one row per added feature (before blocks) still roll back."""
    frame = survey_frame(("cambridge_hydrants",)).iloc[:20].copy()
    done = load_survey(
        store, write_survey(frame, tmp_path, "gpkg"), admin_code=COUNTY, commit=True, at=JAN
    )
    cid = done.changeset_id
    assert cid is not None
    keys = store.read("component")["component_id"].tolist()
    with store.transaction():
        if store.kind == "postgis":
            store.connection.execute(
                "DELETE FROM urbangrid.load_change WHERE changeset_id = %s", (cid,)
            )
        else:
            store.connection.execute("DELETE FROM load_change WHERE changeset_id = ?", (cid,))
        store.write(
            CHANGE_LAYER,
            pd.DataFrame(
                {
                    "changeset_id": [cid] * len(keys),
                    "feature_key": keys,
                    "action": ["added"] * len(keys),
                    "file_row": pd.array(range(1, len(keys) + 1), dtype="Int64"),
                }
            ),
            "append",
        )
    lines = read_changes(store, cid)
    assert sorted(lines["feature_key"]) == sorted(keys)
    assert rollback_changeset(store, cid) == {"deleted": 20, "restored": 0}
    assert store.count("component") == 0

"""`[defaults]` of a component mapping: a bad value is one mapping error, and a
subclass name resolves to its code (found as a new user of the 316,851-row load)."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest

import urbangrid
from urbangrid.errors import MappingError
from urbangrid.loaders.pipeline import load_survey

from .test_survey_load import COUNTY, survey_frame

HEAD = """[mapping]
name = "barrels"
target = "components"
[fields]
name = ["部件名称"]
status = ["部件状态"]
source = ["来源编号"]
[values.status]
"好" = "完好"
[defaults]
"""


def _survey(tmp_path: Path) -> Path:
    """Cambridge litter barrels (PDDL) without subclass or data source columns."""
    frame = survey_frame(("cambridge_litter_barrels",)).drop(columns=["数据来源", "小类代码"])
    path = tmp_path / "barrels.gpkg"
    pyogrio.write_dataframe(frame, path)
    return path


def _mapping(tmp_path: Path, defaults: str) -> Path:
    path = tmp_path / "barrels.toml"
    path.write_text(HEAD + defaults, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("defaults", "said"),
    [
        ('data_source = "普查"\nsubclass_code = "0402"\n', r"data_source = '普查'.*实测/地形图"),
        ('data_source = "实测"\nstatus = "好的"\nsubclass_code = "0402"\n', "status = '好的'"),
        ('data_source = "实测"\nsubclass_name = "盲路"\n', r"subclass_name = '盲路'.*2142 盲道"),
        ('data_source = "实测"\nsubclass_code = "9999"\n', r"subclass_code = '9999'"),
    ],
)
def test_a_bad_default_is_one_mapping_error(tmp_path: Path, defaults: str, said: str) -> None:
    survey, mapping = _survey(tmp_path), _mapping(tmp_path, defaults)
    with urbangrid.connect(tmp_path / "s.gpkg") as store:
        with pytest.raises(MappingError, match=rf"barrels\.toml: \[defaults\] {said}"):
            load_survey(store, survey, mapping=mapping, admin_code=COUNTY, commit=True)
        assert store.is_empty("component")


def test_a_default_subclass_name_gives_its_code(tmp_path: Path) -> None:
    survey = _survey(tmp_path)
    mapping = _mapping(tmp_path, 'data_source = "实测"\nsubclass_name = "盲道"\n')
    with urbangrid.connect(tmp_path / "s.gpkg") as store:
        r = load_survey(store, survey, mapping=mapping, admin_code=COUNTY, commit=True)
        assert not r.blocked and r.committed, r.summary()
        stored = store.read("component")
        assert len(stored) == len(pyogrio.read_dataframe(survey))
        assert set(stored["subclass_code"]) == {"2142"}

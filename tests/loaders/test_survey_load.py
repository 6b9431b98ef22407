"""Survey loads on real data: every format, both stores, dry run, idempotence, rollback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

import urbangrid
from urbangrid.errors import ChangeSetError, CRSError, CRSMismatchError, DataFileError
from urbangrid.loaders.changeset import list_changesets, rollback_changeset
from urbangrid.loaders.osm_components import read_bundled_components
from urbangrid.loaders.pipeline import load_survey
from urbangrid.loaders.readers import read_survey
from urbangrid.spatial.components.codes import demo_profile
from urbangrid.store import Store

#: County of new component IDs: these stores hold no district to take it from.
COUNTY = "320508"

SOURCES = ("osm_china", "cambridge_hydrants", "cambridge_litter_barrels")
FORMATS = ("gpkg", "shp", "geojson", "csv")


def survey_frame(sources: tuple[str, ...] = SOURCES) -> gpd.GeoDataFrame:
    """Bundled OSM (ODbL) and Cambridge (PDDL) components in a contractor's layout:
    Chinese field names and values (部件状态 "好", 数据来源 实测), EPSG:4326."""
    rec, _ = read_bundled_components(demo_profile(), sources)
    names = rec["name"].where(rec["name"].notna(), None)
    owner = rec["dept_name2"] if "dept_name2" in rec.columns else pd.Series(None, index=rec.index)
    return gpd.GeoDataFrame(
        {
            "小类代码": rec["subclass_code"].astype(str),
            "部件名称": names,
            "部件状态": "好",
            "数据来源": "实测",
            "来源编号": rec["source"].astype(str),
            "权属单位": owner.where(owner.notna(), "城市管理局"),
            "备注": "普查2024",
        },
        geometry=rec.geometry.values,
        crs="EPSG:4326",
    )


def write_survey(frame: gpd.GeoDataFrame, folder: Path, fmt: str) -> Path:
    """Write `frame` as a contractor would: SHP in GBK without .cpg, CSV with 经度/纬度."""
    if fmt == "gpkg":
        path = folder / "survey.gpkg"
        pyogrio.write_dataframe(frame, path, layer="部件")
    elif fmt == "geojson":
        path = folder / "survey.geojson"
        pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    elif fmt == "shp":
        path = folder / "survey.shp"
        pyogrio.write_dataframe(frame, path, encoding="GBK")
        path.with_suffix(".cpg").unlink(missing_ok=True)
    else:
        path = folder / "survey.csv"
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["经度"] = [repr(g.x) for g in frame.geometry]
        table["纬度"] = [repr(g.y) for g in frame.geometry]
        table.to_csv(path, index=False, encoding="gbk")
    return path


def current(store: Store) -> pd.DataFrame:
    """Current components, comparable across stores (ID order, WKT geometry)."""
    f = store.read("component")
    f["wkt"] = shapely.to_wkt(f.geometry.values, rounding_precision=9)
    return (
        pd.DataFrame(f.drop(columns="geometry")).sort_values("component_id").reset_index(drop=True)
    )


class TestReaders:
    def test_gbk_shapefile_without_cpg(self, tmp_path: Path) -> None:
        path = write_survey(survey_frame(("osm_china",)), tmp_path, "shp")
        assert not path.with_suffix(".cpg").exists()
        s = read_survey(path)
        assert s.encoding is not None and s.encoding.encoding == "GBK"
        assert "not valid UTF-8" in s.encoding.reason
        assert "部件名称" in s.frame.columns
        assert s.frame.index[0] == 1

    def test_csv_needs_crs(self, tmp_path: Path) -> None:
        path = write_survey(survey_frame(("osm_china",)), tmp_path, "csv")
        with pytest.raises(CRSError, match=r"give --crs \(crs=\)"):
            read_survey(path)
        s = read_survey(path, crs="EPSG:4326")
        assert s.encoding is not None and s.encoding.encoding == "GBK"
        assert s.frame.geometry.notna().all()

    def test_degrees_declared_as_metres_are_flagged(self, tmp_path: Path) -> None:
        path = write_survey(survey_frame(("osm_china",)), tmp_path, "csv")
        with pytest.raises(CRSMismatchError, match=r"survey\.csv"):
            read_survey(path, crs="EPSG:4547")

    def test_gzipped_files_read_as_the_plain_ones(self, tmp_path: Path) -> None:
        import gzip

        frame = survey_frame(("osm_china",))
        for fmt in ("csv", "gpkg"):
            path = write_survey(frame, tmp_path, fmt)
            packed = path.with_name(path.name + ".gz")
            packed.write_bytes(gzip.compress(path.read_bytes()))
            crs = "EPSG:4326" if fmt == "csv" else None
            plain, zipped = read_survey(path, crs=crs), read_survey(packed, crs=crs)
            assert zipped.path == packed and zipped.format == plain.format
            assert zipped.frame.equals(plain.frame)
            assert zipped.sha256 != plain.sha256  # the file the user gave
        broken = tmp_path / "cut.csv.gz"
        broken.write_bytes(gzip.compress(b"x,y\n1,2\n" * 100)[:15])
        with pytest.raises(DataFileError, match=r"cut\.csv\.gz: cannot decompress"):
            read_survey(broken, crs="EPSG:4326")

    def test_gcj02_is_converted(self, tmp_path: Path) -> None:
        frame = survey_frame(("osm_china",)).iloc[:5]
        path = write_survey(frame, tmp_path, "csv")
        s = read_survey(path, crs="GCJ-02")
        assert s.crs == "EPSG:4326" and "GCJ-02 converted" in s.crs_note
        shift = shapely.distance(s.frame.geometry.values, frame.geometry.values)
        assert (shift > 0.001).all()  # hundreds of metres in Beijing / Shanghai


@pytest.mark.parametrize("fmt", FORMATS)
def test_formats_load_identically(store: Store, tmp_path: Path, fmt: str) -> None:
    frame = survey_frame()
    reference = urbangrid.connect(tmp_path / "reference.gpkg")
    at = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    ref_path = write_survey(frame, tmp_path, "gpkg")
    assert load_survey(reference, ref_path, admin_code=COUNTY, commit=True, at=at).changeset_id
    folder = tmp_path / fmt
    folder.mkdir()
    path = write_survey(frame, folder, fmt)
    crs = "EPSG:4326" if fmt == "csv" else None
    result = load_survey(store, path, admin_code=COUNTY, crs=crs, commit=True, at=at)
    # The real data repeats a few features (same subclass, same place): warned, loaded.
    assert not result.set_aside, result.summary()
    assert all(p["severity"] == "warning" for p in result.problems)
    assert result.changeset is not None and result.changeset.count("added") == len(frame)
    assert current(store).equals(current(reference))
    again = load_survey(store, path, admin_code=COUNTY, crs=crs, commit=True)
    assert again.changeset is not None and again.changeset.empty
    assert again.changeset_id is None
    reference.close()


def test_dry_run_writes_nothing_and_diff_is_field_by_field(store: Store, tmp_path: Path) -> None:
    frame = survey_frame(("cambridge_hydrants",))
    path = write_survey(frame, tmp_path, "gpkg")
    dry = load_survey(store, path, admin_code=COUNTY)
    assert not dry.committed and dry.changeset is not None
    assert dry.changeset.count("added") == len(frame)
    assert store.count("component") == 0 and store.count("load_changeset") == 0
    load_survey(store, path, admin_code=COUNTY, commit=True)
    frame.loc[0, "部件状态"] = "坏"
    frame.loc[1, "geometry"] = shapely.Point(frame.geometry[1].x + 0.0001, frame.geometry[1].y)
    (tmp_path / "v2").mkdir()
    path2 = write_survey(frame, tmp_path / "v2", "gpkg")
    diff = load_survey(store, path2, admin_code=COUNTY, diff=tmp_path / "d.csv").changeset
    assert diff is not None
    assert diff.counts() == {
        "added": 0,
        "changed": 1,
        "moved": 1,
        "removed": 0,
        "unchanged": len(frame) - 2,
    }
    changed = next(c for c in diff.changes if c.action == "changed")
    assert changed.fields == {"status": ("完好", "破损")}
    moved = next(c for c in diff.changes if c.action == "moved")
    assert moved.distance_m == pytest.approx(8.2, abs=0.3)  # 0.0001° of longitude at 42.4°N
    assert (tmp_path / "d.csv").exists()


def test_rollback_restores_the_layer(store: Store, tmp_path: Path) -> None:
    frame = survey_frame(("cambridge_litter_barrels",))
    path = write_survey(frame, tmp_path, "gpkg")
    first = load_survey(
        store, path, admin_code=COUNTY, commit=True, at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    )
    before = current(store)
    frame.loc[:9, "部件状态"] = "坏"
    (tmp_path / "v2").mkdir()
    second = load_survey(
        store,
        write_survey(frame, tmp_path / "v2", "gpkg"),
        admin_code=COUNTY,
        commit=True,
        at=dt.datetime(2024, 2, 1, tzinfo=dt.UTC),
    )
    assert second.changeset is not None and second.changeset.count("changed") == 10
    with pytest.raises(ChangeSetError, match="changed later"):
        rollback_changeset(store, first.changeset_id)  # type: ignore[arg-type]
    rollback_changeset(store, second.changeset_id)  # type: ignore[arg-type]
    assert current(store).equals(before)
    log = list_changesets(store)
    assert log["status"].tolist() == ["applied", "rolled_back"]
    with pytest.raises(ChangeSetError, match="already rolled back"):
        rollback_changeset(store, second.changeset_id)  # type: ignore[arg-type]
    rollback_changeset(store, first.changeset_id)  # type: ignore[arg-type]
    assert store.count("component") == 0


def test_bad_rows_block_or_are_set_aside(store: Store, tmp_path: Path) -> None:
    frame = survey_frame(("cambridge_hydrants",)).iloc[:50].copy()
    frame.loc[3, "部件状态"] = "不知道"
    frame.loc[7, "小类代码"] = "9999"
    frame.loc[9, "geometry"] = None
    path = write_survey(frame, tmp_path, "gpkg")
    blocked = load_survey(store, path, admin_code=COUNTY, commit=True, report=tmp_path / "r")
    assert blocked.blocked and store.count("component") == 0
    assert blocked.set_aside == [4, 8, 10]
    report = pd.read_csv(tmp_path / "r.csv", encoding="utf-8-sig")
    assert set(report["row"]) == {4, 8, 10} and set(report["file"]) == {"survey.gpkg"}
    assert len(gpd.read_file(tmp_path / "r.gpkg")) == len(report)
    skipped = load_survey(store, path, admin_code=COUNTY, commit=True, on_invalid="skip")
    assert not skipped.blocked and store.count("component") == 47
    assert list_changesets(store)["n_set_aside"].tolist() == [3]


def test_new_rows_with_unknown_source_keys_resolve_to_no_id(tmp_path: Path) -> None:
    """Regression: pandas 3's string dtype refused the NaN of an unknown source key."""
    from urbangrid.loaders.pipeline import _resolve_ids_readonly

    frame = pd.DataFrame(
        {
            "component_id": pd.array([None, "3205080101000001"], dtype="str"),
            "source": pd.array(["osm:node/1", None], dtype="str"),
        }
    )
    with urbangrid.connect(tmp_path / "s.gpkg") as store:
        out = _resolve_ids_readonly(store, frame)
    assert out["component_id"].tolist() == [None, "3205080101000001"]

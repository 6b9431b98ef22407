"""Case logs from CSV: the bundled 311 samples, event rows, bad rows, both stores."""

from __future__ import annotations

import pytest

from urbangrid.cases.indicators import case_table, indicators
from urbangrid.data import data_path
from urbangrid.errors import CaseLogError
from urbangrid.loaders.case_log import load_case_log, read_case_log

BOSTON = data_path("reports/boston_311_2025_sample.csv.gz")
NYC = data_path("reports/nyc_311_2022-05_sample.csv.gz")


class TestSamples:
    def test_boston(self):
        ev = read_case_log(BOSTON)
        assert ev["event"].value_counts().to_dict() == {"上报": 2424, "立案": 2424}
        rep = ev[ev["event"] == "上报"]
        # Employee Generated 740 + City Worker App 89 reported by city staff
        assert (rep["channel"] == "collector").sum() == 829
        assert rep.geometry.notna().sum() == 2422 and ev.crs.to_epsg() == 4326
        assert rep["due_at"].notna().all()

    def test_nyc_indicators(self):
        ev = read_case_log(NYC)
        assert ev["event"].value_counts().to_dict() == {"上报": 924, "立案": 924, "结案": 480}
        ind = indicators(case_table(ev), by=None)
        assert int(ind.at["all", "受理数"]) == 924 and int(ind.at["all", "结案数"]) == 480
        assert ind.at["all", "立案率"] == 1.0

    def test_mapping_by_name(self):
        ev = read_case_log(NYC, mapping="nyc-311")
        assert ev["source"].iloc[0] == NYC.name and ev["source_row"].min() == 1


def _write(tmp_path, text):
    p = tmp_path / "log.csv"
    p.write_text(text, encoding="utf-8")
    return p


class TestEventRows:
    HEAD = "案卷号,环节,时间,监督员编号,来源,经度,纬度\n"

    def test_read(self, tmp_path):
        p = _write(
            tmp_path,
            self.HEAD + "a,上报,2025-03-03 09:00,C1,监督员上报,116.32,40.0\n"
            "a,立案,2025-03-03 09:10,,,116.32,40.0\n",
        )
        ev = read_case_log(p, collectors=["C1"])
        assert ev["event"].tolist() == ["上报", "立案"]
        assert ev["channel"].iloc[0] == "collector"

    def test_out_of_order_names_the_row(self, tmp_path):
        p = _write(
            tmp_path,
            self.HEAD + "a,上报,2025-03-03 09:00,C1,监督员上报,,\na,结案,2025-03-03 08:00,,,,\n",
        )
        with pytest.raises(CaseLogError, match=r"log\.csv: row 2: field 'at'.*out of order"):
            read_case_log(p)

    def test_unknown_collector(self, tmp_path):
        p = _write(tmp_path, self.HEAD + "a,上报,2025-03-03 09:00,C7,监督员上报,,\n")
        with pytest.raises(CaseLogError, match=r"row 1: field 'collector_id'.*unknown"):
            read_case_log(p, collectors=["C1"])

    def test_bad_time_and_point(self, tmp_path):
        p = _write(tmp_path, self.HEAD + "a,上报,yesterday,C1,监督员上报,,\n")
        with pytest.raises(CaseLogError, match=r"row 1: field 'at'.*unreadable"):
            read_case_log(p)
        p = _write(tmp_path, self.HEAD + "a,上报,2025-03-03 09:00,C1,监督员上报,400,40\n")
        with pytest.raises(CaseLogError, match="row 1: field 'lon/lat'"):
            read_case_log(p)


def test_load_into_both_stores(store):
    ev = read_case_log(NYC)
    assert load_case_log(store, ev, source=NYC.name) == len(ev)
    assert store.count("case_event") == len(ev)
    # loading again changes nothing
    assert load_case_log(store, ev, source=NYC.name) == 0
    back = store.read("case_event", where={"event": "结案"})
    assert len(back) == 480

"""Aware case times (a store gives them back in UTC) against the working-hours calendar."""

from __future__ import annotations

import pandas as pd
import pytest

from urbangrid.cases.calendar import add_working_time, deadline, read_calendar
from urbangrid.cases.indicators import case_table, indicators
from urbangrid.errors import CalendarError
from urbangrid.loaders.case_log import load_case_log, read_case_log


@pytest.fixture(scope="module")
def cal():
    return read_calendar()


def test_aware_times_are_converted_to_local_and_back(cal):
    # Monday 2025-03-03 11:00 in Beijing is 03:00 UTC; +2 working hours → 14:30 local
    due = add_working_time(pd.Timestamp("2025-03-03 03:00", tz="UTC"), 7200, cal)
    assert due == pd.Timestamp("2025-03-03 14:30", tz="Asia/Shanghai")
    assert str(due.tz) == "UTC"
    # naive times are local already; mixed offsets are read through UTC
    assert str(add_working_time("2025-03-03 11:00", 7200, cal)) == "2025-03-03 14:30:00"
    both = deadline(["2025-03-03T11:00+08:00", "2025-03-03T03:00Z"], 2, "工作时", cal)
    assert both[0] == both[1] == pd.Timestamp("2025-03-03 06:30", tz="UTC")


def test_calendar_file_names_its_time_zone(tmp_path):
    p = tmp_path / "ny.toml"
    p.write_text('[calendar]\nhours = [["09:00", "17:00"]]\nyears = [2025, 2025]\n'
                 'timezone = "America/New_York"\n', encoding="utf-8")
    ny = read_calendar(p)
    # 14:00 UTC is 09:00 in New York (EST): one working hour later is 10:00 there
    due = add_working_time(pd.Timestamp("2025-03-03 14:00", tz="UTC"), 3600, ny)
    assert due == pd.Timestamp("2025-03-03 10:00", tz="America/New_York")
    p.write_text('[calendar]\nhours = [["09:00", "17:00"]]\nyears = [2025, 2025]\n'
                 'timezone = "Beijing"\n', encoding="utf-8")
    with pytest.raises(CalendarError, match=r"ny\.toml: \[calendar\] timezone 'Beijing'"):
        read_calendar(p)


LOG = """案卷号,环节,时间,监督员编号,来源,经度,纬度
c1,上报,2025-03-03 09:00,C1,监督员上报,116.32,40.0
c1,立案,2025-03-03 09:05,,,116.32,40.0
c1,派遣,2025-03-03 09:10,,,116.32,40.0
c1,处置,2025-03-03 10:00,,,116.32,40.0
c1,核查,2025-03-03 10:30,C1,,116.32,40.0
c1,结案,2025-03-03 10:40,,,116.32,40.0
c2,上报,2025-03-03 17:00,C2,监督员上报,116.33,40.0
c2,核实,2025-03-03 17:20,C2,,116.33,40.0
c2,立案,2025-03-03 17:50,,,116.33,40.0
c2,派遣,2025-03-04 09:00,,,116.33,40.0
c2,处置,2025-03-05 16:00,,,116.33,40.0
c2,核查,2025-03-05 17:30,C2,,116.33,40.0
c2,结案,2025-03-05 17:45,,,116.33,40.0
"""


def test_case_table_after_a_store_round_trip(store, tmp_path, cal):
    p = tmp_path / "log.csv"
    p.write_text(LOG, encoding="utf-8")
    ev = read_case_log(p, collectors=["C1", "C2"])
    local = case_table(ev, calendar=cal)
    # the store keeps instants: local Beijing times go in, UTC comes back
    ev["at"] = ev["at"].dt.tz_localize("Asia/Shanghai")
    load_case_log(store, ev, source=p.name)
    back = store.read("case_event")
    assert str(back["at"].dt.tz) == "UTC"
    cases = case_table(back, calendar=cal)
    for col in ("report_at", "close_at", "due_at", "verify_due", "check_due"):
        got = cases[col].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
        assert got.tolist() == local[col].tolist(), col
    # c2 handled Wednesday 16:00 in Beijing: its check is due an hour later, 09:00 UTC
    assert cases.loc["c2", "check_due"] == pd.Timestamp("2025-03-05 17:00", tz="Asia/Shanghai")
    pd.testing.assert_frame_equal(indicators(cases), indicators(local))


def test_naive_log_times_are_stored_as_local_instants(store, tmp_path, cal):
    # no 处置 events: the check_due column is empty, which lost its zone through .to_numpy()
    p = tmp_path / "log_no_handling.csv"
    p.write_text("\n".join(line for line in LOG.splitlines() if ",处置," not in line and
                           ",核查," not in line and ",结案," not in line) + "\n",
                 encoding="utf-8")
    ev = read_case_log(p, collectors=["C1", "C2"])
    local = case_table(ev, calendar=cal)
    load_case_log(store, ev, source=p.name)  # naive times: Beijing wall clock
    back = store.read("case_event")
    first = back.loc[back["event_id"] == "c1:上报:1", "at"].iloc[0]
    assert first == pd.Timestamp("2025-03-03 09:00", tz="Asia/Shanghai")
    cases = case_table(back, calendar=cal)
    got = cases["report_at"].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    assert got.tolist() == local["report_at"].tolist()
    assert cases["check_due"].isna().all()
    pd.testing.assert_frame_equal(indicators(cases), indicators(local))

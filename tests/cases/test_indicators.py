"""Calendar, indicators, collector score and attendance on hand-made cases (issue 10)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from urbangrid.cases.calendar import add_working_time, deadline, read_calendar, working_seconds
from urbangrid.cases.indicators import (
    INDICATORS,
    attendance_days,
    case_table,
    check_case_log,
    collector_scores,
    indicators,
    read_evaluation_norms,
)
from urbangrid.errors import CalendarError, CaseLogError, NormsError


@pytest.fixture(scope="module")
def cal():
    return read_calendar()


class TestCalendar:
    def test_lunch_break_and_evening(self, cal):
        # Monday 11:00 + 2 working hours: 1 h before lunch, 1 h after 13:30
        assert str(add_working_time("2025-03-03 11:00", 7200, cal)) == "2025-03-03 14:30:00"
        # started after hours: the clock starts next morning
        assert str(add_working_time("2025-03-03 20:00", 3600, cal)) == "2025-03-04 09:30:00"

    def test_end_of_day_is_that_day(self, cal):
        assert str(add_working_time("2025-03-03 17:00", 3600, cal)) == "2025-03-03 18:00:00"

    def test_weekend_holiday_and_makeup_day(self, cal):
        # Friday 2025-01-24 17:00 + 4 h: Saturday off, Sunday 2025-01-26 worked (调休)
        assert str(add_working_time("2025-01-24 17:00", 4 * 3600, cal)) == "2025-01-26 11:30:00"
        # Spring festival 01-28..02-04 off: Monday 01-27 17:00 + 2 h → Wednesday 02-05
        assert str(add_working_time("2025-01-27 17:00", 2 * 3600, cal)) == "2025-02-05 09:30:00"
        assert cal.is_workday(["2025-02-08", "2025-02-09", "2025-10-08"]).tolist() == [
            True, False, False]

    def test_vectorised_deadlines_and_units(self, cal):
        due = deadline(["2025-03-03 09:00", "2025-03-03 09:00", None, "2025-03-07 17:00"],
                       [4, 1, 4, 30], ["工作时", "工作日", "工作时", "分钟"], cal)
        assert [str(d) for d in due] == ["2025-03-03T14:30:00", "2025-03-04T09:00:00", "NaT",
                                         "2025-03-07T17:30:00"]
        assert working_seconds(["2025-03-07 17:00"], ["2025-03-10 09:30"], cal).tolist() == [
            7200.0]

    def test_outside_the_years_is_an_error(self, cal):
        with pytest.raises(CalendarError, match="2024"):
            add_working_time("2024-12-31 10:00", 3600, cal)
        with pytest.raises(CalendarError, match="calendar"):
            deadline("2025-03-03 09:00", 4, "工作时", None)
        with pytest.raises(CalendarError, match="unit"):
            deadline("2025-03-03 09:00", 4, "fortnights", cal)

    def test_bad_calendar_file(self, tmp_path):
        p = tmp_path / "cal.toml"
        p.write_text('[calendar]\nhours = [["12:00", "08:00"]]\nyears = [2025, 2025]\n',
                     encoding="utf-8")
        with pytest.raises(CalendarError, match=r"hours\[0\]"):
            read_calendar(p)


def _log(rows):
    cols = ["case_id", "event", "at", "collector_id", "channel", "assigned_to", "category",
            "kind", "due_at"]
    frame = pd.DataFrame([dict(zip(cols, r, strict=False)) for r in rows])
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


#: One case per branch, all on Monday 2025-03-03 (times in the comments).
LOG = _log([
    # c1: C1 reports, registered, handled, checked in time (30 min), closed in time
    ("c1", "上报", "2025-03-03 09:00", "C1", "collector", "C1", "0102", "event"),
    ("c1", "立案", "2025-03-03 09:05"),
    ("c1", "派遣", "2025-03-03 09:10"),
    ("c1", "处置", "2025-03-03 10:00"),
    ("c1", "核查", "2025-03-03 10:30", "C1"),
    ("c1", "结案", "2025-03-03 10:40"),
    # c2: C1 reports, never registered (not a valid report)
    ("c2", "上报", "2025-03-03 09:30", "C1", "collector", "C1"),
    # c3: the public reports in C1's patch; C1 verifies late (2 h > 1 h); 漏报 for C1;
    # handled, checked late; closed after the 4-working-hour limit of 0102
    ("c3", "上报", "2025-03-03 08:00", None, "public", "C1", "0102", "event"),
    ("c3", "核实", "2025-03-03 10:00", "C1"),
    ("c3", "立案", "2025-03-03 10:05"),
    ("c3", "处置", "2025-03-03 16:00"),
    ("c3", "核查", "2025-03-03 17:30", "C1"),
    ("c3", "结案", "2025-03-03 17:45"),
    # c4: the public reports in C2's patch, verified in time by C2, registered, due but open
    ("c4", "上报", "2025-03-03 09:00", None, "public", "C2", "0102", "event"),
    ("c4", "核实", "2025-03-03 09:20", "C2"),
    ("c4", "立案", "2025-03-03 09:30"),
    # c5: C2 reports, registered, not yet due (explicit due after the log's end)
    ("c5", "上报", "2025-03-03 17:00", "C2", "collector", "C2", None, None,
     "2025-03-20 17:00"),
    ("c5", "立案", "2025-03-03 17:50"),
])


@pytest.fixture(scope="module")
def cases(cal):
    return case_table(check_case_log(LOG, collectors=["C1", "C2"]), calendar=cal)


class TestIndicators:
    def test_due_times(self, cases):
        # 0102 暴露垃圾: 4 工作时 from 立案 (10:05 → 15:35 with the lunch break)
        assert str(cases.at["c3", "due_at"]) == "2025-03-03 15:35:00"
        assert str(cases.at["c3", "verify_due"]) == "2025-03-03 09:00:00"
        assert str(cases.at["c1", "check_due"]) == "2025-03-03 11:00:00"

    def test_per_collector_counts(self, cases):
        ind = indicators(cases, by="collector")
        c1 = ind.loc["C1"]
        assert {k: int(c1[k]) for k in ("上报数", "有效上报数", "受理数", "立案数", "漏报数",
                                          "应核实数", "按时核实数", "应核查数", "按时核查数",
                                          "应结案数", "结案数", "按期结案数")} == {
            "上报数": 2, "有效上报数": 1, "受理数": 3, "立案数": 2, "漏报数": 1, "应核实数": 1,
            "按时核实数": 0, "应核查数": 2, "按时核查数": 1, "应结案数": 2, "结案数": 2,
            "按期结案数": 1}
        assert c1["有效上报率"] == 0.5 and c1["漏报率"] == 0.5 and c1["按时核实率"] == 0.0
        assert c1["按时核查率"] == 0.5 and c1["结案率"] == 1.0 and c1["按期结案率"] == 0.5
        c2 = ind.loc["C2"]
        # c4 is due (15:00 < the log's last event 17:50) but open; c5 is not due yet
        assert (int(c2["应结案数"]), int(c2["结案数"]), c2["按时核实率"]) == (1, 0, 1.0)
        assert c2["结案率"] == 0.0 and np.isnan(c2["按时核查率"])

    def test_district_and_period(self, cases):
        ind = indicators(cases, by=None, period="D")
        row = ind.loc[("all", "2025-03-03")]
        assert row["立案率"] == 4 / 5
        assert set(INDICATORS) <= set(ind.columns)

    def test_as_of_moves_the_due_counts(self, cases):
        early = indicators(cases, by="collector", as_of="2025-03-03 12:00")
        # at noon c3 (due 15:35) is closed later, so not yet due; c1 is closed
        assert int(early.at["C1", "应结案数"]) == 1


class TestBadCaseLogs:
    def test_out_of_order(self):
        bad = _log([("x", "上报", "2025-03-03 10:00", "C1", "collector"),
                    ("x", "立案", "2025-03-03 10:05"),
                    ("x", "结案", "2025-03-03 09:00")])
        with pytest.raises(CaseLogError, match=r"row 3: field 'at'.*结案.*before 立案") as e:
            check_case_log(bad, source="log.csv")
        assert e.value.problems[0]["row"] == 3 and e.value.problems[0]["file"] == "log.csv"

    def test_closed_before_registered(self):
        bad = _log([("x", "上报", "2025-03-03 10:00"), ("x", "立案", "2025-03-03 12:00"),
                    ("x", "结案", "2025-03-03 11:00")])
        with pytest.raises(CaseLogError, match=r"结案 at .* is before 立案"):
            check_case_log(bad)

    def test_unknown_collector_event_and_time(self):
        bad = _log([("x", "上报", "2025-03-03 10:00", "C9", "collector"),
                    ("x", "拍照", "2025-03-03 10:05"),
                    ("x", "结案", "not a time")])
        with pytest.raises(CaseLogError) as e:
            check_case_log(bad, collectors=["C1"], source="log.csv")
        got = {(p["row"], p["field"]) for p in e.value.problems}
        assert got == {(1, "collector_id"), (2, "event"), (3, "at")}

    def test_case_without_report(self):
        with pytest.raises(CaseLogError, match="0 上报"):
            check_case_log(_log([("x", "立案", "2025-03-03 10:00")]))


class TestCollectorScore:
    def test_weights_and_grades(self):
        ind = pd.DataFrame({"有效上报率": [1.0, 0.9, 0.8, 0.5, 0.2],
                            "漏报率": [0.0, 0.1, 0.3, 0.5, 0.9],
                            "按时核实率": [1.0, 1.0, 0.7, 0.5, 0.2],
                            "按时核查率": [1.0, 0.75, 0.7, 0.5, 0.2]},
                           index=list("abcde"))
        out = collector_scores(ind)
        # b: 0.4·90 + 0.2·90 + 0.2·100 + 0.2·75 = 89.0
        assert out["score"].tolist() == [100.0, 89.0, 74.0, 50.0, 18.0]
        assert out["grade"].tolist() == ["A", "B", "C", "D", "E"]

    def test_boundaries_and_empty_items(self):
        ind = pd.DataFrame({"有效上报率": [0.75, np.nan], "漏报率": [np.nan, np.nan],
                            "按时核实率": [0.75, np.nan], "按时核查率": [1.0, np.nan]},
                           index=["edge", "idle"])
        out = collector_scores(ind)
        # edge: 30 + 20 (nothing registered: full) + 15 + 20 = 85 → B; idle: 0 + 60 → C
        assert out["score"].tolist() == [85.0, 60.0]
        assert out["grade"].tolist() == ["B", "C"]

    def test_norms_file_is_checked(self, tmp_path):
        p = tmp_path / "e.toml"
        p.write_text('[score.weights]\n"有效上报率" = 0.5\n"漏报率" = 0.2\n[grades]\nA = 0\n'
                     '[limits]\n"核实" = [1, "小时"]\n"核查" = [1, "小时"]\n', encoding="utf-8")
        with pytest.raises(NormsError, match=r"sum to 0\.7"):
            read_evaluation_norms(p)


class TestAttendance:
    def test_every_branch(self):
        got = attendance_days(
            attended=[22, 20, 20, 18, 17],
            leave=[0, 2, 2, 2, 2],
            required=[22, 22, 22, 22, 22],
            reports=[300, 300, 150, 400, 100],
            quota=[300, 300, 300, 300, 300])
        # ≥ quota → attended; < quota → reports/quota × required (11); leave short → attended
        assert got.tolist() == [22, 20, 11, 18, 17]

    def test_rounding_half_up(self):
        # 0.25 × 22 = 5.5 → 6 (四舍五入), not 6 by banker's luck: 0.75 × 22 = 16.5 → 17
        assert attendance_days(22, 0, 22, [75, 225], 300).tolist() == [6, 17]
        assert attendance_days(22, 0, 22, [75, 225], 300, rounding="half_even").tolist() == [
            6, 16]

    def test_bad_quota(self):
        with pytest.raises(ValueError, match="quota"):
            attendance_days(22, 0, 22, 10, 0)

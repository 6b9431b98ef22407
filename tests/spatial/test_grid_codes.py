"""Unit grid codes: build, parse, validate, reading-order serials, renumbering."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from urbangrid.errors import GridCodeError
from urbangrid.spatial.grids.codes import (
    build_grid_codes,
    check_grid_codes,
    grid_serial_order,
    number_grids,
    parse_grid_code,
    parse_grid_codes,
    renumber_grids,
    validate_grid_codes,
)

COMM = "110108014001"  # 清华园街道 东楼社区 (2023 code)


class TestBuildParse:
    def test_real_code_round_trip(self) -> None:
        # The real 15-digit code quoted by the standards note (Suzhou, Zhangjiagang).
        parsed = parse_grid_code("320582110152102")
        assert parsed.county_code == "320582"
        assert parsed.street_code == "320582110"
        assert parsed.community_code == "320582110152"
        assert parsed.serial == 102
        assert parsed.form == 15
        assert build_grid_codes([parsed.community_code], [parsed.serial]).tolist() == [
            "320582110152102"]

    def test_fourteen_digit_form(self) -> None:
        assert build_grid_codes([COMM], [7], form=14).tolist() == ["11010801400107"]
        assert parse_grid_code("11010801400107").serial == 7

    @pytest.mark.parametrize(("serial", "form"), [(0, 15), (1000, 15), (100, 14), (2.5, 15)])
    def test_serial_out_of_range(self, serial: float, form: int) -> None:
        with pytest.raises(GridCodeError, match="row 0: serial"):
            build_grid_codes([COMM], [serial], form=form)

    @pytest.mark.parametrize(("code", "reason"), [
        ("11010801400100", "serial is 0"),
        ("1101080140010", "has 13 digits"),
        ("11010801400100A", "digits 0-9 only"),
        ("110108000001001", "street part is 000"),
        ("110108014000001", "community part is 000"),
        ("000108014001001", "province 00"),
        ("１１０１０８０１４００１００１", "digits 0-9 only"),  # full-width digits
    ])
    def test_parse_rejects(self, code: str, reason: str) -> None:
        with pytest.raises(GridCodeError, match=reason):
            parse_grid_code(code)

    def test_parse_many(self) -> None:
        frame = parse_grid_codes(["320582110152102", "11010801400107"])
        assert frame["serial"].tolist() == [102, 7]
        assert frame["form"].tolist() == [15, 14]
        with pytest.raises(GridCodeError, match="row 1"):
            parse_grid_codes(["320582110152102", "bad"])

    def test_bad_form(self) -> None:
        with pytest.raises(GridCodeError, match="15 or 14"):
            build_grid_codes([COMM], [1], form=12)

    @given(st.lists(st.integers(1, 999), min_size=1, max_size=20))
    def test_build_parse_inverse(self, serials: list[int]) -> None:
        codes = build_grid_codes([COMM] * len(serials), serials)
        assert parse_grid_codes(codes)["serial"].tolist() == serials


class TestValidate:
    def test_clean(self) -> None:
        assert validate_grid_codes(["110108014001001", "110108014001002"]).empty

    def test_every_problem_listed(self) -> None:
        codes = ["110108014001001", "110108014001001", "12", "11010801400203"]
        problems = validate_grid_codes(codes, community_codes=[COMM, COMM, COMM, COMM],
                                       known_communities={COMM})
        checks = set(zip(problems["row"], problems["check"], strict=True))
        assert (0, "duplicate") in checks and (1, "duplicate") in checks
        assert (2, "format") in checks
        assert (3, "mixed_form") in checks
        assert (3, "community_mismatch") in checks
        assert (3, "unknown_community") in checks

    def test_rows_read_as_problem_records(self) -> None:
        from urbangrid.problems import format_problem

        found = validate_grid_codes(["110108014001001", "12"])
        row = found.iloc[0].to_dict()
        assert (row["field"], row["value"], row["severity"]) == ("grid_code", "12", "error")
        assert format_problem({"file": "grids.gpkg", **row}).startswith(
            "grids.gpkg: row 1: field 'grid_code' value '12': ")

    def test_check_raises_naming_rows(self) -> None:
        with pytest.raises(GridCodeError, match=r"(?s)grids.gpkg: 2 grid code problem.*row 1"):
            check_grid_codes(["110108014001001", "110108014001001"], layer="grids.gpkg")


class TestSerialOrder:
    def test_rows_north_to_south_then_west_to_east(self) -> None:
        # 3 × 2 lattice of centroids, 100 m apart, given in scrambled order.
        x = [250, 50, 150, 50, 250, 150]
        y = [50, 150, 150, 50, 150, 50]
        assert grid_serial_order([COMM] * 6, x, y).tolist() == [6, 1, 2, 4, 3, 5]

    def test_ties(self) -> None:
        # Same row, same easting: the northern one first; identical points: input order.
        order = grid_serial_order([COMM] * 3, [10, 10, 10], [40.0, 60.0, 40.0])
        assert order.tolist() == [2, 1, 3]

    def test_sub_centimetre_noise_ignored(self) -> None:
        order = grid_serial_order([COMM] * 2, [10.001, 10.0], [50.0, 50.0])
        assert order.tolist() == [1, 2]

    def test_per_community(self) -> None:
        comm = [COMM, "110108014002", COMM, "110108014002"]
        assert grid_serial_order(comm, [0, 0, 100, 100], [0, 0, 0, 0]).tolist() == [1, 1, 2, 2]

    def test_number_grids(self) -> None:
        codes = number_grids([COMM] * 2, [100, 0], [0, 0])
        assert codes.tolist() == ["110108014001002", "110108014001001"]


class TestRenumber:
    def test_keeps_codes_and_never_reuses_retired(self) -> None:
        codes = renumber_grids(
            [COMM] * 4, [0, 100, 200, 300], [0, 0, 0, 0],
            ["110108014001001", None, "110108014001003", ""],
            retired=["110108014001002", "110108014001005"])
        assert codes.tolist() == ["110108014001001", "110108014001006", "110108014001003",
                                  "110108014001007"]

    def test_grid_moved_to_other_community_gets_new_code(self) -> None:
        other = "110108014002"
        codes = renumber_grids([other], [0], [0], ["110108014001004"])
        assert codes.tolist() == ["110108014002001"]

    def test_duplicate_keeps_first_in_reading_order(self) -> None:
        codes = renumber_grids([COMM] * 2, [100, 0], [0, 0],
                               ["110108014001001", "110108014001001"])
        assert codes.tolist() == ["110108014001002", "110108014001001"]

    def test_exhausted(self) -> None:
        with pytest.raises(GridCodeError, match="no 14-digit serial left"):
            renumber_grids([COMM], [0], [0], [None], retired=["11010801400199"], form=14)

    def test_bad_community(self) -> None:
        with pytest.raises(GridCodeError, match="community code '1101080140'"):
            renumber_grids(["1101080140"], [0], [0], [None])

    @given(st.integers(1, 40), st.integers(0, 2**32 - 1))
    def test_unique_and_prefixed(self, n: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        comm = rng.choice([COMM, "110108014002"], n)
        x, y = rng.uniform(0, 1000, n), rng.uniform(0, 1000, n)
        current = [None] * n
        codes = renumber_grids(comm, x, y, current, retired=["110108014001003"])
        assert len(set(codes)) == n
        assert "110108014001003" not in set(codes)
        assert all(c[:12] == k for c, k in zip(codes, comm, strict=True))

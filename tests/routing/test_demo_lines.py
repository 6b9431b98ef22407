"""The demo's printed lines (issues 20/22 follow-up): no "-0.0" gap, and the reports line
says how many Boston 311 rows have no coordinates."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd

from urbangrid.data import data_path
from urbangrid.demo.steps import gap_text


def test_a_gap_a_hair_under_the_bound_prints_as_zero() -> None:
    assert gap_text(-0.0) == "0.0"
    assert gap_text(-0.04) == "0.0"
    assert gap_text(12.345) == "12.3"
    assert gap_text(None) == "" and gap_text(float("nan")) == ""


def test_reports_line_counts_the_rows_without_coordinates(tmp_path: Path) -> None:
    from urbangrid.demo import run as demo
    from urbangrid.store import GeoPackageStore

    with gzip.open(data_path("reports/boston_311_2025_sample.csv.gz"), "rt") as f:
        raw = pd.read_csv(f, dtype=str)
    n_all = len(raw)
    n_xy = len(raw.dropna(subset=["latitude", "longitude"]))
    assert n_all > n_xy  # the sample has rows without coordinates
    store = GeoPackageStore(str(tmp_path / "d.gpkg"))
    ctx = demo.DemoContext(store=store, out=tmp_path)
    try:
        line = ""
        for name, step in demo.STEPS:
            line = step(ctx)
            if name == "reports":
                break
    finally:
        store.close()
    assert (f"Boston 311: {n_xy} of {n_all} cases → 22 wards ({n_all - n_xy} have no "
            "coordinates)") in line


def test_the_routes_line_gives_short_rounds_a_decimal() -> None:
    """Work grids of 0.02 km² are ridden round in seconds: the line read "0–37 min"."""
    from urbangrid.demo.steps import minutes_range

    assert minutes_range([0.38, 12.2, 36.6]) == "0.4–37"
    assert minutes_range([0.01, 2.0]) == "<0.1–2"
    assert minutes_range([0.97, 1.4]) == "1"
    assert minutes_range([5.0]) == "5"

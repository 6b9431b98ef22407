"""Accuracy floors on held-out OSM address points (figures: see evaluate.py and the report).

Measured on 2026-11-25 (the floors sit a little below):
Haidian (Wudaokou + CAU, 64 plates) forward: door-plate level 29.7 %, found 98.4 %,
median 89 m, p95 791 m; reverse: own street 76.9 %, round trip median 5.6 m, p95 25 m.
Helsinki (1,388 plates) forward: door-plate level 86.7 %, found 99.6 %, median 25.6 m,
p95 338 m; reverse: own street 77.3 %, round trip median 24.2 m, p95 69 m.
"""

from __future__ import annotations

from urbangrid.spatial.geocoding.evaluate import forward_accuracy, reverse_accuracy
from urbangrid.spatial.geocoding.gazetteer import Gazetteer


def test_haidian_forward(haidian: Gazetteer) -> None:
    acc = forward_accuracy(haidian, prefix="北京市海淀区")
    assert acc.n >= 60
    assert acc.plate_level >= 0.25
    assert acc.found >= 0.95
    assert acc.median_m <= 120.0


def test_haidian_reverse(haidian: Gazetteer) -> None:
    acc = reverse_accuracy(haidian)
    assert acc.plate_level >= 0.7
    assert acc.found >= 0.95
    assert acc.median_m <= 15.0
    assert acc.p95_m <= 60.0


def test_helsinki_forward(helsinki: Gazetteer) -> None:
    acc = forward_accuracy(helsinki, city="Helsinki")
    assert acc.n >= 1300
    assert acc.plate_level >= 0.82
    assert acc.found >= 0.98
    assert acc.median_m <= 35.0
    assert acc.p95_m <= 450.0


def test_helsinki_reverse(helsinki: Gazetteer) -> None:
    acc = reverse_accuracy(helsinki)
    assert acc.plate_level >= 0.72
    assert acc.median_m <= 35.0
    assert acc.p95_m <= 100.0

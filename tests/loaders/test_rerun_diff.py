"""The re-run diff compares whole columns at once; JSON by canonical text."""

from __future__ import annotations

import datetime as dt

from urbangrid.loaders.changeset import _differing


def test_json_pairs_are_compared_canonically() -> None:
    old = [{"a": 1, "b": [1, 2]}, {"a": 1}, {"a": 1}, None, None, {"x": "盲道"}]
    new = [{"b": [1, 2], "a": 1}, {"a": True}, {"a": 2}, None, {"a": 1}, {"x": "盲道"}]
    assert _differing(old, new, "json").tolist() == [False, True, True, False, True, False]


def test_plain_columns_are_compared_as_arrays() -> None:
    d = dt.date(2024, 5, 1)
    assert _differing(["a", None, "b", None], ["a", None, "c", "x"], "text").tolist() == [
        False,
        False,
        True,
        True,
    ]
    assert _differing([d, d, None], [d, dt.date(2024, 5, 2), None], "date").tolist() == [
        False,
        True,
        False,
    ]
    assert _differing([1, 2], [1, 3], "integer").tolist() == [False, True]

"""The packed R*Tree build must give SQLite a valid tree answering like row-by-row inserts."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from urbangrid.store._rtree_bulk import bulk_load_rtree, clear_rtree


@pytest.mark.parametrize("n", [1, 5, 167, 168, 1000, 30_000])
def test_valid_tree_same_answers(n: int) -> None:
    rng = np.random.default_rng(n)
    x, y, w = rng.random(n) * 100, rng.random(n) * 50, rng.random(n)
    con = sqlite3.connect(":memory:", isolation_level=None)
    con.execute("CREATE VIRTUAL TABLE r USING rtree(id, minx, maxx, miny, maxy)")
    con.execute("BEGIN")
    bulk_load_rtree(con, "r", np.arange(1, n + 1), x, x + w, y, y + w)
    con.execute("COMMIT")
    assert con.execute("SELECT rtreecheck('r')").fetchone() == ("ok",)
    for _ in range(25):
        qx, qy = rng.random() * 100, rng.random() * 50
        got = sorted(
            i
            for (i,) in con.execute(
                "SELECT id FROM r WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?",
                (qx + 3, qx, qy + 3, qy),
            )
        )
        want = (
            np.flatnonzero((x <= qx + 3) & (x + w >= qx) & (y <= qy + 3) & (y + w >= qy)) + 1
        ).tolist()
        assert got == want
    # SQLite keeps maintaining the packed tree row by row afterwards.
    con.execute("INSERT INTO r VALUES (?, 1, 2, 1, 2)", (n + 1,))
    con.execute("DELETE FROM r WHERE id = 1")
    assert con.execute("SELECT rtreecheck('r')").fetchone() == ("ok",)


def test_refuses_a_non_empty_tree() -> None:
    con = sqlite3.connect(":memory:")
    con.execute("CREATE VIRTUAL TABLE r USING rtree(id, minx, maxx, miny, maxy)")
    con.execute("INSERT INTO r VALUES (1, 0, 1, 0, 1)")
    with pytest.raises(ValueError, match="not empty"):
        bulk_load_rtree(con, "r", np.array([2]), *(np.zeros(1),) * 4)


def test_clear_then_reload() -> None:
    con = sqlite3.connect(":memory:", isolation_level=None)
    con.execute("CREATE VIRTUAL TABLE r USING rtree(id, minx, maxx, miny, maxy)")
    con.executemany("INSERT INTO r VALUES (?, ?, ?, 0, 1)", [(i, i, i + 1) for i in range(500)])
    clear_rtree(con, "r")
    assert con.execute("SELECT count(*) FROM r").fetchone() == (0,)
    assert con.execute("SELECT rtreecheck('r')").fetchone() == ("ok",)
    bulk_load_rtree(con, "r", np.array([7]), *(np.array([0.5]),) * 4)
    assert con.execute("SELECT id FROM r WHERE minx <= 1 AND maxx >= 0").fetchall() == [(7,)]

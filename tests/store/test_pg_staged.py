"""A first bulk load into an empty PostGIS layer: staged, indexed side by side, swapped in.

Whether the swap ran is seen from the layer's table OID (a new table), and that
it changed nothing else from the catalogue: index definitions, primary key,
identity sequence, comments, privileges.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import numpy as np
import psycopg
import pytest
import shapely

import urbangrid
from urbangrid.errors import StoreSchemaError, ValidationError
from urbangrid.spatial.components.codes import demo_profile
from urbangrid.spatial.components.records import append_component_file

PROFILE = demo_profile()  # county 320508
COUNTY = "320508"  # new IDs name their county (the profile's is not used)
N = 25_000  # above the store's bulk threshold (20,000 rows)


@pytest.fixture
def pg(pg_dsn: str) -> Iterator[Any]:
    store = urbangrid.connect(pg_dsn)
    try:
        yield store
    finally:
        store.close()


def _frame(n: int = N) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    return gpd.GeoDataFrame(
        {
            "subclass_code": np.where(np.arange(n) % 2 == 0, "0118", "0101"),
            "status": "完好",
            "data_source": "实测",
            "source": [f"s{i}" for i in range(n)],
        },
        geometry=shapely.points(rng.uniform(120.5, 120.6, n), rng.uniform(31.2, 31.3, n)),
        crs="EPSG:4326",
    )


def _file(tmp_path: Any, frame: gpd.GeoDataFrame) -> Any:
    path = tmp_path / "components.fgb"
    frame.to_file(path, driver="FlatGeobuf", engine="pyogrio", SPATIAL_INDEX="NO")
    return path


def _catalogue(store: Any) -> dict[str, Any]:
    """What a swap must keep: everything about the layer's table but its OID and rows."""
    con = store.connection
    q = "'urbangrid.component'::regclass"
    return {
        "indexes": sorted(
            con.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = 'urbangrid' AND tablename = 'component'"
            ).fetchall()
        ),
        "constraints": sorted(
            con.execute(
                f"SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = {q}"
            ).fetchall()
        ),
        "sequence": con.execute(
            "SELECT pg_get_serial_sequence('urbangrid.component', 'fid')"
        ).fetchone(),
        "owner": con.execute(
            f"SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = {q}"
        ).fetchone(),
        "comment": con.execute(f"SELECT obj_description({q}, 'pg_class')").fetchone(),
        "column comment": con.execute(f"SELECT col_description({q}, 2)").fetchone(),
        "acl": con.execute(f"SELECT relacl FROM pg_class WHERE oid = {q}").fetchone(),
    }


def _oid(store: Any) -> int:
    return int(
        store.connection.execute("SELECT 'urbangrid.component'::regclass::oid").fetchone()[0]
    )


def _leftovers(store: Any) -> list[str]:
    return [
        r[0]
        for r in store.connection.execute(
            "SELECT relname FROM pg_class WHERE relname LIKE 'component\\_\\_load%'"
        ).fetchall()
    ]


def test_swapped_in_table_is_the_same_table(pg: Any, tmp_path: Any) -> None:
    pg.connection.execute("COMMENT ON TABLE urbangrid.component IS '城市部件 components'")
    pg.connection.execute("COMMENT ON COLUMN urbangrid.component.component_id IS '标识码'")
    # Keys already handed out stay handed out: the sequence goes on after the swap.
    pg.connection.execute("SELECT setval('urbangrid.component_fid_seq', 41)")
    before, oid = _catalogue(pg), _oid(pg)
    res = append_component_file(
        pg, _file(tmp_path, _frame()), PROFILE, admin_code=COUNTY, batch_rows=4_000
    )
    assert res.inserted == N
    assert _oid(pg) != oid  # staged and swapped
    assert _catalogue(pg) == before
    assert _leftovers(pg) == []
    fids = pg.connection.execute("SELECT min(fid), max(fid) FROM urbangrid.component").fetchone()
    assert fids == (42, 41 + N)
    assert pg.connection.execute("SELECT nextval('urbangrid.component_fid_seq')").fetchone() == (
        42 + N,
    )
    # The indexes answer: by key, by subclass, by place.
    plan = pg.connection.execute(
        "EXPLAIN SELECT * FROM urbangrid.component WHERE component_id = '3205080118000001' "
        "AND valid_to IS NULL"
    ).fetchall()
    assert "component_key_idx" in " ".join(r[0] for r in plan)
    assert pg.count("component", where={"subclass_code": "0118"}) == N // 2
    # A second load goes into a layer that is no longer empty: one transaction, no swap.
    oid = _oid(pg)
    more = _frame(N).assign(source=[f"t{i}" for i in range(N)])
    append_component_file(pg, _file(tmp_path, more), PROFILE, admin_code=COUNTY, batch_rows=4_000)
    assert _oid(pg) == oid
    assert pg.count("component") == 2 * N


def test_a_bad_record_leaves_the_layer_as_it_was(pg: Any, tmp_path: Any) -> None:
    frame = _frame()
    frame.loc[21_000, "status"] = "gone"
    oid = _oid(pg)
    with pytest.raises(ValidationError) as info:
        append_component_file(
            pg, _file(tmp_path, frame), PROFILE, admin_code=COUNTY, batch_rows=4_000
        )
    assert [(p["row"], p["field"]) for p in info.value.problems] == [(21_000, "status")]
    assert (_oid(pg), pg.count("component"), _leftovers(pg)) == (oid, 0, [])


def test_a_key_repeated_across_batches_fails_before_the_swap(pg: Any, tmp_path: Any) -> None:
    # Each batch is checked on its own; the repeat shows only when the unique
    # index is built on the staging table, after its COPY committed.
    frame = _frame()
    frame["component_id"] = None
    frame.loc[[3, 20_003], "component_id"] = "3205080101000007"
    oid = _oid(pg)
    with pytest.raises(StoreSchemaError, match="3205080101000007"):
        append_component_file(
            pg, _file(tmp_path, frame), PROFILE, admin_code=COUNTY, batch_rows=4_000
        )
    assert (_oid(pg), pg.count("component"), _leftovers(pg)) == (oid, 0, [])
    # The layer takes the load once the file is right.
    frame.loc[20_003, "component_id"] = None
    append_component_file(pg, _file(tmp_path, frame), PROFILE, admin_code=COUNTY, batch_rows=4_000)
    assert pg.count("component") == N


@pytest.mark.parametrize(
    "setup",
    [
        "CREATE VIEW urbangrid.lamps AS SELECT * FROM urbangrid.component "
        "WHERE subclass_code = '0118'",
        "GRANT SELECT ON urbangrid.component TO PUBLIC",
    ],
    ids=["view", "grant"],
)
def test_layer_with_dependents_loads_in_one_transaction(pg: Any, tmp_path: Any, setup: str) -> None:
    pg.connection.execute(setup)
    before, oid = _catalogue(pg), _oid(pg)
    append_component_file(
        pg, _file(tmp_path, _frame()), PROFILE, admin_code=COUNTY, batch_rows=4_000
    )
    assert _oid(pg) == oid  # not swapped: the view and the grant still refer to it
    assert _catalogue(pg) == before
    assert pg.count("component") == N
    if "VIEW" in setup:
        assert pg.connection.execute("SELECT count(*) FROM urbangrid.lamps").fetchone() == (N // 2,)


def test_inside_a_callers_transaction_loads_in_it(pg: Any, tmp_path: Any) -> None:
    oid = _oid(pg)
    path = _file(tmp_path, _frame())
    with pg.transaction():
        append_component_file(pg, path, PROFILE, admin_code=COUNTY, batch_rows=4_000)
    assert _oid(pg) == oid
    assert pg.count("component") == N


def test_readers_wait_for_nothing_and_writers_for_the_load(
    pg: Any, pg_dsn: str, tmp_path: Any
) -> None:
    # While a staged load runs the layer is readable; once it is in, a writer
    # that waited on the lock sees the swapped-in table.
    path = _file(tmp_path, _frame())
    with psycopg.connect(pg_dsn, autocommit=True) as other:
        append_component_file(pg, path, PROFILE, admin_code=COUNTY, batch_rows=4_000)
        assert other.execute("SELECT count(*) FROM urbangrid.component").fetchone() == (N,)
        other.execute("UPDATE urbangrid.component SET note = 'checked' WHERE source = 's0'")
    assert pg.count("component", where={"note": "checked"}) == 1


def test_staging_table_of_a_crashed_load_is_dropped(pg: Any, tmp_path: Any) -> None:
    # A load that died after its staging table committed left it behind; no
    # connection has its number now, so the next staged load drops it.
    pg.connection.execute(
        "CREATE TABLE urbangrid.component__load_2147483 (LIKE urbangrid.component)"
    )
    pg.connection.execute("CREATE TABLE urbangrid.component_notes__load_x (n int)")
    append_component_file(
        pg, _file(tmp_path, _frame()), PROFILE, admin_code=COUNTY, batch_rows=4_000
    )
    assert _leftovers(pg) == []
    names = pg.connection.execute(
        "SELECT relname FROM pg_class WHERE relname = 'component_notes__load_x'"
    ).fetchall()
    assert names == [("component_notes__load_x",)]  # not a staging table of this layer


def test_a_swap_cut_short_leaves_the_layer_as_it_was(
    pg: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The swap fails after dropping the layer and renaming the staging table: its
    # transaction rolls back, and the staging table is dropped after it.
    from urbangrid.store import _pg_staged

    def cut_short(self: Any, temp: dict[str, str]) -> None:
        self.lock.execute("DROP TABLE urbangrid.component")
        self.lock.execute(f'ALTER TABLE urbangrid."{self.stage}" RENAME TO component')
        raise RuntimeError("cut short")

    monkeypatch.setattr(_pg_staged.StagedLoad, "_swap", cut_short)
    oid = _oid(pg)
    with pytest.raises(RuntimeError, match="cut short"):
        append_component_file(
            pg, _file(tmp_path, _frame()), PROFILE, admin_code=COUNTY, batch_rows=4_000
        )
    assert (_oid(pg), pg.count("component"), _leftovers(pg)) == (oid, 0, [])


def _records(n: int = N) -> gpd.GeoDataFrame:
    """Component records with IDs, as a loader writes them."""
    frame = _frame(n)
    sub = frame["subclass_code"]
    return frame.assign(
        component_id=[f"{COUNTY}{s}{i:06d}" for i, s in enumerate(sub)],
        edition="2023", class_code=sub.str[:2], name="部件",
    )  # fmt: skip


def test_a_write_in_a_callers_transaction_is_staged_and_swapped_with_it(pg: Any) -> None:
    # A loader's change set: the rows and the record commit together, and the
    # layer's indexes are built side by side on the staging table all the same.
    pg.connection.execute("COMMENT ON TABLE urbangrid.component IS '城市部件 components'")
    pg.connection.execute("SELECT setval('urbangrid.component_fid_seq', 41)")
    before, oid = _catalogue(pg), _oid(pg)
    with pg.transaction():
        pg.write("component", _records(), "append")
        assert pg.count("component") == N  # the caller's transaction sees the rows
    assert _oid(pg) != oid  # staged and swapped
    assert _catalogue(pg) == before
    assert _leftovers(pg) == []
    fids = pg.connection.execute("SELECT min(fid), max(fid) FROM urbangrid.component").fetchone()
    assert fids == (42, 41 + N)
    assert pg.count("component", where={"subclass_code": "0118"}) == N // 2


def test_a_staged_write_rolled_back_leaves_the_layer_as_it_was(pg: Any, pg_dsn: str) -> None:
    oid = _oid(pg)
    with pytest.raises(RuntimeError, match="after the swap"), pg.transaction():
        pg.write("component", _records(), "append")
        raise RuntimeError("after the swap")
    assert (_oid(pg), pg.count("component"), _leftovers(pg)) == (oid, 0, [])
    # A value only the server refuses (JSON text goes to jsonb as it is): the COPY
    # into the staging table fails, named by row and field.
    frame = _records()
    frame["extra"] = None
    frame.loc[20_003, "extra"] = '{"a": '
    with pytest.raises(ValidationError) as info, pg.transaction():
        pg.write("component", frame, "append")
    assert [(p["row"], p["field"]) for p in info.value.problems] == [(20_003, "extra")]
    assert (_oid(pg), pg.count("component"), _leftovers(pg)) == (oid, 0, [])
    with psycopg.connect(pg_dsn, autocommit=True) as other:
        assert other.execute("SELECT count(*) FROM urbangrid.component").fetchone() == (0,)


def test_a_large_staged_write_goes_in_two_streams_in_file_order(pg: Any) -> None:
    # From 40,000 rows two COPY streams fill the staging table at once, each row's
    # key written: keys follow the file's order as one stream would give them.
    n = 41_000
    frame = _records(n)
    frame["extra"] = None
    frame.loc[30_003, "extra"] = '{"a": '  # in the second stream: its row, not its line
    oid = _oid(pg)
    with pytest.raises(ValidationError) as info, pg.transaction():
        pg.write("component", frame, "append")
    assert [(p["row"], p["field"]) for p in info.value.problems] == [(30_003, "extra")]
    assert (_oid(pg), pg.count("component"), _leftovers(pg)) == (oid, 0, [])
    frame.loc[30_003, "extra"] = '{"a": 1}'
    with pg.transaction():
        pg.write("component", frame, "append")
    assert _oid(pg) != oid and _leftovers(pg) == []
    stored = pg.connection.execute(
        "SELECT fid, component_id FROM urbangrid.component ORDER BY fid"
    ).fetchall()
    assert [f for f, _ in stored] == list(range(1, n + 1))
    assert [c for _, c in stored] == frame["component_id"].tolist()
    assert pg.connection.execute("SELECT nextval('urbangrid.component_fid_seq')").fetchone() == (
        n + 1,
    )
    assert pg.read("component", where={"component_id": frame.loc[30_003, "component_id"]})[
        "extra"
    ].tolist() == [{"a": 1}]

"""The embedded store: one GeoPackage file (SQLite), no server.

The file is a conforming GeoPackage 1.4 — feature tables registered in
``gpkg_contents``/``gpkg_geometry_columns``, geometries as GeoPackage binary,
spatial index as the ``gpkg_rtree_index`` extension — so it opens in QGIS and
GDAL as written. urbangrid writes it with the standard-library ``sqlite3``
rather than through GDAL so that migrations, transactions and history behave
exactly as in PostGIS.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import struct
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from urbangrid.errors import StoreConnectionError, StorePermissionError, StoreSchemaError
from urbangrid.store._columns import ArrowText
from urbangrid.store._rtree_bulk import bulk_load_rtree, clear_rtree
from urbangrid.store.base import (
    SERIAL_LAYER,
    BaseStore,
    LayerInfo,
    PreparedGeometry,
    RejectedValue,
    StoreBusyError,
    _where_values,
    all_missing,
    chunks,
    json_text,
    json_text_problems,
    lock_timeout_s,
    utc_ms,
)
from urbangrid.store.migrations import LayerDirective, read_migrations

__all__ = ["GeoPackageStore", "gpkg_blobs", "gpkg_to_wkb"]

_APPLICATION_ID = 0x47504B47  # "GPKG"
# Loads at least this large into an empty layer build the R*Tree in one pass.
_BULK_ROWS = 5_000
# Rows per executemany of a large insert.
_CHUNK = 32_768
# GeoPackage 1.3.0: urbangrid uses nothing of 1.4, and GDAL 3.6 / QGIS 3.28 (Debian
# 12) warn "may only be partially supported" on a file that says 1.4.0.
_USER_VERSION = 10300

_LOGICAL = {
    "TEXT": "text",
    "INTEGER": "integer",
    "INT": "integer",
    "DOUBLE": "float",
    "REAL": "float",
    "FLOAT": "float",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "DATETIME": "datetime",
    "JSON": "json",
}

# sqlite3 binds None by first looking for an adapter and failing (an AttributeError
# raised and dropped per NULL value): twice the cost of binding a string. An adapter
# that returns None makes the look-up succeed; NULL is still what SQLite stores. The
# registry is the process's, so only add it where nobody registered one.
if (type(None), sqlite3.PrepareProtocol) not in sqlite3.adapters:
    sqlite3.register_adapter(type(None), lambda value: value)

_CREATE_TABLE = re.compile(r"^\s*CREATE TABLE (?:IF NOT EXISTS )?\"?(?P<table>\w+)", re.I)
_JSON_COLUMN = re.compile(r"^\s*(\w+)\s+JSON\b", re.M)

# ------------------------------------------------------------ geometry blobs


_HEADER_ARRAY = np.dtype(
    [("magic", "S2"), ("version", "u1"), ("flags", "u1"), ("srs_id", "<i4"), ("envelope", "<f8", 4)]
)


def gpkg_blobs(geoms: np.ndarray, wkb: Sequence[bytes | None], srid: int) -> list[bytes | None]:
    """GeoPackage blobs for arrays of geometries and their WKB.

    The 40-byte headers (magic, version, flags: little-endian with an XY
    envelope, SRS id, envelope minx maxx miny maxy) are built for all rows at
    once by numpy; only the concatenation with each WKB is per row.
    """
    bounds = shapely.bounds(geoms)
    empty = shapely.is_empty(geoms)
    head = np.zeros(len(wkb), dtype=_HEADER_ARRAY)
    head["magic"], head["flags"], head["srs_id"] = b"GP", 0b00000011, srid
    head["envelope"] = bounds[:, [0, 2, 1, 3]]
    raw = head.tobytes()
    size = _HEADER_ARRAY.itemsize
    out: list[bytes | None] = [
        None if w is None else raw[i : i + size] + w
        for i, w in zip(range(0, len(raw), size), wkb, strict=True)
    ]
    for i in np.flatnonzero(empty & np.array([w is not None for w in wkb], dtype=bool)):
        # Flags: little-endian, no envelope, empty-geometry bit set.
        w = wkb[int(i)]
        assert w is not None
        out[i] = struct.pack("<2sBBi", b"GP", 0, 0b00010001, srid) + w
    return out


def gpkg_to_wkb(blob: bytes | None) -> bytes | None:
    """Strip the GeoPackage header from a geometry blob, leaving WKB."""
    if blob is None:
        return None
    if blob[:2] != b"GP":
        raise StoreSchemaError("not a GeoPackage geometry blob (missing 'GP' magic)")
    envelope = (blob[3] >> 1) & 0b111
    size = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[envelope]
    return bytes(blob[8 + size :])


def _envelope(blob: bytes | None, i: int) -> float | None:
    """Coordinate `i` (minx, maxx, miny, maxy) of a blob's envelope, for the R*Tree triggers."""
    if blob is None or blob[:2] != b"GP":
        return None
    if (blob[3] >> 1) & 0b111 == 0:
        bounds = shapely.bounds(shapely.from_wkb(gpkg_to_wkb(blob)))
        return float(bounds[[0, 2, 1, 3][i]])
    return float(struct.unpack_from("<d" if blob[3] & 1 else ">d", blob, 8 + 8 * i)[0])


def _is_empty(blob: bytes | None) -> int | None:
    if blob is None:
        return None
    return 1 if blob[3] & 0b00010000 else 0


# ------------------------------------------------------------ values


def _to_sql(value: Any, logical: str) -> Any:
    if value is None:
        return None
    if logical == "json":
        return json_text(value)
    if logical == "boolean":
        return int(value)
    if logical == "date":
        return value.isoformat()
    if logical == "datetime":
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value


def _from_sql(value: Any, logical: str) -> Any:
    if value is None:
        return None
    if logical == "json":
        return json.loads(value)
    if logical == "boolean":
        return bool(value)
    if logical == "date":
        return dt.date.fromisoformat(value)
    if logical == "datetime":
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def _q(name: str) -> str:
    """Quote an SQLite identifier (names come from migrations, never from users)."""
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def _load_pragmas(con: sqlite3.Connection) -> Iterator[None]:
    """A bigger page cache for a load (SQLite's default is 2 MB) and index sorts in
    memory, restored after."""
    (cache,) = con.execute("PRAGMA cache_size").fetchone()
    (temp,) = con.execute("PRAGMA temp_store").fetchone()
    con.execute("PRAGMA cache_size = -262144")
    con.execute("PRAGMA temp_store = MEMORY")
    try:
        yield
    finally:
        con.execute(f"PRAGMA cache_size = {int(cache)}")
        con.execute(f"PRAGMA temp_store = {int(temp)}")


@dataclass
class _InsertRows:
    """Column-wise data of one insert, turned into SQLite parameter rows a chunk at a
    time: fids from `first_fid`, then each `sources` column (values, logical type),
    the `stamp` (``valid_from`` text) and the geometry blobs."""

    first_fid: int
    sources: list[tuple[Any, str]]
    stamp: str | None
    geoms: PreparedGeometry | None
    srid: int

    def chunk(self, start: int, stop: int) -> list[tuple[Any, ...]]:
        """Rows start..stop as SQLite parameters."""
        part: list[Any] = [range(self.first_fid + start, self.first_fid + stop)]
        for col, logical in self.sources:
            values = col[start:stop]
            if isinstance(values, np.ndarray | ArrowText):
                values = values.tolist()  # sqlite3 binds Python objects
            # Text, numbers and JSON text go as they are; convert only the rest.
            if logical in ("boolean", "date", "datetime"):
                values = [_to_sql(v, logical) for v in values]
            part.append(values)
        if self.stamp is not None:
            part.append([self.stamp] * (stop - start))
        if self.geoms is not None:
            g = self.geoms
            part.append(gpkg_blobs(g.values[start:stop], g.wkb[start:stop], self.srid))
        return list(zip(*part, strict=True))


@contextmanager
def _translated(store: GeoPackageStore) -> Iterator[None]:
    """SQLite's "database is locked/busy" (after the busy timeout) as
    :class:`StoreBusyError`; a write to a read-only file as :class:`StorePermissionError`."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StoreBusyError(
                f"store busy: {store.target} held by another writer (SQLite does not say "
                f"which), since at least {lock_timeout_s():g} s ago; nothing was written. Try "
                "again when it ends (URBANGRID_LOCK_TIMEOUT_S sets the wait)"
            ) from exc
        if "readonly" in str(exc) or "read-only" in str(exc):
            raise StorePermissionError(
                f"{store.target}: the GeoPackage is read-only here (opened read-only, or "
                f"the file or its folder may not be written): {exc}; nothing was written"
            ) from exc
        raise


class GeoPackageStore(BaseStore):
    """Store in one GeoPackage file; see :func:`urbangrid.connect`.

    Parameters
    ----------
    path : str or Path
        The ``.gpkg`` file; created when missing (its folder must exist).
    migrate : bool
        Apply pending migrations on open (default True).
    srid : int
        EPSG code of geometry columns for a new file (default 4326). An
        existing file keeps the SRID it was created with.
    """

    kind = "gpkg"

    def __init__(
        self, path: str | Path, *, migrate: bool = True, srid: int = 4326, readonly: bool = False
    ) -> None:
        path = Path(path)
        self.target = str(path)
        self.readonly = readonly
        if readonly:
            self._open_readonly(path)
            return
        if not path.parent.exists():
            raise StoreConnectionError(
                f"cannot create GeoPackage {path}: folder {path.parent} does not exist; "
                "create it first"
            )
        if path.is_dir():
            raise StoreConnectionError(f"{path} is a folder, not a GeoPackage file")
        new = not path.exists() or path.stat().st_size == 0
        if not new:
            with open(path, "rb") as fh:
                head = fh.read(16)
            if head != b"SQLite format 3\x00":
                raise StoreConnectionError(
                    f"{path} is not a GeoPackage (not an SQLite file); give a new path or a "
                    "GeoPackage written by urbangrid, QGIS or GDAL"
                )
        try:
            self.connection = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=lock_timeout_s()
            )
        except sqlite3.Error as exc:
            raise StoreConnectionError(f"cannot open GeoPackage {path}: {exc}") from exc
        self._depth = 0
        con = self.connection
        con.execute("PRAGMA foreign_keys = ON")
        for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
            con.create_function(name, 1, lambda b, i=i: _envelope(b, i), deterministic=True)
        con.create_function("ST_IsEmpty", 1, _is_empty, deterministic=True)
        if new:
            self._create_core(srid)
        elif con.execute("PRAGMA application_id").fetchone()[0] != _APPLICATION_ID:
            raise StoreConnectionError(
                f"{path} is an SQLite file but not a GeoPackage (application_id is not 'GPKG')"
            )
        if not self._has_table("urbangrid_settings"):
            self._create_bookkeeping(srid)
        self.srid = int(self._setting("srid"))
        if migrate:
            self.migrate()
        self._refresh_layers()

    def _open_readonly(self, path: Path) -> None:
        """Open an existing urbangrid GeoPackage ``mode=ro``: nothing created or changed."""
        if not path.is_file() or path.stat().st_size == 0:
            raise StoreConnectionError(
                f"no GeoPackage {path}: nothing to read (a read-only command never creates "
                "a store); check the path"
            )
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head != b"SQLite format 3\x00":
            raise StoreConnectionError(f"{path} is not a GeoPackage (not an SQLite file)")
        uri = path.resolve().as_uri().replace("file://", "file:", 1) + "?mode=ro"
        try:
            self.connection = sqlite3.connect(
                uri,
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                timeout=lock_timeout_s(),
            )
            self._depth = 0
            for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
                self.connection.create_function(
                    name, 1, lambda b, i=i: _envelope(b, i), deterministic=True
                )
            self.connection.create_function("ST_IsEmpty", 1, _is_empty, deterministic=True)
            if not self._has_table("urbangrid_settings"):
                self.connection.close()
                raise StoreConnectionError(
                    f"{path} is a GeoPackage without urbangrid's tables (made by QGIS or "
                    f"GDAL?): nothing to read; `urbangrid db init {path}` adds them"
                )
            self.srid = int(self._setting("srid"))
            self._refresh_layers()
        except sqlite3.Error as exc:
            raise StoreConnectionError(f"cannot open GeoPackage {path}: {exc}") from exc

    # ------------------------------------------------------------ schema
    def _has_table(self, name: str) -> bool:
        row = self.connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    def _setting(self, key: str) -> str:
        row = self.connection.execute(
            "SELECT value FROM urbangrid_settings WHERE key = ?", (key,)
        ).fetchone()
        return str(row[0])

    def _create_core(self, srid: int) -> None:
        con = self.connection
        con.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
        con.execute(f"PRAGMA user_version = {_USER_VERSION}")
        with self.transaction():
            con.execute("""CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
                srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
                organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL,
                description TEXT)""")
            con.executemany(
                "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
                [
                    ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", None),
                    ("Undefined geographic SRS", 0, "NONE", 0, "undefined", None),
                ],
            )
            self._ensure_srs(4326)
            con.execute("""CREATE TABLE IF NOT EXISTS gpkg_contents (
                table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
                identifier TEXT UNIQUE, description TEXT DEFAULT '',
                last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
                min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
                CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id)
                    REFERENCES gpkg_spatial_ref_sys(srs_id))""")
            con.execute("""CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
                table_name TEXT NOT NULL, column_name TEXT NOT NULL,
                geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL,
                z TINYINT NOT NULL, m TINYINT NOT NULL,
                CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
                CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
                CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id)
                    REFERENCES gpkg_spatial_ref_sys(srs_id))""")
            con.execute("""CREATE TABLE IF NOT EXISTS gpkg_extensions (
                table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
                definition TEXT NOT NULL, scope TEXT NOT NULL,
                CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))""")

    def _create_bookkeeping(self, srid: int) -> None:
        # IF NOT EXISTS / OR IGNORE: two processes may make one new GeoPackage at once
        # (two loads into a store that does not exist yet); the second finds it made.
        with self.transaction():
            self.connection.execute(
                "CREATE TABLE IF NOT EXISTS urbangrid_settings "
                "(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            self.connection.execute(
                "INSERT OR IGNORE INTO urbangrid_settings VALUES ('srid', ?)", (str(srid),)
            )
            self.connection.execute("""CREATE TABLE IF NOT EXISTS schema_version (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                applied_at DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))""")
            self.connection.execute("""CREATE TABLE IF NOT EXISTS layer_registry (
                name TEXT PRIMARY KEY, key_column TEXT, geometry_column TEXT,
                geometry_type TEXT, srid INTEGER, history BOOLEAN NOT NULL)""")

    def _ensure_srs(self, srid: int) -> None:
        con = self.connection
        if con.execute("SELECT 1 FROM gpkg_spatial_ref_sys WHERE srs_id = ?", (srid,)).fetchone():
            return
        import pyproj

        crs = pyproj.CRS.from_epsg(srid)
        con.execute(
            "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, 'EPSG', ?, ?, ?)",
            (crs.name, srid, srid, crs.to_wkt(pyproj.enums.WktVersion.WKT1_GDAL), None),
        )

    def schema_version(self) -> int:
        """Highest migration version applied (0 for none)."""
        row = self.connection.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied (empty if none)."""
        done = {r[0] for r in self.connection.execute("SELECT version FROM schema_version")}
        applied = []
        for mig in read_migrations():
            if mig.version in done:
                continue
            with self.transaction():
                # Checked again under the write lock: another process opening the same
                # new store may have applied it since ``done`` was read.
                if self.connection.execute(
                    "SELECT 1 FROM schema_version WHERE version = ?", (mig.version,)
                ).fetchone():
                    continue
                for stmt in mig.sql("gpkg"):
                    if stmt.startswith("-- @layer "):
                        self._apply_layer(mig.layers[int(stmt.split()[2])])
                    else:
                        self._execute_ddl(stmt)
                self.connection.execute(
                    "INSERT INTO schema_version (version, name) VALUES (?, ?)",
                    (mig.version, mig.name),
                )
            applied.append(mig.version)
        if applied:
            if self.connection.execute("PRAGMA user_version").fetchone()[0] > _USER_VERSION:
                # A store made when urbangrid wrote 1.4.0 (GDAL 3.6 warned about it).
                self.connection.execute(f"PRAGMA user_version = {_USER_VERSION}")
            self._refresh_layers()
        return applied

    def _execute_ddl(self, stmt: str) -> None:
        """Run one migration statement; JSON columns become TEXT with a JSON mime type.

        GeoPackage has no JSON type: GDAL and QGIS read a TEXT column listed in
        ``gpkg_data_columns`` with ``application/json`` as JSON, and so does
        :meth:`_refresh_layers`.
        """
        json_cols: list[tuple[str, str]] = []
        if m := _CREATE_TABLE.match(stmt):
            json_cols = [(m["table"], c) for c in _JSON_COLUMN.findall(stmt)]
        self.connection.execute(_JSON_COLUMN.sub(r"\1 TEXT", stmt))
        if json_cols:
            self._ensure_data_columns()
            self.connection.executemany(
                "INSERT INTO gpkg_data_columns (table_name, column_name, mime_type) "
                "VALUES (?, ?, 'application/json')",
                json_cols,
            )

    def _ensure_data_columns(self) -> None:
        con = self.connection
        if self._has_table("gpkg_data_columns"):
            return
        con.execute("""CREATE TABLE gpkg_data_columns (
            table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT,
            description TEXT, mime_type TEXT, constraint_name TEXT,
            CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
            CONSTRAINT gdc_tn UNIQUE (table_name, name))""")
        con.execute(
            "INSERT INTO gpkg_extensions VALUES ('gpkg_data_columns', NULL, 'gpkg_schema', "
            "'http://www.geopackage.org/spec/#extension_schema', 'read-write')"
        )

    def _apply_layer(self, d: LayerDirective) -> None:
        con, t = self.connection, d.table
        srid = d.srid or self.srid
        if d.history:
            con.execute(f"ALTER TABLE {_q(t)} ADD COLUMN valid_from DATETIME NOT NULL")
            con.execute(f"ALTER TABLE {_q(t)} ADD COLUMN valid_to DATETIME")
        if d.key:
            where = " WHERE valid_to IS NULL" if d.history else ""
            con.execute(f"CREATE UNIQUE INDEX {_q(t + '_key_idx')} ON {_q(t)} ({_q(d.key)}){where}")
        if d.geometry_column:
            g = d.geometry_column
            self._ensure_srs(srid)
            con.execute(f"ALTER TABLE {_q(t)} ADD COLUMN {_q(g)} {d.geometry_type}")
            con.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                "VALUES (?, 'features', ?, ?)",
                (t, t, srid),
            )
            con.execute(
                "INSERT INTO gpkg_geometry_columns VALUES (?, ?, ?, ?, 0, 0)",
                (t, g, d.geometry_type, srid),
            )
            self._create_rtree(t, g)
            if d.history:
                # Current-row reads filter on valid_to; index it beside the R*Tree.
                con.execute(f"CREATE INDEX {_q(t + '_valid_to_idx')} ON {_q(t)} (valid_to)")
        else:
            con.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier) "
                "VALUES (?, 'attributes', ?)",
                (t, t),
            )
        con.execute(
            "INSERT INTO layer_registry VALUES (?, ?, ?, ?, ?, ?)",
            (
                t,
                d.key,
                d.geometry_column,
                d.geometry_type,
                srid if d.geometry_column else None,
                int(d.history),
            ),
        )

    def _create_rtree(self, t: str, g: str) -> None:
        """The GeoPackage R*Tree extension: virtual table plus its six triggers."""
        con = self.connection
        r = f"rtree_{t}_{g}"
        vals = (
            f"NEW.fid, ST_MinX(NEW.{_q(g)}), ST_MaxX(NEW.{_q(g)}), "
            f"ST_MinY(NEW.{_q(g)}), ST_MaxY(NEW.{_q(g)})"
        )
        present = f"NEW.{_q(g)} NOT NULL AND NOT ST_IsEmpty(NEW.{_q(g)})"
        absent = f"(NEW.{_q(g)} ISNULL OR ST_IsEmpty(NEW.{_q(g)}))"
        con.execute(f"CREATE VIRTUAL TABLE {_q(r)} USING rtree(id, minx, maxx, miny, maxy)")
        triggers = {
            "insert": f"AFTER INSERT ON {_q(t)} WHEN ({present}) "
            f"BEGIN INSERT OR REPLACE INTO {_q(r)} VALUES ({vals}); END",
            "update1": f"AFTER UPDATE OF {_q(g)} ON {_q(t)} WHEN OLD.fid = NEW.fid AND "
            f"({present}) BEGIN INSERT OR REPLACE INTO {_q(r)} VALUES ({vals}); END",
            "update2": f"AFTER UPDATE OF {_q(g)} ON {_q(t)} WHEN OLD.fid = NEW.fid AND {absent} "
            f"BEGIN DELETE FROM {_q(r)} WHERE id = OLD.fid; END",
            "update3": f"AFTER UPDATE ON {_q(t)} WHEN OLD.fid != NEW.fid AND ({present}) "
            f"BEGIN DELETE FROM {_q(r)} WHERE id = OLD.fid; "
            f"INSERT OR REPLACE INTO {_q(r)} VALUES ({vals}); END",
            "update4": f"AFTER UPDATE ON {_q(t)} WHEN OLD.fid != NEW.fid AND {absent} "
            f"BEGIN DELETE FROM {_q(r)} WHERE id IN (OLD.fid, NEW.fid); END",
            "delete": f"AFTER DELETE ON {_q(t)} WHEN OLD.{_q(g)} NOT NULL "
            f"BEGIN DELETE FROM {_q(r)} WHERE id = OLD.fid; END",
        }
        for name, body in triggers.items():
            con.execute(f"CREATE TRIGGER {_q(r + '_' + name)} {body}")
        con.execute(
            "INSERT INTO gpkg_extensions VALUES (?, ?, 'gpkg_rtree_index', "
            "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
            (t, g),
        )

    def _refresh_layers(self) -> None:
        # Columns with a DEFAULT: a write must send their NULLs rather than leave them out.
        self._defaults: dict[str, set[str]] = {}
        json_cols = set()
        if self._has_table("gpkg_data_columns"):
            json_cols = set(
                self.connection.execute(
                    "SELECT table_name, column_name FROM gpkg_data_columns "
                    "WHERE mime_type = 'application/json'"
                ).fetchall()
            )
        layers = {}
        for name, key, gcol, gtype, srid, history in self.connection.execute(
            "SELECT name, key_column, geometry_column, geometry_type, srid, history "
            "FROM layer_registry"
        ):
            columns, required = {}, set()
            defaults = self._defaults.setdefault(name, set())
            for _, col, ctype, notnull, default, _ in self.connection.execute(
                f"PRAGMA table_info({_q(name)})"
            ):
                if default is not None:
                    defaults.add(col)
                if col in ("fid", "valid_from", "valid_to", gcol):
                    continue
                logical = (
                    "json"
                    if (name, col) in json_cols
                    else _LOGICAL.get(ctype.upper().split("(")[0])
                )
                if logical is None:
                    raise StoreSchemaError(f"{self.target}: column {name}.{col} has type {ctype}")
                columns[col] = logical
                if notnull:
                    required.add(col)
            layers[name] = LayerInfo(
                name, key, gcol, gtype, srid, bool(history), columns, frozenset(required)
            )
        self._layers = layers

    # ------------------------------------------------------------ capabilities
    def current_values(
        self, layer: str, column: str, values: Sequence[Any], value_column: str
    ) -> dict[Any, Any]:
        """``{column value: value_column value}`` of the current rows whose `column`
        is one of `values` (see :class:`~urbangrid.store.base.Store`)."""
        info = self.layer_info(layer)
        for c in (column, value_column):
            if c not in info.columns:
                raise StoreSchemaError(f"layer {layer!r} has no column {c!r}")
        if not values or self._is_empty(info):
            return {}
        t, c, v = _q(info.name), _q(column), _q(value_column)
        current = " AND valid_to IS NULL" if info.history else ""
        kind = info.columns[column]
        wanted = [_to_sql(x, kind) for x in values]
        if len(wanted) <= 500:
            marks = ", ".join("?" * len(wanted))
            rows = self.connection.execute(
                f"SELECT {c}, {v} FROM {t} WHERE {c} IN ({marks}){current}", wanted
            ).fetchall()
        else:
            # SQLite caps bound variables: scan the column once instead.
            keep = set(wanted)
            rows = [
                r
                for r in self.connection.execute(
                    f"SELECT {c}, {v} FROM {t} WHERE {c} IS NOT NULL{current}"
                )
                if r[0] in keep
            ]
        out_kind = info.columns[value_column]
        return {_from_sql(a, kind): _from_sql(b, out_kind) for a, b in rows}

    def reserve_serials(self, key: str, n: int, *, layer: str = SERIAL_LAYER) -> int:
        """Add `n` to counter `key` of `layer` and return its new value (one UPSERT
        under SQLite's write lock: concurrent writers wait for each other)."""
        t = _q(self.layer_info(layer).name)
        with self._atomic():
            row = self.connection.execute(
                f"INSERT INTO {t} (serial_key, last_serial) VALUES (?, ?) "
                f"ON CONFLICT (serial_key) DO UPDATE SET last_serial = {t}.last_serial "
                "+ excluded.last_serial RETURNING last_serial",
                (key, n),
            ).fetchall()
        return int(row[0][0])

    def raise_serials(self, floors: Mapping[str, int], *, layer: str = SERIAL_LAYER) -> None:
        """Move each counter of `layer` up to at least its floor."""
        if not floors:
            return
        t = _q(self.layer_info(layer).name)
        rows = [(k, int(v)) for k, v in floors.items()]
        # No UPSERT: an INSERT that turns into an UPDATE still advances the table's
        # AUTOINCREMENT counter (sqlite_sequence), so a re-run that changes nothing
        # would change the file. Counters already high enough are not touched.
        with self._atomic():
            self.connection.executemany(
                f"UPDATE {t} SET last_serial = ? WHERE serial_key = ? AND last_serial < ?",
                [(v, k, v) for k, v in rows],
            )
            self.connection.executemany(
                f"INSERT INTO {t} (serial_key, last_serial) SELECT ?, ? "
                f"WHERE NOT EXISTS (SELECT 1 FROM {t} WHERE serial_key = ?)",
                [(k, v, k) for k, v in rows],
            )

    def lock_layer(self, layer: str, *, timeout_s: float = 120.0) -> None:
        """Take SQLite's write lock at once (one lock for the whole file), waiting
        up to `timeout_s` for another writer, so that two loaders cannot both read,
        then both write. Call inside :meth:`transaction`."""
        self.layer_info(layer)
        con = self.connection
        con.execute(f"PRAGMA busy_timeout = {int(min(timeout_s, lock_timeout_s()) * 1000)}")
        with _translated(self):
            con.execute("UPDATE urbangrid_settings SET value = value WHERE key = 'srid'")
        con.execute(f"PRAGMA busy_timeout = {int(lock_timeout_s() * 1000)}")

    def _in_transaction(self) -> bool:
        return self._depth > 0

    def _undo_versions(
        self, info: LayerInfo, written: list[Any], reopened: list[Any], at: dt.datetime
    ) -> tuple[int, int]:
        assert info.key is not None
        stamp, kind = _to_sql(at, "datetime"), info.columns[info.key]
        t, k = _q(info.name), _q(info.key)
        counts = []
        for query, keys in (
            (f"DELETE FROM {t} WHERE valid_from = ?", written),
            (f"UPDATE {t} SET valid_to = NULL WHERE valid_to = ?", reopened),
        ):
            n = 0
            for part in chunks(keys, 500):
                n += self.connection.execute(
                    f"{query} AND {k} IN ({', '.join('?' * len(part))})",
                    [stamp, *(_to_sql(x, kind) for x in part)],
                ).rowcount
            counts.append(n)
        return counts[0], counts[1]

    # ------------------------------------------------------------ primitives
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes atomically; nested blocks become savepoints.

        The file locked by another writer past the busy timeout becomes
        :class:`~urbangrid.store.base.StoreBusyError` (nothing written).
        """
        with _translated(self):
            con = self.connection
            name = f"ug_{self._depth}"
            # IMMEDIATE takes the write lock up front, so concurrent writers wait
            # (busy timeout) instead of failing when a read lock cannot be upgraded.
            begin = "BEGIN" if self.readonly else "BEGIN IMMEDIATE"
            con.execute(begin if self._depth == 0 else f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    con.execute("ROLLBACK")
                else:
                    con.execute(f"ROLLBACK TO {name}")
                    con.execute(f"RELEASE {name}")
                raise
            else:
                self._depth -= 1
                con.execute("COMMIT" if self._depth == 0 else f"RELEASE {name}")

    def _current(
        self, info: LayerInfo, as_of: dt.datetime | None, all_versions: bool
    ) -> tuple[list[str], list[Any]]:
        if not info.history or all_versions:
            return [], []
        if as_of is None:
            # likely(): most rows are current, so SQLite (no ANALYZE statistics) must
            # not take the valid_to index over the key's for ``key IN (…)`` (a full
            # scan: 110 ms, not 0.2 ms, for 5 keys of 316,851 components).
            return ["likely(valid_to IS NULL)"], []
        t = _to_sql(as_of, "datetime")
        return ["valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)"], [t, t]

    def _select(
        self,
        info: LayerInfo,
        columns: list[str],
        where: Mapping[str, list[Any]],
        bbox: Sequence[float] | None,
        as_of: dt.datetime | None,
        all_versions: bool,
    ) -> tuple[list[tuple[Any, ...]], list[bytes | None] | None]:
        types = {**info.columns, "valid_from": "datetime", "valid_to": "datetime"}
        sel = [_q(c) for c in columns]
        if info.geometry_column:
            sel.append(_q(info.geometry_column))
        conds, params = self._current(info, as_of, all_versions)
        for col, values in where.items():
            if not values:
                conds.append("0")
                continue
            conds.append(f"{_q(col)} IN ({', '.join('?' * len(values))})")
            params.extend(_to_sql(v, info.columns[col]) for v in values)
        if bbox is not None:
            r = _q(f"rtree_{info.name}_{info.geometry_column}")
            conds.append(
                f"fid IN (SELECT id FROM {r} WHERE minx <= ? AND maxx >= ? "
                "AND miny <= ? AND maxy >= ?)"
            )
            params.extend([bbox[2], bbox[0], bbox[3], bbox[1]])
        sql = f"SELECT {', '.join(sel) or 'fid'} FROM {_q(info.name)}"
        if conds:
            sql += " WHERE " + " AND ".join(conds)
        sql += " ORDER BY fid"
        cur = self.connection.execute(sql, params)
        rows: list[tuple[Any, ...]] = []
        wkb: list[bytes | None] | None = [] if info.geometry_column else None
        n = len(columns)
        convert = [
            (i, types[c])
            for i, c in enumerate(columns)
            if types[c] in ("json", "boolean", "date", "datetime")
        ]
        for rec in cur:
            if convert:
                vals = list(rec[:n])
                for i, t in convert:
                    vals[i] = _from_sql(vals[i], t)
                rows.append(tuple(vals))
            else:
                rows.append(rec[:n])
            if wkb is not None:
                wkb.append(gpkg_to_wkb(rec[n]))
        return rows, wkb

    def knn_radius(
        self,
        layer: str,
        x: float,
        y: float,
        k: int,
        *,
        where: Mapping[str, Sequence[Any]] | None = None,
        as_of: dt.datetime | None = None,
    ) -> float | None:
        """Half-width (layer CRS units) of a box around (x, y) holding at least `k`
        whole rows of `layer` matching `where` (current, or valid `as_of`).

        Each probe asks the R*Tree joined to the layer and stops at the k-th match:
        boxes double from 0.0005° (50 m in a projected CRS) until one holds k, the
        last step is halved eight times, and the box is then the k-th smallest
        far corner of the matching rows' bounds (for a point, its own distance in
        the box metric). A few dozen 10-µs queries: no row is decoded. None once a
        whole-Earth box holds fewer than `k` rows.
        """
        info = self.layer_info(layer)
        if not info.geometry_column:
            return super().knn_radius(layer, x, y, k, where=where, as_of=as_of)
        import pyproj

        geographic = pyproj.CRS.from_user_input(info.crs or self.srid).is_geographic
        r, limit = (0.0005, 360.0) if geographic else (50.0, 4.0e7)
        probe = self._box_probe(info, where, as_of)
        lo = 0.0
        while len(probe(x, y, r, k)) < k:
            if r > limit:
                return None
            lo, r = r, r * 2
        for _ in range(8):
            mid = (lo + r) / 2
            if len(probe(x, y, mid, k)) >= k:
                r = mid
            else:
                lo = mid
        bounds = np.asarray(probe(x, y, r, -1), dtype=float)
        far = np.max(np.abs(bounds - np.array([x, x, y, y])), axis=1)
        return float(np.sort(far)[k - 1]) * 1.000001 + 1e-12

    def _box_probe(
        self,
        info: LayerInfo,
        where: Mapping[str, Sequence[Any]] | None,
        as_of: dt.datetime | None,
    ) -> Any:
        """``probe(x, y, r, limit)``: R*Tree bounds (minx, maxx, miny, maxy) of at
        most `limit` (-1: all) matching rows whose bounds meet the box of half-width
        r around (x, y)."""
        conds, params = self._current(info, None if as_of is None else utc_ms(as_of), False)
        for col, values in (where or {}).items():
            vals = _where_values(values, info.columns[col])
            conds.append(f"t.{_q(col)} IN ({', '.join('?' * len(vals))})" if vals else "0")
            params.extend(_to_sql(v, info.columns[col]) for v in vals)
        rt = _q(f"rtree_{info.name}_{info.geometry_column}")
        sql = (
            f"SELECT r.minx, r.maxx, r.miny, r.maxy FROM {rt} AS r "
            f"CROSS JOIN {_q(info.name)} AS t ON t.fid = r.id "
            "WHERE r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ?"
            + "".join(f" AND {c}" for c in conds)
            + " LIMIT ?"
        )
        con = self.connection

        def probe(x: float, y: float, r: float, limit: int) -> list[tuple[float, ...]]:
            return list(con.execute(sql, [x + r, x - r, y + r, y - r, *params, limit]))

        return probe

    def _is_empty(self, info: LayerInfo) -> bool:
        (empty,) = self.connection.execute(
            f"SELECT NOT EXISTS (SELECT 1 FROM {_q(info.name)})"
        ).fetchone()
        return bool(empty)

    def _insert(
        self,
        info: LayerInfo,
        columns: list[str],
        data: list[list[Any]],
        geoms: PreparedGeometry | None,
        valid_from: dt.datetime | None,
    ) -> None:
        """Insert column-wise data with explicit fids, then check JSON text in SQLite.

        Loads of at least ``_BULK_ROWS`` into an empty R*Tree fill it in one
        packed pass instead of through the insert trigger; into an empty table
        they also build its other indexes once afterwards (as GDAL does). All
        of it runs in the caller's transaction, so a failure restores all.
        """
        n = len(data[0]) if data else (0 if geoms is None else len(geoms.wkb))
        if n == 0:
            return
        con = self.connection
        first_fid = self._next_fid(info)
        rows = _InsertRows(
            first_fid=first_fid,
            sources=[],
            stamp=None if valid_from is None else _to_sql(valid_from, "datetime"),
            geoms=geoms,
            srid=info.srid or self.srid,
        )
        cols = ["fid"]
        for c, col in zip(columns, data, strict=True):
            if c not in self._defaults[info.name] and all_missing(col):
                # Binding None costs sqlite3 about twice a string (a failed adapter
                # look-up); a column left out is NULL all the same.
                continue
            cols.append(c)
            rows.sources.append((col, info.columns[c]))
        if rows.stamp is not None:
            cols.append("valid_from")
        if info.geometry_column:
            assert geoms is not None
            cols.append(info.geometry_column)
        bulk = geoms is not None and n >= _BULK_ROWS and self._rtree_empty(info)
        restore = self._drop_for_bulk(info) if bulk else []
        sql = (
            f"INSERT INTO {_q(info.name)} ({', '.join(_q(c) for c in cols)}) "
            f"VALUES ({', '.join('?' * len(cols))})"
        )
        extent: tuple[float, float, float, float] | None = None
        try:
            with _load_pragmas(con):
                # A chunk of rows at a time: the parameter tuples of a 300,000-row load
                # need not all exist at once. (A worker thread inserting one chunk while
                # the next is built was tried: no gain measured, sqlite3 binds under
                # the GIL.)
                for start in range(0, n, _CHUNK):
                    con.executemany(sql, rows.chunk(start, min(n, start + _CHUNK)))
                self._check_json(info, columns, data, first_fid)
                if bulk:
                    assert geoms is not None
                    extent = self._fill_rtree(info, geoms, first_fid)
                for ddl in restore:
                    con.execute(ddl)
        except sqlite3.IntegrityError as exc:
            hint = "; use mode='upsert' to update existing keys" if "UNIQUE" in str(exc) else ""
            raise StoreSchemaError(f"{self.target}: writing {info.name!r}: {exc}{hint}") from exc
        self._touch(info, extent)

    def _drop_for_bulk(self, info: LayerInfo) -> list[str]:
        """Drop the R*Tree insert trigger (and, on an empty table, its indexes) for a
        bulk load; returns the statements that make them again."""
        con = self.connection
        trigger = f"rtree_{info.name}_{info.geometry_column}_insert"
        restore = [
            sql
            for (sql,) in con.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (trigger,)
            )
        ]
        con.execute(f"DROP TRIGGER {_q(trigger)}")
        if self._is_empty(info):
            indexes = con.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL",
                (info.name,),
            ).fetchall()
            for name, _ in indexes:
                con.execute(f"DROP INDEX {_q(name)}")
            restore += [sql for _, sql in indexes]
        return restore

    def _fill_rtree(
        self, info: LayerInfo, geoms: PreparedGeometry, first_fid: int
    ) -> tuple[float, float, float, float] | None:
        """Fill the layer's empty R*Tree in one packed pass; returns the extent
        (minx, miny, maxx, maxy) of the rows, None when all are empty."""
        g = geoms.values
        b = shapely.bounds(g)
        keep = ~(shapely.is_missing(g) | shapely.is_empty(g))
        fids = np.arange(first_fid, first_fid + len(g))[keep]
        bulk_load_rtree(
            self.connection,
            f"rtree_{info.name}_{info.geometry_column}",
            fids,
            b[keep, 0],
            b[keep, 2],
            b[keep, 1],
            b[keep, 3],
        )
        if not keep.any():
            return None
        # The R*Tree held nothing else: its extent is these rows'.
        lo, hi = b[keep, :2].min(axis=0), b[keep, 2:].max(axis=0)
        return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))

    def _check_json(
        self, info: LayerInfo, columns: list[str], data: list[list[Any]], first_fid: int
    ) -> None:
        """Raise RejectedValue for the first JSON text SQLite's ``json_valid`` refuses.

        One pass in C over the rows just written, instead of parsing every value
        in Python; ``json_valid`` takes RFC 8259 JSON only (no NaN), as PostGIS'
        ``jsonb`` does.
        """
        for j, c in enumerate(columns):
            if info.columns[c] != "json":
                continue
            try:
                row = self.connection.execute(
                    f"SELECT fid FROM {_q(info.name)} WHERE fid >= ? AND {_q(c)} IS NOT NULL "
                    f"AND NOT json_valid({_q(c)}) ORDER BY fid LIMIT 1",
                    (first_fid,),
                ).fetchone()
                bad = None if row is None else int(row[0]) - first_fid
            except sqlite3.OperationalError:  # an SQLite built without JSON functions
                found = json_text_problems(data[j])
                bad = found[0][0] if found else None
            if bad is not None:
                raise RejectedValue(bad, c, "not JSON")

    def _rtree_empty(self, info: LayerInfo) -> bool:
        r = _q(f"rtree_{info.name}_{info.geometry_column}_rowid")
        return bool(self.connection.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {r})").fetchone()[0])

    def _next_fid(self, info: LayerInfo) -> int:
        row = self.connection.execute(
            f"SELECT max(coalesce((SELECT max(fid) FROM {_q(info.name)}), 0), "
            "coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0)) + 1",
            (info.name,),
        ).fetchone()
        return int(row[0])

    def _touch(
        self, info: LayerInfo, extent: tuple[float, float, float, float] | None = None
    ) -> None:
        """Keep gpkg_contents' extent and change time current, as QGIS reads them.

        `extent` (minx, miny, maxx, maxy), when the caller knows it, saves a
        scan of the R*Tree.
        """
        if not info.geometry_column:
            return
        if extent is not None:
            self.connection.execute(
                "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now'), "
                "min_x = ?, min_y = ?, max_x = ?, max_y = ? WHERE table_name = ?",
                (*map(float, extent), info.name),
            )
            return
        r = _q(f"rtree_{info.name}_{info.geometry_column}")
        self.connection.execute(
            "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now'), "
            f"min_x = (SELECT min(minx) FROM {r}), max_x = (SELECT max(maxx) FROM {r}), "
            f"min_y = (SELECT min(miny) FROM {r}), max_y = (SELECT max(maxy) FROM {r}) "
            "WHERE table_name = ?",
            (info.name,),
        )

    def _close(self, info: LayerInfo, keys: list[Any], at: dt.datetime) -> int:
        assert info.key is not None
        n = 0
        t = _to_sql(at, "datetime")
        for part in chunks(keys, 500):
            cur = self.connection.execute(
                f"UPDATE {_q(info.name)} SET valid_to = ? WHERE valid_to IS NULL AND "
                f"{_q(info.key)} IN ({', '.join('?' * len(part))})",
                [t, *(_to_sql(k, info.columns[info.key]) for k in part)],
            )
            n += cur.rowcount
        return n

    def _delete(self, info: LayerInfo, keys: list[Any] | None) -> int:
        if keys is None and info.geometry_column:
            # Emptying the R*Tree directly beats the delete trigger's row-by-row work.
            con = self.connection
            trigger = f"rtree_{info.name}_{info.geometry_column}_delete"
            (trigger_sql,) = con.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (trigger,)
            ).fetchone()
            con.execute(f"DROP TRIGGER {_q(trigger)}")
            n = con.execute(f"DELETE FROM {_q(info.name)}").rowcount
            clear_rtree(con, f"rtree_{info.name}_{info.geometry_column}")
            con.execute(trigger_sql)
            return int(n)
        if keys is None:
            return int(self.connection.execute(f"DELETE FROM {_q(info.name)}").rowcount)
        assert info.key is not None
        n = 0
        for part in chunks(keys, 500):
            n += self.connection.execute(
                f"DELETE FROM {_q(info.name)} WHERE {_q(info.key)} IN "
                f"({', '.join('?' * len(part))})",
                [_to_sql(k, info.columns[info.key]) for k in part],
            ).rowcount
        return int(n)

    def close(self) -> None:
        """Close the SQLite connection."""
        self.connection.close()

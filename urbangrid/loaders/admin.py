"""Administrative divisions (行政区划): codes, names and boundaries.

Division codes follow the National Bureau of Statistics statistical division
codes (统计用区划代码): 6 digits for a district/county (区县), 9 for a street
office or township (街道/乡镇), 12 for a community or village committee
(社区/村委会); 2 for a province and 4 for a city. A code's parent is its prefix, so
a table without ``level`` and ``parent_code`` columns (the statistics bureau's own
tables: ``code,name,cityCode,provinceCode`` …) has them derived from the code.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from urbangrid.errors import ValidationError
from urbangrid.problems import Problem, format_problem, problem

__all__ = ["CODE_LENGTHS", "admin_areas_frame", "code_level", "read_divisions_csv"]

#: Digits of a division code at each level.
CODE_LENGTHS: dict[str, int] = {
    "province": 2,
    "city": 4,
    "district": 6,
    "street": 9,
    "community": 12,
}


_LEVEL_OF_LENGTH = {n: level for level, n in CODE_LENGTHS.items()}
_LENGTHS = sorted(CODE_LENGTHS.values())


def code_level(code: str) -> tuple[str, str | None] | None:
    """The level of a division code and its parent's code, from the code alone.

    The parent is the code cut to the previous level's length (a province has none);
    None when the code is not 2, 4, 6, 9 or 12 digits.

    >>> code_level("110108001")
    ('street', '110108')
    """
    level = _LEVEL_OF_LENGTH.get(len(code)) if code.isdigit() else None
    if level is None:
        return None
    i = _LENGTHS.index(len(code))
    return level, (code[: _LENGTHS[i - 1]] if i else None)


def _open_text(path: Path) -> Any:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _division_row(rec: dict[str, Any], path: str, lineno: int,
                  problems: list[Problem]) -> dict[str, Any]:
    """One table row as ``code, name, level, parent_code``; its problems appended."""
    code, level = (rec.get("code") or "").strip(), (rec.get("level") or "").strip()
    parent = (rec.get("parent_code") or "").strip() or None
    name = (rec.get("name") or "").strip()

    def bad(field: str, value: object, reason: str) -> None:
        problems.append(problem(path, lineno, field, value, reason))

    if not level:  # the statistics bureau's tables: level and parent from the code
        derived = code_level(code)
        if derived is None:
            bad("code", code, "a division code has 2 (province), 4 (city), 6 (district), "
                "9 (street) or 12 (community) digits")
        else:
            level, parent = derived[0], parent or derived[1]
    elif level not in CODE_LENGTHS:
        bad("level", level, f"level must be one of {sorted(CODE_LENGTHS)}")
    elif not code.isdigit() or len(code) != CODE_LENGTHS[level]:
        bad("code", code, f"a {level} code has {CODE_LENGTHS[level]} digits")
    if level in CODE_LENGTHS and parent is not None and not code.startswith(parent):
        bad("parent_code", parent, f"is not a prefix of code {code}")
    if not name:
        bad("name", rec.get("name"), "name is empty")
    return {"code": code, "name": name, "level": level, "parent_code": parent}


def read_divisions_csv(path: str | Path) -> pd.DataFrame:
    """Read a division code table: columns ``code, name`` and optionally ``level,
    parent_code`` (UTF-8, plain or ``.csv.gz``).

    Where ``level`` is missing (no such column, or an empty cell), the level and an
    empty parent code are derived from the code (:func:`code_level`): the statistics
    bureau's tables
    (``code,name,provinceCode`` …, 2023 edition) load as they are; their other columns
    are ignored. Every row is checked: the code is all digits of the length its level
    takes, and its parent code is its prefix. All problems are reported at once, each
    with file, row (1-based, header is row 1), field and reason.

    Returns
    -------
    DataFrame with string columns ``code``, ``name``, ``level``, ``parent_code``.
    """
    path = Path(path)
    problems: list[Problem] = []
    rows = []
    with _open_text(path) as fh:
        reader = csv.DictReader(fh)
        missing = {"code", "name"} - set(reader.fieldnames or [])
        if missing:
            raise ValidationError(f"{path}: missing column(s) {sorted(missing)}")
        for lineno, rec in enumerate(reader, start=2):
            rows.append(_division_row(rec, f"{path}", lineno, problems))
    if problems:
        first = problems[0]
        raise ValidationError(
            f"{len(problems)} bad row(s); first: {format_problem(first)}",
            problems,
        )
    return pd.DataFrame(rows, columns=["code", "name", "level", "parent_code"])


def admin_areas_frame(
    divisions: pd.DataFrame,
    boundaries: gpd.GeoDataFrame | None = None,
    *,
    boundary_code_column: str = "code",
    source: str | None = None,
) -> gpd.GeoDataFrame:
    """Join division codes to boundary polygons, shaped for the ``admin_area`` layer.

    Parameters
    ----------
    divisions : DataFrame
        From :func:`read_divisions_csv`.
    boundaries : GeoDataFrame, optional
        Polygons with a code column; any CRS (kept, the store reprojects).
        Divisions without a polygon get an empty geometry (codes are still
        useful: a community's code is known before its boundary is surveyed).
    boundary_code_column : str
        Column of `boundaries` holding the division code.
    source : str, optional
        Value of the ``source`` column.
    """
    frame = divisions.copy()
    frame["source"] = source
    crs = "EPSG:4326"
    geoms = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    if boundaries is not None:
        crs = boundaries.crs
        lookup = dict(
            zip(boundaries[boundary_code_column].astype(str), boundaries.geometry, strict=True)
        )
        geoms = frame["code"].map(lookup)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)

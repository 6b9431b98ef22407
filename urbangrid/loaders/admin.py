"""Administrative divisions (行政区划): codes, names and boundaries.

Division codes follow the National Bureau of Statistics statistical division
codes (统计用区划代码): 6 digits for a district/county (区县), 9 for a street
office or township (街道/乡镇), 12 for a community or village committee
(社区/村委会). A code's parent is its prefix.
"""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import pandas as pd

from urbangrid.errors import ValidationError
from urbangrid.problems import Problem, format_problem, problem

__all__ = ["CODE_LENGTHS", "admin_areas_frame", "read_divisions_csv"]

#: Digits of a division code at each level.
CODE_LENGTHS: dict[str, int] = {
    "province": 2,
    "city": 4,
    "district": 6,
    "street": 9,
    "community": 12,
}


def read_divisions_csv(path: str | Path) -> pd.DataFrame:
    """Read a division code table: columns ``code, name, level, parent_code``.

    Every row is checked: the code is all digits of the length its level
    takes, and its parent code is its prefix. All problems are reported at
    once, each with file, row (1-based, header is row 1), field and reason.

    Returns
    -------
    DataFrame with string columns ``code``, ``name``, ``level``, ``parent_code``.
    """
    path = Path(path)
    problems: list[Problem] = []
    rows = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"code", "name", "level"} - set(reader.fieldnames or [])
        if missing:
            raise ValidationError(f"{path}: missing column(s) {sorted(missing)}")
        for lineno, rec in enumerate(reader, start=2):
            code, level = (rec.get("code") or "").strip(), (rec.get("level") or "").strip()
            parent = (rec.get("parent_code") or "").strip() or None

            def bad(field: str, value: object, reason: str, lineno: int = lineno) -> None:
                problems.append(problem(str(path), lineno, field, value, reason))

            if level not in CODE_LENGTHS:
                bad("level", level, f"level must be one of {sorted(CODE_LENGTHS)}")
            elif not code.isdigit() or len(code) != CODE_LENGTHS[level]:
                bad("code", code, f"a {level} code has {CODE_LENGTHS[level]} digits")
            elif parent is not None and not code.startswith(parent):
                bad("parent_code", parent, f"is not a prefix of code {code}")
            if not (rec.get("name") or "").strip():
                bad("name", rec.get("name"), "name is empty")
            rows.append(
                {
                    "code": code,
                    "name": (rec.get("name") or "").strip(),
                    "level": level,
                    "parent_code": parent,
                }
            )
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

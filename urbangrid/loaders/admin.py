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
from collections.abc import Collection
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from urbangrid.errors import ValidationError
from urbangrid.problems import Problem, format_problem, problem

__all__ = ["CODE_LENGTHS", "admin_areas_frame", "code_level", "padded_candidates",
           "read_divisions_csv", "unpad_code"]

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


def padded_candidates(code: str) -> list[str]:
    """The shorter division codes a 12-digit zero-padded code may stand for, shortest first.

    The statistics bureau's web tables write every level in 12 digits (district 110101 as
    ``110101000000``, street 110101001 as ``110101001000``). The candidates are the code's
    prefixes at each level length whose rest is zeros: ``110101000000`` gives 110101 and
    110101000; ``441900000000`` gives 4419, 441900 and 441900000 (Dongguan is city 4419
    and, in the district table, district 441900). Empty when the code is not 12 digits
    ending in 000 (a community code never does; Kinmen's placeholder 350527000000 aside).
    """
    if len(code) != 12 or not code.isdigit() or not code.endswith("000"):
        return []
    return [code[:n] for n in _LENGTHS[:-1] if set(code[n:]) == {"0"} and code[:n].strip("0")]


def unpad_code(code: str, known: Collection[str] | None = None) -> str | None:
    """The division code a 12-digit zero-padded ``code`` stands for (see
    :func:`padded_candidates`), or None when it is no padded code.

    With ``known`` (the codes of a division table) the one candidate in it, None when
    none is. Without, the deepest level whose own digits are not all zero, as the
    bureau's 12-digit tables mean it (``110101000000`` → ``110101``, ``441900000000`` →
    city 4419: those tables list Dongguan as a city with its streets under it).

    Raises
    ------
    ValueError
        With ``known``, more than one candidate is in it (``441900000000`` against a
        table holding city 4419 and district 441900); the message names them and says to
        give the code unpadded.
    """
    cands = padded_candidates(code)
    hits = cands[:1] if known is None else [c for c in cands if c in known]
    if len(hits) > 1:
        names = " or ".join(f"{_LEVEL_OF_LENGTH[len(c)]} {c}" for c in hits[:2])
        raise ValueError(f"{code} is zero-padded and may be {names} (a city without "
                         "districts, such as Dongguan 4419, has a district code ending "
                         "in 00); give the code unpadded")
    return hits[0] if hits else None


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

    if len(code) == 12 and code[:9] not in (parent, rec.get("streetCode")):
        code = _unpadded(code, level)  # 110101000000: district 110101
    if parent is not None and len(parent) == 12 and not code.startswith(parent):
        parent = unpad_code(parent) or parent
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


def _unpadded(code: str, level: str) -> str:
    """A 12-digit zero-padded ``code`` cut to ``level``'s length, or, without a level, to
    the level :func:`unpad_code` reads from the code; else ``code``."""
    n = CODE_LENGTHS.get(level)
    if n is None:
        return unpad_code(code) or code
    return code[:n] if n < 12 and set(code[n:]) == {"0"} else code


def read_divisions_csv(path: str | Path) -> pd.DataFrame:
    """Read a division code table: columns ``code, name`` and optionally ``level,
    parent_code`` (UTF-8, plain or ``.csv.gz``).

    Where ``level`` is missing (no such column, or an empty cell), the level and an
    empty parent code are derived from the code (:func:`code_level`): the statistics
    bureau's tables
    (``code,name,provinceCode`` …, 2023 edition) load as they are; their other columns
    are ignored. Codes zero-padded to 12 digits (the bureau's web tables: ``110101000000``
    for district 110101) are cut to their level's length, or without a level to the level
    :func:`unpad_code` reads. Every row is checked: the code is all digits of the length
    its level takes, and its parent code is its prefix. All problems are reported at
    once, each with file, row (1-based, header is row 1), field and reason.

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

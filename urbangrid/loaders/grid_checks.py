"""Unit and work grid surveys (单元网格, 工作网格): codes checked, missing parts derived.

A grid survey names each grid by its code and often nothing else. Before the
generic validation (:func:`urbangrid.loaders.validate.validate_rows`):

* :func:`grid_code_problems` reports codes that are malformed (CJ/T 213 unit grid
  codes through :func:`urbangrid.spatial.grids.codes.validate_grid_codes`: 15 or 14
  digits, a well-formed community part, a non-zero serial, one form per file;
  work grid codes ``<12-digit community>W<2-digit serial>`` or
  ``<9-digit street>W<3-digit serial>`` as :mod:`urbangrid.spatial.grids.work`
  makes them), codes that disagree with the county/street/community codes the
  file also gives, and unit grids of communities the store's ``admin_area`` does
  not know;
* :func:`fill_unit_grids` / :func:`fill_work_grids` derive what the code already
  says (county, street and community codes, code form) and the area in square
  metres, where the file gives none — the file's own values always win.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from urbangrid.problems import Problem, problem
from urbangrid.spatial.crs.metric import choose_metric_crs
from urbangrid.spatial.grids.codes import validate_grid_codes
from urbangrid.store import Store

__all__ = [
    "WORK_GRID_CODE",
    "fill_unit_grids",
    "fill_work_grids",
    "grid_code_problems",
    "known_communities",
]

#: Work grid codes: 12-digit community + W + 2-digit serial, or 9-digit street + W + 3.
WORK_GRID_CODE = re.compile(r"^(?:(\d{12})W(\d{2})|(\d{9})W(\d{3}))$")

# Column → how many leading digits of a unit grid code it is.
_UNIT_PARTS = (("county_code", 6), ("street_code", 9), ("community_code", 12))


def _text(v: Any) -> str | None:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    s = str(v).strip()
    return s or None


def _column(frame: Any, name: str) -> list[str | None]:
    if name not in frame.columns:
        return [None] * len(frame)
    return [_text(v) for v in frame[name].tolist()]


def _unit_code_ok(code: str | None) -> bool:
    return code is not None and code.isascii() and code.isdigit() and len(code) in (14, 15)


def _work_region(code: str | None) -> str | None:
    """The community (12 digits) or street (9 digits) a work grid code starts with."""
    m = WORK_GRID_CODE.match(code) if code is not None else None
    if m is None or int(m.group(2) or m.group(4)) == 0:
        return None
    return m.group(1) or m.group(3)


def known_communities(store: Store) -> set[str] | None:
    """The community codes of the store's ``admin_area`` (None when it has none)."""
    if "admin_area" not in store.layers():
        return None
    found = store.read("admin_area", where={"level": ["community"]}, columns=["code"])
    return set(found["code"]) or None


def _prefix_problems(
    frame: Any,
    codes: list[str | None],
    prefixes: list[str | None],
    parts: tuple[tuple[str, int], ...],
    kind: str,
    source: str,
) -> list[Problem]:
    """Rows whose `parts` columns (code column, digits) disagree with the code's prefix."""
    out: list[Problem] = []
    rows = frame.index.tolist()
    for col, width in parts:
        for i, given in enumerate(_column(frame, col)):
            pre = prefixes[i]
            if given is not None and pre is not None and len(pre) >= width and pre[:width] != given:
                why = f"{kind} {codes[i]} says {col} {pre[:width]}"
                out.append(problem(source, int(rows[i]), col, given, why))
    return out


def grid_code_problems(
    frame: Any, *, target: str, source: str, communities: set[str] | None = None
) -> list[Problem]:
    """Problems with the grid codes of a mapped grid survey.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Mapped rows (store column names), indexed by file row number.
    target : {"grids", "work-grids"}
    source : str
        File name for the problems.
    communities : set of str, optional
        Known 12-digit community codes (:func:`known_communities`); unit grids of
        other communities are reported.

    Returns
    -------
    list of Problem
        One per bad code (:mod:`urbangrid.problems`).
    """
    rows = frame.index.tolist()
    out: list[Problem] = []
    if target == "grids" and "grid_code" in frame.columns:
        codes = _column(frame, "grid_code")
        present = [i for i, c in enumerate(codes) if c is not None]
        found = validate_grid_codes([codes[i] for i in present], known_communities=communities)
        for r in found[found["check"] != "duplicate"].itertuples():
            i = present[int(r.row)]
            out.append(problem(source, int(rows[i]), "grid_code", r.code, str(r.reason)))
        prefixes = [c if _unit_code_ok(c) else None for c in codes]
        out += _prefix_problems(frame, codes, prefixes, _UNIT_PARTS, "grid code", source)
    work_col = "work_grid_code"
    if work_col in frame.columns:
        codes = _column(frame, work_col)
        for i, code in enumerate(codes):
            if code is not None and _work_region(code) is None:
                out.append(
                    problem(
                        source,
                        int(rows[i]),
                        work_col,
                        code,
                        "not a work grid code (<12-digit community>W<2-digit serial> or "
                        "<9-digit street>W<3-digit serial>, serial not 0)",
                    )
                )
        if target == "work-grids":
            regions = [_work_region(c) for c in codes]
            parts = (("street_code", 9), ("community_code", 12))
            out += _prefix_problems(frame, codes, regions, parts, "work grid code", source)
    return out


def _fill(frame: Any, column: str, derived: list[Any]) -> None:
    """Fill `column` from `derived` where the file gives no value (the file wins)."""
    given: list[Any] = [None] * len(frame)
    if column in frame.columns:
        given = [
            None if v is None or (not isinstance(v, str) and pd.isna(v)) else v
            for v in frame[column].tolist()
        ]
    frame[column] = pd.Series(
        [g if g is not None else d for g, d in zip(given, derived, strict=True)],
        index=frame.index,
        dtype=object,
    )


def _fill_area(frame: Any, *, with_crs: bool) -> None:
    """``area_m2`` of each polygon where the file gives none (and, `with_crs`, the
    ``metric_crs`` it was measured in): in the file's CRS when it is projected (the
    city's Gauss-Krüger zone), else in the CRS of
    :func:`~urbangrid.spatial.crs.metric.choose_metric_crs` (the CGCS2000 Gauss-Krüger
    zone in China, UTM elsewhere)."""
    if frame.crs is None or not len(frame):
        return
    valid = frame.geometry.notna() & ~frame.geometry.is_empty
    if not valid.any():
        return
    given = frame["area_m2"] if "area_m2" in frame.columns else None
    if given is not None and given.notna().all():
        return
    metric = frame.crs if not frame.crs.is_geographic else choose_metric_crs(frame[valid])
    area = frame.geometry.to_crs(metric).area
    _fill(frame, "area_m2", [float(a) if v else None for a, v in zip(area, valid, strict=True)])
    if with_crs:
        _fill(frame, "metric_crs", [metric.to_string()] * len(frame))


def fill_unit_grids(frame: Any) -> Any:
    """A copy of a mapped unit grid survey with code form, county/street/community
    codes (the code's first 6/9/12 digits) and area filled where the file gives none.

    Malformed codes derive nothing (:func:`grid_code_problems` reports them).
    """
    if "grid_code" not in frame.columns:
        return frame
    frame = frame.copy()
    codes = [c if _unit_code_ok(c) else None for c in _column(frame, "grid_code")]
    for col, width in _UNIT_PARTS:
        _fill(frame, col, [None if c is None else c[:width] for c in codes])
    frame["code_form"] = pd.Series(
        [None if c is None else len(c) for c in codes], index=frame.index, dtype=object
    )
    _fill_area(frame, with_crs=True)
    return frame


def fill_work_grids(frame: Any) -> Any:
    """A copy of a mapped work grid survey with street and community codes (from the
    work grid code) and area filled where the file gives none."""
    if "work_grid_code" not in frame.columns:
        return frame
    frame = frame.copy()
    regions = [_work_region(c) for c in _column(frame, "work_grid_code")]
    _fill(frame, "street_code", [None if r is None else r[:9] for r in regions])
    _fill(frame, "community_code", [r if r is not None and len(r) == 12 else None for r in regions])
    _fill_area(frame, with_crs=False)
    return frame

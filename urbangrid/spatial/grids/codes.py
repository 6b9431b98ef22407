"""Unit grid codes (单元网格编码): build, parse, validate, number and renumber.

Two code forms are in use (see ``shared/reference/STANDARDS.md``, Unit grids):

========  =======================================================================
form      layout
========  =======================================================================
15 digit  6 county (区县, GB/T 2260) + 3 street (街道/乡镇) + 3 community (社区/村)
          + 3 grid serial (网格顺序码); Beijing DB11/T 2157-2023, e.g.
          ``320582110152102``
14 digit  the same with a 2-digit serial (CJ/T 213-era implementations)
========  =======================================================================

The first 12 digits are the community code of the 2023 statistical division codes
(统计用区划代码), so a grid code always names the community that contains the grid.

Serial order (顺序码编排)
-------------------------
Serials run west→east, north→south inside each community, read like a page: grids are
cut into rows from north to south, and each row is read from west to east. Exactly:

1. Each grid is represented by one point (the generator uses the grid centroid), given
   as easting/northing in metres in the grid layer's projected CRS.
2. Coordinates are rounded to whole centimetres, so that the order does not depend on
   floating-point noise below 1 cm.
3. Row = ``floor((north - y) / row_height_m)``, where ``north`` is the largest rounded
   northing among the grids of that community being numbered. Row 0 is the northernmost.
4. Grids are sorted by (row ascending, easting ascending, northing descending, input
   position ascending). So within a row, west comes first; a tie in easting goes to the
   northern grid; a tie in both coordinates goes to the grid that comes first in the
   input.
5. Serials are 1, 2, 3, … in that order. When renumbering, they start after the highest
   serial ever issued in the community (see :func:`renumber_grids`).

The default ``row_height_m = 100`` is the side of a 10,000 m² grid (万米单元网格), so a
row is about one grid tall.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from urbangrid.errors import GridCodeError
from urbangrid.problems import format_problem, problem, short_value

__all__ = [
    "SERIAL_DIGITS",
    "GridCode",
    "build_grid_codes",
    "check_grid_codes",
    "grid_serial_order",
    "number_grids",
    "parse_grid_code",
    "parse_grid_codes",
    "renumber_grids",
    "validate_grid_codes",
]

#: Number of serial digits for each code form (total code length → serial width).
SERIAL_DIGITS: dict[int, int] = {15: 3, 14: 2}

COMMUNITY_CODE_LENGTH = 12
DEFAULT_ROW_HEIGHT_M = 100.0


class GridCode(NamedTuple):
    """One parsed unit grid code.

    Attributes
    ----------
    code : str
        The whole code, 14 or 15 digits.
    county_code : str
        6-digit county-level division code (区县代码, GB/T 2260).
    street_code : str
        9-digit street/township code (街道/乡镇代码) = county + 3 digits.
    community_code : str
        12-digit community/village code (社区/村代码) = street + 3 digits.
    serial : int
        Grid serial within the community (网格顺序码), 1-based.
    form : int
        15 or 14, the code length.
    """

    code: str
    county_code: str
    street_code: str
    community_code: str
    serial: int
    form: int


def _check_form(form: int) -> int:
    if form not in SERIAL_DIGITS:
        msg = f"grid code form must be 15 or 14 digits, got {form!r}"
        raise GridCodeError(msg)
    return form


def _community_problem(community: str) -> str | None:
    """Reason why a 12-digit community code is malformed, or None."""
    if len(community) != COMMUNITY_CODE_LENGTH or not community.isdigit():
        return f"community code must be {COMMUNITY_CODE_LENGTH} digits"
    if community[:2] == "00":
        return "county part starts with province 00"
    if community[6:9] == "000":
        return "street part is 000"
    if community[9:12] == "000":
        return "community part is 000"
    return None


def build_grid_codes(
    community_codes: Sequence[str] | np.ndarray | pd.Series,
    serials: Sequence[int] | np.ndarray | pd.Series,
    *,
    form: int = 15,
) -> np.ndarray:
    """Build grid codes from community codes and serials.

    Parameters
    ----------
    community_codes : sequence of str
        12-digit community codes (社区代码), one per grid.
    serials : sequence of int
        Serial of each grid inside its community (网格顺序码), 1-based.
    form : {15, 14}
        Code length: 15 (3-digit serial) or 14 (2-digit serial).

    Returns
    -------
    numpy.ndarray of str
        One code per input row.

    Raises
    ------
    GridCodeError
        A community code is malformed, or a serial does not fit the form; the message
        names the first bad row.

    Examples
    --------
    >>> build_grid_codes(["320582110152"], [102]).tolist()
    ['320582110152102']
    >>> build_grid_codes(["110108014001"], [7], form=14).tolist()
    ['11010801400107']
    """
    digits = SERIAL_DIGITS[_check_form(form)]
    comm = np.asarray(community_codes, dtype=object).astype(str)
    ser = np.asarray(serials)
    if comm.shape != ser.shape:
        msg = f"{comm.size} community codes but {ser.size} serials"
        raise GridCodeError(msg)
    limit = 10**digits - 1
    for row, (c, s) in enumerate(zip(comm.tolist(), ser.tolist(), strict=True)):
        reason = _community_problem(c)
        if reason is not None:
            msg = f"row {row}: community code {c!r}: {reason}"
            raise GridCodeError(msg)
        if int(s) != s or not 1 <= int(s) <= limit:
            msg = f"row {row}: serial {s!r} does not fit a {form}-digit code (1..{limit})"
            raise GridCodeError(msg)
    return np.array([f"{c}{int(s):0{digits}d}" for c, s in zip(comm, ser, strict=True)],
                    dtype=object)


def parse_grid_code(code: str) -> GridCode:
    """Split one grid code into its parts.

    Parameters
    ----------
    code : str
        A 15- or 14-digit unit grid code.

    Returns
    -------
    GridCode

    Raises
    ------
    GridCodeError
        The code is malformed; the message says why.

    Examples
    --------
    >>> parse_grid_code("320582110152102")
    GridCode(code='320582110152102', county_code='320582', street_code='320582110', \
community_code='320582110152', serial=102, form=15)
    """
    problem = _code_problem(code, None)
    if problem is not None:
        msg = f"grid code {code!r}: {problem}"
        raise GridCodeError(msg)
    return GridCode(code, code[:6], code[:9], code[:12], int(code[12:]), len(code))


def parse_grid_codes(codes: Sequence[str] | np.ndarray | pd.Series) -> pd.DataFrame:
    """Split many grid codes into their parts (vectorised).

    Parameters
    ----------
    codes : sequence of str
        15- or 14-digit codes; forms may be mixed.

    Returns
    -------
    pandas.DataFrame
        Columns ``code, county_code, street_code, community_code, serial, form``, one row
        per input code, in input order.

    Raises
    ------
    GridCodeError
        A code is malformed; the message names the first bad row.

    See Also
    --------
    validate_grid_codes : reports every problem instead of raising on the first.
    """
    s = pd.Series(np.asarray(codes, dtype=object)).astype(str)
    for row, code in enumerate(s.tolist()):
        problem = _code_problem(code, None)
        if problem is not None:
            msg = f"row {row}: grid code {code!r}: {problem}"
            raise GridCodeError(msg)
    return pd.DataFrame(
        {
            "code": s,
            "county_code": s.str[:6],
            "street_code": s.str[:9],
            "community_code": s.str[:12],
            "serial": s.str[12:].astype("int64"),
            "form": s.str.len().astype("int64"),
        }
    )


def _code_problem(code: object, form: int | None) -> str | None:
    if not isinstance(code, str):
        return f"not a string ({type(code).__name__})"
    if not code.isascii() or not code.isdigit():
        return "must contain digits 0-9 only"
    if len(code) not in SERIAL_DIGITS:
        return f"has {len(code)} digits, expected 15 or 14"
    if form is not None and len(code) != form:
        return f"has {len(code)} digits, expected {form}"
    reason = _community_problem(code[:12])
    if reason is not None:
        return reason
    if int(code[12:]) == 0:
        return "serial is 0"
    return None


def validate_grid_codes(
    codes: Sequence[str] | np.ndarray | pd.Series,
    *,
    form: int | None = None,
    community_codes: Sequence[str] | np.ndarray | pd.Series | None = None,
    known_communities: Collection[str] | None = None,
) -> pd.DataFrame:
    """List every problem in a column of grid codes.

    Parameters
    ----------
    codes : sequence of str
        Grid codes, one per grid.
    form : {15, 14} or None
        Required code length; None accepts both forms (but not a mix: a mixed column is
        reported once per minority-form row).
    community_codes : sequence of str, optional
        The 12-digit code of the community that actually contains each grid (from a
        spatial join). A grid whose code starts with another community is reported.
    known_communities : collection of str, optional
        Valid 12-digit community codes (e.g. the 2023 statistical division codes). A code
        whose community is not in it is reported.

    Returns
    -------
    pandas.DataFrame
        Columns ``row`` (input position, 0-based), ``code``, ``check`` (``format``,
        ``mixed_form``, ``duplicate``, ``community_mismatch``, ``unknown_community``),
        ``reason``, and, so that each row reads as a :class:`urbangrid.problems.Problem`,
        ``field`` (``"grid_code"``), ``value`` (the code, shortened for the report) and
        ``severity`` (``"error"``). Empty when every code is valid.

    Examples
    --------
    >>> validate_grid_codes(["320582110152102", "320582110152102", "12"])[["row", "check"]]
       row      check
    0    2     format
    1    0  duplicate
    2    1  duplicate
    """
    if form is not None:
        _check_form(form)
    s = pd.Series(np.asarray(codes, dtype=object))
    rows: list[dict[str, object]] = []
    ok = np.ones(len(s), dtype=bool)
    for i, code in enumerate(s.tolist()):
        reason = _code_problem(code, form)
        if reason is not None:
            ok[i] = False
            rows.append({"row": i, "code": code, "check": "format", "reason": reason})
    good = s[ok].astype(str)
    if form is None and good.size:
        lengths = good.str.len()
        majority = int(lengths.mode().iloc[0])
        for i in good.index[lengths != majority]:
            rows.append({"row": int(i), "code": s[i], "check": "mixed_form",
                         "reason": f"{len(s[i])}-digit code among {majority}-digit codes"})
    dup = good[good.duplicated(keep=False)]
    for i, code in dup.items():
        others = [int(j) for j in dup.index[dup == code] if j != i]
        rows.append({"row": int(i), "code": code, "check": "duplicate",
                     "reason": f"same code as row(s) {others}"})
    if community_codes is not None:
        comm = pd.Series(np.asarray(community_codes, dtype=object)).astype(str)
        if len(comm) != len(s):
            msg = f"{len(s)} codes but {len(comm)} community codes"
            raise GridCodeError(msg)
        bad = good.index[good.str[:12].to_numpy() != comm[good.index].to_numpy()]
        for i in bad:
            rows.append({"row": int(i), "code": s[i], "check": "community_mismatch",
                         "reason": f"grid lies in community {comm[i]}, code says {s[i][:12]}"})
    if known_communities is not None:
        known = set(known_communities)
        for i, code in good.items():
            if code[:12] not in known:
                rows.append({"row": int(i), "code": code, "check": "unknown_community",
                             "reason": f"community {code[:12]} is not in the code table"})
    out = pd.DataFrame(rows, columns=["row", "code", "check", "reason"])
    out["field"] = "grid_code"
    out["value"] = [short_value(c) for c in out["code"]]
    out["severity"] = "error"
    return out[list(_PROBLEM_COLUMNS)].astype({"row": "int64"})


_PROBLEM_COLUMNS = ("row", "code", "check", "reason", "field", "value", "severity")


def check_grid_codes(
    codes: Sequence[str] | np.ndarray | pd.Series,
    *,
    form: int | None = None,
    community_codes: Sequence[str] | np.ndarray | pd.Series | None = None,
    known_communities: Collection[str] | None = None,
    layer: str = "grids",
) -> None:
    """Raise if :func:`validate_grid_codes` finds any problem.

    Parameters
    ----------
    codes, form, community_codes, known_communities
        As for :func:`validate_grid_codes`.
    layer : str
        Name of the layer or file, used in the message.

    Raises
    ------
    GridCodeError
        Naming up to 10 problems (row, code, reason) and the total count.
    """
    problems = validate_grid_codes(codes, form=form, community_codes=community_codes,
                                   known_communities=known_communities)
    if len(problems):
        lines = [
            "  " + format_problem(problem(layer, r.row, r.field, r.code, f"{r.check}: {r.reason}"))
            for r in problems.head(10).itertuples()
        ]
        msg = f"{layer}: {len(problems)} grid code problem(s):\n" + "\n".join(lines)
        raise GridCodeError(msg)


def grid_serial_order(
    community_codes: Sequence[str] | np.ndarray | pd.Series,
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    row_height_m: float = DEFAULT_ROW_HEIGHT_M,
) -> np.ndarray:
    """Rank grids west→east, north→south within each community.

    Parameters
    ----------
    community_codes : sequence of str
        12-digit community code of each grid.
    x, y : array_like of float
        Easting/northing in metres of each grid's reference point (centroid), in the grid
        layer's projected CRS.
    row_height_m : float
        Height of a row in metres (see the module docstring for the exact rule).

    Returns
    -------
    numpy.ndarray of int64
        1-based rank of each grid within its community.

    Examples
    --------
    Two rows 100 m apart; in each row west comes first:

    >>> grid_serial_order(["110108014001"] * 4, [50, 150, 50, 150], [50, 50, 150, 150]).tolist()
    [3, 4, 1, 2]
    """
    if not row_height_m > 0:
        msg = f"row_height_m must be positive, got {row_height_m!r}"
        raise GridCodeError(msg)
    comm = np.asarray(community_codes, dtype=object).astype(str)
    xc = np.round(np.asarray(x, dtype="float64") * 100.0)
    yc = np.round(np.asarray(y, dtype="float64") * 100.0)
    if not (comm.shape == xc.shape == yc.shape):
        msg = "community_codes, x and y must have the same length"
        raise GridCodeError(msg)
    if not (np.isfinite(xc).all() and np.isfinite(yc).all()):
        msg = f"non-finite reference point at row {int(np.flatnonzero(~np.isfinite(xc + yc))[0])}"
        raise GridCodeError(msg)
    frame = pd.DataFrame({"c": comm, "x": xc, "y": yc, "pos": np.arange(comm.size)})
    north = frame.groupby("c")["y"].transform("max")
    frame["row"] = np.floor((north - frame["y"]) / (row_height_m * 100.0)).astype("int64")
    frame["ny"] = -frame["y"]
    frame = frame.sort_values(["c", "row", "x", "ny", "pos"], kind="stable")
    frame["rank"] = frame.groupby("c").cumcount() + 1
    return frame["rank"].sort_index().to_numpy(dtype="int64")


def number_grids(
    community_codes: Sequence[str] | np.ndarray | pd.Series,
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    form: int = 15,
    row_height_m: float = DEFAULT_ROW_HEIGHT_M,
) -> np.ndarray:
    """Give fresh codes to every grid: serial 1… west→east, north→south per community.

    Parameters
    ----------
    community_codes : sequence of str
        12-digit community code of each grid.
    x, y : array_like of float
        Easting/northing in metres of each grid's centroid, grid layer's projected CRS.
    form : {15, 14}
        Code length.
    row_height_m : float
        Row height in metres for the reading order.

    Returns
    -------
    numpy.ndarray of str

    Raises
    ------
    GridCodeError
        A community has more grids than the form has serials (999 or 99).

    See Also
    --------
    renumber_grids : keeps existing codes and never reuses a retired one.
    """
    ranks = grid_serial_order(community_codes, x, y, row_height_m=row_height_m)
    return build_grid_codes(community_codes, ranks, form=form)


def renumber_grids(
    community_codes: Sequence[str] | np.ndarray | pd.Series,
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    codes: Sequence[str | None] | np.ndarray | pd.Series,
    *,
    retired: Collection[str] = (),
    form: int = 15,
    row_height_m: float = DEFAULT_ROW_HEIGHT_M,
) -> np.ndarray:
    """Code grids after an edit: keep valid codes, give new ones, never reuse a retired one.

    A grid keeps its current code when the code is well formed, of this form, starts with
    the grid's community code and is not held by an earlier grid (in reading order). Every
    other grid (new, moved to another community, duplicate) gets a new serial. New serials
    in a community start after the highest serial ever issued there, counting the codes
    kept and the ``retired`` codes, and follow the reading order of the new grids.

    Parameters
    ----------
    community_codes : sequence of str
        12-digit community code of each grid.
    x, y : array_like of float
        Easting/northing in metres of each grid's centroid, grid layer's projected CRS.
    codes : sequence of str or None
        Current code of each grid; None, NaN or "" for grids that have none.
    retired : collection of str
        Codes of grids removed in earlier versions; their serials are never issued again.
    form : {15, 14}
        Code length.
    row_height_m : float
        Row height in metres for the reading order.

    Returns
    -------
    numpy.ndarray of str

    Raises
    ------
    GridCodeError
        A community runs out of serials (999 or 99 ever issued).

    Examples
    --------
    Grid 2 was split: the western half keeps 002, the eastern half gets 004 because 003
    was retired earlier.

    >>> renumber_grids(["110108014001"] * 3, [0, 100, 150], [0, 0, 0],
    ...                ["110108014001001", "110108014001002", None],
    ...                retired=["110108014001003"]).tolist()
    ['110108014001001', '110108014001002', '110108014001004']
    """
    digits = SERIAL_DIGITS[_check_form(form)]
    comm = np.asarray(community_codes, dtype=object).astype(str)
    current = [c if isinstance(c, str) and c else None for c in np.asarray(codes, dtype=object)]
    if len(current) != comm.size:
        msg = f"{comm.size} community codes but {len(current)} current codes"
        raise GridCodeError(msg)
    for c in np.unique(comm).tolist():
        reason = _community_problem(c)
        if reason is not None:
            msg = f"community code {c!r}: {reason}"
            raise GridCodeError(msg)
    order = np.argsort(grid_serial_order(comm, x, y, row_height_m=row_height_m) - 1
                       + _community_offsets(comm), kind="stable")
    result, highest = _kept_codes(order, comm, current, retired, form)
    limit = 10**digits - 1
    for i in order:
        if result[i] is None:
            serial = highest.get(comm[i], 0) + 1
            if serial > limit:
                msg = (f"community {comm[i]}: no {form}-digit serial left (highest issued "
                       f"{limit}); use the 15-digit form or split the community")
                raise GridCodeError(msg)
            highest[comm[i]] = serial
            result[i] = f"{comm[i]}{serial:0{digits}d}"
    return np.array(result, dtype=object)


def _kept_codes(
    order: np.ndarray, comm: np.ndarray, current: list[str | None], retired: Collection[str],
    form: int,
) -> tuple[list[str | None], dict[str, int]]:
    """The codes grids keep (None for the rest), and the highest serial per community.

    Walks the grids in reading ``order``; the highest serial counts retired codes too.
    """
    highest: dict[str, int] = {}
    for code in retired:
        if _code_problem(code, form) is None:
            highest[code[:12]] = max(highest.get(code[:12], 0), int(code[12:]))
    taken: set[str] = set(retired)
    result: list[str | None] = [None] * comm.size
    for i in order:
        code = current[i]
        if (code is not None and _code_problem(code, form) is None
                and code[:12] == comm[i] and code not in taken):
            result[i] = code
            taken.add(code)
            highest[comm[i]] = max(highest.get(comm[i], 0), int(code[12:]))
    return result, highest


def _community_offsets(comm: np.ndarray) -> np.ndarray:
    """Large per-community offsets so that one argsort orders communities, then ranks."""
    _, inverse = np.unique(comm, return_inverse=True)
    return inverse.astype("int64") * (comm.size + 1)

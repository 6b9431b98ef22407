"""One problem record for every validation report: file, row, field, value, reason.

Every check in urbangrid that looks at input (survey rows, grid codes, component
records, case logs, code tables, store writes) reports what it found as a list of
:data:`Problem` records, made by :func:`problem` and printed by :func:`format_problem`,
so a report from any of them reads, filters and writes (CSV, GeoPackage) the same way.
:class:`urbangrid.errors.ValidationError` carries such a list in ``problems``.

Examples
--------
>>> p = problem("survey.shp", 12, "标识码", "1101", "16 or 17 digits expected")
>>> format_problem(p)
"survey.shp: row 12: field '标识码' value '1101': 16 or 17 digits expected"
>>> is_error(p)
True
"""

from __future__ import annotations

import re
from typing import Any, Literal, TypedDict

__all__ = ["Problem", "Severity", "format_problem", "is_error", "problem", "short_value"]

Severity = Literal["error", "warning"]


class Problem(TypedDict, total=False):
    """One problem found in input.

    ``row`` is the 1-based data row of the file (``None`` for the file or a column as a
    whole); ``field`` the column as the file names it (``None`` for the row as a whole);
    ``severity`` is ``"error"`` (blocks the load or sets the row aside) or ``"warning"``
    (reported, loaded anyway); ``record``, where a check knows it, names the record the
    row holds (a component's ID or source key).
    """

    file: str
    row: int | None
    field: str | None
    value: Any
    reason: str
    severity: Severity
    record: str | None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def short_value(value: Any, limit: int = 200) -> Any:
    """A value fit for a report cell: long text cut, control characters made visible."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else repr(value)
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


def problem(
    file: str,
    row: int | None,
    field_: str | None,
    value: Any,
    reason: str,
    *,
    severity: Severity = "error",
) -> Problem:
    """One problem record (value shortened for the report)."""
    return {
        "file": file,
        "row": row,
        "field": field_,
        "value": short_value(value),
        "reason": reason,
        "severity": severity,
    }


def is_error(p: Problem | dict[str, Any]) -> bool:
    """True unless the problem is only a warning."""
    return p.get("severity", "error") != "warning"


def format_problem(p: Problem | dict[str, Any]) -> str:
    """The problem as one line: ``file: row N: field 'f' value 'v': reason``.

    Parts that are not known (no row, no field, no value) are left out.
    """
    parts = [str(p.get("file") or "input")]
    if p.get("row") is not None:
        parts.append(f"row {p['row']}")
    where = []
    if p.get("field") is not None:
        where.append(f"field {p['field']!r}")
    if p.get("value") is not None:
        where.append(f"value {p['value']!r}")
    if where:
        parts.append(" ".join(where))
    return ": ".join(parts) + f": {p.get('reason', 'invalid')}"

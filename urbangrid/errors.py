"""Every exception urbangrid raises on purpose: one base class, one module.

Messages name what was wrong (file, row, field, value) and what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from urbangrid.problems import Problem

__all__ = [
    "CRSError",
    "CRSMismatchError",
    "CalendarError",
    "CaseLogError",
    "ChangeSetError",
    "CommunityCoverageError",
    "ComponentIdError",
    "CoordinateError",
    "DataFileError",
    "EncodingDetectionError",
    "GridCRSError",
    "GridCodeError",
    "GridGeometryError",
    "IndexFileError",
    "InfeasibleRouteError",
    "MappingError",
    "ModeProfileError",
    "NormsError",
    "PatrolAreaError",
    "ProfileError",
    "RoutingError",
    "ScaleJobError",
    "ShiftLimitError",
    "SnapError",
    "StaffingError",
    "StoreConnectionError",
    "StoreError",
    "StorePermissionError",
    "StoreSchemaError",
    "UnknownCodeError",
    "UnreachableError",
    "UrbangridError",
    "ValidationError",
]


class UrbangridError(Exception):
    """Base class of every error raised by urbangrid."""


class StoreError(UrbangridError):
    """A store (GeoPackage or PostGIS) could not do what was asked."""


class StoreConnectionError(StoreError, ConnectionError):
    """A store could not be opened: bad path, unreachable server, PostGIS missing."""


class StoreSchemaError(StoreError, ValueError):
    """A layer or column is unknown, or data does not fit the layer's schema."""


class DataFileError(UrbangridError, ValueError):
    """An input file is unreadable or malformed; the message names the file."""


class ValidationError(UrbangridError, ValueError):
    """Input rows failed validation.

    Attributes
    ----------
    problems : list of Problem
        One :class:`urbangrid.problems.Problem` per bad value (``file``, ``row``,
        ``field``, ``value``, ``reason``, ``severity``).
    """

    def __init__(self, message: str, problems: Sequence[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems: list[Problem] = list(problems or [])


class UnknownCodeError(UrbangridError, LookupError):
    """A class/subclass code, name or edition is not in the code tables or city profile."""


class ProfileError(ValidationError):
    """A city profile file is malformed; ``problems`` names each line and reason."""


class ComponentIdError(UrbangridError, ValueError):
    """A component identifier (部件标识码) is malformed or disagrees with its fields."""


class GridCodeError(UrbangridError, ValueError):
    """A unit or work grid code (单元网格编码) is malformed, duplicated or exhausted."""


class GridGeometryError(UrbangridError, ValueError):
    """A grid, street or community geometry is empty, invalid or of the wrong type.

    The message names the layer, the feature (row and code) and the reason.
    """


class GridCRSError(UrbangridError, ValueError):
    """Grid input has no CRS, or its coordinates do not fit it (degrees where metres expected)."""


class CommunityCoverageError(UrbangridError, ValueError):
    """Community (社区) polygons leave holes or overlap beyond the tolerance; names each place."""


class RoutingError(UrbangridError, ValueError):
    """A routing input is unusable: bad weight, unknown node or edge, bad option.

    The message names the node or edge ``(u, v, key)`` and the attribute at fault.
    """


class UnreachableError(RoutingError):
    """A required edge or node cannot be reached from the start (depot) node.

    Raised for disconnected graphs and, on directed graphs, for arcs that lie
    outside the strongly connected part holding the depot.
    """


class InfeasibleRouteError(RoutingError):
    """A route or plan fails a feasibility check, or no plan meets the limits.

    Raised by :func:`urbangrid.routing.core.plan.check_route` with the first
    violation found: an open walk, a gap between two edges, an uncovered required
    edge, a one-way street driven the wrong way, or an over-capacity route.
    """


class CoordinateError(UrbangridError, ValueError):
    """Coordinate arrays are unusable: different lengths of x and y, or not numbers."""


class CRSError(UrbangridError, ValueError):
    """A CRS is missing, unknown, or cannot be transformed to the one needed."""


class CRSMismatchError(CRSError):
    """Coordinates do not fit their stated CRS: metres given as degrees, degrees as
    metres, or longitude and latitude swapped. The message says what they look like."""


class IndexFileError(UrbangridError, ValueError):
    """A saved assignment index cannot be used: unreadable, wrong format, or built for
    another grid version (rebuild it from the grid layer)."""


class EncodingDetectionError(DataFileError):
    """No candidate encoding decodes a file's text (or the declared one does not).

    The message names the file and, per encoding tried, the record/line and field of
    the first byte that does not decode; pass ``encoding=`` explicitly.
    """


class MappingError(UrbangridError, ValueError):
    """A field mapping (TOML) is malformed, or does not fit the file or the layer.

    The message names the mapping file, the entry and what is wrong.
    """


class ChangeSetError(StoreError, RuntimeError):
    """A load change set cannot be applied or rolled back: unknown, already rolled
    back, or superseded by a later change to the same features (named)."""


class StorePermissionError(StoreError, PermissionError):
    """The store refused a write: the role it was opened with is read-only."""


class ModeProfileError(UrbangridError, ValueError):
    """A travel-mode profile (巡查方式) is unknown or its TOML is malformed.

    The message names the file, the mode and the field at fault.
    """


class PatrolAreaError(RoutingError):
    """A patrol area (巡查区域) cannot be routed: it holds no street of the mode, or
    its polygon is empty, invalid or in no stated CRS."""


class SnapError(RoutingError):
    """A point (a patrol start, e.g. the community office) is too far from every
    street of the graph; the message gives the distance in metres and the limit."""


class CalendarError(UrbangridError, ValueError):
    """A working-hours calendar (工作日历) is malformed, or a date lies outside the
    years it covers (its holidays are unknown there); names the file, field or date."""


class CaseLogError(ValidationError):
    """A case log (案卷流转记录) is unusable: events out of order, an unknown event or
    collector, a missing timestamp; ``problems`` names each file, row, field and reason."""


class NormsError(ValidationError):
    """A staffing or evaluation norm file (TOML) is malformed; names the file and entry."""


class StaffingError(UrbangridError, ValueError):
    """Staffing input is unusable: a management grade outside 1-3, no grids, a bad
    shift count or limit; the message names the grid (row and code) and the field."""


class ShiftLimitError(InfeasibleRouteError):
    """A patrol limit no number of collectors can meet: one street alone takes longer
    than the limit to patrol (named with its id, name and time).

    When one street is the cause, ``street`` holds its fields (those of
    :func:`~urbangrid.routing.patrol.collector_areas.street_over_limit`), ``limit_s``
    the limit in seconds and ``message_zh`` the message in Chinese, worded from the same
    fields; otherwise all three are None."""

    street: dict[str, Any] | None = None
    limit_s: float | None = None
    message_zh: str | None = None


class ScaleJobError(UrbangridError, RuntimeError):
    """A parallel (Dask) job failed: a worker died more often than the scheduler allows,
    the scheduler was unreachable, or a partition raised; the message names the source
    and partition, and states that no output was left behind."""

"""Travel-mode profiles (巡查方式) for patrol routing: walk, bike, e-bike, car.

A profile is data, read from ``modes.toml`` beside this module (or a file of the
same shape): which OSM ``highway`` values the mode may use and must patrol, its
patrol speed per ``highway`` value (km/h), how it treats one-way streets, and the
seconds a U-turn or a turn costs, and the ``highway`` values closed to it in some
countries (trunk roads to bikes in China). :func:`read_modes` reads and checks a file;
:func:`get_mode` returns one profile by name. ``URBANGRID_MODES`` names a file of the
same shape that replaces the bundled one for every command and call that names none.

Examples
--------
>>> bike = get_mode("bike")
>>> bike.label, bike.oneway, bike.speed("primary"), bike.speed("residential")
('自行车', 'bicycle', 12.0, 10.0)
>>> bike.grade("secondary"), bike.grade("residential"), bike.grade("unknown")
(1, 3, 3)
>>> "trunk" in bike.travel, "trunk" in bike.in_country("CN").travel
(True, False)
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from urbangrid.errors import ModeProfileError

__all__ = ["MODES_ENV", "ONEWAY_RULES", "ModeProfile", "get_mode", "read_modes"]

#: Environment variable naming a mode file that replaces the bundled ``modes.toml``
#: wherever no file is given (``urbangrid plan``, ``route``, ``staffing`` too).
MODES_ENV = "URBANGRID_MODES"

#: How a mode treats one-way streets: ``ignore`` (walk both ways), ``bicycle``
#: (respect ``oneway`` unless ``oneway:bicycle=no`` or a contraflow cycleway is
#: tagged), ``respect``.
ONEWAY_RULES: tuple[str, ...] = ("ignore", "bicycle", "respect")

_FIELDS = ("label", "travel", "patrol", "oneway", "speed_kmh", "uturn_s", "turn_s")
#: Optional fields and their defaults: the OSM access keys that decide whether the mode
#: may use a way (general to specific, the most specific one tagged wins) and whether
#: it may use ways tagged ``motorroad=yes`` (机动车专用道, closed to bikes and walkers).
_OPTIONAL: dict[str, Any] = {"access": ["access"], "motorroad": True, "closed_in": {}}


@dataclass(frozen=True)
class ModeProfile:
    """One travel mode.

    Attributes
    ----------
    name : str
        Key of the mode (``"walk"``, ``"bike"``, ``"ebike"``, ``"car"``).
    label : str
        Chinese name (步行, 自行车, 电动自行车, 汽车).
    travel : frozenset of str
        ``highway`` values the mode may travel on.
    patrol : frozenset of str
        ``highway`` values its collectors must patrol (a subset of ``travel``).
    oneway : str
        One of :data:`ONEWAY_RULES`.
    speeds_kmh : mapping of str to float
        Patrol speed per ``highway`` value, km/h, with a ``"default"`` entry.
    uturn_s : float
        Seconds added per U-turn (掉头).
    turn_s : float
        Seconds added per left or right turn (转弯).
    grades : mapping of str to int
        Road grade (道路等级, 1 = arterial) per ``highway`` value; others are grade 3.
    access_keys : tuple of str
        OSM access keys deciding whether the mode may use a way, general to specific
        (bike: ``access``, ``vehicle``, ``bicycle``); the most specific one tagged wins,
        and ``no`` or ``private`` closes the way to the mode.
    motorroad : bool
        Whether the mode may use ways tagged ``motorroad=yes`` (机动车专用道).
    closed_in : mapping of str to frozenset of str
        Per country (ISO 3166 code), ``highway`` values closed to the mode there:
        ``{"CN": {"trunk", "trunk_link"}}`` for walk and bike (城市快速路), which OSM's
        worldwide default opens to them; see :meth:`in_country`.
    """

    name: str
    label: str
    travel: frozenset[str]
    patrol: frozenset[str]
    oneway: str
    speeds_kmh: Mapping[str, float]
    uturn_s: float
    turn_s: float
    grades: Mapping[str, int] = field(default_factory=dict)
    access_keys: tuple[str, ...] = ("access",)
    motorroad: bool = True
    closed_in: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def in_country(self, country: str | None) -> ModeProfile:
        """The profile as it applies in ``country`` (ISO 3166 code, e.g. ``"CN"``): the
        ``highway`` values closed there (:attr:`closed_in`) taken out of ``travel`` and
        ``patrol``; itself for None or a country without such values."""
        closed = self.closed_in.get(str(country or "").upper(), frozenset())
        if not closed & self.travel:
            return self
        return replace(self, travel=self.travel - closed, patrol=self.patrol - closed)

    def allows(self, tags: Mapping[str, Any]) -> bool:
        """Whether the mode may use a way with these OSM tags (its ``highway`` aside):
        the most specific of :attr:`access_keys` tagged decides."""
        if not self.motorroad and str(tags.get("motorroad") or "").lower() == "yes":
            return False
        decided = "yes"
        for key in self.access_keys:
            value = tags.get(key)
            if isinstance(value, list):  # osmnx merges ways into lists of their values
                value = value[0] if value else None
            if value is not None and str(value).strip():
                decided = str(value).strip().lower()
        return decided not in ("no", "private")

    def speed(self, highway: str | None) -> float:
        """Patrol speed on a street of this ``highway`` value, km/h."""
        if highway is not None and highway in self.speeds_kmh:
            return float(self.speeds_kmh[highway])
        return float(self.speeds_kmh["default"])

    def grade(self, highway: str | None) -> int:
        """Road grade of a ``highway`` value: 1 (一级道路) to 3; 3 when not listed."""
        return int(self.grades.get(highway or "", 3))


def _problem(source: str, mode: str, fld: str, why: str) -> ModeProfileError:
    return ModeProfileError(f"{source}: mode {mode!r}, field {fld!r}: {why}")


def _str_set(raw: Any, source: str, mode: str, fld: str) -> frozenset[str]:
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) for x in raw):
        raise _problem(source, mode, fld, "must be a non-empty list of highway values")
    return frozenset(raw)


def _access_keys(raw: Any, source: str, mode: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) for x in raw):
        raise _problem(source, mode, "access", "must be a non-empty list of OSM access keys")
    return tuple(raw)


def _closed_in(raw: Any, source: str, mode: str) -> dict[str, frozenset[str]]:
    if not isinstance(raw, dict):
        raise _problem(source, mode, "closed_in", "must be a table of country code = "
                       "[highway values], e.g. { CN = [\"trunk\", \"trunk_link\"] }")
    out = {}
    for country, values in raw.items():
        if not (len(country) == 2 and country.isascii() and country.isalpha()):
            raise _problem(source, mode, f"closed_in.{country}",
                           "a country is its two-letter ISO 3166 code, e.g. CN")
        out[country.upper()] = _str_set(values, source, mode, f"closed_in.{country}")
    return out


def _flag(raw: Any, source: str, mode: str, fld: str) -> bool:
    if not isinstance(raw, bool):
        raise _problem(source, mode, fld, f"must be true or false, not {raw!r}")
    return raw


def _number(raw: Any, source: str, mode: str, fld: str, *, positive: bool) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _problem(source, mode, fld, f"must be a number, not {raw!r}")
    value = float(raw)
    if value < 0 or (positive and value == 0) or value != value:
        raise _problem(source, mode, fld, f"must be {'> 0' if positive else '>= 0'}, not {raw!r}")
    return value


def _parse(data: Mapping[str, Any], source: str) -> dict[str, ModeProfile]:
    grades: dict[str, int] = {}
    for key, values in dict(data.get("grades", {})).items():
        if key not in ("1", "2", "3"):
            raise _problem(source, "grades", key, "grades are 1, 2 or 3")
        for hw in _str_set(values, source, "grades", key):
            grades[hw] = int(key)
    modes: dict[str, ModeProfile] = {}
    for name, table in data.items():
        if name == "grades":
            continue
        if not isinstance(table, dict):
            raise _problem(source, name, "-", "a mode must be a TOML table")
        unknown = sorted(set(table) - set(_FIELDS) - set(_OPTIONAL))
        if unknown:
            known = ", ".join((*_FIELDS, *_OPTIONAL))
            raise _problem(source, name, unknown[0], f"unknown field (known: {known})")
        for fld in _FIELDS:
            if fld not in table:
                raise _problem(source, name, fld, "missing")
        travel = _str_set(table["travel"], source, name, "travel")
        patrol = _str_set(table["patrol"], source, name, "patrol")
        if not patrol <= travel:
            extra = ", ".join(sorted(patrol - travel))
            raise _problem(
                source,
                name,
                "patrol",
                f"{extra} not in travel: a collector must be able to use every street it patrols",
            )
        if table["oneway"] not in ONEWAY_RULES:
            raise _problem(
                source,
                name,
                "oneway",
                f"{table['oneway']!r} is not one of {', '.join(ONEWAY_RULES)}",
            )
        speeds_raw = table["speed_kmh"]
        if not isinstance(speeds_raw, dict) or "default" not in speeds_raw:
            raise _problem(source, name, "speed_kmh", "must be a table with a 'default' entry")
        speeds = {
            hw: _number(v, source, name, f"speed_kmh.{hw}", positive=True)
            for hw, v in speeds_raw.items()
        }
        modes[name] = ModeProfile(
            name=name,
            label=str(table["label"]),
            travel=travel,
            patrol=patrol,
            oneway=str(table["oneway"]),
            speeds_kmh=speeds,
            uturn_s=_number(table["uturn_s"], source, name, "uturn_s", positive=False),
            turn_s=_number(table["turn_s"], source, name, "turn_s", positive=False),
            grades=grades,
            access_keys=_access_keys(table.get("access", _OPTIONAL["access"]), source, name),
            motorroad=_flag(table.get("motorroad", _OPTIONAL["motorroad"]), source, name,
                            "motorroad"),
            closed_in=_closed_in(table.get("closed_in", _OPTIONAL["closed_in"]), source, name),
        )
    if not modes:
        raise ModeProfileError(f"{source}: no mode table found")
    return modes


def read_modes(path: str | Path | None = None) -> dict[str, ModeProfile]:
    """Read and check mode profiles from a TOML file.

    Parameters
    ----------
    path : str or Path, optional
        A file shaped like the bundled ``urbangrid/routing/patrol/modes.toml`` (a
        ``[grades]`` table and one table per mode); default the file
        ``URBANGRID_MODES`` names (:data:`MODES_ENV`), else the bundled file.

    Returns
    -------
    dict of str to ModeProfile

    Raises
    ------
    ModeProfileError
        The file is missing or malformed; the message names the mode and field.
    """
    if path is None:
        path = os.environ.get(MODES_ENV) or None
        if path is None:
            return dict(_bundled())
        if not Path(path).is_file():
            raise ModeProfileError(f"{MODES_ENV}={path}: no such mode file; unset it to use "
                                   "the bundled modes.toml")
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise ModeProfileError(f"{path}: cannot read mode profiles: {exc}") from exc
    return dict(_read_file(str(path), stat.st_mtime_ns, stat.st_size))


@cache
def _read_file(path: str, _mtime_ns: int, _size: int) -> dict[str, ModeProfile]:
    # keyed by the file's change time and size: every graph and route asks for its mode,
    # and a file named by URBANGRID_MODES is read once, not once per call
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModeProfileError(f"{path}: cannot read mode profiles: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ModeProfileError(f"{path}: not valid TOML: {exc}") from exc
    return _parse(data, path)


@cache
def _bundled() -> dict[str, ModeProfile]:
    text = (resources.files("urbangrid.routing.patrol") / "modes.toml").read_text(encoding="utf-8")
    return _parse(tomllib.loads(text), "urbangrid/routing/patrol/modes.toml")


def get_mode(mode: str | ModeProfile, path: str | Path | None = None) -> ModeProfile:
    """Return the profile named ``mode`` (a :class:`ModeProfile` is returned as is).

    Raises
    ------
    ModeProfileError
        No such mode; the message lists the known ones.
    """
    if isinstance(mode, ModeProfile):
        return mode
    modes = read_modes(path)
    if mode not in modes:
        raise ModeProfileError(f"unknown travel mode {mode!r}; known: {', '.join(sorted(modes))}")
    return modes[mode]

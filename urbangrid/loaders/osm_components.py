"""OSM street furniture and Cambridge MA city assets → component records (部件).

Two kinds of input, each mapped to subclasses by an editable CSV table under
``urbangrid/schemas/codes/``:

* ``osm_components.csv``: OSM tag → subclass. Rows are tried in order; the first
  whose ``key=value`` (and ``extra`` tag, if any) the feature carries wins. A
  blank ``subclass_code`` means "not a component" (crossings, stop positions):
  such features are *skipped* and counted. Features no row matches are
  *unmapped* and counted by tag; features mapped to a subclass the profile lacks
  (an extension such as 2114 地铁出入口 in the standard profile) are counted as
  *not in profile*. Nothing is dropped silently: see :class:`TagReport`.
* ``cambridge_components.csv``: one row per City of Cambridge asset layer
  (street lights, hydrants, poles, signals …) with the fields to read.

Readers return record frames for :func:`urbangrid.spatial.components.records.load_components`
in EPSG:4326 (longitude/latitude, degrees); they write nothing.
:func:`load_demo_components` loads every bundled extract into a store.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from urbangrid.errors import DataFileError
from urbangrid.spatial.components.codes import CityProfile

__all__ = [
    "BUNDLED_SOURCES",
    "CAMBRIDGE_DATASETS",
    "TagReport",
    "TagRule",
    "read_bundled_components",
    "read_cambridge_components",
    "read_osm_components",
    "read_osm_mapping",
]

#: Bundled OSM extracts (derived from OSM, ODbL) in ``urbangrid/data/components/``.
OSM_FILES = {
    "osm_china": "osm_street_furniture_china.geojson.gz",
    "osm_helsinki": "osm_street_furniture_helsinki.geojson.gz",
    # The two Beijing Haidian extracts inside the China file (Wudaokou, CAU): the
    # components of the district the CLI demo builds.
    "osm_haidian": "osm_street_furniture_china.geojson.gz",
}
_OSM_FILTER = {"osm_haidian": "beijing_haidian"}
#: City of Cambridge MA asset layers bundled (PDDL 1.0).
CAMBRIDGE_DATASETS = (
    "street_lights",
    "park_lights",
    "hydrants",
    "litter_barrels",
    "park_benches",
    "utility_poles",
    "traffic_signals",
    "bus_shelters",
)
#: The bundled sources, each feature once (``osm_haidian`` is a part of ``osm_china``).
BUNDLED_SOURCES = (
    "osm_china",
    "osm_helsinki",
    *(f"cambridge_{d}" for d in CAMBRIDGE_DATASETS),
)

_CRS = "EPSG:4326"


@dataclass(frozen=True)
class TagRule:
    """One row of the OSM mapping table.

    Attributes
    ----------
    line : int
        Line in the CSV file (for messages).
    key, value : str
        The tag to match; ``value`` ``*`` matches any value.
    extra : tuple of (str, str) or None
        A second tag the feature must also carry (``manhole=sewer``).
    subclass_code : str or None
        Target subclass; None = skip (not a component).
    note : str
    """

    line: int
    key: str
    value: str
    extra: tuple[str, str] | None
    subclass_code: str | None
    note: str = ""

    def matches(self, tags: Mapping[str, str]) -> bool:
        """True when ``tags`` carry this rule's tag (and its extra tag)."""
        v = tags.get(self.key)
        if v is None or (self.value != "*" and v != self.value):
            return False
        return self.extra is None or tags.get(self.extra[0]) == self.extra[1]


@dataclass
class TagReport:
    """What a reader did with each input feature.

    Attributes
    ----------
    source : str
        Input name.
    total : int
        Features read.
    mapped : Counter
        Subclass code → records produced.
    skipped : Counter
        ``key=value`` → features skipped on purpose (not components).
    unmapped : Counter
        ``key=value`` → features no rule matched.
    not_in_profile : Counter
        ``key=value → code`` → features whose subclass the profile lacks.
    """

    source: str
    total: int = 0
    mapped: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    unmapped: Counter[str] = field(default_factory=Counter)
    not_in_profile: Counter[str] = field(default_factory=Counter)

    @property
    def n_mapped(self) -> int:
        """Records produced."""
        return sum(self.mapped.values())

    def merge(self, other: TagReport) -> TagReport:
        """A report summing this one and ``other``."""
        return TagReport(
            f"{self.source}+{other.source}",
            self.total + other.total,
            self.mapped + other.mapped,
            self.skipped + other.skipped,
            self.unmapped + other.unmapped,
            self.not_in_profile + other.not_in_profile,
        )

    def summary(self) -> str:
        """A short human-readable account, unmapped tags first."""
        lines = [
            f"{self.source}: {self.total} features → {self.n_mapped} components, "
            f"{sum(self.skipped.values())} skipped, {sum(self.unmapped.values())} unmapped, "
            f"{sum(self.not_in_profile.values())} not in profile"
        ]
        for title, counter in (
            ("unmapped", self.unmapped),
            ("not in profile", self.not_in_profile),
            ("skipped", self.skipped),
        ):
            if counter:
                top = ", ".join(f"{k} {n}" for k, n in counter.most_common())
                lines.append(f"  {title}: {top}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- tables


def _codes_file(name: str) -> str:
    return resources.files("urbangrid.schemas").joinpath("codes", name).read_text(encoding="utf-8")


def read_osm_mapping(path: str | PathLike[str] | None = None) -> tuple[TagRule, ...]:
    """Read the OSM tag → subclass table.

    Parameters
    ----------
    path : path-like, optional
        A CSV with columns ``key,value,extra,subclass_code,note``; default the
        bundled ``urbangrid/schemas/codes/osm_components.csv``.

    Returns
    -------
    tuple of TagRule
        In file order (first match wins).

    Raises
    ------
    DataFileError
        Naming the file, line and field of a bad row.
    """
    name = "osm_components.csv" if path is None else str(path)
    text = _codes_file("osm_components.csv") if path is None else Path(path).read_text("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    need = {"key", "value", "extra", "subclass_code"}
    if not need <= set(reader.fieldnames or ()):
        msg = f"{name}: header must have columns {sorted(need)}, got {reader.fieldnames}"
        raise DataFileError(msg)
    rules = []
    for r in reader:
        line = reader.line_num
        key, value = (r["key"] or "").strip(), (r["value"] or "").strip()
        if not key or not value:
            msg = f"{name} line {line}: key and value are required"
            raise DataFileError(msg)
        extra_text = (r["extra"] or "").strip()
        extra = None
        if extra_text:
            k, sep, v = extra_text.partition("=")
            if not sep or not k.strip() or not v.strip():
                msg = f"{name} line {line}: field extra must be key=value, got {extra_text!r}"
                raise DataFileError(msg)
            extra = (k.strip(), v.strip())
        code = (r["subclass_code"] or "").strip() or None
        if code is not None and not code.isdigit():
            msg = f"{name} line {line}: field subclass_code must be digits, got {code!r}"
            raise DataFileError(msg)
        rules.append(TagRule(line, key, value, extra, code, (r.get("note") or "").strip()))
    return tuple(rules)


def _cambridge_table() -> dict[str, dict[str, str]]:
    rows = csv.DictReader(io.StringIO(_codes_file("cambridge_components.csv")))
    return {r["dataset"]: r for r in rows}


def _data_file(name: str) -> Any:
    return resources.files("urbangrid.data").joinpath("components", name)


def _read_geojson(path: str | PathLike[str] | Any, label: str) -> dict[str, Any]:
    try:
        raw = path.read_bytes() if hasattr(path, "read_bytes") else Path(path).read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError) as exc:
        msg = f"{label}: cannot read GeoJSON: {exc}"
        raise DataFileError(msg) from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        msg = f"{label}: not a GeoJSON FeatureCollection"
        raise DataFileError(msg)
    return data


def _frame(rows: dict[str, list[Any]], geoms: list[Any]) -> Any:
    import geopandas as gpd

    return gpd.GeoDataFrame(rows, geometry=geoms, crs=_CRS)


# --------------------------------------------------------------------------- OSM


def read_osm_components(
    path: str | PathLike[str] | None = None,
    *,
    profile: CityProfile,
    rules: Sequence[TagRule] | None = None,
    status: str = "完好",
    name: str | None = None,
) -> tuple[Any, TagReport]:
    """Map OSM street-furniture features to component records.

    Parameters
    ----------
    path : path-like, optional
        GeoJSON (optionally gzipped) whose features carry OSM tags in a ``tags``
        property (a JSON object or its text) and an ``osm_id``; or None with
        ``name`` for a bundled extract.
    profile : CityProfile
        Target subclasses; features mapped to a subclass it lacks are reported.
    rules : sequence of TagRule, optional
        Mapping table (:func:`read_osm_mapping`); default the bundled one.
    status : str
        State to record (OSM does not say); default 完好.
    name : {"osm_china", "osm_helsinki", "osm_haidian"}, optional
        A bundled extract, instead of ``path``; ``osm_haidian`` is the part of
        ``osm_china`` from Beijing Haidian (Wudaokou and CAU, 465 nodes).

    Returns
    -------
    records : geopandas.GeoDataFrame
        EPSG:4326 points with ``subclass_code``, ``name`` (the OSM name, if any),
        ``status``, ``data_source`` (其它), ``source`` (``osm:node/<id>``) and
        ``extra`` (``{"osm_tags": …}``, plus ``站名`` for bus stops).
    report : TagReport
    """
    label, data = _osm_features(path, name)
    rules = read_osm_mapping() if rules is None else tuple(rules)
    report = TagReport(label)
    out: dict[str, list[Any]] = {k: [] for k in ("subclass_code", "name", "source", "extra")}
    geoms: list[Any] = []
    for i, feat in enumerate(data["features"]):
        report.total += 1
        props = feat.get("properties") or {}
        tags = _feature_tags(props, label, i)
        category = props.get("category") or next(
            (f"{k}={tags[k]}" for k in sorted(tags) if k not in ("name",)), "(no tags)"
        )
        rule = next((r for r in rules if r.matches(tags)), None)
        if rule is None:
            report.unmapped[category] += 1
            continue
        tag = f"{rule.key}={tags[rule.key]}"
        if rule.subclass_code is None:
            report.skipped[tag] += 1
            continue
        if rule.subclass_code not in profile.components:
            report.not_in_profile[f"{tag} → {rule.subclass_code}"] += 1
            continue
        try:
            geom = shapely.geometry.shape(feat["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            msg = f"{label}: feature {i} (osm {props.get('osm_id')}): field geometry: {exc}"
            raise DataFileError(msg) from exc
        report.mapped[rule.subclass_code] += 1
        osm_name = props.get("name") or tags.get("name")
        extra: dict[str, Any] = {"osm_tags": tags}
        if rule.subclass_code == "0203" and osm_name:
            extra["站名"] = osm_name
        out["subclass_code"].append(rule.subclass_code)
        out["name"].append(osm_name)
        osm_id = props.get("osm_id")
        out["source"].append(f"osm:node/{osm_id}" if osm_id is not None else f"{label}#{i}")
        out["extra"].append(extra)
        geoms.append(geom)
    frame = _frame(out, geoms)
    frame["status"] = status
    frame["data_source"] = "其它"
    return frame, report


def _osm_features(
    path: str | PathLike[str] | None, name: str | None
) -> tuple[str, dict[str, Any]]:
    """(label, GeoJSON) of the file at `path` or of the bundled extract `name`."""
    if path is not None:
        return str(path), _read_geojson(path, str(path))
    if name not in OSM_FILES:
        msg = f"give a path or one of {list(OSM_FILES)} as name"
        raise ValueError(msg)
    data = _read_geojson(_data_file(OSM_FILES[name]), name)
    if name in _OSM_FILTER:
        prefix = _OSM_FILTER[name]
        data["features"] = [
            f
            for f in data["features"]
            if str((f.get("properties") or {}).get("source_file", "")).startswith(prefix)
        ]
    return name, data


def _feature_tags(props: dict[str, Any], label: str, i: int) -> Any:
    """The OSM tags of a feature's properties (a JSON object or its text)."""
    tags = props.get("tags") or {}
    if isinstance(tags, str):
        try:
            tags = json.loads(tags)
        except ValueError as exc:
            msg = f"{label}: feature {i}: field tags is not JSON ({exc})"
            raise DataFileError(msg) from exc
    return tags


# --------------------------------------------------------------------------- Cambridge


def read_cambridge_components(
    dataset: str,
    *,
    profile: CityProfile,
    path: str | PathLike[str] | None = None,
    status: str = "完好",
) -> tuple[Any, TagReport]:
    """Read one City of Cambridge MA asset layer as component records.

    Parameters
    ----------
    dataset : str
        One of :data:`CAMBRIDGE_DATASETS` (``"street_lights"``, ``"hydrants"`` …);
        it picks the row of ``cambridge_components.csv`` (subclass, fields).
    profile : CityProfile
    path : path-like, optional
        The layer's GeoJSON (optionally gzipped); default the bundled copy.
    status : str
        State to record; default 完好 (the layers carry no condition).

    Returns
    -------
    records : geopandas.GeoDataFrame
        EPSG:4326. Points, except park benches (lines, as surveyed); bus shelter
        polygons become a point inside each (``representative_point``). ``source``
        is ``cambridge:<dataset>/<feature index>``; ``extra`` holds the layer's
        attributes named in the table's ``extra_fields`` (fixture, lamp count,
        hydrant make …) and ``站名`` for bus shelters.
    report : TagReport
    """
    table = _cambridge_table()
    if dataset not in table:
        msg = f"unknown Cambridge dataset {dataset!r}; known: {', '.join(table)}"
        raise ValueError(msg)
    spec = table[dataset]
    label = f"cambridge_{dataset}" if path is None else str(path)
    src = _data_file(f"cambridge_{dataset}.geojson.gz") if path is None else path
    data = _read_geojson(src, label)
    code = spec["subclass_code"]
    report = TagReport(label, total=len(data["features"]))
    if code not in profile.components:
        report.not_in_profile[f"{dataset} → {code}"] += report.total
        return _frame({"subclass_code": [], "source": []}, []), report
    out: dict[str, list[Any]] = {
        k: [] for k in ("name", "location", "dept_name2", "original_date", "source", "extra")
    }
    geoms: list[Any] = []
    fields = [f for f in spec["extra_fields"].split("|") if f]
    for i, feat in enumerate(data["features"]):
        props = feat.get("properties") or {}
        if not feat.get("geometry"):
            report.unmapped[f"{dataset}: no geometry"] += 1
            continue
        geom = shapely.geometry.shape(feat["geometry"])
        if geom.geom_type in ("Polygon", "MultiPolygon"):
            geom = geom.representative_point()
        geoms.append(geom)
        out["name"].append(_clean(props.get(spec["name_field"])) if spec["name_field"] else None)
        out["location"].append(
            _clean(props.get(spec["location_field"])) if spec["location_field"] else None
        )
        out["dept_name2"].append(
            _clean(props.get(spec["owner_field"])) if spec["owner_field"] else None
        )
        out["original_date"].append(
            _epoch_ms_date(props.get(spec["date_field"])) if spec["date_field"] else None
        )
        out["source"].append(f"cambridge:{dataset}/{i}")
        extra = {k: props[k] for k in fields if props.get(k) is not None}
        if code == "0203" and out["name"][-1]:
            extra["站名"] = out["name"][-1]
        out["extra"].append(extra or None)
    report.mapped[code] += len(geoms)
    frame = _frame(out, geoms)
    frame.insert(0, "subclass_code", code)
    frame["status"] = status
    frame["data_source"] = "其它"
    return frame, report


def _clean(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    text = str(v).strip()
    return text or None


def _epoch_ms_date(v: Any) -> dt.date | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return (dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=float(v))).date()


# --------------------------------------------------------------------------- bundles


def read_bundled_components(
    profile: CityProfile, sources: Sequence[str] = BUNDLED_SOURCES
) -> tuple[Any, TagReport]:
    """Read bundled extracts as one record frame (EPSG:4326) and one report.

    Parameters
    ----------
    profile : CityProfile
    sources : sequence of str
        Names from :data:`BUNDLED_SOURCES` (default all) or ``"osm_haidian"``.
    """
    import geopandas as gpd

    frames, report = [], None
    for s in sources:
        if s in OSM_FILES:
            f, r = read_osm_components(name=s, profile=profile)
        elif s.startswith("cambridge_") and s.removeprefix("cambridge_") in CAMBRIDGE_DATASETS:
            f, r = read_cambridge_components(s.removeprefix("cambridge_"), profile=profile)
        else:
            msg = f"unknown bundled source {s!r}; known: {', '.join(BUNDLED_SOURCES)}"
            raise ValueError(msg)
        frames.append(f)
        report = r if report is None else report.merge(r)
    if report is None:
        msg = "no sources given"
        raise ValueError(msg)
    frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=_CRS)
    dup = frame["source"].duplicated()
    if dup.any():
        msg = f"sources {list(sources)} overlap ({int(dup.sum())} features twice): list each once"
        raise ValueError(msg)
    report.source = "bundled"
    return frame, report



"""urbangrid: digital city management (数字城管) GIS.

Unit grids, city components, fast point-to-grid assignment and patrol routes,
stored in PostGIS (the system of record) or an embedded GeoPackage.

``import urbangrid as ug`` gives the everyday verbs under flat names
(:data:`API` lists them with the module each comes from; ``docs/api.md`` is the
same table). They are imported on first use, so ``import urbangrid`` stays cheap
(no pandas or osmnx until a verb needs them). Everything else is reached
through its module, e.g. :mod:`urbangrid.spatial.grids.codes`.

Examples
--------
>>> import urbangrid as ug
>>> ug.__version__
'0.1.0'
>>> ug.connect.__module__
'urbangrid.store'
"""

# The TYPE_CHECKING imports at the end are re-exports that __all__ lists dynamically.
# ruff: noqa: F401
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: The public API: (name, module, what it does), in the order docs/api.md shows it.
#: Coordinates are longitude/latitude in degrees unless a ``crs`` argument says
#: otherwise; lengths in metres, times in seconds, areas in m².
API: tuple[tuple[str, str, str], ...] = (
    # Stores
    ("connect", "urbangrid.store", "Open a GeoPackage path or a PostGIS DSN as a Store "
     "(migrated on open; `readonly=True` never creates, migrates or writes)."),
    ("init_store", "urbangrid.store", "Create or upgrade a store's schema; returns the "
     "store and the migrations applied."),
    ("Store", "urbangrid.store", "The store contract: read, write (upsert/append/replace), "
     "count, layers, history."),
    ("WriteResult", "urbangrid.store", "Counts of a write: inserted, updated, unchanged, "
     "retired."),
    ("data_path", "urbangrid.data", "Path of a bundled data file (OSM extracts, codes, "
     "boundaries, samples)."),
    # Administrative areas
    ("read_divisions_csv", "urbangrid.loaders.admin", "Read a division code CSV (code, "
     "name; level and parent from the code when not given)."),
    ("admin_areas_frame", "urbangrid.loaders.admin", "Division codes and boundaries as "
     "rows of the admin_area layer."),
    # Streets
    ("read_streets", "urbangrid.loaders.osm", "Street centrelines of an OSM, GraphML or "
     "survey file, one row per segment."),
    ("read_street_graph", "urbangrid.loaders.osm", "Routing graph of one travel mode from "
     "a street file (metres, seconds)."),
    ("street_graph", "urbangrid.routing.patrol.streets", "Routing graph of one travel mode "
     "from a street frame."),
    ("store_street_graph", "urbangrid.routing.patrol.streets", "Routing graph of one travel "
     "mode from a store's street_centreline layer."),
    ("get_mode", "urbangrid.routing.patrol.modes", "A travel mode profile (walk, bike, "
     "ebike, car): speeds, one-way rule."),
    # Grids
    ("generate_unit_grids", "urbangrid.spatial.grids.generate", "Unit grids (单元网格, "
     "~10,000 m²) from street centrelines and community polygons; boundaries along the "
     "middle of divided roads."),
    ("GeneratedGrids", "urbangrid.spatial.grids.generate", "Result of generate_unit_grids: "
     "grids, coverage fixes, stats."),
    ("validate_unit_grids", "urbangrid.spatial.grids.validate", "Check grids like a QA "
     "tool; returns the problems as a frame."),
    ("write_qa_report", "urbangrid.spatial.grids.validate", "Write grid problems to a "
     "GeoPackage (and CSV) for QGIS."),
    ("build_grid_codes", "urbangrid.spatial.grids.codes", "15/14-digit grid codes from "
     "community codes and serials."),
    ("parse_grid_code", "urbangrid.spatial.grids.codes", "Split a grid code into its "
     "county, street, community and serial."),
    ("check_grid_codes", "urbangrid.spatial.grids.codes", "Raise on the first bad grid "
     "code."),
    ("validate_grid_codes", "urbangrid.spatial.grids.codes", "Every problem of a column of "
     "grid codes, as Problem records."),
    ("group_work_grids", "urbangrid.spatial.grids.work", "Group unit grids into work grids "
     "(工作网格) of even workload."),
    ("dissolve_work_grids", "urbangrid.spatial.grids.work", "Work grid polygons from unit "
     "grids and their grouping."),
    ("load_unit_grids", "urbangrid.spatial.grids.versions", "Write unit grids into the "
     "store as a new version."),
    ("load_work_grids", "urbangrid.spatial.grids.versions", "Write work grids into the "
     "store for a version."),
    ("read_unit_grids", "urbangrid.spatial.grids.versions", "Read a store's unit grids "
     "(current or a named version)."),
    ("diff_versions", "urbangrid.spatial.grids.versions", "Grids added, removed, reshaped "
     "between two versions, and features that move."),
    # Locate
    ("GridIndex", "urbangrid.spatial.index.engine", "Point → polygon assignment index: "
     "locate, locate_many, save, load."),
    ("GridHierarchy", "urbangrid.spatial.admin.hierarchy", "A point's unit grid, work grid, "
     "community, street and district (admin areas alone when no grids are loaded)."),
    ("locate_frame", "urbangrid.spatial.admin.hierarchy", "GridHierarchy.locate for every "
     "row of a table of coordinates."),
    ("responsible_unit", "urbangrid.spatial.admin.hierarchy", "The unit responsible for a "
     "report (先属地、后属主)."),
    # Components and survey loads
    ("load_survey", "urbangrid.loaders.pipeline", "Validate a survey file, diff it against "
     "the store, apply it as a change set."),
    ("LoadResult", "urbangrid.loaders.pipeline", "Outcome of load_survey: counts, problems, "
     "diff, change set."),
    ("read_survey", "urbangrid.loaders.readers", "Read a survey file (GeoPackage, Shapefile, "
     "GeoJSON, FlatGeobuf, CSV) as a frame."),
    ("list_changesets", "urbangrid.loaders.changeset", "The change sets applied to a store, "
     "oldest first."),
    ("rollback_changeset", "urbangrid.loaders.changeset", "Undo one change set."),
    ("read_profile", "urbangrid.spatial.components.codes", "Read a city profile CSV "
     "(component classes and subclasses)."),
    ("standard_profile", "urbangrid.spatial.components.codes", "The CJ/T 214 subclasses "
     "with no local changes."),
    ("demo_profile", "urbangrid.spatial.components.codes", "The bundled example city "
     "profile (121 subclasses)."),
    ("CityProfile", "urbangrid.spatial.components.codes", "A city's component classes, "
     "subclasses and departments."),
    ("read_osm_components", "urbangrid.loaders.osm_components", "Map OSM street furniture "
     "(GeoJSON with tags) to component records."),
    ("load_components", "urbangrid.spatial.components.records", "Validate component "
     "records, give new ones IDs, write them with history."),
    ("validate_components", "urbangrid.spatial.components.records", "Every problem of "
     "component records, as Problem records."),
    ("find_components", "urbangrid.spatial.components.records", "Components in a polygon "
     "or box, of some subclasses."),
    ("nearest_components", "urbangrid.spatial.components.records", "The k components "
     "nearest a point, with distances in metres."),
    ("component_stats", "urbangrid.spatial.components.records", "Component counts and "
     "density per class or subclass."),
    # Geocoding
    ("Gazetteer", "urbangrid.spatial.geocoding.gazetteer", "The place gazetteer "
     "(地名地址库) geocoding searches."),
    ("places_from_osm", "urbangrid.spatial.geocoding.gazetteer", "Places (streets, POIs, "
     "door plates) of an OSM extract."),
    ("places_from_divisions", "urbangrid.spatial.geocoding.gazetteer", "Places of "
     "administrative divisions."),
    ("read_door_plates_csv", "urbangrid.spatial.geocoding.gazetteer", "Read a door-plate "
     "CSV (street, number, x, y)."),
    ("merge_places", "urbangrid.spatial.geocoding.gazetteer", "Merge place frames, one row "
     "per place."),
    ("load_places", "urbangrid.spatial.geocoding.gazetteer", "Write places into the store's "
     "place layer."),
    ("geocode", "urbangrid.spatial.geocoding.forward", "Address → WGS84 point, match level "
     "and confidence (地址匹配); says when the door plate is unknown (and which plates are "
     "known), reasons in English and Chinese."),
    ("geocode_many", "urbangrid.spatial.geocoding.forward", "geocode for a list of "
     "addresses."),
    ("reverse_geocode", "urbangrid.spatial.geocoding.reverse", "Point → nearest door plate "
     "or POI, e.g. 成府路55号东50米."),
    ("reverse_many", "urbangrid.spatial.geocoding.reverse", "reverse_geocode for arrays of "
     "coordinates."),
    # Patrol routes
    ("area_route", "urbangrid.routing.patrol.routes", "Patrol route (巡查路线) covering "
     "the streets of one area."),
    ("area_routes", "urbangrid.routing.patrol.routes", "area_route for every area of a "
     "frame."),
    ("PatrolRoute", "urbangrid.routing.patrol.routes", "A route: geometry, length_m, "
     "duration_s, instructions, summary()."),
    ("prepare_graph", "urbangrid.routing.patrol.routes", "A street graph prepared once for "
     "many area routes."),
    ("PreparedGraph", "urbangrid.routing.patrol.routes", "The prepared graph "
     "prepare_graph returns."),
    ("routes_table", "urbangrid.routing.patrol.routes", "One row per route: km², street km, "
     "route km, minutes, deadhead %."),
    ("plan_areas", "urbangrid.scale.routing", "Routes of every area of a district, in "
     "parallel (one process or Dask)."),
    ("staggered_schedule", "urbangrid.routing.patrol.intervals", "Collectors' start times "
     "so each street is seen every N minutes."),
    ("revisit_intervals", "urbangrid.routing.patrol.intervals", "Longest gap between two "
     "passes of each street."),
    ("write_gpx", "urbangrid.routing.patrol.export", "Write a route to a GPX file (for a "
     "phone)."),
    ("write_geojson", "urbangrid.routing.patrol.export", "Write routes (and steps, areas) "
     "to a GeoJSON file."),
    ("write_map", "urbangrid.routing.patrol.export", "Write a route to an HTML map."),
    ("load_routes", "urbangrid.routing.patrol.export", "Write routes into the store's "
     "patrol_route layer."),
    # Staffing
    ("staffing_table", "urbangrid.routing.patrol.staffing", "Collectors needed by the grid, "
     "area and time norms (人员配置)."),
    ("time_based_staffing", "urbangrid.routing.patrol.staffing", "Collectors needed so "
     "every area is ridden round within a time limit."),
    ("grade_grids_by_streets", "urbangrid.routing.patrol.staffing", "Management grade of "
     "grids by their best road."),
    ("explain", "urbangrid.routing.patrol.staffing", "A staffing table explained term by "
     "term, as text (English or Chinese)."),
    ("plan_collector_areas", "urbangrid.routing.patrol.collector_areas", "Collector areas "
     "each ridden round within a time limit."),
    ("load_collector_areas", "urbangrid.routing.patrol.collector_areas", "Write collector "
     "areas into the store."),
    ("plan_district", "urbangrid.routing.patrol.district", "A district's patrol plan: "
     "collector areas, rounds, shifts, roster, revisit times, headcount against its bound; "
     "streets left to car patrols (`detached`); summary and problems in English and "
     "Chinese."),
    # Cases
    ("read_case_log", "urbangrid.loaders.case_log", "Read a case log (CSV) as case "
     "events."),
    ("load_case_log", "urbangrid.loaders.case_log", "Write case events into the store."),
    ("case_table", "urbangrid.cases.indicators", "One row per case from case events."),
    ("indicators", "urbangrid.cases.indicators", "Evaluation indicators (有效上报率, "
     "漏报率 …) of cases."),
    # Coordinates
    ("transform_xy", "urbangrid.spatial.crs.transform", "Transform coordinate arrays "
     "between any CRS, GCJ-02 and BD-09 included."),
    ("wgs84_to_gcj02", "urbangrid.spatial.crs.transform", "WGS84 → GCJ-02 (Amap, "
     "Tencent), degrees."),
    ("gcj02_to_wgs84", "urbangrid.spatial.crs.transform", "GCJ-02 → WGS84, degrees."),
    ("wgs84_to_bd09", "urbangrid.spatial.crs.transform", "WGS84 → BD-09 (Baidu), "
     "degrees."),
    ("bd09_to_wgs84", "urbangrid.spatial.crs.transform", "BD-09 → WGS84, degrees."),
    ("choose_metric_crs", "urbangrid.spatial.crs.metric", "The metric CRS for an extent: "
     "CGCS2000 Gauss-Krüger zone in China, UTM elsewhere."),
    # Problems and errors
    ("Problem", "urbangrid.problems", "One problem of a validation report (file, row, "
     "field, value, reason, severity)."),
    ("problem", "urbangrid.problems", "Make a Problem record."),
    ("format_problem", "urbangrid.problems", "A Problem as one line of text."),
    ("UrbangridError", "urbangrid.errors", "Base of every error urbangrid raises on "
     "purpose."),
    ("ValidationError", "urbangrid.errors", "Input rows failed validation; carries the "
     "problems."),
    ("DataFileError", "urbangrid.errors", "A file cannot be read or lacks what is needed."),
    ("StoreError", "urbangrid.errors", "A store cannot do what was asked."),
    ("CRSError", "urbangrid.errors", "A CRS is missing, unknown or unsuitable."),
    ("RoutingError", "urbangrid.errors", "A route cannot be planned."),
)

_MODULE_OF: dict[str, str] = {name: module for name, module, _ in API}

__all__ = ["API", "__version__", *(name for name, _, _ in API)]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562), then keep it."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'urbangrid' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # type checkers and IDEs see the names eagerly
    from urbangrid.cases.indicators import case_table, indicators
    from urbangrid.data import data_path
    from urbangrid.errors import (
        CRSError,
        DataFileError,
        RoutingError,
        StoreError,
        UrbangridError,
        ValidationError,
    )
    from urbangrid.loaders.admin import admin_areas_frame, read_divisions_csv
    from urbangrid.loaders.case_log import load_case_log, read_case_log
    from urbangrid.loaders.changeset import list_changesets, rollback_changeset
    from urbangrid.loaders.osm import read_street_graph, read_streets
    from urbangrid.loaders.osm_components import read_osm_components
    from urbangrid.loaders.pipeline import LoadResult, load_survey
    from urbangrid.loaders.readers import read_survey
    from urbangrid.problems import Problem, format_problem, problem
    from urbangrid.routing.patrol.collector_areas import (
        load_collector_areas,
        plan_collector_areas,
    )
    from urbangrid.routing.patrol.district import plan_district
    from urbangrid.routing.patrol.export import load_routes, write_geojson, write_gpx, write_map
    from urbangrid.routing.patrol.intervals import revisit_intervals, staggered_schedule
    from urbangrid.routing.patrol.modes import get_mode
    from urbangrid.routing.patrol.routes import (
        PatrolRoute,
        PreparedGraph,
        area_route,
        area_routes,
        prepare_graph,
        routes_table,
    )
    from urbangrid.routing.patrol.staffing import (
        explain,
        grade_grids_by_streets,
        staffing_table,
        time_based_staffing,
    )
    from urbangrid.routing.patrol.streets import store_street_graph, street_graph
    from urbangrid.scale.routing import plan_areas
    from urbangrid.spatial.admin.hierarchy import GridHierarchy, locate_frame, responsible_unit
    from urbangrid.spatial.components.codes import (
        CityProfile,
        demo_profile,
        read_profile,
        standard_profile,
    )
    from urbangrid.spatial.components.records import (
        component_stats,
        find_components,
        load_components,
        nearest_components,
        validate_components,
    )
    from urbangrid.spatial.crs.metric import choose_metric_crs
    from urbangrid.spatial.crs.transform import (
        bd09_to_wgs84,
        gcj02_to_wgs84,
        transform_xy,
        wgs84_to_bd09,
        wgs84_to_gcj02,
    )
    from urbangrid.spatial.geocoding.forward import geocode, geocode_many
    from urbangrid.spatial.geocoding.gazetteer import (
        Gazetteer,
        load_places,
        merge_places,
        places_from_divisions,
        places_from_osm,
        read_door_plates_csv,
    )
    from urbangrid.spatial.geocoding.reverse import reverse_geocode, reverse_many
    from urbangrid.spatial.grids.codes import (
        build_grid_codes,
        check_grid_codes,
        parse_grid_code,
        validate_grid_codes,
    )
    from urbangrid.spatial.grids.generate import GeneratedGrids, generate_unit_grids
    from urbangrid.spatial.grids.validate import validate_unit_grids, write_qa_report
    from urbangrid.spatial.grids.versions import (
        diff_versions,
        load_unit_grids,
        load_work_grids,
        read_unit_grids,
    )
    from urbangrid.spatial.grids.work import dissolve_work_grids, group_work_grids
    from urbangrid.store import Store, WriteResult, connect, init_store

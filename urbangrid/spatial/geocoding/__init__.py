"""Geocoding (地理编码, GB/T 30428.3): Chinese and Latin addresses to coordinates and back.

* :mod:`~urbangrid.spatial.geocoding.gazetteer` — the place gazetteer (six standard types)
  built from OSM, division codes and door-plate CSV files, kept in the ``place`` layer;
* :mod:`~urbangrid.spatial.geocoding.parse` — address parsing and normalisation;
* :mod:`~urbangrid.spatial.geocoding.forward` — address → point, match level, confidence;
* :mod:`~urbangrid.spatial.geocoding.reverse` — points → "成府路55号东50米", street, grid;
* :mod:`~urbangrid.spatial.geocoding.evaluate` — accuracy on held-out door plates.
"""

from __future__ import annotations

from urbangrid.spatial.geocoding.evaluate import Accuracy, forward_accuracy, reverse_accuracy
from urbangrid.spatial.geocoding.forward import (
    LEVELS,
    Candidate,
    GeocodeResult,
    geocode,
    geocode_many,
)
from urbangrid.spatial.geocoding.gazetteer import (
    PLACE_TYPES,
    Gazetteer,
    assign_grids,
    load_places,
    merge_places,
    places_from_divisions,
    places_from_osm,
    read_door_plates_csv,
    read_places,
    rename_place,
)
from urbangrid.spatial.geocoding.parse import ParsedAddress, normalize_address, parse_address
from urbangrid.spatial.geocoding.reverse import describe_offset, reverse_geocode, reverse_many

__all__ = [
    "LEVELS",
    "PLACE_TYPES",
    "Accuracy",
    "Candidate",
    "Gazetteer",
    "GeocodeResult",
    "ParsedAddress",
    "assign_grids",
    "describe_offset",
    "forward_accuracy",
    "geocode",
    "geocode_many",
    "load_places",
    "merge_places",
    "normalize_address",
    "parse_address",
    "places_from_divisions",
    "places_from_osm",
    "read_door_plates_csv",
    "read_places",
    "rename_place",
    "reverse_accuracy",
    "reverse_geocode",
    "reverse_many",
]

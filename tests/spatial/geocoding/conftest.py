"""Gazetteers built once per test session from the bundled extracts."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from urbangrid.data import data_path
from urbangrid.loaders.admin import read_divisions_csv
from urbangrid.spatial.geocoding.gazetteer import (
    Gazetteer,
    merge_places,
    places_from_divisions,
    places_from_osm,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "geocoding"


@pytest.fixture(scope="session")
def haidian_places() -> gpd.GeoDataFrame:
    """Wudaokou + CAU OSM extracts and Haidian's 2023 division codes."""
    return merge_places(
        places_from_osm(data_path("osm/beijing_haidian_wudaokou.osm.bz2")),
        places_from_osm(DATA / "beijing_haidian_cau.osm.bz2"),
        places_from_divisions(
            read_divisions_csv(data_path("codes/haidian_110108_divisions_2023.csv")),
            gpd.read_file(data_path("boundaries/haidian_110108_wgs84.geojson")),
            boundary_code_column="district_adcode", source="nbs-2023",
        ),
    )


@pytest.fixture(scope="session")
def haidian(haidian_places: gpd.GeoDataFrame) -> Gazetteer:
    return Gazetteer(haidian_places)


@pytest.fixture(scope="session")
def helsinki() -> Gazetteer:
    return Gazetteer(places_from_osm(DATA / "helsinki_addresses.osm.bz2"))

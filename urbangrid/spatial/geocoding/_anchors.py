"""The nearest-neighbour trees reverse geocoding searches, built from a gazetteer.

:attr:`urbangrid.spatial.geocoding.gazetteer.Gazetteer.anchors` builds them on first
use and keeps them with the gazetteer (which does not change once built), so reverse
geocoding many batches against one gazetteer builds them once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

if TYPE_CHECKING:
    from urbangrid.spatial.geocoding.gazetteer import Gazetteer

# Street vertices are sampled this often (metres) for the nearest-street lookup, so
# the street distance is exact to within half of it.
STREET_STEP_M = 4.0


@dataclass(frozen=True)
class Anchors:
    """Door plates, POIs and street vertices of a gazetteer as KD-trees.

    Every coordinate is in the gazetteer's ``metric_crs`` (metres). ``anchor_pos`` holds
    the gazetteer positions of the plates, then of the POIs (POIs, blocks and zones);
    ``plate_pos`` / ``poi_pos`` map a tree hit to its slot in ``anchor_pos``;
    ``street_owner`` is the gazetteer position of the street of each sampled vertex.
    """

    anchor_pos: NDArray[np.int64]
    anchor_text: NDArray[Any]
    anchor_latin: NDArray[np.bool_]
    plate_tree: cKDTree | None
    plate_pos: NDArray[np.int64]
    poi_tree: cKDTree | None
    poi_pos: NDArray[np.int64]
    street_tree: cKDTree | None
    street_owner: NDArray[np.int64]


def anchor_text(g: Gazetteer, i: int) -> str:
    """How place ``i`` is named in a description: "成府路55号", "Mannerheimintie 12", a name."""
    street, number = g.street[i], g.housenumber[i]
    if g.types[i] == "plate" and isinstance(street, str) and isinstance(number, str):
        if street.isascii():
            return f"{street} {number}"
        return f"{street}{number}号"
    return str(g.name[i])


def _street_vertices(g: Gazetteer) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Vertices of every street, sampled every :data:`STREET_STEP_M`, and their street."""
    xs: list[NDArray[np.float64]] = []
    owner: list[NDArray[np.int64]] = []
    for s in np.flatnonzero(g.types == "street"):
        geom = g.geometry_m(int(s))
        if geom is None or geom.is_empty:
            continue
        coords = shapely.get_coordinates(shapely.segmentize(geom, STREET_STEP_M))
        xs.append(coords)
        owner.append(np.full(len(coords), s, dtype=np.int64))
    street_xy = np.concatenate(xs) if xs else np.empty((0, 2))
    return street_xy, (np.concatenate(owner) if owner else np.empty(0, np.int64))


def build_anchors(g: Gazetteer) -> Anchors:
    """The trees over ``g``'s plates (with a street), POIs and streets, metric CRS."""
    ok = np.isfinite(g.x)
    plates = np.flatnonzero(ok & (g.types == "plate") & g.places.street.notna().to_numpy())
    pois = np.flatnonzero(ok & np.isin(g.types, ["poi", "block", "zone"]))
    anchors = np.concatenate([plates, pois])
    text = np.array([anchor_text(g, int(i)) for i in anchors], dtype=object)
    latin = np.array([t.isascii() for t in text], dtype=bool)
    street_xy, street_owner = _street_vertices(g)
    return Anchors(
        anchor_pos=anchors,
        anchor_text=text,
        anchor_latin=latin,
        plate_tree=cKDTree(np.column_stack([g.x[plates], g.y[plates]])) if len(plates) else None,
        plate_pos=np.arange(len(plates)),
        poi_tree=cKDTree(np.column_stack([g.x[pois], g.y[pois]])) if len(pois) else None,
        poi_pos=np.arange(len(plates), len(anchors)),
        street_tree=cKDTree(street_xy) if len(street_xy) else None,
        street_owner=street_owner,
    )

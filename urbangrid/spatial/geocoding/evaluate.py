"""Accuracy measured, not claimed: geocode held-out door plates and compare.

Forward: each door plate of the gazetteer is hidden in turn (with every place of the
same OSM element, e.g. the bank that carries the address), its address is written
out in full ("北京市海淀区成府路55号", "Mannerheimintie 12, Helsinki") and geocoded
against the rest. Reported: the share found at door-plate level (``plate`` or
``interpolated`` from the neighbouring plates), the share found at all, and the
median and 95th percentile distance (metres) between answer and true plate.

Reverse: plates are hidden ten folds at a time (the reverse index is rebuilt per
fold); each hidden plate's location is reverse geocoded. Reported: the share whose
nearest street is the plate's own street, and the round-trip error: the description
("成府路53号东45米") geocoded forward again, distance to the true plate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from urbangrid.spatial.geocoding.forward import geocode
from urbangrid.spatial.geocoding.gazetteer import Gazetteer
from urbangrid.spatial.geocoding.reverse import reverse_many

__all__ = ["Accuracy", "format_plate_address", "forward_accuracy", "reverse_accuracy"]


@dataclass(frozen=True)
class Accuracy:
    """Figures of one accuracy run.

    Attributes
    ----------
    n : int
        Held-out plates geocoded.
    plate_level : float
        Share answered at ``plate`` or ``interpolated`` level (forward), or whose
        nearest street is the plate's street (reverse).
    found : float
        Share answered at any level.
    median_m, p95_m : float
        Median and 95th percentile distance error in metres over the answers found.
    levels : dict of str to int
        Answers per match level.
    """

    n: int
    plate_level: float
    found: float
    median_m: float
    p95_m: float
    levels: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        """The figures as a plain dict (for printing or JSON)."""
        return asdict(self)


def format_plate_address(street: str, number: str, *, prefix: str = "",
                         city: str = "") -> str:
    """An address as a person writes it: 北京市海淀区成府路55号 / Mannerheimintie 12, Helsinki."""
    if street.isascii():
        return f"{street} {number}" + (f", {city}" if city else "")
    return f"{prefix}{street}{number}号"


def _holdout(g: Gazetteer, i: int) -> list[str]:
    """Every place carrying the address of plate `i`.

    OSM often has one address on several elements (a building and its entrance, a
    shop and its building); hiding only one would leave the others to answer.
    """
    out = []
    for j in g.plate(str(g.street[i]), str(g.housenumber[i])):
        pid = str(g.ids[j])
        out.append(pid)
        base = pid.removesuffix("#plate")
        if base != pid:
            out.append(base)
    return out or [str(g.ids[i])]


def _plates(g: Gazetteer) -> np.ndarray:
    ok = (g.types == "plate") & np.isfinite(g.x)
    ok &= np.array([isinstance(s, str) for s in g.street], dtype=bool)
    return np.flatnonzero(ok)


def _distance(g: Gazetteer, i: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    x, y = g.to_metric(lon, lat)
    return np.hypot(x - g.x[i], y - g.y[i])


def _summary(n: int, levels: list[str], dist: np.ndarray, good: np.ndarray) -> Accuracy:
    found = np.isfinite(dist)
    counts: dict[str, int] = {}
    for lv in levels:
        counts[lv] = counts.get(lv, 0) + 1
    d = dist[found]
    return Accuracy(
        n=n,
        plate_level=float(good.mean()) if len(good) else 0.0,
        found=float(found.mean()) if n else 0.0,
        median_m=float(np.median(d)) if len(d) else float("nan"),
        p95_m=float(np.percentile(d, 95)) if len(d) else float("nan"),
        levels=counts,
    )


def forward_accuracy(g: Gazetteer, *, prefix: str = "", city: str = "") -> Accuracy:
    """Leave-one-out forward accuracy over the gazetteer's door plates.

    Parameters
    ----------
    g : Gazetteer
    prefix : str
        Written before Chinese addresses (e.g. ``"北京市海淀区"``).
    city : str
        Written after Latin-script addresses (e.g. ``"Helsinki"``).
    """
    plates = _plates(g)
    lon = np.full(len(plates), np.nan)
    lat = np.full(len(plates), np.nan)
    levels = []
    for k, i in enumerate(plates):
        text = format_plate_address(str(g.street[i]), str(g.housenumber[i]),
                                    prefix=prefix, city=city)
        r = geocode(g, text, exclude=_holdout(g, int(i)))
        levels.append(r.level)
        lon[k], lat[k] = r.lon, r.lat
    dist = _distance(g, plates, lon, lat)
    good = np.isin(np.array(levels, dtype=object), ["plate", "interpolated"])
    return _summary(len(plates), levels, dist, good)


def reverse_accuracy(g: Gazetteer, *, folds: int = 10, seed: int = 0) -> Accuracy:
    """Held-out reverse accuracy: nearest-street agreement and round-trip distance.

    ``plate_level`` is the share of held-out plates whose reverse answer names their
    own street (among plates on a street the gazetteer has); ``median_m``/``p95_m``
    measure the description geocoded forward again against the true plate.
    """
    plates = _plates(g)
    rng = np.random.default_rng(seed)
    fold = rng.integers(0, folds, len(plates))
    street_ok = np.zeros(len(plates), dtype=bool)
    on_known = np.zeros(len(plates), dtype=bool)
    lon = np.full(len(plates), np.nan)
    lat = np.full(len(plates), np.nan)
    levels: list[str] = ["none"] * len(plates)
    street_names = set(g.name[g.types == "street"].tolist())
    for f in range(folds):
        sel = plates[fold == f]
        if not len(sel):
            continue
        hidden = [pid for i in sel for pid in _holdout(g, int(i))]
        sub = g.without(hidden)
        ans = reverse_many(sub, g.lon[sel], g.lat[sel], crs=4326)
        for k, i in zip(np.flatnonzero(fold == f), sel, strict=True):
            row = ans.iloc[int(np.flatnonzero(sel == i)[0])]
            on_known[k] = g.street[i] in street_names
            street_ok[k] = row["street"] == g.street[i]
            if isinstance(row["description"], str):
                r = geocode(sub, row["description"])
                levels[k] = r.level
                lon[k], lat[k] = r.lon, r.lat
    dist = _distance(g, plates, lon, lat)
    good = street_ok[on_known] if on_known.any() else street_ok
    acc = _summary(len(plates), levels, dist, np.zeros(0, bool))
    return Accuracy(acc.n, float(good.mean()) if len(good) else 0.0, acc.found,
                    acc.median_m, acc.p95_m, acc.levels)

"""Forward geocoding (地址匹配): address text → coordinates, a match level and a confidence.

The match levels, best first, follow the standard's order of preference (门牌,
then 兴趣点, then 兴趣点 + offset), with interpolation between door plates the
usual extension:

============  ==============================================================
level         meaning
============  ==============================================================
plate         the door (or building) plate itself is in the gazetteer
interpolated  placed along the street between the nearest plates on either side
poi           a named place (兴趣点, 地片, 区片), an offset ("东50米") applied if given
street        the road is known but not the number: the street's middle point
              (``unknown_plate`` names the plate the address gave, if any)
area          only an administrative area matched (district, street office, …)
none          nothing matched; ``reason`` says why
============  ==============================================================

Confidence is in [0, 1]: 1 for an exact plate; lower for fuzzy name matches
(scaled by string similarity), interpolation (lower the wider the gap between the
neighbouring plates), and coarser levels; halved (``ADMIN_DOUBT_FACTOR``) when the
address names areas that contradict each other (广东省北京市海淀区) or the gazetteer's
district, the reason saying so. A road matched only fuzzily must differ by a
misspelling, not by a direction or ordinal (清华东路 is not 清华路: level ``none``).
Text input never raises: empty strings,
non-address text, addresses outside the gazetteer's district and unmatched mixed
scripts all give level ``none`` with a reason.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from urbangrid.spatial.geocoding.gazetteer import Gazetteer
from urbangrid.spatial.geocoding.parse import ParsedAddress, parse_address

__all__ = ["LEVELS", "Candidate", "GeocodeResult", "geocode", "geocode_many", "plate_range"]

#: Match levels, best first.
LEVELS: tuple[str, ...] = ("plate", "interpolated", "poi", "street", "area", "none")

_LEVEL_WEIGHT = {"plate": 1.0, "interpolated": 0.85, "poi": 0.8, "street": 0.5, "area": 0.25}

_BEARING = {"东": 90.0, "西": 270.0, "南": 180.0, "北": 0.0, "东北": 45.0, "东南": 135.0,
            "西北": 315.0, "西南": 225.0}

# Interpolation further than this many numbers from a known plate is a guess.
_MAX_GAP = 60


@dataclass(frozen=True, slots=True)
class Candidate:
    """One possible location of an address.

    Attributes
    ----------
    level : str
        One of :data:`LEVELS` (not ``none``).
    confidence : float
        In [0, 1].
    lon, lat : float
        The location, EPSG:4326 degrees.
    place_id : str or None
        The gazetteer place matched (for ``interpolated``: the street).
    name : str
        The matched place as the gazetteer writes it (成府路55号, 清华大学).
    note : str
        How the location was obtained (e.g. ``"between 53号 and 57号"``).
    note_zh : str
        The same in Chinese (``"在53号与57号之间插值"``), from the same values.
    """

    level: str
    confidence: float
    lon: float
    lat: float
    place_id: str | None
    name: str
    note: str = ""
    note_zh: str = ""


@dataclass(frozen=True)
class GeocodeResult:
    """The answer for one address: the best candidate's fields plus the others.

    Attributes
    ----------
    query : str
        The address as given.
    level : str
        Match level of the best candidate, or ``"none"``.
    confidence : float
        0 for ``none``.
    lon, lat : float
        EPSG:4326 degrees; NaN for ``none``.
    place_id, name : str or None
        The place matched.
    reason : str
        For ``none``: why nothing matched; otherwise how the match was made.
    parsed : ParsedAddress
        The parts the parser found.
    candidates : list of Candidate
        Up to ``limit`` candidates, best first (the first is the result itself).
    unknown_plate : str or None
        The door or building plate the address gives (成府路999号, 华清嘉园99号楼) when
        the result is not at it: the gazetteer holds no such plate and none near enough
        on either side to place it, so the answer is a coarser place (the street's
        middle, the estate); ``reason`` says so too. None when the address gives no
        plate or the result is at it (``plate``, ``interpolated``).
    reason_zh : str
        ``reason`` in Chinese, from the same values (``urbangrid geocode --lang zh``).
    known_plates : tuple of int or None
        With ``unknown_plate`` at ``street`` level: the lowest and highest door number
        the gazetteer holds on that street (:func:`plate_range`), so a typo shows; None
        otherwise, or when it holds no numbered plate there.
    """

    query: str
    level: str
    confidence: float
    lon: float
    lat: float
    place_id: str | None
    name: str | None
    reason: str
    parsed: ParsedAddress
    candidates: list[Candidate] = field(default_factory=list)
    unknown_plate: str | None = None
    reason_zh: str = ""
    known_plates: tuple[int, int] | None = None

    @property
    def found(self) -> bool:
        """Whether anything matched (level other than ``none``)."""
        return self.level != "none"


#: What geocoding says (reasons, candidate notes) per language, worded from the same
#: values (:func:`_say`); Chinese in the terms of docs/glossary.md.
_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "empty": "empty input",
        "no_words": "no address words in {text!r}",
        "outside": "district {district} is outside the gazetteer ({districts})",
        "no_parts": "no address parts recognised in {text!r}",
        "no_match": "no place in the gazetteer matches {what}{other}{mixed}",
        "part": "{key}={value!r}",
        "parts_sep": ", ",
        "text": "{text!r}",
        "other": " ({near}: another street, not a misspelling)",
        "mixed": " (the text mixes Chinese and Latin script)",
        "street_middle": "street middle",
        "at": "at {name}",
        "between": "between {a} and {b}",
        "beyond": "beyond {a} and {b}",
        "no_location": "no location",
        "located_by": "located by {name}",
        "offset": "{direction}{m:g}米 applied",
        "conflict": "contradictory areas: {conflict}",
        "not_in": "contradictory areas: the gazetteer's districts are not in {named}",
        "no_plate": "no plate {plate} in the gazetteer",
        "no_plates_on": "no plate {plate} in the gazetteer, nor any numbered plate on "
                        "{street}",
        "known": "no plate {plate} in the gazetteer (known plates on {street}: {lo} to "
                 "{hi})",
    },
    "zh": {
        "empty": "输入为空",
        "no_words": "“{text}”中没有地址用词",
        "outside": "区县 {district} 不在地名地址库的范围内（{districts}）",
        "no_parts": "未能在“{text}”中识别出地址成分",
        "no_match": "地名地址库中没有与{what}匹配的地点{other}{mixed}",
        "part": "{key}“{value}”",
        "parts_sep": "、",
        "text": "“{text}”",
        "other": "（{near}：是另一条道路，不是错别字）",
        "mixed": "（地址混用了中文和拉丁字母）",
        "street_middle": "街巷中点",
        "at": "位于{name}",
        "between": "在{a}与{b}之间插值",
        "beyond": "由{a}、{b}外推",
        "no_location": "无坐标",
        "located_by": "按{name}定位",
        "offset": "已按{direction}{m:g}米偏移",
        # parse.py words the conflict itself (北京市 is not in 广东省): quoted as it is
        "conflict": "行政区划相互矛盾：{conflict}",
        "not_in": "行政区划相互矛盾：地名地址库的区县不在{named}",
        "no_plate": "地名地址库中没有门牌 {plate}",
        "no_plates_on": "地名地址库中没有门牌 {plate}，{street}也没有任何带号的门牌",
        "known": "地名地址库中没有门牌 {plate}（{street}已知门牌：{lo}至{hi}）",
    },
}

#: Address parts a reason names, by their terms (docs/glossary.md) in each language.
_PART_NAMES: dict[str, dict[str, str]] = {
    "en": {k: k for k in ("road", "poi", "zone", "community", "street_office")},
    "zh": {"road": "街巷", "poi": "兴趣点", "zone": "地片", "community": "社区",
           "street_office": "街道"},
}

#: Between two notes of one candidate or reason.
_NOTE_SEP = {"en": "; ", "zh": "；"}

#: A text in English and Chinese.
_Words = tuple[str, str]

_NO_WORDS: _Words = ("", "")


def _say(key: str, **values: Any) -> _Words:
    """Text `key` of :data:`_TEXT` in English and Chinese, from the same values."""
    en, zh = (_TEXT[lang][key].format(**values) for lang in ("en", "zh"))
    return en, zh


def _then(a: _Words, b: _Words) -> _Words:
    """Note `a`, then note `b`, in each language (either may be empty)."""
    en, zh = (x + _NOTE_SEP[lang] + y if x and y else x or y
              for x, y, lang in zip(a, b, ("en", "zh"), strict=True))
    return en, zh


def _none(query: str, parsed: ParsedAddress, reason: _Words) -> GeocodeResult:
    return GeocodeResult(query, "none", 0.0, math.nan, math.nan, None, None, reason[0],
                         parsed, reason_zh=reason[1])


def geocode(
    gazetteer: Gazetteer, text: str, *, limit: int = 5, parsed: ParsedAddress | None = None,
    exclude: Collection[str] = (),
) -> GeocodeResult:
    """Locate one address.

    Parameters
    ----------
    gazetteer : Gazetteer
        Places to match against.
    text : str
        The address, Chinese or Latin script, any width or numeral style.
    limit : int
        Most candidates kept in :attr:`GeocodeResult.candidates`.
    parsed : ParsedAddress, optional
        A parse of `text` already made (skips parsing).
    exclude : collection of str
        Place ids to act as if absent (to measure accuracy on held-out plates
        without rebuilding the gazetteer).

    Returns
    -------
    GeocodeResult
        Never raises for text input (see the module docstring for levels).

    See Also
    --------
    geocode_many : a list or column of addresses, as a GeoDataFrame.
    urbangrid.spatial.geocoding.parse.parse_address : the parts used for matching.
    """
    query = text if isinstance(text, str) else ("" if text is None else str(text))
    p = parsed if parsed is not None else parse_address(query,
                                                        vocabulary=gazetteer.vocabulary)
    if p.script == "none":
        return _none(query, p, _say("empty") if not p.normalized else
                     _say("no_words", text=p.normalized))
    if p.district and gazetteer.districts and p.district not in gazetteer.districts:
        return _none(query, p, _say("outside", district=p.district,
                                    districts="、".join(sorted(gazetteer.districts))))
    skip = gazetteer.positions(exclude) if exclude else frozenset()
    cands: list[Candidate] = []
    if p.road:
        cands += _road_candidates(gazetteer, p, skip)
    if (p.zone or (p.poi and not p.road)) and (p.number or p.building):
        cands += _zone_plate_candidates(gazetteer, p, skip)
    for name in _poi_names(p):
        cands += _poi_candidates(gazetteer, p, name, skip)
    # Area level is for addresses that name only areas; a road or place that matched
    # nothing means the address was not understood, and saying so beats a district
    # centroid several kilometres off.
    if not cands and not (p.road or p.poi or p.zone):
        cands += _area_candidates(gazetteer, p)
    if p.offset_m and p.offset_direction and cands:
        cands = [_offset(gazetteer, c, p) for c in cands]
    if not cands:
        return _none(query, p, _why_none(gazetteer, p))
    best: dict[tuple[str | None, str], Candidate] = {}
    for c in cands:
        k = (c.place_id, c.level)
        if k not in best or best[k].confidence < c.confidence:
            best[k] = c
    # The standard prefers a door plate, then a POI: among fair matches the finer level
    # wins; weak (fuzzy) matches only count when nothing fair is left.
    ranked = sorted(best.values(), key=lambda c: (c.confidence < 0.5, LEVELS.index(c.level),
                                                  -c.confidence))
    doubt = _admin_doubt(gazetteer, p)
    if doubt[0]:
        ranked = [_doubted(c, doubt) for c in ranked]
    top = ranked[0]
    unknown = _unknown_plate(p, top)
    known = plate_range(gazetteer, top.place_id) \
        if unknown is not None and top.level == "street" else None
    # a street's middle at 0.50 read as a found address: say the plate is not known
    reason = (top.note, top.note_zh)
    if unknown is not None:
        reason = _then(reason, _no_plate_note(unknown, top, known))
    return GeocodeResult(query, top.level, round(top.confidence, 3), top.lon, top.lat,
                         top.place_id, top.name, reason[0], p, ranked[:limit], unknown,
                         reason_zh=reason[1], known_plates=known)


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _plate_name(street: str, number: str, suffix: str = "号") -> str:
    """A plate as the gazetteer names it: 成府路999号 in Chinese, Mannerheimintie 5 else."""
    return f"{street}{number}{suffix}" if _has_cjk(street) else f"{street} {number}"


def _unknown_plate(p: ParsedAddress, top: Candidate) -> str | None:
    """The plate the address gives when the answer is not at it (see GeocodeResult)."""
    if top.level in ("plate", "interpolated"):
        return None
    if p.road and p.number:
        return _plate_name(p.road, p.number)
    zone = p.zone or p.poi
    if zone and (p.number or p.building):
        return _plate_name(zone, p.number or p.building or "", "号" if p.number else "号楼")
    return None


def plate_range(gazetteer: Gazetteer, place_id: str | None) -> tuple[int, int] | None:
    """The lowest and highest door number the gazetteer holds on the street
    ``place_id`` (under any of its names, old ones included); None when it holds none."""
    if place_id is None:
        return None
    names = [n for pos in gazetteer.positions([place_id]) for n in gazetteer.street_names(pos)]
    vals = np.concatenate([gazetteer.plates_on(n)[1] for n in names]
                          or [np.empty(0, np.int64)])
    vals = vals[vals >= 0]
    return (int(vals.min()), int(vals.max())) if len(vals) else None


def _no_plate_note(plate: str, top: Candidate, known: tuple[int, int] | None) -> _Words:
    """``no plate 成府路999号 in the gazetteer`` and, at street level, the numbers the
    gazetteer does hold on that street (`known`, :func:`plate_range`), so a typo shows."""
    if top.level != "street":
        return _say("no_plate", plate=plate)
    if known is None:
        return _say("no_plates_on", plate=plate, street=top.name)
    lo, hi = (f"{v}号" if _has_cjk(top.name or "") else str(v) for v in known)
    return _say("known", plate=plate, street=top.name, lo=lo, hi=hi)


#: Confidence kept when the address's areas contradict each other or the gazetteer.
ADMIN_DOUBT_FACTOR = 0.5


def _admin_doubt(g: Gazetteer, p: ParsedAddress) -> _Words:
    """Why the address's areas cannot all be right (empty when they can): they contradict
    each other (广东省北京市), or name a province or city none of the gazetteer's
    districts lies in."""
    if p.admin_conflict:
        return _say("conflict", conflict=p.admin_conflict)
    codes = getattr(g, "district_codes", None)
    if p.admin_code and len(p.admin_code) < 6 and codes and \
            not any(c.startswith(p.admin_code) for c in codes):
        return _say("not_in", named=p.city or p.province)
    return _NO_WORDS


def _doubted(c: Candidate, doubt: _Words) -> Candidate:
    note = _then((c.note, c.note_zh), doubt)
    return Candidate(c.level, c.confidence * ADMIN_DOUBT_FACTOR, c.lon, c.lat, c.place_id,
                     c.name, *note)


def _why_none(g: Gazetteer, p: ParsedAddress) -> _Words:
    """Why address `p` matched nothing, in English and Chinese."""
    parts = p.parts()
    if not parts:
        return _say("no_parts", text=p.normalized)
    near = g.other_streets(p.road) if p.road else []
    out = []
    for lang in ("en", "zh"):
        text, names = _TEXT[lang], _PART_NAMES[lang]
        what = text["parts_sep"].join(text["part"].format(key=names[k], value=v)
                                      for k, v in parts.items() if k in names)
        out.append(text["no_match"].format(
            what=what or text["text"].format(text=p.normalized),
            other=text["other"].format(near="、".join(dict.fromkeys(near))) if near else "",
            mixed=text["mixed"] if p.script == "mixed" else ""))
    return out[0], out[1]


def _poi_names(p: ParsedAddress) -> list[str]:
    names = []
    for v in (p.poi, p.zone if not p.road else None, p.community):
        if v:
            names.append(v)
            trimmed = v
            for tail in ("东门", "西门", "南门", "北门", "正门", "大门", "门", "附近"):
                if trimmed.endswith(tail) and len(trimmed) > len(tail) + 1:
                    names.append(trimmed[: -len(tail)])
                    break
    return names


def _cand(g: Gazetteer, level: str, score: float, pos: int, note: _Words = _NO_WORDS,
          lonlat: tuple[float, float] | None = None, name: str | None = None) -> Candidate:
    lon, lat = lonlat if lonlat is not None else (float(g.lon[pos]), float(g.lat[pos]))
    if pos < 0:
        return Candidate(level, min(1.0, score * _LEVEL_WEIGHT[level]), lon, lat, None,
                         name or "", *note)
    if not math.isfinite(lon):
        parent = g.parent_point(pos)
        if parent is None:
            return Candidate(level, 0.0, math.nan, math.nan, g.ids[pos], "",
                             *_say("no_location"))
        lon, lat = float(g.lon[parent]), float(g.lat[parent])
        note = _then(note, _say("located_by", name=g.name[parent]))
        score *= 0.5
    return Candidate(level, min(1.0, score * _LEVEL_WEIGHT[level]), lon, lat, str(g.ids[pos]),
                     name or str(g.name[pos]), *note)


def _road_candidates(g: Gazetteer, p: ParsedAddress, skip: frozenset[int]) -> list[Candidate]:
    assert p.road is not None
    out: list[Candidate] = []
    streets = g.street_candidates(p.road)
    if not streets and p.number is None:
        return out
    names = [str(g.name[i]) for i, _ in streets] or [p.road]
    for (spos, score), sname in zip(streets or [(-1, 0.9)], names, strict=True):
        if p.number:
            # Plates may still carry a street's old name (成府路 renamed 成府大街).
            if spos >= 0:
                known = [n for n in g.street_names(spos) if len(g.plates_on(n)[0])]
                sname = known[0] if known else sname
            exact = [i for i in g.plate(sname, p.number) if i not in skip]
            if exact:
                out += [_cand(g, "plate", score, i) for i in exact]
                continue
            interp = _interpolate(g, sname, spos, p.number_value, skip)
            if interp is not None:
                (lon, lat), gap, note = interp
                conf = score * max(0.3, 1.0 - gap / (2.0 * _MAX_GAP))
                out.append(_cand(g, "interpolated", conf, spos, note,
                                 (lon, lat), f"{sname}{p.number}号"))
                continue
        if spos >= 0:
            mid = _street_middle(g, spos)
            out.append(_cand(g, "street", score, spos, _say("street_middle"), mid))
    return out


def _zone_plate_candidates(
    g: Gazetteer, p: ParsedAddress, skip: frozenset[int],
) -> list[Candidate]:
    zone = p.zone or p.poi
    number = p.number or p.building
    assert zone is not None and number is not None
    exact = [_cand(g, "plate", 0.95, i) for i in g.plate(zone, number) if i not in skip]
    if exact:
        return exact
    # Buildings of an estate (华清嘉园12号楼) are numbered, but not along a line: on the
    # bundled extracts a straight line between the nearest numbers lands further from
    # the building (median 119 m) than the estate's own point (89 m), so this
    # candidate stays weak and the estate POI, when known, ranks first.
    value = int(number) if number.isdigit() else p.number_value
    interp = _interpolate(g, zone, -1, value, skip)
    if interp is None:
        return []
    (lon, lat), gap, note = interp
    conf = 0.5 * max(0.3, 1.0 - gap / 20.0)
    return [_cand(g, "interpolated", conf, -1, note, (lon, lat), f"{zone}{number}号")]


def _street_middle(g: Gazetteer, spos: int) -> tuple[float, float]:
    parts, lengths = g.street_parts(spos)
    longest = parts[int(np.argmax(lengths))]
    pt = shapely.line_interpolate_point(longest, 0.5, normalized=True)
    lon, lat = g.to_lonlat([pt.x], [pt.y])
    return float(lon[0]), float(lat[0])


def _interpolate(
    g: Gazetteer, street: str, spos: int, value: int | None, skip: frozenset[int],
) -> tuple[tuple[float, float], int, _Words] | None:
    """Place number `value` between the nearest plates on either side (same parity first)."""
    if value is None:
        return None
    pos, vals = g.plates_on(street)
    ok = vals >= 0
    if skip:
        ok &= np.array([i not in skip for i in pos.tolist()], dtype=bool)
    pos, vals = pos[ok], vals[ok]
    if len(pos) == 0:
        return None
    same = (vals % 2) == (value % 2)
    for mask in (same, np.ones_like(same)):
        lo = mask & (vals < value)
        hi = mask & (vals > value)
        eq = mask & (vals == value)
        if eq.any():  # 12-8 asked, 12 known: the same door
            i = int(pos[np.flatnonzero(eq)[0]])
            return (float(g.lon[i]), float(g.lat[i])), 0, _say("at", name=g.name[i])
        if lo.any() and hi.any():
            a = int(np.flatnonzero(lo)[np.argmax(vals[lo])])
            b = int(np.flatnonzero(hi)[np.argmin(vals[hi])])
            gap = int(vals[b] - vals[a])
            if gap > 2 * _MAX_GAP:
                continue
            t = (value - vals[a]) / gap
            xy = _along(g, spos, int(pos[a]), int(pos[b]), t)
            return xy, gap, _say("between", a=g.name[pos[a]], b=g.name[pos[b]])
    # One side only: extrapolate from the two nearest numbers of the same parity.
    cand = np.flatnonzero(same) if same.sum() >= 2 else np.arange(len(vals))
    if len(cand) >= 2:
        order = cand[np.argsort(np.abs(vals[cand] - value))][:2]
        a, b = (order if vals[order[0]] < vals[order[1]] else order[::-1])
        if vals[a] != vals[b] and min(abs(vals[a] - value), abs(vals[b] - value)) <= _MAX_GAP:
            t = (value - vals[a]) / (vals[b] - vals[a])
            xy = _along(g, spos, int(pos[a]), int(pos[b]), float(t))
            gap = int(min(abs(vals[a] - value), abs(vals[b] - value))) * 2
            return xy, gap, _say("beyond", a=g.name[pos[a]], b=g.name[pos[b]])
    return None


def _along(g: Gazetteer, spos: int, a: int, b: int, t: float) -> tuple[float, float]:
    """Point at fraction `t` from plate a to plate b, following the street if known.

    Plates stand beside the street, not on it; the offset from the street of the two
    neighbours is blended too, so the answer lands on their side of the road.
    """
    ax, ay, bx, by = g.x[a], g.y[a], g.x[b], g.y[b]
    if spos >= 0:
        parts, _ = g.street_parts(spos)
        pa, pb = shapely.points(ax, ay), shapely.points(bx, by)
        k = int(np.argmin(shapely.distance(parts, pa) + shapely.distance(parts, pb)))
        part = parts[k]
        da, db = shapely.line_locate_point(part, pa), shapely.line_locate_point(part, pb)
        if abs(db - da) > 1.0:
            d = da + t * (db - da)
            d = min(max(d, 0.0), float(part.length))
            on = shapely.line_interpolate_point(part, d)
            qa = shapely.line_interpolate_point(part, da)
            qb = shapely.line_interpolate_point(part, db)
            ox = (1 - t) * (ax - qa.x) + t * (bx - qb.x)
            oy = (1 - t) * (ay - qa.y) + t * (by - qb.y)
            lon, lat = g.to_lonlat([on.x + ox], [on.y + oy])
            return float(lon[0]), float(lat[0])
    lon, lat = g.to_lonlat([ax + t * (bx - ax)], [ay + t * (by - ay)])
    return float(lon[0]), float(lat[0])


def _poi_candidates(
    g: Gazetteer, p: ParsedAddress, name: str, skip: frozenset[int],
) -> list[Candidate]:
    out = []
    for pos, score in g.name_candidates(name):
        if pos in skip:
            continue
        level = "area" if g.types[pos] == "area" else "poi"
        # A POI on the wrong road is a worse match than the road itself.
        if p.road and isinstance(g.street[pos], str) and \
                g.street[pos] != p.road:
            score *= 0.7
        out.append(_cand(g, level, score, pos))
    return [c for c in out if c.confidence > 0]


def _area_candidates(g: Gazetteer, p: ParsedAddress) -> list[Candidate]:
    out = []
    for name, score in ((p.community, 0.9), (p.street_office, 0.8), (p.district, 0.6)):
        if not name:
            continue
        for pos, s in g.name_candidates(name, types=("area",), limit=2):
            out.append(_cand(g, "area", score * s, pos))
        if out:
            break
    return [c for c in out if c.confidence > 0]


def _offset(g: Gazetteer, c: Candidate, p: ParsedAddress) -> Candidate:
    assert p.offset_direction is not None and p.offset_m is not None
    if not math.isfinite(c.lon):
        return c
    bearing = math.radians(_BEARING[p.offset_direction])
    x, y = g.to_metric([c.lon], [c.lat])
    lon, lat = g.to_lonlat([x[0] + p.offset_m * math.sin(bearing)],
                           [y[0] + p.offset_m * math.cos(bearing)])
    note = _then((c.note, c.note_zh),
                 _say("offset", direction=p.offset_direction, m=p.offset_m))
    return Candidate(c.level, c.confidence * 0.95, float(lon[0]), float(lat[0]), c.place_id,
                     c.name, *note)


def geocode_many(
    gazetteer: Gazetteer, texts: Iterable[str], *, progress: Any = None,
) -> gpd.GeoDataFrame:
    """Geocode a sequence of addresses.

    Parameters
    ----------
    gazetteer : Gazetteer
    texts : iterable of str
        Addresses; None and non-strings are treated as empty input.
    progress : callable, optional
        Called with the number of addresses done after each one (for a progress bar).

    Returns
    -------
    GeoDataFrame
        One row per input, in order: ``query``, ``level``, ``confidence``,
        ``place_id``, ``name``, ``reason``, ``unknown_plate`` (see
        :class:`GeocodeResult`), ``lon``, ``lat`` and a point geometry in
        EPSG:4326 (empty for ``none``).
    """
    rows = []
    cache: dict[str, GeocodeResult] = {}
    for text in texts:
        key = text if isinstance(text, str) else ""
        r = cache.get(key)
        if r is None:
            r = geocode(gazetteer, key, limit=1)
            cache[key] = r
        rows.append((key, r.level, r.confidence, r.place_id, r.name, r.reason,
                     r.unknown_plate, r.lon, r.lat))
        if progress is not None:
            progress(1)
    cols = ["query", "level", "confidence", "place_id", "name", "reason", "unknown_plate",
            "lon", "lat"]
    import pandas as pd

    frame = pd.DataFrame(rows, columns=cols)
    geom = shapely.points(frame.lon.to_numpy(float), frame.lat.to_numpy(float))
    geom[~np.isfinite(frame.lon.to_numpy(float))] = None
    return gpd.GeoDataFrame(frame, geometry=geom, crs="EPSG:4326")

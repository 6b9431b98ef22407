"""Address parsing (地址解析): a free-text address split into its standard parts.

GB/T 30428.3 reads an address from the largest area to the smallest: 行政区域
(province 省, city 市, district 区县, street office 街道/镇, community 社区) → 地片/区片
(named zone or block) → 街巷 (road) → 门牌 "N号" / 楼牌 "N号楼" (door or building
plate) → 兴趣点 (POI), optionally followed by a position relative to it
("东50米", "北侧", "对面", "路口"). :func:`parse_address` returns those parts
(:class:`ParsedAddress`); it never raises on text and never looks anything up but
the word lists it is given.

Normalisation (:func:`normalize_address`) comes first: full-width letters and digits
to half-width (NFKC), the traditional characters common in addresses to simplified
(號→号, 樓→楼), Chinese numerals before a number word to digits (一百零八号 → 108号),
separators and spaces out. Road names are left alone: 中关村北二条 keeps its 二.

Addresses in Latin script ("Mannerheimintie 12, 00100 Helsinki",
"12 Main St, Cambridge") go through a second, comma-based parser; the result has
the same fields (``road``, ``number``, ``postcode``, ``city``).
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections.abc import Container, Iterable
from dataclasses import dataclass, field, replace

from urbangrid.data import data_path

__all__ = [
    "ROAD_SUFFIXES",
    "ParsedAddress",
    "Vocabulary",
    "chinese_to_int",
    "default_vocabulary",
    "normalize_address",
    "parse_address",
    "road_stem",
]

#: Road-type suffixes (街巷通名), longest first so that 大街 wins over 街.
ROAD_SUFFIXES: tuple[str, ...] = (
    "大街", "大道", "胡同", "环路", "公路", "辅路", "路", "街", "道", "巷", "里", "条", "弄",
)

_DIRECTIONS = ("东北", "东南", "西北", "西南", "东", "西", "南", "北")

# Traditional characters that turn up in typed addresses; a full converter (OpenCC)
# would be a heavy dependency for the few dozen characters addresses use.
_TRAD = str.maketrans(
    "號樓棟單層區縣鄉鎮東門廣場園華條衛際學陽龍橋灣莊藝術館廈樂醫廠貿電"
    "鐵車站國業農營關開發長興隆寧財聯雲義爾濟豐臺灣路處畝鳳漢",
    "号楼栋单层区县乡镇东门广场园华条卫际学阳龙桥湾庄艺术馆厦乐医厂贸电"
    "铁车站国业农营关开发长兴隆宁财联云义尔济丰台湾路处亩凤汉",
)

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_CN_NUM = "零〇一二两三四五六七八九十百千万"

# A Chinese numeral directly before a number word is a number; elsewhere (北二条,
# 三里河, 五道口) it belongs to a name and is left alone.
_CN_NUMBER_BEFORE_UNIT = re.compile(
    rf"([{_CN_NUM}]+)(?=号|栋|幢|座|单元|室|层|楼|米|公里|弄)"
)
# …and directly after 第 (第一百零八号).
_CN_ORDINAL = re.compile(rf"第([{_CN_NUM}]+)")

_SEPARATORS = re.compile(r"[\s,，、。;；:：·\"'“”‘’《》<>\[\]【】]+")

_RE_POSTCODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
_RE_NUMBER = re.compile(
    r"(?P<num>[甲乙丙丁]?\d+(?:[-—之]\d+)?[a-zA-Z]?)(?P<unit>号院|号(?!楼)|號(?!楼))"
)
_RE_BUILDING = re.compile(r"(?P<b>\d+|[A-Za-z])(?P<u>号楼|栋|幢|座|楼(?=\d+单元|$))")
_RE_UNIT = re.compile(r"(\d+)单元")
_RE_FLOOR = re.compile(r"(\d+|[Bb]\d?)(?:层|楼)(?!\d*单元)")
_RE_ROOM = re.compile(r"(\d+)(?:室|号房)?$")
_RE_OFFSET = re.compile(
    r"(?P<dir>东北|东南|西北|西南|东|西|南|北)(?:侧|边|面|方向|方)?约?"
    r"(?P<dist>\d+(?:\.\d+)?)(?P<unit>米|m|公里|km)"
)
_RE_SIDE = re.compile(r"(?P<dir>东北|东南|西北|西南|东|西|南|北)(?P<rel>侧|边|面|门|口)")
_RE_CROSS = re.compile(
    r"(?:与|和|跟)(?P<road>.{1,12}?(?:大街|大道|胡同|路|街|道|巷))"
    r"(?:交叉口|交汇处|交口|路口|十字路口|口)"
)
_RE_RELATION = re.compile(r"(斜对面|对面|交叉口|十字路口|路口|附近|旁边|门口|旁)")
_RE_ROAD = re.compile(
    r"(?P<road>[^\d甲乙丙丁]{1,12}?(?:大街|大道|胡同|环路|公路|辅路|路|街|巷|弄|条|道|里))"
    r"(?=[甲乙丙丁]?\d|与|和|交|$|东|西|南|北|对|附|旁)"
)
_RE_ZONE = re.compile(
    r"(?P<zone>[^\d]{1,10}?(?:小区|社区|家园|花园|嘉园|公寓|苑|新村|大院|园区|科技园))"
)
_RE_STREET_OFFICE = re.compile(r"(?P<s>[^\d]{2,6}?(?:街道办事处|街道|镇|乡|地区))")
_RE_DISTRICT_FIRST = re.compile(r"(?P<d>[^\d]{1,4}?[区县旗])(?=[^\d]{2,}(?:街道|镇|乡|地区)$)")
_RE_LATIN = re.compile(r"[A-Za-z]")
_RE_CJK = re.compile(r"[\u3400-\u9fff]")

_EN_ABBREVIATIONS = {
    "st": "street", "st.": "street", "rd": "road", "rd.": "road", "ave": "avenue",
    "ave.": "avenue", "av": "avenue", "blvd": "boulevard", "dr": "drive", "ln": "lane",
    "ct": "court", "pl": "place", "sq": "square", "hwy": "highway", "pkwy": "parkway",
    "ter": "terrace", "cir": "circle",
}
_RE_EN_NUMBER = re.compile(r"^\d+[A-Za-z]?(?:[-–]\d+[A-Za-z]?)?$")
_RE_EN_POSTCODE = re.compile(r"^(?:\d{5}|\d{6}|\d{5}-\d{4})$")


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """One address split into its parts; every part is optional (None when absent).

    Attributes
    ----------
    text : str
        The input as given.
    normalized : str
        The input after :func:`normalize_address`.
    script : {"zh", "latin", "mixed", "none"}
        Chinese characters only, Latin letters only, both, or neither (empty input,
        digits or punctuation only).
    province, city, district : str or None
        省/市/区县, as canonical names (``"北京市"``, ``"海淀区"``) when the
        vocabulary knows them; ``city`` also holds a Latin-script town.
    street_office, community : str or None
        街道/镇 and 社区/村 names.
    zone : str or None
        地片/区片: a named zone, estate or campus (``"华清嘉园"``).
    road : str or None
        街巷: the road name as written after normalisation (``"成府路"``).
    number : str or None
        门牌号 without 号: ``"108"``, ``"12-8"``, ``"甲2"``.
    number_value : int or None
        The leading integer of ``number`` (12 for ``"12-8"``), for interpolation.
    building, unit, floor, room : str or None
        号楼/栋/座, 单元, 层, 室.
    poi : str or None
        兴趣点: a named place (``"清华大学"``), gate words kept (``"清华大学东门"``).
    offset_direction : str or None
        Compass direction of the address from the anchor (``"东"``, ``"西北"``).
    offset_m : float or None
        Distance from the anchor in metres (``"东50米"`` → 50.0).
    relation : str or None
        Position words without a distance: ``"北侧"``, ``"对面"``, ``"路口"``, ``"附近"``.
    cross_road : str or None
        The second road of an intersection ("与学院路交叉口").
    postcode : str or None
        Postal code (6 digits in China).
    admin_code : str or None
        Statistical division code of the smallest area recognised.
    admin_conflict : str or None
        Set when the address names areas that cannot both hold (广东省北京市: "北京市 is
        not in 广东省"); the later, smaller areas are kept in the fields above.
    rest : str
        Text left over that no rule took (empty when everything was understood).
    """

    text: str
    normalized: str
    script: str
    province: str | None = None
    city: str | None = None
    district: str | None = None
    street_office: str | None = None
    community: str | None = None
    zone: str | None = None
    road: str | None = None
    number: str | None = None
    number_value: int | None = None
    building: str | None = None
    unit: str | None = None
    floor: str | None = None
    room: str | None = None
    poi: str | None = None
    offset_direction: str | None = None
    offset_m: float | None = None
    relation: str | None = None
    cross_road: str | None = None
    postcode: str | None = None
    admin_code: str | None = None
    admin_conflict: str | None = None
    rest: str = ""

    def parts(self) -> dict[str, object]:
        """The non-empty parts as a dict (``text``, ``normalized``, ``script`` excluded)."""
        skip = ("text", "normalized", "script", "rest")
        out = {f: getattr(self, f) for f in self.__slots__ if f not in skip}  # type: ignore[attr-defined]
        return {k: v for k, v in out.items() if v not in (None, "")}


@dataclass(frozen=True)
class Vocabulary:
    """Names the parser recognises by lookup rather than by suffix rules.

    Attributes
    ----------
    admin : dict of str to (str, str, str)
        Written form → (level, canonical name, division code). Levels are
        ``province``, ``city``, ``district``, ``street`` (街道/镇) and ``community``.
        Both full names (``海淀区``) and short ones (``海淀``) are keys.
    roads : frozenset of str
        Road names (街巷), full forms.
    places : frozenset of str
        Zone, block and POI names (地片/区片/兴趣点).
    others : dict of str to tuple of (str, str, str)
        Written forms several areas share (南山区 of 深圳市 and of 鹤岗市): the entries
        other than the one in ``admin``, tried when that one does not lie in the area
        named before it.
    """

    admin: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    roads: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    others: dict[str, tuple[tuple[str, str, str], ...]] = field(default_factory=dict)

    @functools.cached_property
    def _max_admin(self) -> int:
        return max((len(k) for k in self.admin), default=0)

    @functools.cached_property
    def _max_road(self) -> int:
        return max((len(k) for k in self.roads), default=0)

    @functools.cached_property
    def _max_place(self) -> int:
        return max((len(k) for k in self.places), default=0)

    def extend(
        self, *, admin: dict[str, tuple[str, str, str]] | None = None,
        roads: Iterable[str] = (), places: Iterable[str] = (),
    ) -> Vocabulary:
        """A new vocabulary with more names (this one is unchanged)."""
        merged = dict(self.admin)
        for k, v in (admin or {}).items():
            merged.setdefault(k, v)
        return Vocabulary(merged, self.roads | frozenset(roads), self.places | frozenset(places),
                          self.others)


# ----------------------------------------------------------------- numerals, normalising


def chinese_to_int(text: str) -> int | None:
    """Value of a Chinese numeral, or None if `text` is not one.

    Handles positional forms (一百零八 → 108, 两千零三 → 2003, 十五 → 15) and
    digit-by-digit forms (一零八 → 108).

    Examples
    --------
    >>> chinese_to_int("一百零八"), chinese_to_int("十二"), chinese_to_int("一零八")
    (108, 12, 108)
    >>> chinese_to_int("路") is None
    True
    """
    if not text or any(c not in _CN_DIGITS and c not in _CN_UNITS for c in text):
        return None
    if not any(c in _CN_UNITS for c in text):
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total, section, digit = 0, 0, None
    for c in text:
        if c in _CN_DIGITS:
            digit = _CN_DIGITS[c]
        else:
            unit = _CN_UNITS[c]
            if unit == 10000:
                total += (section + (digit or 0)) * unit
                section, digit = 0, None
            else:
                section += (1 if digit is None else digit) * unit
                digit = None
    return total + section + (digit or 0)


def _numerals(match: re.Match[str]) -> str:
    value = chinese_to_int(match.group(1))
    return match.group(0) if value is None else match.group(0).replace(match.group(1), str(value))


@functools.lru_cache(maxsize=65536)
def normalize_address(text: str) -> str:
    """Canonical form of an address string, ready for parsing and matching.

    Full-width characters become half-width (NFKC), common traditional characters
    simplified, Chinese numerals before a number word digits, separators and spaces
    between Chinese characters removed, and Latin letters kept with single spaces.

    Examples
    --------
    >>> normalize_address("北京市 海淀区 成府路 一百零八号")
    '北京市海淀区成府路108号'
    >>> normalize_address("ＡＢＣ大厦５號樓")
    'ABC大厦5号楼'
    """
    s = unicodedata.normalize("NFKC", text).translate(_TRAD)
    s = s.replace("（", "(").replace("）", ")")
    s = _CN_ORDINAL.sub(lambda m: str(chinese_to_int(m.group(1)) or m.group(0)), s)
    s = _CN_NUMBER_BEFORE_UNIT.sub(_numerals, s)
    if _RE_CJK.search(s):
        # Spaces and separators carry no meaning between Chinese words, but two Latin
        # words must stay apart.
        parts = [p for p in _SEPARATORS.split(s) if p]
        out = ""
        for p in parts:
            if out and out[-1].isascii() and out[-1].isalnum() and p[0].isascii() \
                    and p[0].isalpha():
                out += " "
            out += p
        return out.strip()
    return " ".join(s.replace("，", ",").split())


def road_stem(name: str) -> str:
    """A road name without its type suffix (成府路 → 成府, 五道口大街 → 五道口).

    Names that would shrink below two characters are returned whole.
    """
    for suffix in ROAD_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


# ----------------------------------------------------------------- vocabulary


def _short_forms(name: str, level: str) -> list[str]:
    forms = [name]
    suffixes = {
        "province": ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市"),
        "city": ("市", "地区", "盟", "自治州"),
        "district": ("区", "县", "市", "旗"),
        "street": ("街道办事处", "街道", "地区", "镇", "乡"),
        "community": ("社区居委会", "居委会", "村委会", "社区", "村"),
    }[level]
    for suf in suffixes:
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            forms.append(name[: -len(suf)])
            if level == "community" and suf in ("社区居委会", "居委会"):
                forms.append(name[: -len(suf)] + "社区")
            if level == "street" and suf == "街道":
                forms.append(name + "办事处")
            break
    return forms


def admin_entries(
    rows: Iterable[tuple[str, str, str]],
) -> dict[str, tuple[str, str, str]]:
    """Vocabulary entries for division rows ``(code, name, level)``.

    The first row to claim a written form keeps it, so list larger areas first.
    """
    out: dict[str, tuple[str, str, str]] = {}
    for code, name, level in rows:
        canonical = name
        if level == "community":
            canonical = _short_forms(name, level)[-1] if name.endswith("居委会") else name
        for form in _short_forms(name, level):
            out.setdefault(form, (level, canonical, code))
    return out


def admin_others(
    rows: Iterable[tuple[str, str, str]],
) -> dict[str, tuple[tuple[str, str, str], ...]]:
    """For written forms several division rows ``(code, name, level)`` share, the entries
    :func:`admin_entries` does not keep (it keeps the first)."""
    seen: dict[str, list[tuple[str, str, str]]] = {}
    for code, name, level in rows:
        canonical = name
        if level == "community":
            canonical = _short_forms(name, level)[-1] if name.endswith("居委会") else name
        for form in _short_forms(name, level):
            seen.setdefault(form, []).append((level, canonical, code))
    return {k: tuple(v[1:]) for k, v in seen.items() if len(v) > 1}


@functools.cache
def default_vocabulary() -> Vocabulary:
    """The bundled 2023 division names: every province, city and district of China,
    and Haidian's (海淀区) street offices and communities."""
    rows: list[tuple[str, str, str]] = []
    for fname, level in (
        ("geocoding/china_provinces_2023.csv", "province"),
        ("geocoding/china_cities_2023.csv", "city"),
        ("geocoding/china_areas_2023.csv", "district"),
    ):
        with open(data_path(fname), encoding="utf-8", newline="") as fh:
            for rec in csv.DictReader(fh):
                if rec["name"] not in ("市辖区", "县", "省直辖县级行政区划",
                                       "自治区直辖县级行政区划"):
                    rows.append((rec["code"], rec["name"], level))
    with open(data_path("codes/haidian_110108_divisions_2023.csv"), encoding="utf-8",
              newline="") as fh:
        for rec in csv.DictReader(fh):
            if rec["level"] in ("street", "community"):
                rows.append((rec["code"], rec["name"], rec["level"]))
    return Vocabulary(admin_entries(rows), others=admin_others(rows))


# ----------------------------------------------------------------- parsing


def _script(s: str) -> str:
    zh, latin = bool(_RE_CJK.search(s)), bool(_RE_LATIN.search(s))
    if zh and latin:
        # One or two Latin letters are building or unit letters (A座, B1层), not a
        # second script.
        return "mixed" if len(re.findall(r"[A-Za-z]{2,}", s)) else "zh"
    return "zh" if zh else "latin" if latin else "none"


def _longest(s: str, i: int, names: Container[str], maxlen: int) -> str:
    """The longest of ``names`` starting at ``s[i]`` (at most ``maxlen`` long), or ""."""
    for j in range(min(len(s), i + maxlen), i + 1, -1):
        if s[i:j] in names:
            return s[i:j]
    return ""


def parse_address(text: str, *, vocabulary: Vocabulary | None = None) -> ParsedAddress:
    """Split an address into province / city / district / street office / community /
    zone / road / number / building / unit / room / POI / offset.

    Parameters
    ----------
    text : str
        The address as typed (Chinese or Latin script, any width, any numerals).
    vocabulary : Vocabulary, optional
        Known names; default :func:`default_vocabulary` (the bundled divisions). A
        :class:`~urbangrid.spatial.geocoding.gazetteer.Gazetteer` supplies its own,
        with its roads and places, as ``gazetteer.vocabulary``.

    Returns
    -------
    ParsedAddress
        Never raises for text input: an empty or meaningless input gives a result
        with ``script="none"`` or every part None and the text in ``rest``.

    Examples
    --------
    >>> p = parse_address("北京市海淀区成府路一百零八号东50米")
    >>> p.district, p.road, p.number, p.offset_direction, p.offset_m
    ('海淀区', '成府路', '108', '东', 50.0)
    >>> parse_address("Mannerheimintie 12, 00100 Helsinki").road
    'Mannerheimintie'
    """
    vocab = vocabulary if vocabulary is not None else default_vocabulary()
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    norm = normalize_address(text)
    script = _script(norm)
    if script == "none":
        return ParsedAddress(text, norm, script, rest=norm)
    if script == "latin":
        return _parse_latin(text, norm)
    return _parse_chinese(text, norm, script, vocab)


def _parse_chinese(text: str, s: str, script: str, vocab: Vocabulary) -> ParsedAddress:
    """Chinese address ``s`` (normalised) into parts, stage by stage, left to right.

    Each stage takes the text not yet read, files what it recognises in ``parts`` and
    returns the rest.
    """
    parts: dict[str, object] = {}
    s = _postcode(s, parts)
    s = re.sub(r"^(中国|中华人民共和国)", "", s)
    s = _admin_prefix(s, parts, vocab)
    s = _office_and_community(s, parts, vocab)
    s = _position_words(s, parts)
    s = _road(s, parts, vocab)
    s = _number_and_building(s, parts, vocab)
    rest = _leftover(s, parts)
    return ParsedAddress(text, normalize_address(text), script, rest=rest, **parts)  # type: ignore[arg-type]


def _postcode(s: str, parts: dict[str, object]) -> str:
    """A six-digit postcode at either end (or before a bracket) is taken out."""
    m = _RE_POSTCODE.search(s)
    if m and (m.start() == 0 or m.end() == len(s) or s[m.end():m.end() + 1] in "(("):
        parts["postcode"] = m.group(1)
        s = s[: m.start()] + s[m.end():]
    return s


_ADMIN_KEYS = ("province", "city", "district", "street_office", "community")


def _admin_prefix(s: str, parts: dict[str, object], vocab: Vocabulary) -> str:
    """Administrative prefix: levels go largest to smallest; any may be missing.

    A full area name that cannot lie in the areas before it (广东省北京市) starts the
    prefix again from that area and is recorded in ``admin_conflict``.
    """
    i = 0
    levels = ("province", "city", "district", "street", "community")
    seen = -1
    code: str | None = None
    while i < len(s):
        hit = _longest(s, i, vocab.admin, vocab._max_admin)
        if not hit:
            break
        level, canonical, c = _fitting_entry(vocab, hit, code)
        rank = levels.index(level)
        if hit != canonical and not _short_form_ok(s, i, hit, level, vocab):
            break
        # An area must lie in the one before it (双清区 is not in 北京市).
        fits = code is None or _lies_in(c, code, level)
        # 北京市 is both province and city; accept a repeated municipality name.
        if fits and rank <= seen and not (level == "city" and seen == 0):
            break
        if not fits:
            if hit != canonical:
                break
            before = [str(parts.pop(k)) for k in _ADMIN_KEYS if k in parts]
            parts["admin_conflict"] = f"{canonical} is not in {before[-1]}"
        parts["street_office" if level == "street" else level] = canonical
        code = c
        seen = rank
        i += len(hit)
    if "province" in parts and "city" not in parts and \
            parts["province"] in ("北京市", "天津市", "上海市", "重庆市"):
        parts["city"] = parts["province"]
    if code:
        parts["admin_code"] = code
    return s[i:]


def _lies_in(c: str, code: str, level: str) -> bool:
    return c.startswith(code[: min(len(code), 4 if level != "city" else 2)])


def _fitting_entry(vocab: Vocabulary, hit: str, code: str | None) -> tuple[str, str, str]:
    """The entry of written form `hit` that lies in area `code` when one does (南山区 after
    深圳市 is 440305, not 230404), else the usual one."""
    entry = vocab.admin[hit]
    if code is None or _lies_in(entry[2], code, entry[0]):
        return entry
    for other in vocab.others.get(hit, ()):
        if _lies_in(other[2], code, other[0]):
            return other
    return entry


def _office_and_community(s: str, parts: dict[str, object], vocab: Vocabulary) -> str:
    """A street office (街道) or community (社区) not found among the known divisions."""
    if "street_office" not in parts:
        m = _RE_STREET_OFFICE.match(s)
        if m and not _longest(s, 0, vocab.roads, vocab._max_road):
            office = m.group("s").removesuffix("办事处")
            # An unknown district before the office (某某区粤海街道): two parts, not one.
            d = _RE_DISTRICT_FIRST.match(office)
            if d and "district" not in parts:
                parts["district"], office = d.group("d"), office[d.end():]
            parts["street_office"] = office
            s = s[m.end():]
    if "community" not in parts:
        m = re.match(r"(?P<c>[^\d]{2,8}?社区)(?:居委会)?", s)
        if m:
            parts["community"] = m.group("c")
            s = s[m.end():]
    return s


def _position_words(s: str, parts: dict[str, object]) -> str:
    """Position words at the end: offsets (in metres), sides, intersections."""
    m = _RE_OFFSET.search(s)
    if m:
        dist = float(m.group("dist"))
        if m.group("unit") in ("公里", "km"):
            dist *= 1000.0
        parts["offset_direction"], parts["offset_m"] = m.group("dir"), dist
        s = s[: m.start()] + s[m.end():]
    m = _RE_CROSS.search(s)
    if m:
        parts["cross_road"] = m.group("road")
        parts["relation"] = "路口"
        s = s[: m.start()] + s[m.end():]
    m = _RE_SIDE.search(s)
    if m and m.end() == len(s) and m.group("rel") in ("侧", "边", "面"):
        parts["relation"] = m.group(0)
        s = s[: m.start()]
    m = _RE_RELATION.search(s)
    if m and m.end() == len(s):
        parts.setdefault("relation", m.group(1))
        # 成府路口: the 路 belongs to the road.
        s = s[: m.start()] + ("路" if m.group(1) == "路口" else "")
    return s


def _road(s: str, parts: dict[str, object], vocab: Vocabulary) -> str:
    """Road: a known name anywhere (earliest, longest), else the suffix rule."""
    road_at, road = -1, ""
    if vocab.roads:
        for j in range(len(s)):
            hit = _longest(s, j, vocab.roads, vocab._max_road)
            if hit:
                # 成府路 inside 成府路口 is fine; inside a longer known place it is not.
                place = _longest(s, j, vocab.places, vocab._max_place)
                if len(place) > len(hit):
                    continue
                road_at, road = j, hit
                break
    if road_at < 0:
        m = _RE_ROAD.search(s)
        if m:
            road_at, road = m.start("road"), m.group("road")
            # Strip a leading zone the rule swallowed (华清嘉园东路 is a road;
            # 五道口华联商厦路 is not a road name anyone types).
    if road_at >= 0:
        before = s[:road_at]
        s_after = s[road_at + len(road):]
        parts["road"] = road
        if before:
            _place_or_zone(before, parts, vocab)
        s = s_after
    return s


def _number_and_building(s: str, parts: dict[str, object], vocab: Vocabulary) -> str:
    """Door number, building, unit, floor and room, after the road (or a zone)."""
    # Numbers after the road (or after a zone: 华清嘉园12号楼).
    m = _RE_NUMBER.match(s) or (None if "road" in parts else _RE_NUMBER.search(s))
    if m:
        before = s[: m.start()]
        if before:
            _place_or_zone(before, parts, vocab)
        num = m.group("num").replace("—", "-").replace("之", "-")
        parts["number"] = num
        lead = re.search(r"\d+", num)
        parts["number_value"] = int(lead.group(0)) if lead else None
        s = s[m.end():]
    m = _RE_BUILDING.search(s)
    if m:
        before = s[: m.start()]
        if before:
            # 成府路43号清华科技园5号楼: the text between is a POI or zone.
            _place_or_zone(before, parts, vocab)
        parts["building"] = m.group("b")
        s = s[m.end():]
    m = _RE_UNIT.search(s)
    if m:
        parts["unit"] = m.group(1)
        s = s[: m.start()] + s[m.end():]
    m = _RE_FLOOR.search(s)
    if m and ("building" in parts or "number" in parts or "unit" in parts):
        parts["floor"] = m.group(1)
        s = s[: m.start()] + s[m.end():]
    if "unit" in parts or "building" in parts:
        m = _RE_ROOM.search(s)
        if m:
            parts["room"] = m.group(1)
            s = s[: m.start()]
    return s


def _leftover(s: str, parts: dict[str, object]) -> str:
    """File what is left as POI (or zone and POI); return what still has no place."""
    rest = s.strip("-")
    if rest:
        if "poi" not in parts:
            parts["poi"] = rest
            rest = ""
        elif "zone" not in parts:
            parts["zone"], parts["poi"] = parts["poi"], rest
            rest = ""
    poi = parts.get("poi")
    if isinstance(poi, str) and "relation" not in parts:
        m = _RE_SIDE.search(poi)
        if m and m.end() == len(poi) and m.group("rel") in ("侧", "边", "面") and m.start():
            parts["relation"], parts["poi"] = m.group(0), poi[: m.start()]
    return rest


def _short_form_ok(s: str, i: int, hit: str, level: str, vocab: Vocabulary) -> bool:
    """Whether a short area name (海淀 for 海淀区) at ``s[i:]`` stands for the area.

    Street offices and communities are often named after a road (学院路街道, 志新社区)
    so their bare names are roads; only their suffixed forms count. A short province,
    city or district name counts only when an area, a road or nothing follows it
    (北京海淀, 海淀成府路), and not when it starts a longer known name (海淀黄庄,
    北京大学, 双清路).
    """
    if level == "community":
        return hit.endswith("社区")
    if level == "street":
        return False
    rest = s[i + len(hit):]
    if not rest:
        return True
    if _longest(s, i, vocab.places, vocab._max_place) or _longest(s, i, vocab.roads,
                                                                   vocab._max_road):
        return False
    if rest[0] in "路街道巷里条弄桥":
        return False
    nxt = _longest(rest, 0, vocab.admin, vocab._max_admin)
    if (nxt and vocab.admin[nxt][1] == nxt) or _longest(rest, 0, vocab.roads, vocab._max_road):
        return True
    m = _RE_ROAD.match(rest)
    return m is not None and len(m.group("road")) >= 3


def _place_or_zone(chunk: str, parts: dict[str, object], vocab: Vocabulary) -> None:
    """File a chunk of text as zone (地片) or POI, first come zone."""
    chunk = chunk.strip("-")
    if not chunk:
        return
    if "zone" not in parts:
        m = _RE_ZONE.fullmatch(chunk)
        if m or (chunk in vocab.places and "poi" in parts):
            parts["zone"] = chunk
            return
    if "poi" not in parts:
        parts["poi"] = chunk
    elif "zone" not in parts:
        parts["zone"] = parts["poi"]
        parts["poi"] = chunk
    else:
        parts["poi"] = f"{parts['poi']}{chunk}"


def _parse_latin(text: str, s: str) -> ParsedAddress:
    parts: dict[str, object] = {}
    segments = [seg.strip() for seg in s.split(",") if seg.strip()]
    rest: list[str] = []
    # From the end: country, postcode with region or city ("00100 Helsinki",
    # "MA 02139"), then the city itself.
    while len(segments) > 1:
        words = segments[-1].split()
        codes = [w for w in words if _RE_EN_POSTCODE.match(w)]
        if segments[-1].lower() in ("finland", "suomi", "usa", "us", "united states", "china"):
            segments.pop()
        elif codes and "postcode" not in parts:
            parts["postcode"] = codes[0]
            others = [w for w in words if w != codes[0]]
            if len(others) == 1 and len(others[0]) == 2 and others[0].isupper():
                parts["province"] = others[0]  # US state code
            elif others:
                parts["city"] = " ".join(others)
            segments.pop()
        elif "city" not in parts and not any(w.isdigit() for w in words):
            parts["city"] = segments.pop()
        else:
            break
    if segments:
        words = segments[0].split()
        if len(words) > 1 and _RE_EN_NUMBER.match(words[0]):
            parts["number"], words = words[0], words[1:]
        elif len(words) > 1 and _RE_EN_NUMBER.match(words[-1]):
            parts["number"], words = words[-1], words[:-1]
        elif len(words) > 2 and _RE_EN_NUMBER.match(words[-2]) and len(words[-1]) <= 2:
            # "Mannerheimintie 12 A": a staircase letter after the number.
            parts["number"], parts["unit"], words = words[-2], words[-1], words[:-2]
        road = " ".join(_expand(w) if i else w for i, w in enumerate(words))
        if "number" in parts or len(segments) > 1:
            parts["road"] = road
        else:
            parts["poi"] = road
        rest = segments[1:]
        if rest and "number" not in parts and "poi" not in parts:
            parts["poi"], parts["road"] = parts.get("road"), None
            parts["road"] = rest.pop(0)
    num = parts.get("number")
    if isinstance(num, str):
        lead = re.match(r"\d+", num)
        parts["number_value"] = int(lead.group(0)) if lead else None
    parts = {k: v for k, v in parts.items() if v is not None}
    return ParsedAddress(text, s, "latin", rest=", ".join(rest), **parts)  # type: ignore[arg-type]


def _expand(word: str) -> str:
    full = _EN_ABBREVIATIONS.get(word.lower())
    if full is None:
        return word
    return full.title() if word[:1].isupper() else full


def with_parts(parsed: ParsedAddress, **changes: object) -> ParsedAddress:
    """A copy of `parsed` with some parts replaced."""
    return replace(parsed, **changes)  # type: ignore[arg-type]

"""Component and event code tables (部件/事件分类代码) and city profiles (城市配置).

The code tables are data, not code: CSV and TOML files under
``urbangrid/schemas/codes/`` keyed by standard edition (标准版本):

* ``editions.toml`` -- ID layout, status values and data sources per edition;
* ``classes.csv`` -- component and event classes (大类);
* ``component_subclasses.csv``, ``event_subclasses.csv`` -- subclasses (小类) with
  names, aliases, the default responsible department (主管部门) and provenance;
* ``time_limits.csv`` -- case time limits (处置时限) where they are known;
* ``profiles/*.csv`` -- bundled city profiles (``standard``, ``demo``).

A city profile (:class:`CityProfile`) is an edition plus the city's extension
subclasses (扩展部件, class 21) plus overrides, read from a plain CSV file a GIS
officer can edit (:func:`read_profile`). Values of the ``gbt47678-2026`` edition are
provisional and carry ``verified=False``: the 2026 code lists are not public.

Examples
--------
>>> from urbangrid.spatial.components.codes import demo_profile, find_subclass
>>> p = demo_profile()
>>> (p.n_component_classes, p.n_component_subclasses)
(7, 121)
>>> find_subclass(p, "雨水篦子").code
'0104'
"""

from __future__ import annotations

import csv
import functools
import io
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from urbangrid.errors import ProfileError, UnknownCodeError
from urbangrid.problems import Problem, format_problem, problem

__all__ = [
    "KINDS",
    "CityProfile",
    "Edition",
    "Subclass",
    "TimeLimit",
    "bundled_profile",
    "demo_profile",
    "edition_classes",
    "edition_names",
    "find_subclass",
    "get_edition",
    "normalize_name",
    "profile_table",
    "read_profile",
    "standard_profile",
    "standard_subclasses",
    "time_limits",
]

Kind = Literal["component", "event"]
KINDS: tuple[Kind, ...] = ("component", "event")

_PROFILE_COLUMNS = ("action", "kind", "class_code", "code", "name", "aliases", "department", "note")
_REQUIRED_COLUMNS = ("action", "kind", "class_code", "code")
_ACTIONS = ("extend", "override", "disable")
_META_KEYS = ("name", "title", "edition", "admin_code")


@dataclass(frozen=True)
class Edition:
    """A standard edition (标准版本) and the layout of its component identifiers.

    Attributes
    ----------
    name : str
        Edition key, ``"cjt214-2007"`` or ``"gbt47678-2026"``.
    title : str
        Full title of the standard.
    verified : bool
        False when the values come from reports, not the published text.
    id_length : int
        Digits of a component identifier (标识码): 16 or 17.
    admin_digits, class_digits, subclass_digits, serial_digits : int
        Field widths of the identifier; a subclass code is
        ``class_digits + subclass_digits`` long (``0101`` or ``01001``).
    extension_class : str
        Class code of the city-defined extension class (扩展部件类), ``"21"``.
    component_statuses : tuple of str
        Allowed component states (部件状态), e.g. 完好/破损/丢失/占用.
    data_sources : tuple of str
        Allowed data sources (数据来源): 实测/地形图/调绘/其它.
    note : str
        Free text on provenance.
    """

    name: str
    title: str
    verified: bool
    id_length: int
    admin_digits: int
    class_digits: int
    subclass_digits: int
    serial_digits: int
    extension_class: str
    component_statuses: tuple[str, ...]
    data_sources: tuple[str, ...]
    note: str = ""

    @property
    def code_length(self) -> int:
        """Digits of a full subclass code (class + subclass): 4 or 5."""
        return self.class_digits + self.subclass_digits

    @property
    def max_serial(self) -> int:
        """Largest serial number (流水号) an identifier can hold."""
        return 10**self.serial_digits - 1


@dataclass(frozen=True)
class Subclass:
    """One component or event subclass (部件小类 / 事件小类).

    Attributes
    ----------
    kind : {"component", "event"}
    edition : str
        Edition key the code belongs to.
    code : str
        Full subclass code: class code + subclass digits (``"0104"``).
    name : str
        Canonical name (名称), e.g. ``"雨水箅子"``.
    class_code, class_name : str
        The class (大类) it belongs to.
    aliases : tuple of str
        Other names in use (别名): variant characters, Beijing names, ASCII brackets.
    department : str
        Default responsible department (主管部门); a department *type*, which a city
        profile overrides with its agency's name.
    verified : bool
        False for provisional or medium-confidence rows.
    extension : bool
        True for city-defined extension subclasses (扩展部件/扩展事件).
    source : str
        Where the row comes from.
    crosswalk_cjt214 : str
        The CJ/T 214-2007 code of the same subclass, when known.
    """

    kind: Kind
    edition: str
    code: str
    name: str
    class_code: str
    class_name: str
    aliases: tuple[str, ...] = ()
    department: str = ""
    verified: bool = True
    extension: bool = False
    source: str = ""
    crosswalk_cjt214: str = ""


@dataclass(frozen=True)
class TimeLimit:
    """A case time limit (处置时限) for one subclass.

    Attributes
    ----------
    kind : {"component", "event"}
    subclass_code : str
    condition : str
        The state it applies to (e.g. ``"丢失"`` for a missing cover); empty = any.
    limit : float
        Amount, in ``unit``.
    unit : {"工作时", "工作日", "小时"}
        Working hours, working days or clock hours.
    verified : bool
    source : str
    """

    kind: Kind
    subclass_code: str
    condition: str
    limit: float
    unit: str
    verified: bool
    source: str


@dataclass(frozen=True, eq=False)
class CityProfile:
    """A city's code tables: one edition, its extension subclasses and overrides.

    Build with :func:`read_profile`, :func:`standard_profile` or
    :func:`demo_profile`; the mappings are read-only.

    Attributes
    ----------
    name : str
        Short key (``"demo"``).
    title : str
        Display name (``"演示城市 (demo city)"``).
    edition : Edition
    admin_code : str or None
        Default 6-digit county-level code (GB/T 2260) for new component IDs.
    component_classes, event_classes : Mapping[str, str]
        Class code → class name, only classes that hold at least one subclass.
    components, events : Mapping[str, Subclass]
        Subclass code → subclass, in code order.
    source : str
        The file the profile was read from, or ``"builtin"``.
    """

    name: str
    title: str
    edition: Edition
    admin_code: str | None
    component_classes: Mapping[str, str]
    components: Mapping[str, Subclass]
    event_classes: Mapping[str, str]
    events: Mapping[str, Subclass]
    source: str = "builtin"
    _names: Mapping[tuple[str, str], str] = field(default_factory=dict, repr=False)

    @property
    def n_component_classes(self) -> int:
        """Number of component classes in use (7 for a city with extensions)."""
        return len(self.component_classes)

    @property
    def n_component_subclasses(self) -> int:
        """Number of component subclasses (85 for the standard, 121 for the demo city)."""
        return len(self.components)

    def subclasses(self, kind: Kind = "component") -> Mapping[str, Subclass]:
        """Subclass code → :class:`Subclass` for ``kind``."""
        return self.components if kind == "component" else self.events

    def classes(self, kind: Kind = "component") -> Mapping[str, str]:
        """Class code → class name for ``kind``."""
        return self.component_classes if kind == "component" else self.event_classes


def normalize_name(text: str) -> str:
    """Normalise a subclass name for matching.

    NFKC folds full-width brackets and letters to ASCII (``输油（气）井盖`` →
    ``输油(气)井盖``); whitespace is removed.

    Parameters
    ----------
    text : str

    Returns
    -------
    str

    Examples
    --------
    >>> normalize_name(" 变压器（箱） ")
    '变压器(箱)'
    """
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


# --------------------------------------------------------------------------- tables


def _codes_dir() -> resources.abc.Traversable:
    return resources.files("urbangrid.schemas").joinpath("codes")


def _read_csv(name: str) -> list[dict[str, str]]:
    text = _codes_dir().joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _bool(text: str) -> bool:
    return text.strip().lower() in ("true", "1", "yes")


@functools.cache
def _editions() -> Mapping[str, Edition]:
    data = tomllib.loads(_codes_dir().joinpath("editions.toml").read_text(encoding="utf-8"))
    out = {}
    for name, d in data.items():
        out[name] = Edition(
            name=name,
            title=d["title"],
            verified=bool(d["verified"]),
            id_length=int(d["id_length"]),
            admin_digits=int(d["admin_digits"]),
            class_digits=int(d["class_digits"]),
            subclass_digits=int(d["subclass_digits"]),
            serial_digits=int(d["serial_digits"]),
            extension_class=str(d["extension_class"]),
            component_statuses=tuple(d["component_statuses"]),
            data_sources=tuple(d["data_sources"]),
            note=d.get("note", ""),
        )
        e = out[name]
        if e.admin_digits + e.code_length + e.serial_digits != e.id_length:
            msg = f"editions.toml [{name}]: field widths do not add up to id_length {e.id_length}"
            raise ValueError(msg)
    return MappingProxyType(out)


def edition_names() -> tuple[str, ...]:
    """Edition keys urbangrid knows, e.g. ``("cjt214-2007", "gbt47678-2026")``."""
    return tuple(_editions())


def get_edition(name: str | Edition) -> Edition:
    """Return the :class:`Edition` called ``name``.

    Raises
    ------
    UnknownCodeError
        If the edition is unknown; the message lists the known ones.
    """
    if isinstance(name, Edition):
        return name
    try:
        return _editions()[name]
    except KeyError:
        msg = f"unknown standard edition {name!r}; known: {', '.join(_editions())}"
        raise UnknownCodeError(msg) from None


@functools.cache
def _class_rows() -> dict[tuple[str, str], dict[str, tuple[str, bool]]]:
    out: dict[tuple[str, str], dict[str, tuple[str, bool]]] = {}
    for r in _read_csv("classes.csv"):
        out.setdefault((r["edition"], r["kind"]), {})[r["class_code"]] = (
            r["name"],
            _bool(r["extension"]),
        )
    return out


def _classes(edition: str, kind: Kind) -> dict[str, tuple[str, bool]]:
    return _class_rows().get((edition, kind), {})


def edition_classes(edition: str = "cjt214-2007", kind: Kind = "component") -> Mapping[str, str]:
    """Class code → class name of an edition, extension class included.

    Examples
    --------
    >>> edition_classes()["21"]
    '扩展部件类'
    """
    get_edition(edition)
    return MappingProxyType({k: v[0] for k, v in sorted(_classes(edition, kind).items())})


@functools.cache
def _standard(edition: str, kind: Kind) -> tuple[Subclass, ...]:
    classes = _classes(edition, kind)
    out = []
    for r in _read_csv(f"{kind}_subclasses.csv"):
        if r["edition"] != edition:
            continue
        out.append(
            Subclass(
                kind=kind,
                edition=edition,
                code=r["subclass_code"],
                name=r["name"],
                class_code=r["class_code"],
                class_name=classes[r["class_code"]][0],
                aliases=tuple(a for a in r["aliases"].split("|") if a),
                department=r["department"],
                verified=_bool(r["verified"]),
                extension=classes[r["class_code"]][1],
                source=r["source"],
                crosswalk_cjt214=r["crosswalk_cjt214"],
            )
        )
    return tuple(sorted(out, key=lambda s: s.code))


def standard_subclasses(
    edition: str = "cjt214-2007", kind: Kind = "component"
) -> tuple[Subclass, ...]:
    """The standard subclasses of an edition, in code order.

    Parameters
    ----------
    edition : str
        ``"cjt214-2007"`` (85 components, 54 events) or ``"gbt47678-2026"``
        (provisional: 85 components zero-padded to 5 digits, 2 events).
    kind : {"component", "event"}

    Returns
    -------
    tuple of Subclass
    """
    get_edition(edition)
    if kind not in KINDS:
        msg = f"kind must be one of {KINDS}, got {kind!r}"
        raise ValueError(msg)
    return _standard(edition, kind)


@functools.cache
def _time_limit_rows() -> tuple[dict[str, str], ...]:
    return tuple(_read_csv("time_limits.csv"))


def time_limits(
    profile: CityProfile | str, code: str, *, kind: Kind = "component"
) -> tuple[TimeLimit, ...]:
    """Known case time limits (处置时限) for one subclass.

    Parameters
    ----------
    profile : CityProfile or str
        A profile or an edition key.
    code : str
        Full subclass code (``"0101"``).
    kind : {"component", "event"}

    Returns
    -------
    tuple of TimeLimit
        Empty when no limit is known: most limits are set by each city.

    Examples
    --------
    >>> [(t.limit, t.unit) for t in time_limits("cjt214-2007", "0102", kind="event")]
    [(4.0, '工作时')]
    """
    edition = (
        profile.edition.name if isinstance(profile, CityProfile) else get_edition(profile).name
    )
    return tuple(
        TimeLimit(
            kind=kind,
            subclass_code=code,
            condition=r["condition"],
            limit=float(r["limit"]),
            unit=r["unit"],
            verified=_bool(r["verified"]),
            source=r["source"],
        )
        for r in _time_limit_rows()
        if r["edition"] == edition and r["kind"] == kind and r["subclass_code"] == code
    )


# --------------------------------------------------------------------------- profiles


def _build_profile(
    *,
    name: str,
    title: str,
    edition: Edition,
    admin_code: str | None,
    subclasses: Mapping[Kind, Iterable[Subclass]],
    source: str,
) -> CityProfile:
    by_kind: dict[Kind, dict[str, Subclass]] = {}
    cls_by_kind: dict[Kind, dict[str, str]] = {}
    names: dict[tuple[str, str], str] = {}
    for kind in KINDS:
        subs = sorted(subclasses[kind], key=lambda s: s.code)
        by_kind[kind] = {s.code: s for s in subs}
        cls_by_kind[kind] = {s.class_code: s.class_name for s in subs}
        for s in subs:
            # Canonical names win over aliases when both would match.
            for a in s.aliases:
                names.setdefault((kind, normalize_name(a)), s.code)
        for s in subs:
            names[(kind, normalize_name(s.name))] = s.code
    return CityProfile(
        name=name,
        title=title,
        edition=edition,
        admin_code=admin_code,
        component_classes=MappingProxyType(dict(sorted(cls_by_kind["component"].items()))),
        components=MappingProxyType(by_kind["component"]),
        event_classes=MappingProxyType(dict(sorted(cls_by_kind["event"].items()))),
        events=MappingProxyType(by_kind["event"]),
        source=source,
        _names=MappingProxyType(names),
    )


def standard_profile(edition: str = "cjt214-2007") -> CityProfile:
    """The national standard with no local changes (85 component subclasses for CJ/T 214).

    Parameters
    ----------
    edition : str
        Edition key.

    Returns
    -------
    CityProfile
    """
    ed = get_edition(edition)
    return _build_profile(
        name="standard",
        title=f"{ed.name} standard",
        edition=ed,
        admin_code=None,
        subclasses={k: standard_subclasses(ed.name, k) for k in KINDS},
        source="builtin",
    )


def bundled_profile(name: str) -> CityProfile:
    """Load a profile shipped in ``urbangrid/schemas/codes/profiles/`` by name.

    Parameters
    ----------
    name : str
        ``"standard"`` or ``"demo"``.
    """
    ref = _codes_dir().joinpath("profiles", f"{name}.csv")
    if not ref.is_file():
        known = sorted(
            p.name.removesuffix(".csv")
            for p in _codes_dir().joinpath("profiles").iterdir()
            if p.name.endswith(".csv")
        )
        msg = f"no bundled profile {name!r}; bundled: {', '.join(known)}"
        raise UnknownCodeError(msg)
    return _parse_profile(ref.read_text(encoding="utf-8-sig"), f"profiles/{name}.csv")


def demo_profile() -> CityProfile:
    """The demo city (演示城市): 7 component classes, 121 subclasses.

    The 85 standard CJ/T 214-2007 subclasses plus 36 extension subclasses
    (扩展部件, class 21): the 27 coded ones seen in real systems and 9 names from
    another real city's uncoded list, coded 2138-2146.
    """
    return bundled_profile("demo")


def read_profile(path: str | PathLike[str], *, encoding: str = "utf-8-sig") -> CityProfile:
    """Read a city profile from a CSV file.

    The file starts with ``# key: value`` metadata lines (``name``, ``edition``
    required; ``title``, ``admin_code`` optional), then a header line, then one row
    per change::

        # name: demo
        # edition: cjt214-2007
        action,kind,class_code,code,name,aliases,department,note
        extend,component,21,2101,防蚊闸,,环境卫生管理部门,
        override,component,01,0118,,,市路灯管理处,
        disable,component,06,0605,,,,

    ``extend`` adds a subclass; ``override`` replaces the non-blank fields of an
    existing one (a new name keeps the old one as an alias); ``disable`` drops one.
    Aliases are separated by ``|``. Other ``#`` lines and blank lines are ignored.

    Parameters
    ----------
    path : path-like
        The CSV file.
    encoding : str, default "utf-8-sig"
        Text encoding; pass ``"gbk"`` for files saved by a Chinese-locale spreadsheet.

    Returns
    -------
    CityProfile

    Raises
    ------
    ProfileError
        On any bad line: unknown edition, action, kind or class, a code outside its
        class or of the wrong length, a duplicate code or name. The message and
        ``problems`` give the file, line and reason of every bad line; nothing is
        returned.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        msg = f"{p}: not readable as {encoding} ({exc.reason}); try encoding='gbk'"
        raise ProfileError(msg, [problem(str(p), None, None, None, msg)]) from None
    except OSError as exc:
        msg = f"{p}: cannot read profile: {exc.strerror}"
        raise ProfileError(msg, [problem(str(p), None, None, None, msg)]) from None
    return _parse_profile(text, str(p))


# Records a problem of a profile: (line, field, reason, value).
_Bad = Callable[[int | None, str | None, str, object], None]


def _parse_profile(text: str, source: str) -> CityProfile:
    """The profile written in ``text`` (read from ``source``), or ProfileError."""
    problems: list[Problem] = []

    def bad(line: int | None, fld: str | None, reason: str, value: object = None) -> None:
        problems.append(problem(source, line, fld, value, reason))

    meta, rows = _profile_lines(text, bad)
    edition, admin_code = _profile_meta(meta, bad)
    if edition is None or problems:
        _raise_profile(source, problems)
    assert edition is not None
    tables = _Tables.of(edition)
    for lineno, r in rows:
        _apply_row(tables, edition, lineno, r, source, bad)
    if problems:
        _raise_profile(source, problems)
    return _build_profile(
        name=meta["name"],
        title=meta.get("title") or meta["name"],
        edition=edition,
        admin_code=admin_code,
        subclasses={k: tables.subs[k].values() for k in KINDS},
        source=source,
    )


def _profile_lines(text: str, bad: _Bad) -> tuple[dict[str, str], list[tuple[int, dict[str, str]]]]:
    """The ``# key: value`` metadata and the data rows (line number, cells by column)."""
    meta: dict[str, str] = {}
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            m = re.match(r"#\s*([A-Za-z_]+)\s*:\s*(.*)$", line)
            if header is None and m and m.group(1) in _META_KEYS:
                key = m.group(1)
                if key in meta:
                    bad(lineno, key, f"metadata {key!r} given twice", None)
                meta[key] = m.group(2).strip()
            continue
        cells = [c.strip() for c in next(csv.reader([raw]))]
        if header is None:
            header = cells
            _check_header(lineno, header, bad)
            continue
        if len(cells) > len(header):
            bad(lineno, None, f"{len(cells)} cells but the header has {len(header)} columns", None)
            continue
        rows.append(
            (lineno, dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True)))
        )
    if header is None:
        bad(None, None, "no header line (action,kind,class_code,code,...)", None)
    return meta, rows


def _check_header(lineno: int, header: list[str], bad: _Bad) -> None:
    unknown = [c for c in header if c not in _PROFILE_COLUMNS]
    missing = [c for c in _REQUIRED_COLUMNS if c not in header]
    if unknown:
        bad(lineno, None, f"unknown column(s) {unknown}; allowed: {list(_PROFILE_COLUMNS)}", None)
    if missing:
        bad(lineno, None, f"missing column(s) {missing}", None)
    if len(set(header)) != len(header):
        bad(lineno, None, "a column name is repeated", None)


def _profile_meta(meta: dict[str, str], bad: _Bad) -> tuple[Edition | None, str | None]:
    """The edition and the county ``admin_code`` the metadata names (checked)."""
    for key in ("name", "edition"):
        if not meta.get(key):
            bad(None, key, f"missing metadata line '# {key}: ...' before the header", None)
    edition: Edition | None = None
    if meta.get("edition"):
        try:
            edition = get_edition(meta["edition"])
        except UnknownCodeError as exc:
            bad(None, "edition", str(exc), meta["edition"])
    admin_code = meta.get("admin_code") or None
    if admin_code is not None and not re.fullmatch(r"\d{6}", admin_code):
        bad(None, "admin_code", "admin_code must be 6 digits (GB/T 2260 county code)", admin_code)
    return edition, admin_code


@dataclass
class _Tables:
    """The subclasses being edited by a profile, and which line or code owns what."""

    subs: dict[Kind, dict[str, Subclass]]
    defined_on: dict[tuple[Kind, str], int]  # (kind, code) -> profile line
    name_owner: dict[tuple[Kind, str], str]  # (kind, normalised name) -> code

    @classmethod
    def of(cls, edition: Edition) -> _Tables:
        subs: dict[Kind, dict[str, Subclass]] = {
            k: {s.code: s for s in standard_subclasses(edition.name, k)} for k in KINDS
        }
        owner = {(k, normalize_name(s.name)): s.code for k in KINDS for s in subs[k].values()}
        return cls(subs, {}, owner)


def _check_row(
    t: _Tables, edition: Edition, lineno: int, r: dict[str, str], bad: _Bad
) -> tuple[Kind, dict[str, tuple[str, bool]]] | None:
    """The row's kind and that kind's classes, or None (and a problem) if the row is bad."""
    action, kind, class_code, code = r["action"], r["kind"], r["class_code"], r["code"]
    if action not in _ACTIONS:
        bad(lineno, "action", f"unknown action {action!r}; use one of {list(_ACTIONS)}", action)
        return None
    if kind not in KINDS:
        bad(lineno, "kind", f"unknown kind {kind!r}; use component or event", kind)
        return None
    classes = _classes(edition.name, kind)  # type: ignore[arg-type]
    if class_code not in classes:
        known = ", ".join(sorted(classes))
        reason = f"unknown {kind} class {class_code!r} in {edition.name}; known: {known}"
        bad(lineno, "class_code", reason, class_code)
        return None
    if not re.fullmatch(rf"\d{{{edition.code_length}}}", code):
        bad(lineno, "code", f"code must be {edition.code_length} digits in {edition.name}", code)
        return None
    if not code.startswith(class_code):
        bad(lineno, "code", f"code {code} is outside its class {class_code}", code)
        return None
    key = (kind, code)
    if key in t.defined_on:
        bad(lineno, "code", f"duplicate code {code} (already on line {t.defined_on[key]})", code)
        return None
    t.defined_on[key] = lineno
    return kind, classes  # type: ignore[return-value]


def _apply_row(
    t: _Tables, edition: Edition, lineno: int, r: dict[str, str], source: str, bad: _Bad
) -> None:
    """Apply one ``extend`` / ``override`` / ``disable`` row to the tables."""
    checked = _check_row(t, edition, lineno, r, bad)
    if checked is None:
        return
    kind, classes = checked
    action, class_code, code = r["action"], r["class_code"], r["code"]
    table = t.subs[kind]
    aliases = tuple(a.strip() for a in r.get("aliases", "").split("|") if a.strip())
    if action == "extend":
        if code in table:
            reason = f"duplicate code {code}: already the subclass {table[code].name!r}"
            bad(lineno, "code", reason, code)
            return
        if not r.get("name"):
            bad(lineno, "name", "an extended subclass needs a name", None)
            return
        new = Subclass(
            kind=kind,
            edition=edition.name,
            code=code,
            name=r["name"],
            class_code=class_code,
            class_name=classes[class_code][0],
            aliases=aliases,
            department=r.get("department", ""),
            verified=False,
            extension=True,
            source=f"{source} line {lineno}" + (f": {r['note']}" if r.get("note") else ""),
        )
    else:
        if code not in table:
            reason = f"cannot {action} {code}: no such {kind} subclass in {edition.name}"
            bad(lineno, "code", reason, code)
            return
        old = table[code]
        if action == "disable":
            del table[code]
            t.name_owner.pop((kind, normalize_name(old.name)), None)
            return
        new = _overridden(old, r, aliases, f"{source} line {lineno}")
        if new.name != old.name:
            t.name_owner.pop((kind, normalize_name(old.name)), None)
    nkey = (kind, normalize_name(new.name))
    if t.name_owner.get(nkey, code) != code:
        reason = f"duplicate name {new.name!r}: already subclass {t.name_owner[nkey]}"
        bad(lineno, "name", reason, new.name)
        return
    t.name_owner[nkey] = code
    table[code] = new


def _overridden(old: Subclass, r: dict[str, str], aliases: tuple[str, ...], where: str) -> Subclass:
    """``old`` with the row's non-blank fields; a new name keeps the old one as an alias."""
    new_name = r.get("name") or old.name
    kept = old.aliases + ((old.name,) if new_name != old.name else ())
    return replace(
        old,
        name=new_name,
        aliases=tuple(dict.fromkeys(kept + aliases)),
        department=r.get("department") or old.department,
        source=f"{old.source}; overridden by {where}",
    )


def _raise_profile(source: str, problems: list[Problem]) -> None:
    lines = [format_problem(p) for p in problems]
    shown = "\n  ".join(lines[:20]) + (
        f"\n  … and {len(lines) - 20} more" if len(lines) > 20 else ""
    )
    msg = f"bad city profile {source}: {len(problems)} problem(s)\n  {shown}"
    raise ProfileError(msg, problems)


# --------------------------------------------------------------------------- lookups


def find_subclass(profile: CityProfile, text: str, *, kind: Kind = "component") -> Subclass:
    """Find a subclass by code, name or alias.

    Parameters
    ----------
    profile : CityProfile
    text : str
        A code (``"0104"``), a canonical name (``"雨水箅子"``) or an alias
        (``"雨水篦子"``, ``"输油(气)井盖"``); names are matched after
        :func:`normalize_name`.
    kind : {"component", "event"}

    Returns
    -------
    Subclass

    Raises
    ------
    UnknownCodeError
        If nothing in the profile matches.

    Examples
    --------
    >>> p = standard_profile()
    >>> find_subclass(p, "输油(气)井盖").code
    '0129'
    >>> find_subclass(p, "道路保洁", kind="event").name
    '道路不洁'
    """
    table = profile.subclasses(kind)
    key = text.strip()
    if key in table:
        return table[key]
    code = profile._names.get((kind, normalize_name(key)))
    if code is None:
        msg = (
            f"unknown {kind} subclass {text!r} in profile {profile.name!r} ({profile.edition.name})"
        )
        raise UnknownCodeError(msg)
    return table[code]


def profile_table(profile: CityProfile, kind: Kind = "component") -> list[dict[str, object]]:
    """The profile's subclasses as rows, ready for ``pandas.DataFrame`` or CSV.

    Parameters
    ----------
    profile : CityProfile
    kind : {"component", "event"}

    Returns
    -------
    list of dict
        Keys ``class_code, class_name, code, name, aliases, department, extension,
        verified``; aliases joined with ``|``.
    """
    return [
        {
            "class_code": s.class_code,
            "class_name": s.class_name,
            "code": s.code,
            "name": s.name,
            "aliases": "|".join(s.aliases),
            "department": s.department,
            "extension": s.extension,
            "verified": s.verified,
        }
        for s in profile.subclasses(kind).values()
    ]

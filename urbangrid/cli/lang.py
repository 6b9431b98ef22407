"""Output language of the command line (``--lang zh|en``) and its Chinese terms.

Chinese when asked (``--lang zh``), else when the locale is Chinese (``LC_ALL``,
``LC_MESSAGES`` or ``LANG`` starting ``zh``), else English. Table headers in Chinese are
the terms of the 数字城管 standards (GB/T 30428, see docs/glossary.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import click

__all__ = ["TERMS", "glossed", "header", "lang_option", "note", "resolve_lang", "write_counts"]

#: Column or label → its Chinese term (the standards' wording where they have one).
TERMS: dict[str, str] = {
    "area": "巡查区域", "km²": "面积 km²", "street km": "道路 km", "route km": "路线 km",
    "minutes": "时长 分钟", "deadhead %": "空驶 %", "gap to bound %": "距下界 %",
    "grid_code": "单元网格编码", "work_grid_code": "工作网格编码",
    "community_code": "社区代码", "street_code": "街道代码", "district_code": "区县代码",
    "community_name": "社区", "street_name": "街道", "district_name": "区县",
    "street": "道路", "anchor": "参照点", "level": "匹配级别", "confidence": "置信度",
    "lon": "经度", "lat": "纬度", "name": "名称", "area_m2": "面积 m²",
    "change": "变更", "old_code": "原编码", "new_code": "新编码", "feature": "要素",
    "component_id": "部件标识码", "problem": "问题", "severity": "级别",
    # staffing (人员配置) and district plans (巡查方案)
    "kind": "类别", "n_grids": "单元网格数", "grade1": "一级网格", "grade2": "二级网格",
    "grade3": "三级网格", "area_km2": "面积 km²", "grids_low": "按网格 下限",
    "grids_high": "按网格 上限", "area_per_shift": "按面积 每班", "area_headcount": "按面积 人数",
    "time_per_shift": "按时间 每班", "grade1_extra": "一级道路 错峰加配",
    "time_headcount": "按时间 人数", "area_code": "巡查区域", "roads": "道路",
    "streets": "道路段数", "patrol_km": "巡查里程 km", "service_min": "巡查 分钟",
    "riding_min": "骑行 分钟", "with_turns_min": "含转弯 分钟", "deadhead_pct": "空驶 %",
    "rounds_per_shift": "每班圈数", "max_revisit_min": "最长重访间隔 分钟",
    "collectors": "采集员",
    # layers a command writes (--save)
    "collector_area": "采集员责任区", "patrol_route": "巡查路线",
    # notes
    "grade-1 road": "一级道路", "grade-2 road": "二级道路",
    # travel modes (routing/patrol/modes.toml)
    "walk": "步行", "bike": "自行车", "ebike": "电动自行车", "car": "汽车",
}

#: A Chinese gloss in brackets after an English term, as the library writes them:
#: " (按网格数)" in "grids (按网格数): …".
_GLOSS = re.compile(r" ?\((?=[^()]*[\u3400-\u9fff])[^()]*\)")


def resolve_lang(lang: str | None) -> str:
    """``"zh"`` or ``"en"``: `lang` if given, else from the locale."""
    if lang:
        return lang
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def header(name: str, lang: str) -> str:
    """`name` as a table header in `lang` (unknown names stay as they are)."""
    return TERMS.get(name, name) if lang == "zh" else name


def glossed(text: str, lang: str) -> str:
    """Library text (English, Chinese terms in brackets) for `lang`: the bracketed
    Chinese glosses kept under ``zh``, dropped under ``en``.

    Examples
    --------
    >>> glossed("  grids (按网格数): 2 collectors", "en")
    '  grids: 2 collectors'
    """
    return text if lang == "zh" else _GLOSS.sub("", text)


def note(text: str, lang: str) -> str:
    """A printed note (text already in `lang`) with its label: ``注：`` or ``note: ``."""
    return f"注：{text}" if lang == "zh" else f"note: {text}"


def write_counts(layer: str, result: Any, lang: str) -> str:
    """What a write did to `layer`, in `lang`: ``collector_area: 3 new, 0 changed, …``.

    `result` is a store write's result (``inserted``, ``updated``, ``unchanged``,
    ``retired``); under ``zh`` the layer is named by its term, its table name beside it.
    """
    r = result
    if lang == "zh":
        name = header(layer, lang)
        shown = f"{name}（{layer}）" if name != layer else layer
        return (f"{shown}：新增 {r.inserted}，变更 {r.updated}，未变 {r.unchanged}，"
                f"停用 {r.retired}")
    return (f"{layer}: {r.inserted} new, {r.updated} changed, {r.unchanged} unchanged, "
            f"{r.retired} retired")


def lang_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--lang zh|en`` option (default: from the locale)."""
    return click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
                        help="Language of tables and messages (default: zh when the "
                             "locale is Chinese, else en).")(func)

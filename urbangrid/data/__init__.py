"""Real data bundled with urbangrid for the demo and tests (see SOURCES.md here)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["data_path"]


def data_path(relative: str) -> Path:
    """Path of a bundled file, e.g. ``data_path("osm/beijing_haidian_wudaokou.osm.bz2")``.

    Raises FileNotFoundError naming the file when it is not bundled.
    """
    path = Path(str(resources.files("urbangrid.data") / relative))
    if not path.exists():
        raise FileNotFoundError(f"urbangrid bundles no data file {relative!r}")
    return path

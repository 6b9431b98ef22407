"""README.md's Python runs verbatim and prints what its comments say.

The code blocks of "Library in five lines" and "Library tour" are run in order, as one
script, in a fresh folder (they write ``district.gpkg``, ``communities.geojson`` and
``route.gpx`` where they run). After a ``print(...)``, the first comment line shows
the start of what it prints: ``...`` elides, and text after three spaces is a remark.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def tour_blocks(text: str) -> list[str]:
    """The ```python blocks from "## Library in five lines" up to "## Public API"."""
    start = text.index("## Library in five lines")
    end = text.index("## Public API")
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.DOTALL)


def expected_prints(block: str) -> list[str]:
    """Pieces of output each print's first comment line promises (see module doc)."""
    pieces: list[str] = []
    lines = block.splitlines()
    in_print = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("print("):
            in_print = True
            continue
        if in_print and stripped.startswith("# "):
            text = stripped[2:].split("   (")[0]
            pieces += [p.strip() for p in text.split("...") if p.strip()]
            in_print = False
        elif stripped and not stripped.startswith("#") and in_print and not line[0].isspace():
            in_print = False  # a print without a comment promises nothing
    return pieces


def test_readme_has_the_two_set_up_commands_only() -> None:
    text = README.read_text(encoding="utf-8")
    shell = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    make = {line.split("#")[0].strip() for block in shell for line in block.splitlines()
            if line.startswith("make ")}
    assert make == {"make demo", "make test"}


def test_tour_uses_only_the_public_api() -> None:
    code = "\n".join(tour_blocks(README.read_text(encoding="utf-8")))
    imports = re.findall(r"^\s*(?:from\s+(\S+)\s+import|import\s+(\S+))", code, re.MULTILINE)
    modules = {a or b for a, b in imports}
    assert modules <= {"urbangrid", "geopandas", "shapely"}, modules
    assert "urbangrid.demo" not in code and "demo" not in re.sub(r"demo_profile", "", code)


def test_readme_tour_runs_verbatim(tmp_path: Path) -> None:
    blocks = tour_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) == 2
    script = tmp_path / "tour.py"
    script.write_text("\n".join(blocks), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "route.gpx").exists()
    for block in blocks:
        for piece in expected_prints(block):
            assert piece in done.stdout, (piece, done.stdout)

"""Benchmark: how long the command line takes to answer ``--help``.

Issue 22 asks for ``urbangrid --help`` ≤ 0.3 s (it took 1.7 s when every command
module was imported up front). One run prints, side by side, the median wall time of
``--repeat`` fresh processes for:

* ``urbangrid --help`` and the help of commands people type first (``route``,
  ``locate``, ``reverse``, ``admin load``, ``grids generate``): each loads only its
  own module;
* peers on the same machine: the bare interpreter (``python -c pass``, the floor any
  Python CLI pays), ``python -c "import click"``, and GDAL's ``ogrinfo --help`` /
  ``gdalinfo --help`` (C++ tools a GIS officer knows) when installed.

Usage::

    python benchmarks/cli.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 0.3


def _urbangrid() -> list[str]:
    exe = Path(sys.executable).with_name("urbangrid")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "urbangrid.cli.main"]


def median_s(argv: list[str], repeat: int) -> float:
    """Median wall time (s) of `repeat` runs of `argv`, output discarded; one warm-up."""
    times = []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if i:  # the first run warms the file cache
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    ug = _urbangrid()
    cases: list[tuple[str, list[str]]] = [
        ("urbangrid --help", [*ug, "--help"]),
        ("urbangrid route --help", [*ug, "route", "--help"]),
        ("urbangrid locate --help", [*ug, "locate", "--help"]),
        ("urbangrid reverse --help", [*ug, "reverse", "--help"]),
        ("urbangrid admin load --help", [*ug, "admin", "load", "--help"]),
        ("urbangrid grids generate --help", [*ug, "grids", "generate", "--help"]),
        ("peer: python -c pass", [sys.executable, "-c", "pass"]),
        ("peer: python -c 'import click'", [sys.executable, "-c", "import click"]),
    ]
    for tool in ("ogrinfo", "gdalinfo"):
        if shutil.which(tool):
            cases.append((f"peer: {tool} --help", [tool, "--help"]))
    print(f"median of {args.repeat} fresh processes each; target for urbangrid --help "
          f"≤ {TARGET_S:.1f} s")
    print(f"{'command':<36}{'median s':>10}")
    for name, argv in cases:
        s = median_s(argv, args.repeat)
        flag = "" if not name.startswith("urbangrid --help") else (
            "  ok" if s <= TARGET_S else "  OVER TARGET")
        print(f"{name:<36}{s:>10.3f}{flag}")
        if name == "urbangrid --help":
            print("RESULT " + json.dumps({
                "benchmark": "cli", "what": "urbangrid --help (s)",
                "peer": f"target {TARGET_S:.1f} s", "mode": "cold, new process each",
                "statistic": "median", "urbangrid_s": s, "peer_s": TARGET_S,
                "ratio": TARGET_S / s, "command": "python benchmarks/cli.py"}))  # fmt: skip


if __name__ == "__main__":
    main()

"""Run the benchmarks and print one table of urbangrid against its peers.

Each benchmark runs as its own process (as a user would run it) and prints, besides its
own report, ``RESULT {json}`` lines: what was measured, the peer, cold or warm, the
statistic (median of the same number of runs for both sides), both figures and their
ratio. This script collects those lines into one table; benchmarks that need a server
or data the checkout does not have say so in one line instead of failing the run.

``--quick`` uses small sizes (a few minutes on two cores); without it the sizes of
docs/benchmarks.md. ``--only assign,first_call`` runs some of them. Each row carries
the one-minute load average when its benchmark finished, marked "busy" above 2 (the
machine has 2 cores shared with other work: its absolute figures are then high, its
ratios less affected). The routing benchmarks (``routing.py``, ``patrol.py``,
``carp.py``) report optimality gaps and costs rather than ratios and are run on their
own.

Usage::

    python benchmarks/run_all.py [--quick] [--dsn postgresql://...] [--only NAMES] [--log-dir DIR]

``--log-dir`` keeps each benchmark's full output (``DIR/NAME.log``): the figures the
table leaves out (steps, best runs, thread counts, agreement checks).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _plan(quick: bool, dsn: str | None) -> list[tuple[str, list[str]]]:
    """(name, arguments) of every benchmark, in the order of docs/benchmarks.md."""
    pg = ["--dsn", dsn] if dsn else []
    assign = ["--polygons", "20000", "--points", "300000"] if quick else []
    return [
        ("first_call", ["--repeat", "3" if quick else "5"]),
        ("assign", [*assign, "--repeat", "3", *pg]),
        ("locate_cli", ["--repeat", "3" if quick else "7",
                        *(["--rows", "200000"] if quick else [])]),
        ("geocode", (["--n", "2000", "--points", "100000", "--pg-n", "200"] if quick else [])
         + pg),
        ("grids", ["--repeat", "1" if quick else "3"]),
        ("cli", ["--repeat", "5" if quick else "15"]),
        ("components_load", ["--repeat", "1" if quick else "3", *pg]),
        ("answers", ["--calls", "100" if quick else "300", *pg]),
    ]  # fmt: skip


def _run(
    name: str, args: list[str], log_dir: Path | None = None
) -> tuple[list[dict[str, object]], str, float]:
    script = HERE / f"{name}.py"
    if not script.is_file():
        return [], f"no benchmarks/{name}.py in this checkout", 0.0
    t = time.perf_counter()
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          check=False, cwd=HERE.parent,
                          env={**os.environ, "PYTHONPATH": str(HERE)})  # fmt: skip
    elapsed = time.perf_counter() - t
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / f"{name}.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    results = []
    load = os.getloadavg()[0]
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            results.append({"load": load, **json.loads(line[len("RESULT ") :])})
    note = ""
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "?").splitlines()[-1]
        note = f"did not finish: {last}"
    elif not results:
        note = "ran; no ratio to report (see its own output)"
    return results, note, elapsed


def _load(row: dict[str, object]) -> str:
    load = float(str(row.get("load", 0.0)))
    return f"{load:.1f}" + (" busy" if load > 2 else "")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 1000 else f"{value:,.0f}"
    return str(value)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--dsn", default=os.environ.get("URBANGRID_TEST_DSN"))
    ap.add_argument("--only", default="")
    ap.add_argument("--log-dir", type=Path, default=None, help="keep each full output here")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    rows: list[dict[str, object]] = []
    notes: list[str] = []
    for name, bench_args in _plan(args.quick, args.dsn):
        if only and name not in only:
            continue
        print(f"running benchmarks/{name}.py {' '.join(bench_args)} ...", flush=True)
        results, note, secs = _run(name, bench_args, args.log_dir)
        rows.extend(results)
        if note:
            notes.append(f"{name}: {note}")
        print(f"  {len(results)} results in {secs:.0f} s{'; ' + note if note else ''}",
              flush=True)  # fmt: skip
    head = ("benchmark", "what", "peer", "mode", "urbangrid", "peer value", "ratio", "load")
    table = [[str(r.get("benchmark")), str(r.get("what")), str(r.get("peer")),
              f"{r.get('mode')}, {r.get('statistic')}", _fmt(r.get("urbangrid_s")),
              _fmt(r.get("peer_s")), f"{float(str(r.get('ratio'))):.2f}x", _load(r)]
             for r in rows]  # fmt: skip
    widths = [max(len(h), *(len(t[i]) for t in table)) if table else len(h)
              for i, h in enumerate(head)]  # fmt: skip
    print()
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    for t in table:
        print("  ".join(c.ljust(w) for c, w in zip(t, widths, strict=True)))
    print(
        "\nratio > 1: urbangrid is faster than the peer (or better than the target) by that "
        "factor; seconds unless the row says otherwise; load: 1-minute load average when "
        f"the benchmark finished ({os.cpu_count()} cores; busy > 2)"
    )
    for n in notes:
        print(f"note: {n}")


if __name__ == "__main__":
    main()

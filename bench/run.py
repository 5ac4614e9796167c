"""Every benchmark in one command: one table, exit 1 if any row misses its bar.

    python bench/run.py [--seconds 1.5] [NAME ...]

Runs the bench modules of BENCHES (or the NAMEs given) in this process, one after the other. A
module that has ``results(seconds) -> list[measure.Result]`` contributes its rows; any other is run
as a script (``python bench/NAME.py``) and contributes one row, PASS when it exits 0. Each
measures its own baseline in the same run (see the module's docstring), so the ratios are what
count on a shared, noisy machine. The whole run takes about two minutes; five at most.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from measure import Result, check, print_table  # noqa: E402

# The bench modules run by default, in this order (bench/<name>.py).
BENCHES = [
    "sign",
    "verify",
    "status",
    "hostile",
    "http_load",
    "batch",
]

# Scripts run as a whole that take --seconds (the others measure a fixed number of repeats).
TIMED_SCRIPTS = {"status", "http_load"}
# A script run as a whole gets at most this long (the batch bench issues and verifies 10,000).
SCRIPT_TIMEOUT_SECONDS = {"batch": 180}
DEFAULT_SCRIPT_TIMEOUT_SECONDS = 150


def run(name: str, seconds: float) -> list[Result]:
    module = importlib.import_module(name)
    if hasattr(module, "results"):
        return [row._replace(what=f"{name}: {row.what}") for row in module.results(seconds)]
    timeout = SCRIPT_TIMEOUT_SECONDS.get(name, DEFAULT_SCRIPT_TIMEOUT_SECONDS)
    try:
        # http_load takes whole seconds per row, and twice the time: wrk's rates settle slower
        given = str(max(1, round(seconds * 2))) if name == "http_load" else str(seconds)
        timing = ["--seconds", given] if name in TIMED_SCRIPTS else []
        completed = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *timing],
                                   capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [check(f"{name}: the whole script", False, f"did not finish in {timeout} s")]
    print(completed.stdout, flush=True)  # its own table, with the figures behind its row here
    # its failed rows: lines that start with FAIL, or table rows (http_load's) that end in one
    failed = [line.strip() for line in completed.stdout.splitlines()
              if line.startswith("FAIL") or (line.startswith("|") and "| FAIL" in line)]
    note = "; ".join(failed) or (completed.stderr.strip().splitlines() or [""])[-1] if completed.returncode else ""
    return [check(f"{name}: the whole script (its own PASS/FAIL lines)", completed.returncode == 0, note)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="time spent measuring each operation")
    parser.add_argument("names", nargs="*", default=BENCHES, help="bench modules to run (default: all)")
    args = parser.parse_args()
    started = time.monotonic()
    rows: list[Result] = []
    for name in args.names:
        rows.extend(run(name, args.seconds))
    print_table(rows)
    print(f"{len(rows)} rows, {sum(not r.passed for r in rows)} failed, in {time.monotonic() - started:.0f} s")
    return 0 if all(row.passed for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

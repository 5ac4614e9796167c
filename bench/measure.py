"""What the bench scripts share: interleaved timing and one result row per measured ratio.

A bench script that `bench/run.py` lists exposes ``results(seconds) -> list[Result]``; run as a
script it prints its own rows and exits 1 when any misses its bar.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import NamedTuple


class Result(NamedTuple):
    """One measured ratio: ``ours`` and ``baseline`` in ``unit``; ``ratio`` must reach ``bar``."""

    what: str
    ours: float
    baseline: float
    ratio: float
    bar: float
    unit: str = "ms"
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.ratio >= self.bar


def check(what: str, passed: bool, note: str = "") -> Result:
    """A yes/no condition (e.g. identical output) as a row: ratio 1 and bar 1 when it holds."""
    return Result(what, float("nan"), float("nan"), 1.0 if passed else 0.0, 1.0, "", note)


def alternate(operations: dict[str, Callable[[], object]], seconds: float, minimum: int = 20) -> dict[str, float]:
    """Median seconds of each operation, timed in turn (so all see the same machine load) until
    ``seconds`` per operation have passed and each ran at least ``minimum`` times."""
    for operation in operations.values():
        operation()  # warm caches
    samples: dict[str, list[float]] = {name: [] for name in operations}
    deadline = time.perf_counter() + len(operations) * seconds
    while time.perf_counter() < deadline or min(len(s) for s in samples.values()) < minimum:
        for name, operation in operations.items():
            start = time.perf_counter()
            operation()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def print_table(results: list[Result]) -> None:
    print(f"{'what':66s} {'ours':>10s} {'baseline':>10s} {'ratio':>8s} {'bar':>6s}  result")
    for r in results:
        ours = "" if r.ours != r.ours else f"{r.ours:.3f}{r.unit}"
        baseline = "" if r.baseline != r.baseline else f"{r.baseline:.3f}{r.unit}"
        print(f"{r.what:66s} {ours:>10s} {baseline:>10s} {r.ratio:>7.2f}x {r.bar:>5g}x  "
              f"{'PASS' if r.passed else 'FAIL'}{'  ' + r.note if r.note else ''}")


def run_alone(results: Callable[[float], list[Result]], description: str) -> int:
    """A bench module's `main`: measure with `--seconds`, print the table, exit 1 when a row fails."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time spent measuring each operation")
    rows = results(parser.parse_args().seconds)
    print_table(rows)
    return 0 if all(row.passed for row in rows) else 1

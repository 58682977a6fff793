#!/usr/bin/env python3
"""Runs whole commands in turn, N rounds (A, B, C, A, B, C, ...), after one warm-up run of
each, and prints each one's median, mean and minimum wall time. On a busy machine the load
drifts; running the commands in turn spreads the drift over all of them alike, so a
difference between them is one they have, not one between two stretches of time.

    scripts/bench/interleave.py N "CMD A" "CMD B" ...

A command is split on spaces (no shell). A command that fails stops the run.
"""
import statistics
import subprocess
import sys
import time


def main() -> int:
    if len(sys.argv) < 3 or not sys.argv[1].isdigit():
        print(__doc__.strip(), file=sys.stderr)
        return 2
    rounds = int(sys.argv[1])
    commands = sys.argv[2:]
    argvs = [c.split() for c in commands]
    times: list[list[float]] = [[] for _ in argvs]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
    for argv in argvs:
        subprocess.run(argv, **quiet)
    for _ in range(rounds):
        for argv, ts in zip(argvs, times):
            start = time.perf_counter()
            subprocess.run(argv, **quiet)
            ts.append(time.perf_counter() - start)
    for command, ts in zip(commands, times):
        print(
            f"median {statistics.median(ts) * 1000:7.1f} ms  "
            f"mean {statistics.mean(ts) * 1000:7.1f}  min {min(ts) * 1000:7.1f}  {command}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

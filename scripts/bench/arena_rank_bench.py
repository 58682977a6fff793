#!/usr/bin/env python3
"""Times LMArena's arena-rank (0.1.1) on a battle log and writes its ratings, so that
`scripts/bench/run.sh` can compare speed and numbers with arena on the same file.

Usage: arena_rank_bench.py LOG.jsonl OUT.json [--bootstrap N]
Needs: pip install arena-rank==0.1.1 pandas
"""
import argparse
import json
import time

import numpy as np
import pandas as pd


def fit(df, ci_method, rounds):
    from arena_rank.models.bradley_terry import BradleyTerry
    from arena_rank.utils.data_utils import PairDataset

    dataset = PairDataset.from_pandas(df)
    model = BradleyTerry(n_competitors=len(dataset.competitors))
    res = model.compute_ratings_and_cis(
        dataset, significance_level=0.05, ci_method=ci_method, num_bootstrap=rounds, seed=0
    )
    return {k: (list(v) if k == "competitors" else np.asarray(v).tolist()) for k, v in res.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("out")
    ap.add_argument("--bootstrap", type=int, default=100)
    args = ap.parse_args()
    # arena-rank's bootstrap uses a process pool; forking after JAX has started its threads
    # deadlocks, so workers are spawned.
    import multiprocessing

    multiprocessing.set_start_method("spawn", force=True)
    import arena_rank.models.bradley_terry  # noqa: F401  (switches JAX to float64)

    t0 = time.perf_counter()
    df = pd.read_json(args.log, lines=True)
    read_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    sandwich = fit(df, "sandwich", 0)
    sandwich_s = time.perf_counter() - t0

    out = {
        "rows": len(df),
        "read_seconds": read_s,
        "fit_sandwich_seconds": sandwich_s,
        "sandwich": sandwich,
    }
    if args.bootstrap:
        t0 = time.perf_counter()
        boot = fit(df, "bootstrap", args.bootstrap)
        out["bootstrap_rounds"] = args.bootstrap
        out["bootstrap_seconds"] = time.perf_counter() - t0
        out["bootstrap"] = boot
    with open(args.out, "w") as f:
        json.dump(out, f)
    print(json.dumps({k: v for k, v in out.items() if not isinstance(v, dict)}))


if __name__ == "__main__":  # spawned workers import this module again
    main()

#!/usr/bin/env python3
"""Times LMArena's arena-rank (0.1.1) ContextualBradleyTerry (style control, sandwich
intervals, its defaults) on a CSV of votes with style counts, as written by
`ARENA_BENCH_STYLE_CSV=FILE cargo bench --bench ratings`, and writes its ratings and
coefficients.

Usage: arena_rank_style_bench.py VOTES.csv OUT.json
Set ARENA_RANK_TIGHT=1 to fit with the tolerances of the fixtures' `_tight` runs (ftol 1e-16,
gtol 1e-12, 100,000 iterations) instead of its defaults (1e-9, 1e-9, 1,000): the gap between
the two runs is how far the default stops from the optimum.
Needs: pip install arena-rank==0.1.1 pandas
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd

FEATURES = ["sum_assistant_tokens", "header_count", "list_count", "bold_count"]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    from arena_rank.models.contextual_bradley_terry import ContextualBradleyTerry
    from arena_rank.utils.data_utils import ContextualPairDataset

    t0 = time.perf_counter()
    df = pd.read_csv(sys.argv[1])
    read_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    df = df.rename(
        columns={
            "sum_assistant_a_tokens": "sum_assistant_tokens_a",
            "sum_assistant_b_tokens": "sum_assistant_tokens_b",
        }
    )
    for f in FEATURES:
        a, b = df[f + "_a"], df[f + "_b"]
        df[f] = (a - b) / (a + b).replace(0, 1)
    dataset = ContextualPairDataset.from_pandas(df, FEATURES)
    tight = os.environ.get("ARENA_RANK_TIGHT") == "1"
    kwargs = {"ftol": 1e-16, "gtol": 1e-12, "max_iter": 100000} if tight else {}
    model = ContextualBradleyTerry(len(dataset.competitors), len(FEATURES), **kwargs)
    res = model.compute_ratings_and_cis(dataset, significance_level=0.05, ci_method="sandwich")
    fit_s = time.perf_counter() - t0
    out = {
        "rows": len(df),
        "read_seconds": read_s,
        "features_fit_sandwich_seconds": fit_s,
        "competitors": list(res["competitors"]),
        "ratings": np.asarray(res["ratings"]).tolist(),
        "lower": np.asarray(res["rating_lower"]).tolist(),
        "upper": np.asarray(res["rating_upper"]).tolist(),
        "coeffs": np.asarray(res["coeffs"]).tolist(),
    }
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)
    print(f"arena-rank ContextualBradleyTerry: {len(df)} votes, features + fit + sandwich {fit_s:.1f} s")


if __name__ == "__main__":
    main()

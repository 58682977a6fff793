#!/usr/bin/env python3
"""Regenerate the reference fixtures in tests/fixtures/reference/.

Runs the public reference implementations on pairwise-vote data and writes
their outputs as JSON so the Rust code can be checked against them:

  * LMArena's `arena-rank` 0.1.1 (PyPI): Bradley-Terry fit with its defaults,
    sandwich (robust) 95% confidence intervals and, optionally, its bootstrap.
  * FastChat's online Elo (`compute_elo` in fastchat/serve/monitor/elo_analysis.py,
    fschat 0.2.36 on PyPI; the same function is called `compute_online_elo` in the
    Chatbot Arena notebook), copied below line for line.

Alongside the arena-rank output, the script also writes an independent NumPy
computation (exact Newton MLE + the same sandwich formula) so that both the
package's output and the mathematically exact values are available.

This script is run by hand, never by CI. See README.md next to it.

Usage:
  python scripts/reference/make_reference.py --human PATH/TO/human.json \
      [--fschat-wheel PATH/TO/fschat-0.2.36-py3-none-any.whl] \
      [--bootstrap-rounds 1000] [--timing-bootstrap-rounds 100] [--timing-runs 3]
"""

import argparse
import ast
import hashlib
import json
import math
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import time
import zipfile
from collections import defaultdict
from importlib import metadata

import numpy as np
import pandas as pd

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "fixtures", "reference")

ARENA_RANK_VERSION = "0.1.1"
FSCHAT_VERSION = "0.2.36"

SCALE = 400.0
BASE = 10.0
INIT_RATING = 1000.0
ALPHA = SCALE / math.log(BASE)  # 400 / ln 10 = 173.7177927613007...
SIGNIFICANCE = 0.05
HESSIAN_REG = 1e-5  # arena-rank default BradleyTerry(hessian_reg=1e-5)
BOOTSTRAP_SEED = 42  # arena-rank default compute_ratings_and_cis(seed=42)

SYNTH_SEED = 20240601
SYNTH_VOTES = 500
SYNTH_MODELS = {  # true Bradley-Terry strengths (natural-log scale)
    "alpha": 0.8,
    "bravo": 0.35,
    "charlie": 0.0,
    "delta": -0.3,
    "echo": -0.85,
}
SYNTH_P_TIE = 0.15
SYNTH_P_BOTHBAD = 0.10


# --------------------------------------------------------------------------
# FastChat online Elo, copied from fschat 0.2.36,
# fastchat/serve/monitor/elo_analysis.py, function `compute_elo` (lines 22-43).
# Only the loop source changed: it iterates a list of dicts instead of a
# DataFrame's itertuples(); the arithmetic is identical, in the same order.
# --------------------------------------------------------------------------
def fastchat_online_elo(battles, K=4, SCALE=400, BASE=10, INIT_RATING=1000):
    rating = defaultdict(lambda: INIT_RATING)

    for row in battles:
        model_a, model_b, winner = row["model_a"], row["model_b"], row["winner"]
        ra = rating[model_a]
        rb = rating[model_b]
        ea = 1 / (1 + BASE ** ((rb - ra) / SCALE))
        eb = 1 / (1 + BASE ** ((ra - rb) / SCALE))
        if winner == "model_a":
            sa = 1
        elif winner == "model_b":
            sa = 0
        elif winner == "tie" or winner == "tie (bothbad)":
            sa = 0.5
        else:
            raise Exception(f"unexpected vote {winner}")
        rating[model_a] += K * (sa - ea)
        rating[model_b] += K * (1 - sa - eb)

    return dict(rating)


def upstream_fastchat_elo(wheel_path):
    """Load the untouched `compute_elo` from the fschat wheel (without importing
    fastchat and its dependencies) for a cross-check."""
    with zipfile.ZipFile(wheel_path) as zf:
        src = zf.read("fastchat/serve/monitor/elo_analysis.py").decode()
    tree = ast.parse(src)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "compute_elo")
    ns = {"defaultdict": defaultdict}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), "elo_analysis.py", "exec"), ns)
    return ns["compute_elo"], hashlib.sha256(src.encode()).hexdigest()


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def outcome_value(winner):
    # arena-rank default_outcome_map: model_a -> 1, model_b -> 0, anything else -> 0.5
    return {"model_a": 1.0, "model_b": 0.0}.get(winner, 0.5)


def versions():
    out = {"python": platform.python_version()}
    for pkg in ["arena-rank", "jax", "jaxlib", "optax", "numpy", "pandas"]:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def machine():
    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, allow_nan=False)
        f.write("\n")
    print("wrote", path)


# --------------------------------------------------------------------------
# independent NumPy computation (exact MLE + sandwich), for cross-checking
# --------------------------------------------------------------------------
def index_battles(rows, names):
    idx = {n: i for i, n in enumerate(names)}
    a = np.array([idx[r["model_a"]] for r in rows])
    b = np.array([idx[r["model_b"]] for r in rows])
    o = np.array([outcome_value(r["winner"]) for r in rows])
    return a, b, o


def laplacian(k, a, b, w):
    m = np.zeros((k, k))
    np.add.at(m, (a, a), w)
    np.add.at(m, (b, b), w)
    np.add.at(m, (a, b), -w)
    np.add.at(m, (b, a), -w)
    return m


def exact_mle(k, a, b, o):
    """Newton's method on the Bradley-Terry log-likelihood, mean(theta) = 0."""
    theta = np.zeros(k)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(theta[a] - theta[b])))
        g = np.zeros(k)
        np.add.at(g, a, o - p)
        np.add.at(g, b, -(o - p))
        h = laplacian(k, a, b, p * (1 - p))
        step = np.linalg.pinv(h) @ g
        theta = theta + step
        theta -= theta.mean()
        if np.max(np.abs(step)) < 1e-14:
            break
    return theta


def sandwich(theta, k, a, b, o, reg):
    """Per-battle sandwich: V = (H + reg I)^-1 G (H + reg I)^-1 with
    H = sum p(1-p) L_ab and G = sum (o - p)^2 L_ab. reg=None uses the
    Moore-Penrose pseudo-inverse of H instead of the ridge."""
    p = 1.0 / (1.0 + np.exp(-(theta[a] - theta[b])))
    h = laplacian(k, a, b, p * (1 - p))
    g = laplacian(k, a, b, (o - p) ** 2)
    hinv = np.linalg.pinv(h) if reg is None else np.linalg.inv(h + reg * np.eye(k))
    v = hinv @ g @ hinv
    return np.sqrt(np.diag(v))


def mean_nll(theta, a, b, o):
    d = theta[a] - theta[b]
    return float(np.mean(-(o * d - np.logaddexp(0.0, d))))


# --------------------------------------------------------------------------
# arena-rank
# --------------------------------------------------------------------------
def arena_rank_fit(df, ci_method="sandwich", num_bootstrap=100):
    from arena_rank.models.bradley_terry import BradleyTerry
    from arena_rank.utils.data_utils import PairDataset

    dataset = PairDataset.from_pandas(df)  # defaults: reweighted=False, default_outcome_map
    model = BradleyTerry(n_competitors=len(dataset.competitors))  # all defaults
    res = model.compute_ratings_and_cis(
        dataset,
        significance_level=SIGNIFICANCE,
        ci_method=ci_method,
        num_bootstrap=num_bootstrap,
        seed=BOOTSTRAP_SEED,
    )
    out = {k: (np.asarray(v) if k != "competitors" else list(v)) for k, v in res.items()}
    out["theta"] = np.asarray(model.params["ratings"])
    out["n_unique_rows"] = int(dataset.pairs.shape[0])
    return out


def bt_fixture(rows, df, source, bootstrap_rounds, timing):
    import arena_rank.models.bradley_terry  # noqa: F401  (switches JAX to float64 on import)
    import jax.scipy.stats

    z = float(jax.scipy.stats.norm.ppf(1 - SIGNIFICANCE / 2))
    assert abs(z - 1.959963984540054) < 1e-15, z
    res = arena_rank_fit(df)
    names = res["competitors"]
    k = len(names)
    n = len(rows)
    a, b, o = index_battles(rows, names)
    reg = HESSIAN_REG * n

    # cross-check of the sandwich formula at arena-rank's own theta
    se_check = sandwich(res["theta"], k, a, b, o, reg)
    lower_check = ALPHA * (res["theta"] - z * se_check) + INIT_RATING
    upper_check = ALPHA * (res["theta"] + z * se_check) + INIT_RATING
    formula_dev = float(max(np.max(np.abs(lower_check - res["rating_lower"])),
                            np.max(np.abs(upper_check - res["rating_upper"]))))

    # exact MLE and its sandwich (same ridge) and without ridge
    theta_x = exact_mle(k, a, b, o)
    se_x = sandwich(theta_x, k, a, b, o, reg)
    se_x_noreg = sandwich(theta_x, k, a, b, o, None)

    boot = None
    if bootstrap_rounds:
        t0 = time.perf_counter()
        boot = arena_rank_fit(df, ci_method="bootstrap", num_bootstrap=bootstrap_rounds)
        boot_secs = time.perf_counter() - t0

    battles_per_model = defaultdict(int)
    for r in rows:
        battles_per_model[r["model_a"]] += 1
        battles_per_model[r["model_b"]] += 1

    models = {}
    for i, name in enumerate(names):
        m = {
            "rating": float(res["ratings"][i]),
            "lower": float(res["rating_lower"][i]),
            "upper": float(res["rating_upper"][i]),
            "variance": float(res["variances"][i]),
            "theta": float(res["theta"][i]),
            "battles": battles_per_model[name],
            "exact_mle": {
                "rating": float(ALPHA * theta_x[i] + INIT_RATING),
                "lower": float(ALPHA * (theta_x[i] - z * se_x[i]) + INIT_RATING),
                "upper": float(ALPHA * (theta_x[i] + z * se_x[i]) + INIT_RATING),
                "theta": float(theta_x[i]),
                "std_err_theta": float(se_x[i]),
                "std_err_theta_pinv_no_ridge": float(se_x_noreg[i]),
            },
        }
        if boot is not None:
            m["bootstrap"] = {
                "lower": float(boot["rating_lower"][i]),
                "upper": float(boot["rating_upper"][i]),
                "variance": float(boot["variances"][i]),
            }
        models[name] = m

    order = sorted(names, key=lambda s: -models[s]["rating"])
    fixture = {
        "source": source,
        "method": "Bradley-Terry maximum likelihood with sandwich (robust) confidence intervals",
        "implementation": "arena-rank (LMArena), arena_rank.models.bradley_terry.BradleyTerry",
        "version": {"arena-rank": ARENA_RANK_VERSION, **{k2: v for k2, v in versions().items() if k2 != "arena-rank"}},
        "call": (
            "PairDataset.from_pandas(df); BradleyTerry(n_competitors=len(dataset.competitors))"
            ".compute_ratings_and_cis(dataset, significance_level=0.05, ci_method='sandwich')"
        ),
        "conventions": {
            "outcome": "model_a -> 1.0, model_b -> 0.0, 'tie' -> 0.5, 'tie (bothbad)' -> 0.5 "
                       "(arena-rank default_outcome_map maps any value other than model_a/model_b to 0.5)",
            "weights": "unweighted (reweighted=False): every battle has weight 1",
            "model": "P(row outcome for model_a) = sigmoid(theta_a - theta_b); loss = mean over battles of "
                     "-(o*d - softplus(d)), d = theta_a - theta_b; no prior/penalty in the loss",
            "optimizer": "optax.lbfgs from theta = 0, stop when max|grad| < 1e-9 or relative loss change "
                         "< 1e-9 (|dL| / max(|L|, |L_prev|, 1)) or 1000 iterations",
            "centring": "no explicit centring or anchor; starting at 0, every L-BFGS step lies in the "
                        "sum-zero subspace, so sum(theta) = 0 up to rounding (mean rating = 1000)",
            "scale": "rating = theta * 400 / ln(10) + 1000; theta is on the natural-log odds scale",
            "alpha": ALPHA,
            "offset": INIT_RATING,
            "anchor": None,
            "ci_level": 0.95,
            "z": z,
            "sandwich": "V = Hr^-1 G Hr^-1, Hr = sum_i p_i(1-p_i) L_i + reg*I, G = sum_i (o_i - p_i)^2 L_i, "
                        "L_i = (e_a - e_b)(e_a - e_b)^T, sums over battles (arena-rank aggregates identical "
                        "(model_a, model_b, outcome) rows, which is algebraically the same), evaluated at the "
                        "fitted theta; reg = 1e-5 * total_battles; lower/upper = (theta -/+ z*sqrt(V_ii)) * alpha + 1000",
            "hessian_reg": reg,
            "variance": "arena-rank 'variances' output = V_ii * alpha^2 (rating-scale variance)",
            "ranks": "arena-rank 0.1.1 produces no rank fields",
            "exact_mle": "independent NumPy Newton solve to |step| < 1e-14 with mean(theta) = 0, and the same "
                         "sandwich formula at that theta; std_err_theta_pinv_no_ridge uses pinv(H) instead of "
                         "(H + reg I)^-1",
        },
        "n_battles": n,
        "n_models": k,
        "n_unique_rows": res["n_unique_rows"],
        "order_by_rating": order,
        "diagnostics": {
            "sum_theta": float(np.sum(res["theta"])),
            "mean_nll_arena_rank": mean_nll(res["theta"], a, b, o),
            "mean_nll_exact": mean_nll(theta_x, a, b, o),
            "max_abs_rating_diff_arena_rank_vs_exact": float(np.max(np.abs(ALPHA * (res["theta"] - theta_x)))),
            "max_abs_bound_diff_numpy_formula_vs_arena_rank": formula_dev,
            "max_abs_halfwidth_diff_ridge_vs_pinv_rating_points": float(
                np.max(np.abs(ALPHA * z * (se_x - se_x_noreg)))),
        },
        "models": models,
    }
    if boot is not None:
        fixture["bootstrap"] = {
            "rounds": bootstrap_rounds,
            "seed": BOOTSTRAP_SEED,
            "method": "jax.random.multinomial(PRNGKey(seed), n=total_battles, p=counts/total) over the unique "
                      "(model_a, model_b, outcome) rows (= resampling battles with replacement); each sample "
                      "refitted from theta = 0; lower/upper = jnp.quantile (linear interpolation) at 0.025/0.975 "
                      "of the scaled ratings; variance = jnp.var of the scaled samples. The random stream is "
                      "JAX's threefry PRNG, so only the statistics, not the exact values, are reproducible elsewhere.",
            "point_rating_same_as_sandwich_fit": bool(np.allclose(boot["ratings"], res["ratings"], atol=1e-9)),
            "seconds": boot_secs,
        }
    if timing is not None:
        fixture["timing"] = timing
    return fixture


# --------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------
def timing_child(human_path):
    """One fit + sandwich in this (fresh) process; prints seconds as JSON."""
    df = pd.read_json(human_path, lines=True)
    t0 = time.perf_counter()
    res = arena_rank_fit(df)
    np.asarray(res["rating_upper"])
    print(json.dumps({"seconds": time.perf_counter() - t0}))


def measure_timing(human_path, df, runs, boot_rounds):
    cold = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--timing-child", "--human", human_path],
            check=True, capture_output=True, text=True,
        )
        cold.append(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])
    arena_rank_fit(df)  # warm-up in this process
    warm = []
    for _ in range(runs):
        t0 = time.perf_counter()
        res = arena_rank_fit(df)
        np.asarray(res["rating_upper"])
        warm.append(time.perf_counter() - t0)
    timing = {
        "what": "arena-rank PairDataset.from_pandas + BradleyTerry fit + sandwich CIs on human.json "
                "(excludes reading the file and importing packages)",
        "fit_sandwich_seconds_median_fresh_process": statistics.median(cold),
        "fit_sandwich_seconds_fresh_process_runs": cold,
        "fit_sandwich_seconds_median_same_process": statistics.median(warm),
        "fit_sandwich_seconds_same_process_runs": warm,
        "note": "lbfgs_minimize builds a new jax.jit closure on every call, so every fit includes XLA "
                "compilation of the L-BFGS loop (about 1.5 s here); the numerical work itself is small",
    }
    if boot_rounds:
        t0 = time.perf_counter()
        res = arena_rank_fit(df, ci_method="bootstrap", num_bootstrap=boot_rounds)
        np.asarray(res["rating_upper"])
        timing["bootstrap_rounds"] = boot_rounds
        timing["bootstrap_seconds"] = time.perf_counter() - t0
        timing["bootstrap_note"] = ("compute_ratings_and_cis(ci_method='bootstrap') with n_jobs=-1 "
                                    "(multiprocessing pool, one worker per CPU, 'spawn' start method; the default "
                                    "'fork' deadlocks after JAX has started its threads); includes the full-data fit")
    timing["versions"] = versions()
    timing["machine"] = machine()
    return timing


# --------------------------------------------------------------------------
# synthetic data
# --------------------------------------------------------------------------
def make_synthetic():
    rng = np.random.default_rng(SYNTH_SEED)
    names = list(SYNTH_MODELS)
    pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    rows = []
    for num in range(SYNTH_VOTES):
        i, j = pairs[rng.integers(len(pairs))]
        if rng.random() < 0.5:
            i, j = j, i
        u = rng.random()
        if u < SYNTH_P_TIE:
            winner = "tie"
        elif u < SYNTH_P_TIE + SYNTH_P_BOTHBAD:
            winner = "tie (bothbad)"
        else:
            d = SYNTH_MODELS[names[i]] - SYNTH_MODELS[names[j]]
            winner = "model_a" if rng.random() < 1.0 / (1.0 + math.exp(-d)) else "model_b"
        rows.append({
            "num": num,
            "question_id": rng.bytes(16).hex(),
            "model_a": names[i],
            "model_b": names[j],
            "winner": winner,
        })
    return rows


# --------------------------------------------------------------------------
# Elo fixture
# --------------------------------------------------------------------------
def elo_fixture(rows, source, wheel):
    ratings = fastchat_online_elo(rows, K=4, SCALE=400, BASE=10, INIT_RATING=1000)
    check = None
    if wheel:
        upstream, src_sha = upstream_fastchat_elo(wheel)
        df = pd.DataFrame(rows, columns=["model_a", "model_b", "winner"])
        up = upstream(df, K=4, SCALE=400, BASE=10, INIT_RATING=1000)
        check = {
            "upstream_function_bitwise_equal": up == ratings,
            "wheel_sha256": sha256_file(wheel),
            "elo_analysis_py_sha256": src_sha,
        }
        if not check["upstream_function_bitwise_equal"]:
            raise SystemExit("copied Elo differs from the upstream function")
    order = sorted(ratings, key=lambda s: -ratings[s])
    fixture = {
        "source": source,
        "method": "online Elo, one sequential pass over the battles in file order",
        "implementation": "FastChat fastchat/serve/monitor/elo_analysis.py::compute_elo "
                          "(called compute_online_elo in the Chatbot Arena notebook)",
        "version": {"fschat": FSCHAT_VERSION, "python": platform.python_version()},
        "conventions": {
            "K": 4, "SCALE": 400, "BASE": 10, "INIT_RATING": 1000,
            "update": "ea = 1/(1 + 10**((rb - ra)/400)); eb = 1/(1 + 10**((ra - rb)/400)); "
                      "ra += 4*(sa - ea); rb += 4*((1 - sa) - eb); ea and eb both use the ratings before "
                      "this battle; Python float64, '**' is C pow()",
            "outcome": "sa = 1 for model_a, 0 for model_b, 0.5 for 'tie' and for 'tie (bothbad)'; "
                       "any other winner value raises an exception",
            "order": "rows in file order (the 'num' field is strictly increasing)",
            "anchor": None,
            "anchor_note": "no calibration; the notebook variant additionally shifts all ratings so that "
                           "llama-13b = 800 (see 'ratings_llama13b_800' when llama-13b is present)",
        },
        "n_battles": len(rows),
        "order_by_rating": order,
        "models": {name: {"rating": ratings[name]} for name in order},
    }
    if "llama-13b" in ratings:
        delta = 800 - ratings["llama-13b"]
        fixture["ratings_llama13b_800"] = {name: ratings[name] + delta for name in order}
    if check is not None:
        fixture["cross_check"] = check
    return fixture


# --------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--human", required=True, help="path to chatbot-arena-33k-subset human.json (JSON Lines)")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: tests/fixtures/reference)")
    ap.add_argument("--fschat-wheel", help="fschat-0.2.36-py3-none-any.whl, to cross-check the copied Elo")
    ap.add_argument("--bootstrap-rounds", type=int, default=1000, help="arena-rank bootstrap rounds on human.json (0 = skip)")
    ap.add_argument("--timing-runs", type=int, default=3)
    ap.add_argument("--timing-bootstrap-rounds", type=int, default=100, help="0 = skip")
    ap.add_argument("--skip-timing", action="store_true")
    ap.add_argument("--timing-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.timing_child:
        timing_child(args.human)
        return

    installed = metadata.version("arena-rank")
    if installed != ARENA_RANK_VERSION:
        raise SystemExit(f"arena-rank {ARENA_RANK_VERSION} required, found {installed}")
    # arena-rank's bootstrap uses a multiprocessing pool; 'fork' after JAX start-up deadlocks
    mp.set_start_method("spawn", force=True)

    os.makedirs(args.out, exist_ok=True)

    # ---- human.json
    rows = read_jsonl(args.human)
    df = pd.DataFrame(rows)
    human_source = {
        "dataset": "chatbot-arena-33k-subset/human.json: 26,919 human votes from Chatbot Arena (April-June 2023), "
                   "a subset of the public chatbot_arena_conversations release as published in "
                   "Networks-Learning/prediction-powered-ranking (commit af64521, data/human.json)",
        "sha256": sha256_file(args.human),
        "rows": len(rows),
    }
    timing = None if args.skip_timing else measure_timing(
        os.path.abspath(args.human), df, args.timing_runs, args.timing_bootstrap_rounds)
    write_json(os.path.join(args.out, "human_bt.json"),
               bt_fixture(rows, df, human_source, args.bootstrap_rounds, timing))
    write_json(os.path.join(args.out, "human_elo.json"), elo_fixture(rows, human_source, args.fschat_wheel))

    # ---- synthetic
    synth = make_synthetic()
    synth_path = os.path.join(args.out, "synthetic5.jsonl")
    with open(synth_path, "w") as f:
        for r in synth:
            f.write(json.dumps(r) + "\n")
    print("wrote", synth_path)
    synth_source = {
        "dataset": "synthetic5.jsonl, generated by scripts/reference/make_reference.py",
        "generator": {
            "numpy_default_rng_seed": SYNTH_SEED,
            "votes": SYNTH_VOTES,
            "true_theta": SYNTH_MODELS,
            "p_tie": SYNTH_P_TIE,
            "p_tie_bothbad": SYNTH_P_BOTHBAD,
            "otherwise": "model_a wins with probability sigmoid(theta_a - theta_b); pair uniform over the "
                         "10 unordered pairs, order swapped with probability 1/2",
        },
        "sha256": sha256_file(synth_path),
        "rows": len(synth),
    }
    sdf = pd.DataFrame(synth)
    write_json(os.path.join(args.out, "synthetic5_bt.json"), bt_fixture(synth, sdf, synth_source, 0, None))
    write_json(os.path.join(args.out, "synthetic5_elo.json"), elo_fixture(synth, synth_source, args.fschat_wheel))


if __name__ == "__main__":
    main()

//! Computing a leaderboard: the votes or counts prepared (rare models dropped), one row per
//! model, the chosen method's ratings into the rows, then the ranks within each connected
//! group.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Value, json};

use super::{
    Data, Glicko2View, Leaderboard, LeaderboardOptions, Method, Row, StyleSummary, variant_name,
};
use crate::rating::LeftOutCounts;
use crate::rating::bt::{self, BtOptions};
use crate::rating::elo;
use crate::rating::glicko2;
use crate::rating::style::{StyleOptions, StyleVote, Variant, fit_contextual_votes};
use crate::rating::{PairCounts, VoteRow, totals};

/// The indexes of the votes between models with at least `min` battles, and how many models
/// were left out.
fn drop_rare<V: Between>(n: usize, votes: &[V], min: u64) -> (Vec<usize>, usize) {
    let counts = totals(n, votes);
    let keep: Vec<bool> = counts.iter().map(|c| c.battles >= min).collect();
    let left_out = counts
        .iter()
        .filter(|c| c.battles > 0 && c.battles < min)
        .count();
    let kept = (0..votes.len())
        .filter(|&i| {
            let (a, b) = votes[i].models();
            keep[a as usize] && keep[b as usize]
        })
        .collect();
    (kept, left_out)
}

/// The number of models with a vote among `votes` (over `n` models).
fn active<V: Between>(n: usize, votes: &[V]) -> usize {
    totals(n, votes).iter().filter(|c| c.battles > 0).count()
}

/// A vote of either kind, by its two models.
trait Between: Copy + Into<VoteRow> {
    fn models(&self) -> (u32, u32);
    fn between(self, a: u32, b: u32) -> Self;
}

/// [`Between`] for vote types with `model_a` and `model_b` fields.
macro_rules! between_by_fields {
    ($($vote:ty),*) => {$(
        impl Between for $vote {
            fn models(&self) -> (u32, u32) {
                (self.model_a, self.model_b)
            }
            fn between(self, model_a: u32, model_b: u32) -> Self {
                Self { model_a, model_b, ..self }
            }
        }
    )*};
}

between_by_fields!(VoteRow, StyleVote);

/// The names of the models in `votes` (in the order of `names`), and the votes re-indexed
/// over those names: `None` when every model of `names` is in them, so the votes stand as
/// they are (found as soon as each has been seen, most often within the first votes).
fn compact<V: Between>(names: &[String], votes: &[V]) -> (Vec<String>, Option<Vec<V>>) {
    let n = names.len();
    let mut seen = vec![false; n];
    let mut count = 0;
    for v in votes {
        let (a, b) = v.models();
        for m in [a, b] {
            if let Some(s) = seen.get_mut(m as usize)
                && !*s
            {
                *s = true;
                count += 1;
            }
        }
        if count == n {
            return (names.to_vec(), None);
        }
    }
    let mut map = vec![u32::MAX; n];
    let mut kept = Vec::with_capacity(count);
    for (m, name) in names.iter().enumerate() {
        if seen[m] {
            map[m] = u32::try_from(kept.len()).unwrap_or(u32::MAX);
            kept.push(name.clone());
        }
    }
    let place = |m: u32| map.get(m as usize).copied().unwrap_or(u32::MAX);
    let votes = votes
        .iter()
        .map(|v| {
            let (a, b) = v.models();
            v.between(place(a), place(b))
        })
        .collect();
    (kept, Some(votes))
}

/// [`compact`] of `votes` as a copy-on-write list: borrowed votes stay borrowed, and owned
/// ones are moved, when nothing needs re-indexing.
fn compacted<'v, V: Between>(names: &[String], votes: Cow<'v, [V]>) -> (Vec<String>, Cow<'v, [V]>) {
    let (names, remapped) = compact(names, &votes);
    (names, remapped.map_or(votes, Cow::Owned))
}

/// Numbers the connected groups of `rows` (sorted by rating) when there is more than one,
/// the group with the most models first (then the most battles, then the best model's
/// name), and lists the rows group by group, each by rating.
fn group_rows(rows: &mut [Row]) {
    let mut by_component: HashMap<usize, (usize, u64, String)> = HashMap::new();
    for r in rows.iter() {
        let entry = by_component
            .entry(r.component)
            .or_insert_with(|| (0, 0, r.model_name.clone()));
        entry.0 += 1;
        entry.1 += r.battles;
    }
    if by_component.len() < 2 {
        return;
    }
    let mut order: Vec<(usize, (usize, u64, String))> = by_component.into_iter().collect();
    order.sort_by(|(_, x), (_, y)| {
        y.0.cmp(&x.0)
            .then_with(|| y.1.cmp(&x.1))
            .then_with(|| x.2.cmp(&y.2))
    });
    let number: HashMap<usize, usize> = order
        .iter()
        .enumerate()
        .map(|(n, (component, _))| (*component, n + 1))
        .collect();
    for r in rows.iter_mut() {
        r.group = number.get(&r.component).copied();
    }
    // A stable sort keeps each group's rows in their order by rating.
    rows.sort_by_key(|r| r.group);
}

/// The votes in order, over the same models as the counts beside them.
struct Sequence {
    votes: Vec<VoteRow>,
    times: Vec<i64>,
    imported: Vec<bool>,
}

/// What a board is computed from, once the rare models are dropped: the counts per pair,
/// the votes in order (when the data are votes), the running Elo and Glicko-2 (when the
/// data are counts), and the votes with their style features (for style control).
struct Prepared<'a> {
    counts: PairCounts,
    sequence: Option<Sequence>,
    running_elo: Option<&'a HashMap<String, f64>>,
    kept_glicko2: Option<&'a Glicko2View>,
    styled: Option<Cow<'a, [StyleVote]>>,
    /// Votes of the selection that had no style features.
    without: u64,
    dropped_models: usize,
}

/// The board being built: its rows (one per model of the counts) and what the methods add
/// beside them.
struct Building {
    rows: Vec<Row>,
    notes: Vec<String>,
    seed: Option<u64>,
    next_update_time: Option<String>,
    /// The plain Bradley-Terry ratings, beside a style-controlled board.
    plain_ratings: Option<Vec<f64>>,
    style_summary: Option<StyleSummary>,
}

/// Drops the models of fewer than `min_battles` battles with their votes (saying so in
/// `notes`), and counts what is left.
fn prepare<'a>(
    data: Data<'a>,
    options: &LeaderboardOptions,
    notes: &mut Vec<String>,
) -> Prepared<'a> {
    let mut dropped_models = 0;
    // One note says what min_battles did, also when it left nothing to show.
    let left_out_note = |left_out: usize, active: usize, notes: &mut Vec<String>| {
        let min = options.min_battles;
        if left_out > 0 && left_out == active {
            notes.push(format!(
                "every model has fewer than {min} battles: all {left_out} left out, with their \
                 votes"
            ));
        } else if left_out > 0 {
            notes.push(format!(
                "{left_out} model(s) with fewer than {min} battles left out, with their votes"
            ));
        }
    };
    // Only models that appear in these votes take part: a model that stands only in unvoted
    // battles must not be named (or even counted) anywhere.
    let mut without = 0;
    let mut styled = None;
    let (counts, sequence, running_elo, kept_glicko2) = match data {
        Data::Votes(data) => {
            let n = data.names.len();
            // The indexes of the votes kept; `None` keeps them all (no copy).
            let kept: Option<Vec<usize>> = (options.min_battles > 1).then(|| {
                let (kept, left_out) = drop_rare(n, &data.votes, options.min_battles);
                dropped_models = left_out;
                left_out_note(left_out, active(n, &data.votes), notes);
                kept
            });
            let source = |j: usize| kept.as_ref().map_or(j, |k| k[j]);
            let picked = match &kept {
                Some(kept) => Cow::Owned(kept.iter().map(|&i| data.votes[i]).collect()),
                None => Cow::Borrowed(data.votes.as_slice()),
            };
            let (names, votes) = compacted(&data.names, picked);
            let counts = PairCounts::from_votes(&names, &votes);
            // Only the running methods read the votes in order.
            let sequence = (options.method != Method::Bt).then(|| Sequence {
                times: (0..votes.len())
                    .map(|j| data.times.get(source(j)).copied().unwrap_or(0))
                    .collect(),
                imported: (0..votes.len())
                    .map(|j| data.imported.get(source(j)).copied().unwrap_or(false))
                    .collect(),
                votes: votes.into_owned(),
            });
            (counts, sequence, None, None)
        }
        Data::Styled {
            names,
            votes,
            without: w,
        } => {
            without = w;
            let n = names.len();
            let picked = if options.min_battles > 1 {
                let (kept, left_out) = drop_rare(n, votes, options.min_battles);
                dropped_models = left_out;
                left_out_note(left_out, active(n, votes), notes);
                Cow::Owned(kept.iter().map(|&i| votes[i]).collect())
            } else {
                Cow::Borrowed(votes)
            };
            let (names, votes) = compacted(names, picked);
            let counts = PairCounts::from_votes(&names, &votes);
            // Style control is a Bradley-Terry board; other methods read the votes in order.
            let sequence = (options.method != Method::Bt).then(|| Sequence {
                votes: votes.iter().map(|&v| v.into()).collect(),
                times: vec![0; votes.len()],
                imported: vec![false; votes.len()],
            });
            styled = Some(votes);
            (counts, sequence, None, None)
        }
        Data::Counts {
            counts,
            elo,
            glicko2,
        } => {
            let all = counts.totals();
            let min = options.min_battles;
            if min > 1 {
                dropped_models = all
                    .iter()
                    .filter(|c| c.battles > 0 && c.battles < min)
                    .count();
                let active = all.iter().filter(|c| c.battles > 0).count();
                left_out_note(dropped_models, active, notes);
            }
            (
                counts.restrict(|m| min <= 1 || all[m].battles >= min),
                None,
                elo,
                glicko2,
            )
        }
    };
    Prepared {
        counts,
        sequence,
        running_elo,
        kept_glicko2,
        styled,
        without,
        dropped_models,
    }
}

/// One row per model of `counts`, with its totals.
fn rows_of(counts: &PairCounts) -> Vec<Row> {
    let names = &counts.names;
    let n = names.len();
    let model_totals = counts.totals();
    (0..n)
        .map(|i| Row {
            model_name: names[i].clone(),
            battles: model_totals[i].battles,
            wins: model_totals[i].wins,
            ties: model_totals[i].ties,
            both_bad: model_totals[i].both_bad,
            skips: model_totals[i].skips,
            win_rate_percentage: model_totals[i].win_rate_percentage(),
            ..Row::default()
        })
        .collect()
}

/// Online Elo ratings into the rows; the method's parameters.
fn elo_rows(
    b: &mut Building,
    names: &[String],
    prepared: &Prepared<'_>,
    options: &LeaderboardOptions,
) -> Value {
    let n = names.len();
    let (sequence, running_elo) = (&prepared.sequence, prepared.running_elo);
    let p = options.elo;
    let ratings: Vec<f64> = match (&sequence, running_elo) {
        (Some(seq), _) => elo::online(n, &seq.votes, &p),
        (None, Some(running)) => names
            .iter()
            .map(|m| running.get(m).copied().unwrap_or(p.initial))
            .collect(),
        (None, None) => vec![p.initial; n],
    };
    for (row, r) in b.rows.iter_mut().zip(ratings) {
        row.rating = r;
    }
    json!({"k": p.k, "initial": p.initial, "scale": p.scale, "base": p.base})
}

/// Glicko-2 ratings (periodic, realtime) into the rows; the method's parameters.
fn glicko2_rows(
    b: &mut Building,
    names: &[String],
    prepared: &Prepared<'_>,
    options: &LeaderboardOptions,
) -> Value {
    let n = names.len();
    let (sequence, kept_glicko2) = (&prepared.sequence, prepared.kept_glicko2);
    let p = options.glicko2;
    let empty = Sequence {
        votes: Vec::new(),
        times: Vec::new(),
        imported: Vec::new(),
    };
    let result = match (&sequence, kept_glicko2) {
        (None, Some(kept)) => {
            let start = glicko2::compute(1, &[], &[], &[], options.now_ms, &p).ratings[0];
            glicko2::Glicko2Result {
                ratings: names
                    .iter()
                    .map(|m| kept.ratings.get(m).copied().unwrap_or(start))
                    .collect(),
                pending_votes: kept.pending_votes,
                next_update_ms: kept.next_update_ms,
            }
        }
        _ => {
            let seq = sequence.as_ref().unwrap_or(&empty);
            glicko2::compute(n, &seq.votes, &seq.times, &seq.imported, options.now_ms, &p)
        }
    };
    let z = bt::normal_quantile(1.0 - (1.0 - options.ci) / 2.0);
    for (row, g) in b.rows.iter_mut().zip(&result.ratings) {
        row.rating = g.periodic.rating;
        row.rating_lower = Some(g.periodic.rating - z * g.periodic.deviation);
        row.rating_upper = Some(g.periodic.rating + z * g.periodic.deviation);
        row.rating_deviation = Some(g.periodic.deviation);
        row.volatility = Some(g.periodic.volatility);
        row.rating_realtime = Some(g.realtime.rating);
        row.rating_deviation_realtime = Some(g.realtime.deviation);
        row.volatility_realtime = Some(g.realtime.volatility);
    }
    if result.pending_votes > 0 {
        b.notes.push(format!(
            "{} vote(s) of the running rating period count in the periodic ratings at its \
             end; the realtime ratings include them",
            result.pending_votes
        ));
    }
    b.next_update_time = result.next_update_ms.map(crate::util::format_ms);
    json!({
        "initial_rating": p.initial_rating, "initial_rd": p.initial_rd,
        "initial_volatility": p.initial_volatility, "tau": p.tau,
        "rating_period_ms": p.period_ms, "ci": options.ci,
    })
}

/// Bradley-Terry ratings and their intervals into the rows, controlled for style when asked
/// (then the plain ratings beside); the method's parameters.
fn bt_rows(
    b: &mut Building,
    names: &[String],
    prepared: &mut Prepared<'_>,
    options: &LeaderboardOptions,
) -> Value {
    let n = names.len();
    let (counts, without) = (&prepared.counts, prepared.without);
    let styled = &mut prepared.styled;
    let anchor = options.anchor.as_ref().and_then(|(name, rating)| {
        let found = names.iter().position(|m| m == name);
        if found.is_none() {
            b.notes.push(format!(
                "anchor model `{name}` has no votes here: no anchor applied"
            ));
        }
        found.map(|i| (i, *rating))
    });
    let bt_options = BtOptions {
        anchor,
        ci_level: options.ci,
        bootstrap_rounds: options.bootstrap,
        seed: options.seed,
        ..BtOptions::default()
    };
    let fit = match (options.style, styled.take()) {
        (Some(variant), Some(votes)) => {
            let defaults = match variant {
                Variant::ArenaRank => StyleOptions::default(),
                Variant::FastChat => StyleOptions::fastchat(),
            };
            let style_options = StyleOptions {
                bt: bt_options,
                ..defaults
            };
            let fit = fit_contextual_votes(n, names, &votes, &style_options);
            // The plain board of the same votes, for each model's rank change.
            let plain = bt::fit(
                &counts.comparisons(),
                &BtOptions {
                    bootstrap_rounds: 0,
                    ..bt_options
                },
            );
            b.plain_ratings = Some(plain.ratings);
            b.style_summary = Some(StyleSummary {
                variant: variant_name(variant),
                lambda: style_options.lambda,
                coefficients: StyleSummary::named(&fit.coefficients),
                coefficient_se: StyleSummary::named(&fit.coefficient_se),
                feature_mean: StyleSummary::named(&fit.feature_mean),
                feature_std: StyleSummary::named(&fit.feature_std),
                votes_without_features: without,
            });
            fit.board
        }
        _ => bt::fit(&counts.comparisons(), &bt_options),
    };
    // With no votes at all the empty board says it; the fit's remarks on its empty
    // input ("no models", no bootstrap) would only say it again.
    if n > 0 {
        b.notes.extend(fit.notes.iter().cloned());
    }
    let (lower, upper) = match &fit.bootstrap {
        Some(b) => (b.lower.clone(), b.upper.clone()),
        None => (fit.sandwich_lower.clone(), fit.sandwich_upper.clone()),
    };
    let mut open = 0;
    for (i, row) in b.rows.iter_mut().enumerate() {
        row.rating = fit.ratings[i];
        // Where the data do not pin a rating down (a model that only won or only
        // lost, or one between such models), its bounds are open: infinite, shown
        // as null in JSON, and it is never "surely" ranked above or below another.
        let unbounded = fit.unbounded_above[i] || fit.unbounded_below[i];
        open += usize::from(unbounded);
        let (lo, hi) = if unbounded {
            (f64::NEG_INFINITY, f64::INFINITY)
        } else {
            (lower[i], upper[i])
        };
        row.rating_lower = Some(lo);
        row.rating_upper = Some(hi);
        if fit.bootstrap.is_some() {
            let (lo, hi) = if unbounded {
                (f64::NEG_INFINITY, f64::INFINITY)
            } else {
                (fit.sandwich_lower[i], fit.sandwich_upper[i])
            };
            row.sandwich_lower = Some(lo);
            row.sandwich_upper = Some(hi);
        }
        row.component = fit.component[i];
    }
    if open > 0 {
        b.notes.push(format!(
            "{open} model(s) have open bounds: their votes do not pin their rating down \
             (only wins or only losses against the rest), so no rank is sure for them"
        ));
    }
    if options.bootstrap > 0 {
        b.seed = Some(options.seed);
    }
    let mut params = json!({
        "scale": 400, "base": 10, "init_rating": 1000,
        "anchor": anchor.map(|(i, r)| json!({"model": names[i], "rating": r})),
        "ties": 0.5, "both_bad": 0.5,
        "ci": options.ci,
        "ci_method": if options.bootstrap > 0 { "bootstrap" } else { "sandwich" },
        "bootstrap_rounds": options.bootstrap,
    });
    if let (Some(v), Some(map)) = (options.style, params.as_object_mut()) {
        map.insert("style_control".into(), json!(variant_name(v)));
    }
    params
}

/// Lists the models that took part, by rating, group by group, and ranks them within their
/// group: by rating, by the bounds (`rank_ub`, Bradley-Terry) and, beside a style-controlled
/// board, by the plain rating with the change.
fn rank_rows(rows: &mut Vec<Row>, method: Method, plain: bool) {
    // Only models that took part are listed.
    rows.retain(|r| r.battles > 0);
    // Equal ratings (Glicko-2's periodic ones before a period ends) are listed by the
    // realtime rating, then by name; their ranks stay equal.
    let realtime = |r: &Row| r.rating_realtime.unwrap_or(0.0);
    rows.sort_by(|x, y| {
        y.rating
            .total_cmp(&x.rating)
            .then_with(|| realtime(y).total_cmp(&realtime(x)))
            .then_with(|| x.model_name.cmp(&y.model_name))
    });
    if method == Method::Bt {
        group_rows(rows);
    }
    // Ranks count within each group (Bradley-Terry over a split comparison graph; one group
    // otherwise): ratings of models never compared, even indirectly, are centred on their
    // own group's and say nothing about each other. So does "surely better" (rank UB).
    let mut groups: std::collections::BTreeMap<Option<usize>, Vec<usize>> = Default::default();
    for (i, r) in rows.iter().enumerate() {
        groups.entry(r.group).or_default().push(i);
    }
    for members in groups.values() {
        let ratings: Vec<f64> = members.iter().map(|&i| rows[i].rating).collect();
        for (&i, rank) in members.iter().zip(bt::rank(&ratings)) {
            rows[i].rank = rank;
        }
        if method == Method::Bt {
            let lower: Vec<f64> = members
                .iter()
                .map(|&i| rows[i].rating_lower.unwrap_or(rows[i].rating))
                .collect();
            let upper: Vec<f64> = members
                .iter()
                .map(|&i| rows[i].rating_upper.unwrap_or(rows[i].rating))
                .collect();
            for (&i, rank) in members.iter().zip(bt::rank_ub(&lower, &upper)) {
                rows[i].rank_ub = Some(rank);
            }
        }
        if plain {
            let plain: Vec<f64> = members
                .iter()
                .map(|&i| rows[i].plain_rating.unwrap_or(rows[i].rating))
                .collect();
            for (&i, rank) in members.iter().zip(bt::rank(&plain)) {
                rows[i].rank_plain = Some(rank);
                #[allow(clippy::cast_possible_wrap)]
                {
                    rows[i].rank_change = Some(rank as i64 - rows[i].rank as i64);
                }
            }
        }
    }
}

/// Computes the leaderboard over `data`.
#[must_use]
pub fn compute(data: Data<'_>, options: &LeaderboardOptions, generated_at: String) -> Leaderboard {
    let mut notes = Vec::new();
    let mut p = prepare(data, options, &mut notes);
    let names = p.counts.names.clone();
    let mut b = Building {
        rows: rows_of(&p.counts),
        notes,
        seed: None,
        next_update_time: None,
        plain_ratings: None,
        style_summary: None,
    };
    let params = match options.method {
        Method::Elo => elo_rows(&mut b, &names, &p, options),
        Method::Glicko2 => glicko2_rows(&mut b, &names, &p, options),
        Method::Bt => bt_rows(&mut b, &names, &mut p, options),
    };
    if let Some(plain) = &b.plain_ratings {
        for (row, r) in b.rows.iter_mut().zip(plain) {
            row.plain_rating = Some(*r);
        }
    }
    let mut rows = b.rows;
    rank_rows(&mut rows, options.method, b.plain_ratings.is_some());
    Leaderboard {
        method: options.method,
        params: params.as_object().cloned().unwrap_or_default(),
        seed: b.seed,
        votes: p.counts.votes(),
        include_identity_leaks: false,
        include_named: false,
        left_out: LeftOutCounts::default(),
        generated_at,
        next_update_time: b.next_update_time,
        leaderboard: rows,
        style: b.style_summary,
        notes: b.notes,
        dropped_models: p.dropped_models,
    }
}

//! Statistics beside the ratings: the win-rate and match-count matrices of
//! `/api/battle_statistics` and the per-prompt figures of `/api/prompt_statistics`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::rating::{PairCounts, VoteRow};

/// Head-to-head figures between every two models that took part.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Matrices {
    /// `[a][b]`: the share of a's decided battles against b (ties, both bad and skips left
    /// out) that a won; null when they have no decided battle.
    pub win_rate_matrix: BTreeMap<String, BTreeMap<String, Option<f64>>>,
    /// `[a][b]`: every battle between a and b, ties and skips included; symmetric.
    pub match_count_matrix: BTreeMap<String, BTreeMap<String, u64>>,
}

/// The most models the matrices cover unless asked for fewer: their size grows with the
/// square of the number of models.
pub const MAX_MATRIX_MODELS: usize = 500;

/// The matrices over the `top` models with the most battles (all when `None`), from their
/// votes.
pub fn matrices_of_top(
    names: &[String],
    votes: &[VoteRow],
    top: Option<usize>,
) -> Result<Matrices, String> {
    matrices_of_counts(&PairCounts::from_votes(names, votes), top)
}

/// The matrices over all the models of `votes`.
#[must_use]
pub fn matrices(names: &[String], votes: &[VoteRow]) -> Matrices {
    let counts = PairCounts::from_votes(names, votes);
    let all: Vec<usize> = (0..counts.names.len()).collect();
    build(&counts, &all)
}

/// The matrices over the `top` models with the most battles (all when `None`). More than
/// [`MAX_MATRIX_MODELS`] models is an error that says to ask for the top ones.
pub fn matrices_of_counts(counts: &PairCounts, top: Option<usize>) -> Result<Matrices, String> {
    let totals = counts.totals();
    let mut order: Vec<usize> = (0..counts.names.len())
        .filter(|&i| totals[i].battles > 0)
        .collect();
    let active = order.len();
    let keep = top.unwrap_or(active).min(active);
    if keep > MAX_MATRIX_MODELS {
        return Err(format!(
            "{active} models have battles: matrices of more than {MAX_MATRIX_MODELS} would hold \
             {} cells; ask for the models with the most battles, e.g. --top 50",
            keep * keep
        ));
    }
    order.sort_by(|&x, &y| {
        totals[y]
            .battles
            .cmp(&totals[x].battles)
            .then_with(|| counts.names[x].cmp(&counts.names[y]))
    });
    order.truncate(keep);
    Ok(build(counts, &order))
}

/// The matrices between the models `listed` (indexes into the counts' names), each of them
/// listed even where it met none of the others.
fn build(counts: &PairCounts, listed: &[usize]) -> Matrices {
    let mut slot = vec![usize::MAX; counts.names.len()];
    for (i, &m) in listed.iter().enumerate() {
        slot[m] = i;
    }
    let n = listed.len();
    let mut wins = vec![0u64; n * n];
    let mut count = vec![0u64; n * n];
    for p in &counts.pairs {
        let (a, b) = (slot[p.a as usize], slot[p.b as usize]);
        if a == usize::MAX || b == usize::MAX {
            continue;
        }
        count[a * n + b] += p.total();
        count[b * n + a] += p.total();
        wins[a * n + b] += p.wins_a;
        wins[b * n + a] += p.wins_b;
    }
    let mut m = Matrices::default();
    for (a, &ma) in listed.iter().enumerate() {
        let mut rates = BTreeMap::new();
        let mut pairs = BTreeMap::new();
        for (b, &mb) in listed.iter().enumerate() {
            if a == b {
                continue;
            }
            let decided = wins[a * n + b] + wins[b * n + a];
            #[allow(clippy::cast_precision_loss)]
            rates.insert(
                counts.names[mb].clone(),
                (decided > 0).then(|| wins[a * n + b] as f64 / decided as f64),
            );
            pairs.insert(counts.names[mb].clone(), count[a * n + b]);
        }
        m.win_rate_matrix.insert(counts.names[ma].clone(), rates);
        m.match_count_matrix.insert(counts.names[ma].clone(), pairs);
    }
    m
}

/// One prompt's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptStat {
    pub prompt: String,
    pub prompt_theme: String,
    pub total_battles: u64,
    pub model_battle_counts: BTreeMap<String, u64>,
    /// `(wins + 0.5·ties) / (battles − skips)`; null when all were skipped.
    pub model_win_rates: BTreeMap<String, Option<f64>>,
}

/// The figures of `/api/prompt_statistics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PromptStatistics {
    pub prompt_statistics: Vec<PromptStat>,
}

/// Per-prompt figures from `(prompt, theme, vote)` rows, most battles first.
#[must_use]
pub fn prompts(names: &[String], rows: &[(String, String, VoteRow)]) -> PromptStatistics {
    #[derive(Default)]
    struct Acc {
        theme: String,
        battles: u64,
        per_model: BTreeMap<usize, super::Totals>,
    }
    let mut by_prompt: BTreeMap<&str, Acc> = BTreeMap::new();
    for (prompt, theme, v) in rows {
        let acc = by_prompt.entry(prompt.as_str()).or_default();
        acc.theme.clone_from(theme);
        acc.battles += 1;
        for (m, as_a) in [(v.model_a as usize, true), (v.model_b as usize, false)] {
            acc.per_model.entry(m).or_default().record(v.winner, as_a);
        }
    }
    let mut out: Vec<PromptStat> = by_prompt
        .into_iter()
        .map(|(prompt, acc)| PromptStat {
            prompt: prompt.to_owned(),
            prompt_theme: acc.theme,
            total_battles: acc.battles,
            model_battle_counts: acc
                .per_model
                .iter()
                .map(|(m, t)| (names[*m].clone(), t.battles))
                .collect(),
            model_win_rates: acc
                .per_model
                .iter()
                .map(|(m, t)| {
                    (
                        names[*m].clone(),
                        t.win_rate_percentage().map(|p| p / 100.0),
                    )
                })
                .collect(),
        })
        .collect();
    out.sort_by(|a, b| {
        b.total_battles
            .cmp(&a.total_battles)
            .then_with(|| a.prompt.cmp(&b.prompt))
    });
    PromptStatistics {
        prompt_statistics: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rating::Winner;

    fn v(a: u32, b: u32, winner: Winner) -> VoteRow {
        VoteRow::new(a, b, winner)
    }

    #[test]
    fn win_rates_complement_and_counts_are_symmetric() {
        let names: Vec<String> = ["x", "y", "z"].iter().map(|s| (*s).to_owned()).collect();
        let votes = [
            v(0, 1, Winner::ModelA),
            v(1, 0, Winner::ModelA),
            v(0, 1, Winner::ModelA),
            v(0, 1, Winner::Tie),
            v(0, 2, Winner::BothBad),
        ];
        let m = matrices(&names, &votes);
        let xy = m.win_rate_matrix["x"]["y"].unwrap();
        let yx = m.win_rate_matrix["y"]["x"].unwrap();
        assert!((xy - 2.0 / 3.0).abs() < 1e-12 && (xy + yx - 1.0).abs() < 1e-12);
        assert_eq!(m.win_rate_matrix["x"]["z"], None);
        assert_eq!(m.match_count_matrix["x"]["y"], 4);
        assert_eq!(m.match_count_matrix["y"]["x"], 4);
        assert_eq!(m.match_count_matrix["y"]["z"], 0);
    }

    #[test]
    fn prompts_sorted_by_battles() {
        let names: Vec<String> = ["x", "y"].iter().map(|s| (*s).to_owned()).collect();
        let rows = vec![
            (
                "p1".to_owned(),
                "general".to_owned(),
                v(0, 1, Winner::ModelA),
            ),
            (
                "p2".to_owned(),
                "poetry".to_owned(),
                v(0, 1, Winner::ModelB),
            ),
            ("p2".to_owned(), "poetry".to_owned(), v(1, 0, Winner::Tie)),
        ];
        let s = prompts(&names, &rows);
        assert_eq!(s.prompt_statistics[0].prompt, "p2");
        assert_eq!(s.prompt_statistics[0].model_battle_counts["x"], 2);
        assert_eq!(s.prompt_statistics[0].model_win_rates["y"], Some(0.75));
        assert_eq!(s.prompt_statistics[1].model_win_rates["x"], Some(1.0));
    }
}

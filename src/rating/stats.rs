//! Statistics beside the ratings: the win-rate and match-count matrices of
//! `/api/battle_statistics` and the per-prompt figures of `/api/prompt_statistics`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::battle::Winner;
use crate::rating::VoteRow;

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

/// The matrices over the `top` models with the most battles (all when `None`), and the
/// votes among them. More than [`MAX_MATRIX_MODELS`] models is an error that says to ask
/// for the top ones.
pub fn matrices_of_top(
    names: &[String],
    votes: &[VoteRow],
    top: Option<usize>,
) -> Result<Matrices, String> {
    let counts = super::totals(names.len(), votes);
    let active = counts.iter().filter(|c| c.battles > 0).count();
    let keep = top.unwrap_or(active);
    if keep > MAX_MATRIX_MODELS {
        return Err(format!(
            "{active} models have battles: matrices of more than {MAX_MATRIX_MODELS} would hold \
             {} cells; ask for the models with the most battles, e.g. --top 50",
            keep * keep
        ));
    }
    if keep >= active {
        return Ok(matrices(names, votes));
    }
    let mut order: Vec<usize> = (0..names.len())
        .filter(|&i| counts[i].battles > 0)
        .collect();
    order.sort_by(|&x, &y| {
        counts[y]
            .battles
            .cmp(&counts[x].battles)
            .then_with(|| names[x].cmp(&names[y]))
    });
    let mut chosen = vec![false; names.len()];
    for &i in order.iter().take(keep) {
        chosen[i] = true;
    }
    let among: Vec<VoteRow> = votes
        .iter()
        .filter(|v| chosen[v.model_a as usize] && chosen[v.model_b as usize])
        .copied()
        .collect();
    // The models asked for are all in the matrices, met or not.
    let listed: Vec<u32> = order
        .iter()
        .take(keep)
        .map(|&i| u32::try_from(i).unwrap_or(u32::MAX))
        .collect();
    Ok(matrices_with(names, &among, &listed))
}

/// The matrices over `votes`; `names` are what the vote indexes point at.
#[must_use]
pub fn matrices(names: &[String], votes: &[VoteRow]) -> Matrices {
    matrices_with(names, votes, &[])
}

/// The matrices over `votes`, listing the models of `also` even where they met nobody.
fn matrices_with(names: &[String], votes: &[VoteRow], also: &[u32]) -> Matrices {
    // Only models that take part, so the tables are as large as they need be.
    let mut slot = vec![usize::MAX; names.len()];
    let mut kept: Vec<String> = Vec::new();
    let mut index = |m: u32| {
        let s = &mut slot[m as usize];
        if *s == usize::MAX {
            *s = kept.len();
            kept.push(names[m as usize].clone());
        }
        *s
    };
    let pairs: Vec<(usize, usize, Winner)> = votes
        .iter()
        .map(|v| (index(v.model_a), index(v.model_b), v.winner))
        .collect();
    let listed: Vec<usize> = also.iter().map(|&m| index(m)).collect();
    let names = kept;
    let n = names.len();
    let mut wins = vec![0u64; n * n];
    let mut count = vec![0u64; n * n];
    let mut active = vec![false; n];
    for &m in &listed {
        active[m] = true;
    }
    for &(a, b, winner) in &pairs {
        active[a] = true;
        active[b] = true;
        count[a * n + b] += 1;
        count[b * n + a] += 1;
        match winner {
            Winner::ModelA => wins[a * n + b] += 1,
            Winner::ModelB => wins[b * n + a] += 1,
            _ => {}
        }
    }
    let mut m = Matrices::default();
    for a in (0..n).filter(|&a| active[a]) {
        let mut rates = BTreeMap::new();
        let mut counts = BTreeMap::new();
        for b in (0..n).filter(|&b| b != a && active[b]) {
            let decided = wins[a * n + b] + wins[b * n + a];
            #[allow(clippy::cast_precision_loss)]
            rates.insert(
                names[b].clone(),
                (decided > 0).then(|| wins[a * n + b] as f64 / decided as f64),
            );
            counts.insert(names[b].clone(), count[a * n + b]);
        }
        m.win_rate_matrix.insert(names[a].clone(), rates);
        m.match_count_matrix.insert(names[a].clone(), counts);
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
        let one = [*v];
        let t = super::totals(names.len(), &one);
        for m in [v.model_a as usize, v.model_b as usize] {
            let e = acc.per_model.entry(m).or_default();
            e.battles += t[m].battles;
            e.wins += t[m].wins;
            e.losses += t[m].losses;
            e.ties += t[m].ties;
            e.both_bad += t[m].both_bad;
            e.skips += t[m].skips;
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

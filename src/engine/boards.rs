//! Leaderboards and statistics of the engine: which votes a board is over ([`Selection`]),
//! planning each board (the running counts where they suffice, else the votes), its typed
//! cache key and the cache that computes each question once per votes version, Glicko-2 kept
//! vote by vote, the per-category summary, and the battle and prompt statistics. It may use
//! the store, the ratings, the battle types and the configuration; nothing above the engine.

use std::collections::HashMap;
use std::sync::Arc;

use super::cache::BoardKey;
use super::{Arena, blocking};
use crate::battle::{LeftOutCounts, VoteFlags};
use crate::config::Tier;
use crate::error::{Error, Result};
use crate::rating::glicko2::{Glicko2Params, Glicko2State, parse_period};
use crate::rating::leaderboard::{self, Data, Glicko2View};
use crate::rating::stats::{self, Matrices, PromptStatistics};
use crate::rating::{Leaderboard, LeaderboardOptions, Method};
use crate::store::{CountFilter, Store, VoteFilter};

/// A category's line of `arena leaderboard --categories`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CategoryTop {
    pub category: String,
    /// Votes of the category's board.
    pub votes: u64,
    /// The model ranked first within the category.
    pub top_model: Option<String>,
    /// Its rank on the board of all the selected votes.
    pub overall_rank: Option<usize>,
}

/// Which votes a leaderboard or a matrix is over.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Selection {
    /// Unix milliseconds, inclusive.
    pub since: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub until: Option<i64>,
    /// Only battles on prompts of this theme.
    pub theme: Option<String>,
    /// Only battles between models of this tier of `models.json`.
    pub tier: Option<Tier>,
    /// Votes whose answers named a model count too (they are left out by default).
    pub include_identity_leaks: bool,
    /// Side-by-side votes, cast with the models named, count too (left out by default).
    pub include_named: bool,
    /// Only votes in every one of these categories (`coding`, `language:en`, ...).
    pub categories: Vec<String>,
    /// No vote in any of these categories.
    pub exclude_categories: Vec<String>,
}

impl Selection {
    /// Whether anything is selected out.
    #[must_use]
    pub fn any(&self) -> bool {
        self.since.is_some()
            || self.until.is_some()
            || self.theme.is_some()
            || self.tier.is_some()
            || !self.categories.is_empty()
            || !self.exclude_categories.is_empty()
    }

    /// The left-out votes this selection takes as well.
    #[must_use]
    pub fn admit(&self) -> VoteFlags {
        let mut admit = VoteFlags::NONE;
        if self.include_identity_leaks {
            admit = admit.union(VoteFlags::IDENTITY_LEAK);
        }
        if self.include_named {
            admit = admit.union(VoteFlags::NAMED);
        }
        admit
    }
}

/// The Glicko-2 rating period of `options.now_ms`: periodic ratings change when one ends,
/// votes or not.
fn glicko2_period(options: &LeaderboardOptions) -> i64 {
    options.now_ms.div_euclid(options.glicko2.period_ms.max(1))
}

impl Arena {
    /// Leaderboard options for `method` with the parameters of the configuration (Elo,
    /// Glicko-2) and the defaults of the rest, as of now.
    pub fn leaderboard_options(&self, method: Method) -> Result<LeaderboardOptions> {
        let g = &self.config.glicko2;
        Ok(LeaderboardOptions {
            method,
            elo: self.elo_params(),
            glicko2: Glicko2Params {
                initial_rating: g.initial_rating,
                initial_rd: g.initial_rd,
                initial_volatility: g.initial_volatility,
                tau: g.tau,
                period_ms: parse_period(&g.rating_period)?,
            },
            now_ms: self.now_ms(),
            ..LeaderboardOptions::default()
        })
    }

    /// The model names of `tier` in `models.json`.
    fn tier_models(&self, tier: Tier) -> Result<Vec<String>> {
        let names: Vec<String> = self
            .models
            .models
            .iter()
            .filter(|m| m.tier == Some(tier))
            .map(|m| m.name.clone())
            .collect();
        if names.is_empty() {
            return Err(Error::Input(format!(
                "tier `{}`: no model of that tier in models.json (set \"tier\" per model)",
                tier.as_str()
            )));
        }
        Ok(names)
    }

    /// The counts' filter for `selection`, when counts can answer it: by whole UTC days,
    /// and with no theme.
    fn count_filter(&self, selection: &Selection) -> Result<Option<CountFilter>> {
        let day = |t: Option<i64>| -> Option<Option<i64>> {
            match t {
                None => Some(None),
                Some(ms) if ms.rem_euclid(DAY_MS) == 0 => Some(Some(ms.div_euclid(DAY_MS))),
                Some(_) => None,
            }
        };
        let (Some(since_day), Some(until_day)) = (day(selection.since), day(selection.until))
        else {
            return Ok(None);
        };
        if selection.theme.is_some()
            || !selection.categories.is_empty()
            || !selection.exclude_categories.is_empty()
        {
            return Ok(None);
        }
        Ok(Some(CountFilter {
            since_day,
            until_day,
            models: selection.tier.map(|t| self.tier_models(t)).transpose()?,
            admit: selection.admit(),
        }))
    }

    fn vote_filter(&self, selection: &Selection) -> Result<VoteFilter> {
        Ok(VoteFilter {
            since: selection.since,
            until: selection.until,
            theme: selection.theme.clone(),
            models: selection.tier.map(|t| self.tier_models(t)).transpose()?,
            admit: selection.admit(),
            categories: selection.categories.clone(),
            exclude_categories: selection.exclude_categories.clone(),
        })
    }

    /// How many votes of `selection` are kept but left out of its ratings, by reason.
    pub async fn left_out(&self, selection: &Selection) -> Result<LeftOutCounts> {
        self.store.left_out(self.vote_filter(selection)?).await
    }

    /// The leaderboard over the votes of `selection`. Read from the per-pair counts where
    /// they answer it (Bradley-Terry always, with the left-out votes it admits read beside
    /// them; online Elo with no selection), from the votes otherwise; computed on a blocking
    /// thread, and cached until the votes change. It says how many votes it left out.
    pub async fn leaderboard(
        &self,
        options: &LeaderboardOptions,
        selection: &Selection,
    ) -> Result<Arc<Leaderboard>> {
        options.check().map_err(Error::Input)?;
        let version = self.store.votes_version().await?;
        let period = match options.method {
            Method::Glicko2 => glicko2_period(options),
            _ => 0,
        };
        let key = BoardKey::new(options, selection, version, period);
        let cell = self.boards.cell(&key);
        let board = cell
            .get_or_try_init(|| self.compute_leaderboard(options.clone(), selection.clone()))
            .await?;
        Ok(board.clone())
    }

    /// What the leaderboards of the configured options depend on: the votes' version and
    /// the Glicko-2 rating period now. The same pair means the same leaderboards and tiers.
    pub async fn board_version(&self) -> Result<(i64, i64)> {
        let options = self.leaderboard_options(Method::Glicko2)?;
        Ok((self.store.votes_version().await?, glicko2_period(&options)))
    }

    async fn compute_leaderboard(
        &self,
        options: LeaderboardOptions,
        selection: Selection,
    ) -> Result<Arc<Leaderboard>> {
        // The running Elo holds only the votes that count: admitting others takes the votes
        // in their order. Glicko-2 is kept apart for each set of votes admitted.
        let admits = !selection.admit().is_empty();
        let count_filter = match options.method {
            Method::Glicko2 => None,
            // Style control needs every vote's features.
            Method::Bt if options.style.is_some() => None,
            Method::Elo if selection.any() || options.min_battles > 1 || admits => None,
            _ if !self.store.counts_current().await? => None,
            _ => self.count_filter(&selection)?,
        };
        let anchor_known = |names: &[String]| -> Result<()> {
            if let Some((name, _)) = &options.anchor
                && !names.contains(name)
            {
                let hint = crate::config::nearest(name, names.iter().map(String::as_str))
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                return Err(Error::Input(format!(
                    "anchor model `{name}` has no votes here{hint}"
                )));
            }
            Ok(())
        };
        let generated_at = crate::util::now_rfc3339();
        // Glicko-2 over every vote comes from the state kept vote by vote.
        let kept_glicko2 = match (options.method, &count_filter) {
            (Method::Glicko2, _)
                if !selection.any()
                    && options.min_battles <= 1
                    && self.store.counts_current().await? =>
            {
                Some(self.glicko2_view(&options, selection.admit()).await?)
            }
            _ => None,
        };
        let count_filter = match (&kept_glicko2, count_filter) {
            (Some(_), _) => self.count_filter(&selection)?,
            (None, f) => f,
        };
        let elo = match (options.method, &count_filter) {
            (Method::Elo, Some(_)) => self.store.elo_ratings(options.elo).await?,
            _ => None,
        };
        let left_out = self.left_out(&selection).await?;
        let mut board = match count_filter {
            // Elo from counts needs its running ratings; stale ones (after an import) mean a
            // scan of the votes instead.
            Some(filter)
                if (options.method != Method::Elo || elo.is_some())
                    && (options.method != Method::Glicko2 || kept_glicko2.is_some()) =>
            {
                let counts = self.store.pair_counts(filter).await?;
                anchor_known(&counts.names)?;
                blocking(move || {
                    leaderboard::compute(
                        Data::Counts {
                            counts: &counts,
                            elo: elo.as_ref(),
                            glicko2: kept_glicko2.as_ref(),
                        },
                        &options,
                        generated_at,
                    )
                })
                .await?
            }
            _ if options.style.is_some() => {
                let styled = self
                    .store
                    .styled_votes(self.vote_filter(&selection)?)
                    .await?;
                anchor_known(&styled.names)?;
                blocking(move || {
                    leaderboard::compute(
                        Data::Styled {
                            names: &styled.names,
                            votes: &styled.votes,
                            without: styled.without,
                        },
                        &options,
                        generated_at,
                    )
                })
                .await?
            }
            _ => {
                let votes = self.store.votes(self.vote_filter(&selection)?).await?;
                anchor_known(&votes.names)?;
                blocking(move || leaderboard::compute(Data::Votes(&votes), &options, generated_at))
                    .await?
            }
        };
        board.include_identity_leaks = selection.include_identity_leaks;
        board.include_named = selection.include_named;
        board.left_out = left_out;
        board
            .notes
            .extend(left_out.note(!selection.include_identity_leaks));
        Ok(Arc::new(board))
    }

    /// For every category with votes in `selection`: its votes, its top model and that
    /// model's rank on the board of the whole selection (each board through the cache).
    pub async fn category_tops(
        &self,
        options: &LeaderboardOptions,
        selection: &Selection,
    ) -> Result<Vec<CategoryTop>> {
        let overall = self.leaderboard(options, selection).await?;
        let mut out = Vec::new();
        for (name, _) in self.store.categories(selection.admit()).await? {
            if selection.categories.contains(&name) || selection.exclude_categories.contains(&name)
            {
                continue;
            }
            let mut within = selection.clone();
            within.categories.push(name.clone());
            let board = self.leaderboard(options, &within).await?;
            if board.votes == 0 {
                continue;
            }
            // The first row is the best of the largest group.
            let top = board.leaderboard.first().map(|r| r.model_name.clone());
            let overall_rank = top.as_ref().and_then(|m| {
                overall
                    .leaderboard
                    .iter()
                    .find(|r| &r.model_name == m)
                    .map(|r| r.rank)
            });
            out.push(CategoryTop {
                category: name,
                votes: board.votes,
                top_model: top,
                overall_rank,
            });
        }
        Ok(out)
    }

    /// Computes the style features and categories of the votes on battles that have none
    /// (recorded before they were kept); returns how many.
    pub async fn fill_styles(&self) -> Result<u64> {
        let n = self.store.fill_styles().await?;
        self.boards.clear();
        Ok(n)
    }

    /// Glicko-2 over every vote at the options' time, from the state kept vote by vote: it
    /// reads only the votes since the last call (all of them the first time, or after votes
    /// that went back in time, such as an import's).
    async fn glicko2_view(
        &self,
        options: &LeaderboardOptions,
        admit: VoteFlags,
    ) -> Result<Glicko2View> {
        let mut guard = self.glicko2.lock().await;
        let params = options.glicko2;
        let now = options.now_ms;
        if let Some(mut keeper) = guard.remove(&admit).filter(|k| *k.state.params() == params) {
            let (batch, last) = self.store.votes_after(keeper.last_id, admit).await?;
            let (keeper, view) = blocking(move || {
                let view = keeper.apply(batch).then(|| {
                    keeper.last_id = last;
                    keeper.view(now)
                });
                (keeper, view)
            })
            .await?;
            if let Some(view) = view {
                guard.insert(admit, keeper);
                return Ok(view);
            }
        }
        // The first time, or after votes earlier than those in (an import's): every vote,
        // once, off the runtime.
        let (all, last) = self.store.votes_after(0, admit).await?;
        let (keeper, view) = blocking(move || {
            let mut keeper = Glicko2Keeper::new(&params);
            // Sorted by time, a whole history always goes in.
            let whole = keeper.apply(all);
            keeper.last_id = last;
            let view = keeper.view(now);
            (whole.then_some(keeper), view)
        })
        .await?;
        if let Some(keeper) = keeper {
            guard.insert(admit, keeper);
        }
        Ok(view)
    }

    /// The win-rate and match-count matrices of `/api/battle_statistics`, over the `top`
    /// models with the most battles (all when `None`, up to 500).
    pub async fn battle_statistics(
        &self,
        selection: &Selection,
        top: Option<usize>,
    ) -> Result<Matrices> {
        let current = self.store.counts_current().await?;
        if let Some(filter) = self.count_filter(selection)?.filter(|_| current) {
            let counts = self.store.pair_counts(filter).await?;
            return blocking(move || stats::matrices_of_counts(&counts, top))
                .await?
                .map_err(Error::Input);
        }
        let votes = self.store.votes(self.vote_filter(selection)?).await?;
        blocking(move || stats::matrices_of_top(&votes.names, &votes.votes, top))
            .await?
            .map_err(Error::Input)
    }

    /// The per-prompt figures over the votes of `selection`: of every prompt, or with
    /// `pool_only` of the pool's prompts alone (a user's own prompt is theirs, not the
    /// public's: `/api/prompt_statistics` shows those only with `publish_custom_prompts`).
    /// Those of every vote are counted again only after new votes.
    pub async fn prompt_statistics(
        &self,
        pool_only: bool,
        selection: &Selection,
    ) -> Result<PromptStatistics> {
        if *selection != Selection::default() {
            let filter = self.vote_filter(selection)?;
            let (names, rows) = self.store.prompt_votes(pool_only, filter).await?;
            return blocking(move || stats::prompts(&names, &rows)).await;
        }
        let mut last = self.prompt_stats.lock().await;
        let version = self.store.votes_version().await?;
        if let Some((v, p, s)) = last.as_ref()
            && *v == version
            && *p == pool_only
        {
            return Ok(s.clone());
        }
        let (names, rows) = self
            .store
            .prompt_votes(pool_only, VoteFilter::default())
            .await?;
        let s = blocking(move || stats::prompts(&names, &rows)).await?;
        *last = Some((version, pool_only, s.clone()));
        Ok(s)
    }

    /// Every model with its number of voted battles.
    pub async fn battle_counts(&self) -> Result<Vec<(String, u64)>> {
        self.store.model_battle_counts().await
    }
}

/// Glicko-2 kept vote by vote, with the names of its models and the last vote it has seen.
#[derive(Debug)]
pub(super) struct Glicko2Keeper {
    state: Glicko2State,
    names: Vec<String>,
    index: HashMap<String, u32>,
    last_id: i64,
}

impl Glicko2Keeper {
    fn new(params: &Glicko2Params) -> Self {
        Glicko2Keeper {
            state: Glicko2State::new(0, params),
            names: Vec::new(),
            index: HashMap::new(),
            last_id: 0,
        }
    }

    /// Appends `batch` (votes in insertion order), in time order as a whole computation
    /// takes them (a stable sort: insertion order among equal times); false when one is
    /// earlier than a vote already in, and the state must be made again.
    fn apply(&mut self, mut batch: crate::rating::Votes) -> bool {
        batch.sort_by_time();
        let mut local = Vec::with_capacity(batch.names.len());
        for name in &batch.names {
            let i = match self.index.get(name) {
                Some(&i) => i,
                None => {
                    let i = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
                    self.names.push(name.clone());
                    self.index.insert(name.clone(), i);
                    i
                }
            };
            local.push(i);
        }
        self.state.grow(self.names.len());
        self.state.reserve(batch.votes.len());
        for (k, v) in batch.votes.iter().enumerate() {
            let (Some(&a), Some(&b)) =
                (local.get(v.model_a as usize), local.get(v.model_b as usize))
            else {
                continue;
            };
            let row = crate::rating::VoteRow {
                model_a: a,
                model_b: b,
                winner: v.winner,
            };
            let time = batch.times.get(k).copied().unwrap_or(0);
            let imported = batch.imported.get(k).copied().unwrap_or(false);
            if self.state.push(row, time, imported).is_err() {
                return false;
            }
        }
        true
    }

    fn view(&mut self, now_ms: i64) -> Glicko2View {
        let result = self.state.result(now_ms);
        Glicko2View {
            ratings: self
                .names
                .iter()
                .cloned()
                .zip(result.ratings.iter().copied())
                .collect(),
            pending_votes: result.pending_votes,
            next_update_ms: result.next_update_ms,
        }
    }
}

/// One UTC day in milliseconds.
const DAY_MS: i64 = 86_400_000;

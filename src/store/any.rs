//! [`AnyStore`]: the backend a database's address chose, as one type that the engine holds.
//! Every operation is passed to the backend's own, by a `match` the compiler checks is whole.

use std::collections::HashMap;

use super::{
    BattleFilter, ChatState, Chunk, Clock, CountFilter, ExportedVote, Failure, ImportCount,
    ImportSession, Job, KeptVote, KeyKind, KeyLookup, Lead, Mode, NewBattle, PgStore, Prompt,
    PromptVotes, SideOutcome, SqliteStore, Store, StoredKey, StyledVotes, UnclassifiedVote,
    VoteFilter, VoteOutcome, VoteStyle,
};
use crate::battle::identity::IdentityTerms;
use crate::battle::{BattleId, BattleRecord, LeftOutCounts, Side, Status, VoteFlags, Winner};
use crate::error::Result;
use crate::rating::elo::EloParams;
use crate::rating::{PairCounts, Votes};

/// A store of any backend.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// A file, through SQLite.
    Sqlite(SqliteStore),
    /// A server, through PostgreSQL.
    Postgres(PgStore),
}

impl Store for AnyStore {
    fn mode(&self) -> Mode {
        match self {
            AnyStore::Sqlite(s) => Store::mode(s),
            AnyStore::Postgres(s) => Store::mode(s),
        }
    }

    fn clock(&self) -> Clock {
        match self {
            AnyStore::Sqlite(s) => Store::clock(s),
            AnyStore::Postgres(s) => Store::clock(s),
        }
    }

    fn with_clock(self, clock: Clock) -> Self {
        match self {
            AnyStore::Sqlite(s) => AnyStore::Sqlite(Store::with_clock(s, clock)),
            AnyStore::Postgres(s) => AnyStore::Postgres(Store::with_clock(s, clock)),
        }
    }

    fn location(&self) -> String {
        match self {
            AnyStore::Sqlite(s) => Store::location(s),
            AnyStore::Postgres(s) => Store::location(s),
        }
    }

    fn database_id(&self) -> &str {
        match self {
            AnyStore::Sqlite(s) => Store::database_id(s),
            AnyStore::Postgres(s) => Store::database_id(s),
        }
    }

    fn legacy_salt(&self) -> Option<&str> {
        match self {
            AnyStore::Sqlite(s) => Store::legacy_salt(s),
            AnyStore::Postgres(s) => Store::legacy_salt(s),
        }
    }

    async fn forget_legacy_salt(&self) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => Store::forget_legacy_salt(s).await,
            AnyStore::Postgres(s) => Store::forget_legacy_salt(s).await,
        }
    }

    async fn confirm_user_key(&self, key: String, source: String) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => Store::confirm_user_key(s, key, source).await,
            AnyStore::Postgres(s) => Store::confirm_user_key(s, key, source).await,
        }
    }

    async fn limit_memory(&self, writer_kib: u32, reader_kib: u32) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => Store::limit_memory(s, writer_kib, reader_kib).await,
            AnyStore::Postgres(s) => Store::limit_memory(s, writer_kib, reader_kib).await,
        }
    }

    async fn close(self) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => Store::close(s).await,
            AnyStore::Postgres(s) => Store::close(s).await,
        }
    }

    async fn create_battle(&self, new: NewBattle) -> Result<BattleRecord> {
        match self {
            AnyStore::Sqlite(s) => Store::create_battle(s, new).await,
            AnyStore::Postgres(s) => Store::create_battle(s, new).await,
        }
    }

    async fn finish_generation(
        &self,
        id: BattleId,
        a: SideOutcome,
        b: SideOutcome,
    ) -> Result<BattleRecord> {
        match self {
            AnyStore::Sqlite(s) => Store::finish_generation(s, id, a, b).await,
            AnyStore::Postgres(s) => Store::finish_generation(s, id, a, b).await,
        }
    }

    async fn keep_style(&self, id: BattleId, turn: i64, style: VoteStyle) -> Result<bool> {
        match self {
            AnyStore::Sqlite(s) => Store::keep_style(s, id, turn, style).await,
            AnyStore::Postgres(s) => Store::keep_style(s, id, turn, style).await,
        }
    }

    async fn battle(&self, id: BattleId) -> Result<BattleRecord> {
        match self {
            AnyStore::Sqlite(s) => Store::battle(s, id).await,
            AnyStore::Postgres(s) => Store::battle(s, id).await,
        }
    }

    async fn latest_battle_of(&self, user_hash: String) -> Result<Option<BattleRecord>> {
        match self {
            AnyStore::Sqlite(s) => Store::latest_battle_of(s, user_hash).await,
            AnyStore::Postgres(s) => Store::latest_battle_of(s, user_hash).await,
        }
    }

    async fn battle_owned_by(&self, id: BattleId, user_hash: String) -> Result<Option<bool>> {
        match self {
            AnyStore::Sqlite(s) => Store::battle_owned_by(s, id, user_hash).await,
            AnyStore::Postgres(s) => Store::battle_owned_by(s, id, user_hash).await,
        }
    }

    async fn battles_of(&self, user_hash: String, limit: u32) -> Result<Vec<(BattleRecord, i64)>> {
        match self {
            AnyStore::Sqlite(s) => Store::battles_of(s, user_hash, limit).await,
            AnyStore::Postgres(s) => Store::battles_of(s, user_hash, limit).await,
        }
    }

    async fn health(&self) -> Result<(u64, u64, u64)> {
        match self {
            AnyStore::Sqlite(s) => Store::health(s).await,
            AnyStore::Postgres(s) => Store::health(s).await,
        }
    }

    async fn battles(&self, filter: BattleFilter) -> Result<Vec<BattleRecord>> {
        match self {
            AnyStore::Sqlite(s) => Store::battles(s, filter).await,
            AnyStore::Postgres(s) => Store::battles(s, filter).await,
        }
    }

    async fn unstuck(&self, user_hash: Option<String>, reason: String) -> Result<usize> {
        match self {
            AnyStore::Sqlite(s) => Store::unstuck(s, user_hash, reason).await,
            AnyStore::Postgres(s) => Store::unstuck(s, user_hash, reason).await,
        }
    }

    async fn fail_generating(&self, id: BattleId, failure: Failure, reason: String) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => Store::fail_generating(s, id, failure, reason).await,
            AnyStore::Postgres(s) => Store::fail_generating(s, id, failure, reason).await,
        }
    }

    async fn expire(
        &self,
        now: i64,
        vote_expiry_ms: i64,
        generation_limit_ms: i64,
    ) -> Result<usize> {
        match self {
            AnyStore::Sqlite(s) => Store::expire(s, now, vote_expiry_ms, generation_limit_ms).await,
            AnyStore::Postgres(s) => {
                Store::expire(s, now, vote_expiry_ms, generation_limit_ms).await
            }
        }
    }

    async fn model_battle_counts(&self) -> Result<Vec<(String, u64)>> {
        match self {
            AnyStore::Sqlite(s) => Store::model_battle_counts(s).await,
            AnyStore::Postgres(s) => Store::model_battle_counts(s).await,
        }
    }

    async fn chat_battle(
        &self,
        user_hash: String,
        rpid: Option<String>,
    ) -> Result<Option<ChatState>> {
        match self {
            AnyStore::Sqlite(s) => Store::chat_battle(s, user_hash, rpid).await,
            AnyStore::Postgres(s) => Store::chat_battle(s, user_hash, rpid).await,
        }
    }

    async fn chat_state(&self, id: BattleId) -> Result<ChatState> {
        match self {
            AnyStore::Sqlite(s) => Store::chat_state(s, id).await,
            AnyStore::Postgres(s) => Store::chat_state(s, id).await,
        }
    }

    async fn begin_turn(
        &self,
        id: BattleId,
        turn: i64,
        prompt: String,
        content: Option<String>,
        now: i64,
    ) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => Store::begin_turn(s, id, turn, prompt, content, now).await,
            AnyStore::Postgres(s) => Store::begin_turn(s, id, turn, prompt, content, now).await,
        }
    }

    async fn record_answer(
        &self,
        id: BattleId,
        turn: i64,
        side: Side,
        outcome: SideOutcome,
        now: i64,
    ) -> Result<Status> {
        match self {
            AnyStore::Sqlite(s) => Store::record_answer(s, id, turn, side, outcome, now).await,
            AnyStore::Postgres(s) => Store::record_answer(s, id, turn, side, outcome, now).await,
        }
    }

    async fn mark_shown(&self, id: BattleId, turn: i64, side: Side) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => Store::mark_shown(s, id, turn, side).await,
            AnyStore::Postgres(s) => Store::mark_shown(s, id, turn, side).await,
        }
    }

    async fn kept_vote(&self, id: BattleId) -> Result<Option<KeptVote>> {
        match self {
            AnyStore::Sqlite(s) => Store::kept_vote(s, id).await,
            AnyStore::Postgres(s) => Store::kept_vote(s, id).await,
        }
    }

    async fn record_vote_checked(
        &self,
        id: BattleId,
        winner: Winner,
        user_hash: Option<String>,
        params: EloParams,
        terms: IdentityTerms,
    ) -> Result<VoteOutcome> {
        match self {
            AnyStore::Sqlite(s) => {
                Store::record_vote_checked(s, id, winner, user_hash, params, terms).await
            }
            AnyStore::Postgres(s) => {
                Store::record_vote_checked(s, id, winner, user_hash, params, terms).await
            }
        }
    }

    async fn votes(&self, filter: VoteFilter) -> Result<Votes> {
        match self {
            AnyStore::Sqlite(s) => Store::votes(s, filter).await,
            AnyStore::Postgres(s) => Store::votes(s, filter).await,
        }
    }

    async fn votes_after(&self, after: i64, admit: VoteFlags) -> Result<(Votes, i64)> {
        match self {
            AnyStore::Sqlite(s) => Store::votes_after(s, after, admit).await,
            AnyStore::Postgres(s) => Store::votes_after(s, after, admit).await,
        }
    }

    async fn export_votes(
        &self,
        sink: Box<dyn FnMut(Option<ExportedVote>) -> Result<()> + Send>,
    ) -> Result<u64> {
        match self {
            AnyStore::Sqlite(s) => Store::export_votes(s, sink).await,
            AnyStore::Postgres(s) => Store::export_votes(s, sink).await,
        }
    }

    async fn prompt_votes(&self, pool_only: bool, filter: VoteFilter) -> Result<PromptVotes> {
        match self {
            AnyStore::Sqlite(s) => Store::prompt_votes(s, pool_only, filter).await,
            AnyStore::Postgres(s) => Store::prompt_votes(s, pool_only, filter).await,
        }
    }

    async fn pair_counts(&self, filter: CountFilter) -> Result<PairCounts> {
        match self {
            AnyStore::Sqlite(s) => Store::pair_counts(s, filter).await,
            AnyStore::Postgres(s) => Store::pair_counts(s, filter).await,
        }
    }

    async fn left_out(&self, filter: VoteFilter) -> Result<LeftOutCounts> {
        match self {
            AnyStore::Sqlite(s) => Store::left_out(s, filter).await,
            AnyStore::Postgres(s) => Store::left_out(s, filter).await,
        }
    }

    async fn elo_ratings(&self, params: EloParams) -> Result<Option<HashMap<String, f64>>> {
        match self {
            AnyStore::Sqlite(s) => Store::elo_ratings(s, params).await,
            AnyStore::Postgres(s) => Store::elo_ratings(s, params).await,
        }
    }

    async fn counts_current(&self) -> Result<bool> {
        match self {
            AnyStore::Sqlite(s) => Store::counts_current(s).await,
            AnyStore::Postgres(s) => Store::counts_current(s).await,
        }
    }

    async fn votes_version(&self) -> Result<i64> {
        match self {
            AnyStore::Sqlite(s) => Store::votes_version(s).await,
            AnyStore::Postgres(s) => Store::votes_version(s).await,
        }
    }

    async fn rebuild(&self, params: EloParams) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => Store::rebuild(s, params).await,
            AnyStore::Postgres(s) => Store::rebuild(s, params).await,
        }
    }

    async fn styled_votes(&self, filter: VoteFilter) -> Result<StyledVotes> {
        match self {
            AnyStore::Sqlite(s) => Store::styled_votes(s, filter).await,
            AnyStore::Postgres(s) => Store::styled_votes(s, filter).await,
        }
    }

    async fn categories(&self, admit: VoteFlags) -> Result<Vec<(String, u64)>> {
        match self {
            AnyStore::Sqlite(s) => Store::categories(s, admit).await,
            AnyStore::Postgres(s) => Store::categories(s, admit).await,
        }
    }

    async fn lead(&self, job: Job) -> Result<Option<Lead>> {
        match self {
            AnyStore::Sqlite(s) => Store::lead(s, job).await,
            AnyStore::Postgres(s) => Store::lead(s, job).await,
        }
    }

    async fn unclassified_votes(&self, limit: usize) -> Result<Vec<UnclassifiedVote>> {
        match self {
            AnyStore::Sqlite(s) => Store::unclassified_votes(s, limit).await,
            AnyStore::Postgres(s) => Store::unclassified_votes(s, limit).await,
        }
    }

    async fn add_categories(&self, vote: i64, categories: Vec<String>) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => Store::add_categories(s, vote, categories).await,
            AnyStore::Postgres(s) => Store::add_categories(s, vote, categories).await,
        }
    }

    async fn fill_styles(&self) -> Result<u64> {
        match self {
            AnyStore::Sqlite(s) => Store::fill_styles(s).await,
            AnyStore::Postgres(s) => Store::fill_styles(s).await,
        }
    }

    async fn add_prompts(&self, prompts: Vec<Prompt>) -> Result<usize> {
        match self {
            AnyStore::Sqlite(s) => Store::add_prompts(s, prompts).await,
            AnyStore::Postgres(s) => Store::add_prompts(s, prompts).await,
        }
    }

    async fn prompts(&self, theme: Option<String>) -> Result<Vec<Prompt>> {
        match self {
            AnyStore::Sqlite(s) => Store::prompts(s, theme).await,
            AnyStore::Postgres(s) => Store::prompts(s, theme).await,
        }
    }

    async fn prompt(&self, id: String) -> Result<Option<Prompt>> {
        match self {
            AnyStore::Sqlite(s) => Store::prompt(s, id).await,
            AnyStore::Postgres(s) => Store::prompt(s, id).await,
        }
    }

    async fn remove_prompt(&self, id: String) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => Store::remove_prompt(s, id).await,
            AnyStore::Postgres(s) => Store::remove_prompt(s, id).await,
        }
    }

    async fn start_import(&self) -> Result<ImportSession> {
        match self {
            AnyStore::Sqlite(s) => Store::start_import(s).await,
            AnyStore::Postgres(s) => Store::start_import(s).await,
        }
    }

    async fn import_chunk(
        &self,
        chunk: Chunk,
        salt: String,
        session: ImportSession,
    ) -> Result<(ImportCount, ImportSession)> {
        match self {
            AnyStore::Sqlite(s) => Store::import_chunk(s, chunk, salt, session).await,
            AnyStore::Postgres(s) => Store::import_chunk(s, chunk, salt, session).await,
        }
    }

    async fn finish_import(&self, session: ImportSession) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => Store::finish_import(s, session).await,
            AnyStore::Postgres(s) => Store::finish_import(s, session).await,
        }
    }

    async fn add_key(
        &self,
        name: String,
        hash: String,
        kind: KeyKind,
        trust_forwarded_user: bool,
        now: i64,
    ) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => {
                Store::add_key(s, name, hash, kind, trust_forwarded_user, now).await
            }
            AnyStore::Postgres(s) => {
                Store::add_key(s, name, hash, kind, trust_forwarded_user, now).await
            }
        }
    }

    async fn revoke_key(&self, name: String, now: i64) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => Store::revoke_key(s, name, now).await,
            AnyStore::Postgres(s) => Store::revoke_key(s, name, now).await,
        }
    }

    async fn keys(&self) -> Result<Vec<StoredKey>> {
        match self {
            AnyStore::Sqlite(s) => Store::keys(s).await,
            AnyStore::Postgres(s) => Store::keys(s).await,
        }
    }

    async fn key_by_hash(&self, hash: Option<String>) -> Result<KeyLookup> {
        match self {
            AnyStore::Sqlite(s) => Store::key_by_hash(s, hash).await,
            AnyStore::Postgres(s) => Store::key_by_hash(s, hash).await,
        }
    }

    async fn touch_key(&self, id: i64, now: i64) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => Store::touch_key(s, id, now).await,
            AnyStore::Postgres(s) => Store::touch_key(s, id, now).await,
        }
    }
}

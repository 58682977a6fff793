//! The schema: an append-only list of migrations, counted in `PRAGMA user_version` and applied
//! on open. Never edit a released migration; add a new one.

use std::path::Path;

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use super::db;
use crate::error::{Error, Result, StoreErrorKind};

const MIGRATIONS: &[&str] = &[
    // 1: models, prompts, users, battles, votes.
    r"
    CREATE TABLE models (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL
    );

    CREATE TABLE prompts (
        id          TEXT PRIMARY KEY,
        text        TEXT NOT NULL UNIQUE,
        theme       TEXT NOT NULL DEFAULT 'general',
        created_at  INTEGER NOT NULL
    );

    -- Only the salted hash of a user id is ever stored.
    CREATE TABLE users (
        id          INTEGER PRIMARY KEY,
        hash        TEXT NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL
    );

    CREATE TABLE battles (
        id                  INTEGER PRIMARY KEY,
        uuid                BLOB NOT NULL UNIQUE,
        user_id             INTEGER REFERENCES users(id),
        origin              TEXT NOT NULL,
        prompt              TEXT NOT NULL,
        prompt_id           TEXT,
        theme               TEXT NOT NULL DEFAULT 'general',
        system              TEXT,
        model_a             INTEGER NOT NULL REFERENCES models(id),
        model_b             INTEGER NOT NULL REFERENCES models(id),
        status              TEXT NOT NULL CHECK (status IN
                                ('pending_generation', 'pending_vote', 'completed', 'failed')),
        response_a          TEXT,
        response_b          TEXT,
        error_a             TEXT,
        error_b             TEXT,
        latency_ms_a        INTEGER,
        latency_ms_b        INTEGER,
        first_token_ms_a    INTEGER,
        first_token_ms_b    INTEGER,
        prompt_tokens_a     INTEGER,
        prompt_tokens_b     INTEGER,
        completion_tokens_a INTEGER,
        completion_tokens_b INTEGER,
        created_at          INTEGER NOT NULL,
        updated_at          INTEGER NOT NULL,
        CHECK (model_a <> model_b)
    );
    CREATE INDEX battles_status ON battles(status, user_id);

    -- The models and the outcome are copied from the battle so that ratings aggregate from
    -- this table alone; rows are in insertion order. An imported record with no conversation
    -- is a vote without a battle (battle_id NULL).
    -- outcome: 0 model_a, 1 model_b, 2 tie, 3 both_bad, 4 skip.
    CREATE TABLE votes (
        id          INTEGER PRIMARY KEY,
        battle_id   INTEGER REFERENCES battles(id),
        model_a     INTEGER NOT NULL REFERENCES models(id),
        model_b     INTEGER NOT NULL REFERENCES models(id),
        outcome     INTEGER NOT NULL CHECK (outcome BETWEEN 0 AND 4),
        user_id     INTEGER REFERENCES users(id),
        created_at  INTEGER NOT NULL
    );
    -- One vote per battle. Partial, so that votes without a battle cost no index entry.
    CREATE UNIQUE INDEX votes_battle ON votes(battle_id) WHERE battle_id IS NOT NULL;

    -- Keys of imported records, so importing the same records twice adds nothing: one row
    -- per imported chunk, its keys as sorted little-endian 64-bit integers.
    CREATE TABLE import_chunks (
        id          INTEGER PRIMARY KEY,
        keys        BLOB NOT NULL,
        created_at  INTEGER NOT NULL
    );
    ",
    // 2: settings kept with the data, such as the database's own user-id salt.
    r"
    CREATE TABLE settings (
        key         TEXT PRIMARY KEY,
        value       TEXT NOT NULL
    );
    ",
    // 3: what an export needs so that importing it again adds nothing: the identity key of
    // an imported vote, whether its time is its own (0: imported without a tstamp, so
    // created_at is the import's time), and the log's own conversation id.
    r"
    ALTER TABLE votes ADD COLUMN import_key INTEGER;
    ALTER TABLE votes ADD COLUMN time_known INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE votes ADD COLUMN question_id TEXT;
    ",
    // 4: what the server needs and what keeps reads independent of the number of votes: a
    // battle's RPID (the in-chat id of a multi-turn battle) and the turns after its first,
    // why a failed battle failed, and the running counts and online Elo (see `counts`).
    r"
    ALTER TABLE battles ADD COLUMN rpid TEXT;
    -- upstream, timeout, cancelled, unstuck, expired, lost, store
    ALTER TABLE battles ADD COLUMN failure TEXT;
    -- One battle per RPID and user: the same RPID started twice is one battle.
    CREATE UNIQUE INDEX battles_rpid ON battles(user_id, rpid) WHERE rpid IS NOT NULL;

    -- The turns of a multi-turn battle after the first (which is the battle's own prompt and
    -- responses), in order.
    CREATE TABLE turns (
        battle_id   INTEGER NOT NULL REFERENCES battles(id),
        turn        INTEGER NOT NULL,
        prompt      TEXT NOT NULL,
        response_a  TEXT,
        response_b  TEXT,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (battle_id, turn)
    ) WITHOUT ROWID;

    CREATE TABLE pair_totals (
        model_a     INTEGER NOT NULL,
        model_b     INTEGER NOT NULL,
        wins_a      INTEGER NOT NULL DEFAULT 0,
        wins_b      INTEGER NOT NULL DEFAULT 0,
        ties        INTEGER NOT NULL DEFAULT 0,
        both_bad    INTEGER NOT NULL DEFAULT 0,
        skips       INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (model_a, model_b)
    ) WITHOUT ROWID;

    CREATE TABLE pair_days (
        day         INTEGER NOT NULL,
        model_a     INTEGER NOT NULL,
        model_b     INTEGER NOT NULL,
        wins_a      INTEGER NOT NULL DEFAULT 0,
        wins_b      INTEGER NOT NULL DEFAULT 0,
        ties        INTEGER NOT NULL DEFAULT 0,
        both_bad    INTEGER NOT NULL DEFAULT 0,
        skips       INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, model_a, model_b)
    ) WITHOUT ROWID;

    CREATE TABLE elo_ratings (
        model       INTEGER PRIMARY KEY,
        rating      REAL NOT NULL
    );
    ",
    // 5: a user's battles by time, for the limits checked as each battle starts and for
    // `/battleback`, without a pass over every battle.
    "
    CREATE INDEX battles_user ON battles(user_id, created_at);
    ",
    // 6: the server's API keys (`arena keys`). Only the SHA-256 of a key is kept; a revoked
    // key keeps its row, so that a server that had keys never turns open by revoking them.
    // kind: user (the key is its user) or service (acts for the users a request names).
    r"
    CREATE TABLE api_keys (
        id                      INTEGER PRIMARY KEY,
        name                    TEXT NOT NULL UNIQUE,
        hash                    TEXT NOT NULL UNIQUE,
        kind                    TEXT NOT NULL CHECK (kind IN ('user', 'service')),
        trust_forwarded_user    INTEGER NOT NULL DEFAULT 0,
        created_at              INTEGER NOT NULL,
        last_used_at            INTEGER,
        revoked_at              INTEGER
    );
    ",
    // 7: votes kept but left out of the ratings. `flags` says why (0: it counts; the bits
    // of `battle::VoteFlags`: 1 an answer named a model, 2 a chat battle from before each
    // side saw only its own conversation, 4 reserved for votes cast with the models named);
    // the running counts hold only votes that count. `identity_leak` keeps the words that
    // named a model, as JSON `{"a": [...], "b": [...]}`.
    //
    // Until this version, battle mode sent model B a conversation holding model A's answer as
    // B's own (or only a blank user turn), and A likewise after B: no chat battle compared
    // the two models on one conversation. Every vote on a chat battle recorded so far is
    // marked. A narrower rule from the stored answers is not sound: turn 0 with both
    // `response_a` and `response_b` set also comes from `$B` alone in a new chat (B was
    // sent a blank turn and answered at turn 0), and the second side's prompt is not kept,
    // so a battle whose two sides answered one question cannot be told apart from one
    // whose sides answered different ones.
    r"
    ALTER TABLE votes ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE battles ADD COLUMN identity_leak TEXT;
    -- The left-out votes, read on their own for the counts of what a leaderboard left out.
    CREATE INDEX votes_flagged ON votes(flags) WHERE flags <> 0;
    UPDATE votes SET flags = flags | 2
    WHERE battle_id IN (SELECT id FROM battles WHERE origin = 'chat');
    -- Said once, by the open that ran this, then removed (see `prepare`).
    INSERT INTO settings (key, value)
    SELECT 'marked_unequal_chat', CAST(count(*) AS TEXT) FROM votes WHERE flags & 2 <> 0
    HAVING count(*) > 0;
    -- The counts held those votes: they are rebuilt from the votes that count.
    INSERT INTO settings (key, value) VALUES ('counts_stale', '1')
    ON CONFLICT(key) DO NOTHING;
    ",
    // 8: chat battles keep each side's transcript: both sides answer every user turn, the
    // turn's content when it is more than text (images), each side's error per turn, which
    // turn of each side a chat client was last shown (a result needs both sides of the
    // latest turn shown), why each answer ended, and the online Elo change each vote made, so
    // that a repeated result is answered with the very same reveal.
    r"
    ALTER TABLE battles ADD COLUMN prompt_content TEXT;
    ALTER TABLE battles ADD COLUMN shown_a INTEGER;
    ALTER TABLE battles ADD COLUMN shown_b INTEGER;
    ALTER TABLE turns ADD COLUMN content TEXT;
    ALTER TABLE turns ADD COLUMN error_a TEXT;
    ALTER TABLE turns ADD COLUMN error_b TEXT;
    ALTER TABLE votes ADD COLUMN elo_a_before REAL;
    ALTER TABLE votes ADD COLUMN elo_a_after REAL;
    ALTER TABLE votes ADD COLUMN elo_b_before REAL;
    ALTER TABLE votes ADD COLUMN elo_b_after REAL;
    -- Why each side's upstream ended its answer (stop, length, ...).
    ALTER TABLE battles ADD COLUMN finish_a TEXT;
    ALTER TABLE battles ADD COLUMN finish_b TEXT;
    ALTER TABLE turns ADD COLUMN finish_a TEXT;
    ALTER TABLE turns ADD COLUMN finish_b TEXT;
    ",
    // 9: style features and categories of each vote (see `style`), computed once, when the
    // vote completes its battle or is imported. `style` holds the four features of side a
    // then side b (tokens, headers, list items, bold spans) as eight little-endian 32-bit
    // integers; NULL where there is no text to count (a vote imported without its answers or
    // their metadata, or one recorded before this version: `arena rebuild` fills those that
    // have a battle). Categories are names (`coding`, `language:en`, ...) kept once each.
    r"
    ALTER TABLE votes ADD COLUMN style BLOB;
    CREATE TABLE categories (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE
    );
    CREATE TABLE vote_categories (
        category    INTEGER NOT NULL REFERENCES categories(id),
        vote_id     INTEGER NOT NULL REFERENCES votes(id),
        PRIMARY KEY (category, vote_id)
    ) WITHOUT ROWID;
    ",
    // 10: the votes whose prompts the LLM classifier has judged (see `classified`), with
    // categories or none, so that none is asked about twice.
    r"
    CREATE TABLE classified_votes (
        vote_id     INTEGER PRIMARY KEY REFERENCES votes(id)
    );
    ",
    // 11: a battle's style features and categories, counted when its answers are all in
    // (JSON with the latest turn they cover), for its vote to keep without counting them in
    // its transaction. NULL until then, and for battles of earlier versions: their votes
    // count them as before.
    r"
    ALTER TABLE battles ADD COLUMN style TEXT;
    ",
    // 12: packs of the votes the style-controlled board reads, a blob per block of 8,192
    // vote ids (see `packs`); a block without one is read row by row. Packed as votes are
    // written. A later migration that changes a vote's models, outcome, flags or style must
    // empty this table.
    r"
    CREATE TABLE style_packs (
        block       INTEGER PRIMARY KEY,
        data        BLOB
    );
    ",
];

/// The migration that added the running counts: after it, they are built from the votes.
const COUNTS_MIGRATION: usize = 4;

/// Settings of every connection, read-only ones included; none of them writes.
fn settings(conn: &Connection) -> Result<()> {
    // First, so that nothing after it fails on a database another process holds.
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(db)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
    // A larger page cache (up to 64 MiB, used only as needed) and memory-mapped reads keep
    // bulk imports and leaderboard scans off the read system call.
    conn.pragma_update(None, "cache_size", -65_536)
        .map_err(db)?;
    conn.pragma_update(None, "mmap_size", 268_435_456)
        .map_err(db)?;
    Ok(())
}

/// The schema version of the database behind `conn`, refused when newer than this arena.
fn version(conn: &Connection) -> Result<usize> {
    let current: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db)?;
    let current = usize::try_from(current).unwrap_or(0);
    if current > MIGRATIONS.len() {
        return Err(Error::Input(format!(
            "the database has schema version {current}, newer than this arena knows ({}): \
             upgrade arena, or use another --db",
            MIGRATIONS.len()
        )));
    }
    Ok(current)
}

/// Connection settings and migrations of a connection that writes, run once on open.
pub(super) fn prepare(conn: &mut Connection) -> Result<()> {
    settings(conn)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(db)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(db)?;
    let before = version(conn)?;
    if before == MIGRATIONS.len() {
        // An import cut short left the counts stale: they are rebuilt from the votes.
        if !super::counts::current(conn).map_err(db)? {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            super::counts::rebuild(&tx).map_err(db)?;
            tx.commit().map_err(db)?;
        }
        return Ok(());
    }
    let migrations = Migrations::from_iter(MIGRATIONS.iter().map(|sql| M::up(sql)));
    migrations
        .to_latest(conn)
        .map_err(|e| Error::Internal(format!("database migration failed: {e}")))?;
    report_marked(conn)?;
    // A migration that changed which votes count marks the counts stale.
    if before < COUNTS_MIGRATION || !super::counts::current(conn).map_err(db)? {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        super::counts::rebuild(&tx).map_err(db)?;
        tx.commit().map_err(db)?;
    }
    Ok(())
}

/// Says how many votes a migration marked as left out of the ratings, once.
fn report_marked(conn: &Connection) -> Result<()> {
    use rusqlite::OptionalExtension;
    let marked: Option<String> = conn
        .query_row(
            "DELETE FROM settings WHERE key = 'marked_unequal_chat' RETURNING value",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    if let Some(n) = marked {
        tracing::warn!(
            "database upgraded: {n} vote(s) of chat battles recorded before both sides saw the \
             same conversation are kept but left out of the ratings (`arena rebuild` lists \
             what is left out)"
        );
    }
    Ok(())
}

/// Settings of a read-only connection; its schema must be current.
pub(super) fn prepare_read(conn: &mut Connection) -> Result<()> {
    settings(conn)?;
    let current = version(conn)?;
    if current < MIGRATIONS.len() {
        return Err(Error::Internal(format!(
            "the database has schema version {current}, older than this arena's ({})",
            MIGRATIONS.len()
        )));
    }
    Ok(())
}

/// Brings an older database up to date before it is opened for reading: the one write a
/// read may make. A database that is current is not touched; one that is older and cannot
/// be written is an error that says so.
pub(super) fn migrate_if_behind(path: &Path) -> Result<()> {
    use rusqlite::OpenFlags;
    let err = |cause| super::db_at(path, cause);
    let current = {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
            .map_err(err)?
    };
    if usize::try_from(current).unwrap_or(0) >= MIGRATIONS.len() {
        return Ok(());
    }
    let mut conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(err)?;
    match prepare(&mut conn) {
        Err(Error::Database(e)) if e.kind == StoreErrorKind::ReadOnly => {
            Err(Error::Input(format!(
                "{}: the database has schema version {current}, older than this arena's ({}), \
                 and it cannot be written to bring it up to date: make it writable once, or \
                 read it with the arena version that wrote it",
                path.display(),
                MIGRATIONS.len()
            )))
        }
        Err(Error::Database(mut e)) => {
            e.location = path.display().to_string();
            Err(Error::Database(e))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        let migrations = Migrations::from_iter(MIGRATIONS.iter().map(|sql| M::up(sql)));
        migrations.validate().unwrap();
    }
}

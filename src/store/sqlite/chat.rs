//! Battles of chat clients: finding a caller's battle by its RPID, the user turns after the
//! first, each side's answer to each turn as it is done, which turn of each side a client
//! was shown, and the vote's reveal kept for a repeated result.
//!
//! A chat battle generates both sides of every user turn at once: `pending_generation` while
//! they run, `pending_vote` once both answered, `failed` as soon as one side fails (the two
//! transcripts would no longer compare the same conversation). Turn 0 is the battle's own
//! prompt and responses; later turns are rows of `turns`.

use rusqlite::{OptionalExtension, params};

use super::battles::read;
use super::{SqliteStore, db};
use crate::battle::lifecycle;
use crate::battle::{BattleId, Side, Status, Winner};
use crate::error::{Error, Result};
use crate::store::{ChatState, ChatTurn, Failure, KeptVote, SideOutcome};

fn row_id(conn: &rusqlite::Connection, id: BattleId) -> Result<i64> {
    conn.prepare_cached("SELECT id FROM battles WHERE uuid = ?1")
        .map_err(db)?
        .query_row([id.as_bytes().as_slice()], |r| r.get(0))
        .optional()
        .map_err(db)?
        .ok_or_else(|| Error::BattleNotFound(format!("no battle `{id}`")))
}

fn chat_state(conn: &rusqlite::Connection, id: BattleId) -> Result<ChatState> {
    let record = read(conn, id)?;
    type Found = (
        i64,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<String>,
    );
    let (row, content, shown_a, shown_b, finish_a, finish_b): Found = conn
        .prepare_cached(
            "SELECT id, prompt_content, shown_a, shown_b, finish_a, finish_b FROM battles
             WHERE uuid = ?1",
        )
        .map_err(db)?
        .query_row([id.as_bytes().as_slice()], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .map_err(db)?;
    let mut turns = vec![ChatTurn {
        turn: 0,
        prompt: record.prompt.clone(),
        content,
        response_a: record.a.response.clone(),
        response_b: record.b.response.clone(),
        finish_a,
        finish_b,
    }];
    let mut stmt = conn
        .prepare_cached(
            "SELECT turn, prompt, content, response_a, response_b, finish_a, finish_b FROM turns
             WHERE battle_id = ?1 AND turn > 0 ORDER BY turn",
        )
        .map_err(db)?;
    let later = stmt
        .query_map([row], |r| {
            Ok(ChatTurn {
                turn: r.get(0)?,
                prompt: r.get(1)?,
                content: r.get(2)?,
                response_a: r.get(3)?,
                response_b: r.get(4)?,
                finish_a: r.get(5)?,
                finish_b: r.get(6)?,
            })
        })
        .map_err(db)?;
    for t in later {
        turns.push(t.map_err(db)?);
    }
    Ok(ChatState {
        record,
        turns,
        shown_a,
        shown_b,
    })
}

impl SqliteStore {
    /// The battle of the user with this hash under `rpid`, or the user's latest with an
    /// RPID when `rpid` is `None`.
    pub(super) async fn chat_battle(
        &self,
        user_hash: String,
        rpid: Option<String>,
    ) -> Result<Option<ChatState>> {
        self.read(move |conn| {
            let found: Option<Vec<u8>> = conn
                .prepare_cached(
                    "SELECT b.uuid FROM battles b JOIN users u ON u.id = b.user_id
                     WHERE u.hash = ?1 AND b.rpid IS NOT NULL AND (?2 IS NULL OR b.rpid = ?2)
                     ORDER BY b.id DESC LIMIT 1",
                )
                .map_err(db)?
                .query_row(params![user_hash, rpid], |r| r.get(0))
                .optional()
                .map_err(db)?;
            match found.and_then(|u| uuid::Uuid::from_slice(&u).ok()) {
                None => Ok(None),
                Some(id) => chat_state(conn, id).map(Some),
            }
        })
        .await
    }

    /// A chat battle with its turns.
    pub(super) async fn chat_state(&self, id: BattleId) -> Result<ChatState> {
        self.read(move |conn| chat_state(conn, id)).await
    }

    /// Begins user turn `turn` of a battle waiting for its vote: the battle generates again
    /// (`updated_at` = `now`, from which its generation timeout counts). Refused, with the
    /// error that says why, unless the battle waits for its vote and `turn` follows its
    /// latest turn (a racing request began it first).
    pub(super) async fn begin_turn(
        &self,
        id: BattleId,
        turn: i64,
        prompt: String,
        content: Option<String>,
        now: i64,
    ) -> Result<()> {
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            let (row, status, failure): (i64, String, Option<String>) = tx
                .prepare_cached("SELECT id, status, failure FROM battles WHERE uuid = ?1")
                .map_err(db)?
                .query_row([id.as_bytes().as_slice()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
                .map_err(db)?
                .ok_or_else(|| Error::BattleNotFound(format!("no battle `{id}`")))?;
            let latest: i64 = tx
                .prepare_cached("SELECT coalesce(max(turn), 0) FROM turns WHERE battle_id = ?1")
                .map_err(db)?
                .query_row([row], |r| r.get(0))
                .map_err(db)?;
            lifecycle::turn_allowed(
                id,
                status.parse()?,
                failure.as_deref().and_then(Failure::parse),
                latest,
                turn,
            )?;
            tx.prepare_cached(
                "INSERT INTO turns (battle_id, turn, prompt, content, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?
            .execute(params![row, turn, prompt, content, now])
            .map_err(db)?;
            tx.prepare_cached(
                "UPDATE battles SET status = 'pending_generation', updated_at = ?2 WHERE id = ?1",
            )
            .map_err(db)?
            .execute(params![row, now])
            .map_err(db)?;
            tx.commit().map_err(db)
        })
        .await
    }

    /// Keeps `side`'s answer to `turn` of a generating chat battle. The battle fails when the
    /// side failed; it waits for its vote once both sides answered the turn. A battle no
    /// longer generating (failed meanwhile, expired) is left as it is. Returns the battle's
    /// status after.
    pub(super) async fn record_answer(
        &self,
        id: BattleId,
        turn: i64,
        side: Side,
        outcome: SideOutcome,
        now: i64,
    ) -> Result<Status> {
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            let (row, status): (i64, String) = tx
                .prepare_cached("SELECT id, status FROM battles WHERE uuid = ?1")
                .map_err(db)?
                .query_row([id.as_bytes().as_slice()], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db)?;
            let status: Status = status.parse()?;
            if status != Status::PendingGeneration {
                tx.commit().map_err(db)?;
                return Ok(status);
            }
            let x = match side {
                Side::A => "a",
                Side::B => "b",
            };
            if turn == 0 {
                tx.execute(
                    &format!(
                        "UPDATE battles SET response_{x} = ?2, error_{x} = ?3,
                             latency_ms_{x} = ?4, first_token_ms_{x} = ?5,
                             prompt_tokens_{x} = ?6, completion_tokens_{x} = ?7,
                             finish_{x} = ?8
                         WHERE id = ?1"
                    ),
                    params![
                        row,
                        outcome.response,
                        outcome.error,
                        outcome.latency_ms,
                        outcome.first_token_ms,
                        outcome.prompt_tokens,
                        outcome.completion_tokens,
                        outcome.finish_reason
                    ],
                )
                .map_err(db)?;
            } else {
                tx.execute(
                    &format!(
                        "UPDATE turns SET response_{x} = ?3, error_{x} = ?4, finish_{x} = ?5
                         WHERE battle_id = ?1 AND turn = ?2"
                    ),
                    params![
                        row,
                        turn,
                        outcome.response,
                        outcome.error,
                        outcome.finish_reason
                    ],
                )
                .map_err(db)?;
            }
            let after = if let Some(error) = &outcome.error {
                let failure = outcome.failure.unwrap_or(Failure::Upstream);
                tx.execute(
                    &format!(
                        "UPDATE battles SET status = 'failed', failure = ?2, updated_at = ?3,
                             error_{x} = coalesce(error_{x}, ?4)
                         WHERE id = ?1"
                    ),
                    params![row, failure.as_str(), now, error],
                )
                .map_err(db)?;
                Status::Failed
            } else {
                let both: bool = if turn == 0 {
                    tx.query_row(
                        "SELECT response_a IS NOT NULL AND response_b IS NOT NULL
                         FROM battles WHERE id = ?1",
                        [row],
                        |r| r.get(0),
                    )
                } else {
                    tx.query_row(
                        "SELECT response_a IS NOT NULL AND response_b IS NOT NULL
                         FROM turns WHERE battle_id = ?1 AND turn = ?2",
                        params![row, turn],
                        |r| r.get(0),
                    )
                }
                .map_err(db)?;
                if both {
                    tx.execute(
                        "UPDATE battles SET status = 'pending_vote', updated_at = ?2
                         WHERE id = ?1",
                        params![row, now],
                    )
                    .map_err(db)?;
                    Status::PendingVote
                } else {
                    Status::PendingGeneration
                }
            };
            tx.commit().map_err(db)?;
            Ok(after)
        })
        .await
    }

    /// Notes that a chat client was shown `side`'s whole answer to `turn`.
    pub(super) async fn mark_shown(&self, id: BattleId, turn: i64, side: Side) -> Result<()> {
        self.write(move |conn| {
            let row = row_id(conn, id)?;
            let sql = match side {
                Side::A => {
                    "UPDATE battles SET shown_a = max(coalesce(shown_a, -1), ?2) WHERE id = ?1"
                }
                Side::B => {
                    "UPDATE battles SET shown_b = max(coalesce(shown_b, -1), ?2) WHERE id = ?1"
                }
            };
            conn.execute(sql, params![row, turn]).map_err(db)?;
            Ok(())
        })
        .await
    }

    /// The vote of battle `id` and the Elo change it made, if it has one.
    pub(super) async fn kept_vote(&self, id: BattleId) -> Result<Option<KeptVote>> {
        self.read(move |conn| {
            let row = row_id(conn, id)?;
            type Found = (i64, Option<f64>, Option<f64>, Option<f64>, Option<f64>);
            let found: Option<Found> = conn
                .prepare_cached(
                    "SELECT outcome, elo_a_before, elo_a_after, elo_b_before, elo_b_after
                     FROM votes WHERE battle_id = ?1",
                )
                .map_err(db)?
                .query_row([row], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .optional()
                .map_err(db)?;
            Ok(found.and_then(|(outcome, a0, a1, b0, b1)| {
                Some(KeptVote {
                    winner: Winner::from_code(outcome)?,
                    elo_a: a0.zip(a1),
                    elo_b: b0.zip(b1),
                })
            }))
        })
        .await
    }
}

//! Battles of chat clients, turn by turn (see the SQLite backend's `chat` for the states).
//! Each change of a battle locks its row first, so requests racing on one battle through
//! several instances apply in turn.

use deadpool_postgres::GenericClient;

use super::battles::read;
use super::{PgStore, col, pg};
use crate::battle::lifecycle;
use crate::battle::{BattleId, Side, Status, Winner};
use crate::error::{Error, Result};
use crate::store::{ChatState, ChatTurn, Failure, KeptVote, SideOutcome};

async fn row_id(conn: &impl GenericClient, id: BattleId) -> Result<i64> {
    let row = conn
        .query_opt(
            "SELECT id FROM battles WHERE uuid = $1",
            &[&id.as_bytes().as_slice()],
        )
        .await
        .map_err(pg)?
        .ok_or_else(|| Error::BattleNotFound(format!("no battle `{id}`")))?;
    col(&row, 0)
}

async fn chat_state(conn: &impl GenericClient, id: BattleId) -> Result<ChatState> {
    let record = read(conn, id).await?;
    let row = conn
        .query_one(
            "SELECT id, prompt_content, shown_a, shown_b, finish_a, finish_b FROM battles
             WHERE uuid = $1",
            &[&id.as_bytes().as_slice()],
        )
        .await
        .map_err(pg)?;
    let battle: i64 = col(&row, 0)?;
    let mut turns = vec![ChatTurn {
        turn: 0,
        prompt: record.prompt.clone(),
        content: col(&row, 1)?,
        response_a: record.a.response.clone(),
        response_b: record.b.response.clone(),
        finish_a: col(&row, 4)?,
        finish_b: col(&row, 5)?,
    }];
    for t in conn
        .query(
            "SELECT turn, prompt, content, response_a, response_b, finish_a, finish_b FROM turns
             WHERE battle_id = $1 AND turn > 0 ORDER BY turn",
            &[&battle],
        )
        .await
        .map_err(pg)?
        .iter()
    {
        turns.push(ChatTurn {
            turn: col(t, 0)?,
            prompt: col(t, 1)?,
            content: col(t, 2)?,
            response_a: col(t, 3)?,
            response_b: col(t, 4)?,
            finish_a: col(t, 5)?,
            finish_b: col(t, 6)?,
        });
    }
    Ok(ChatState {
        record,
        turns,
        shown_a: col(&row, 2)?,
        shown_b: col(&row, 3)?,
    })
}

impl PgStore {
    pub(super) async fn chat_battle(
        &self,
        user_hash: String,
        rpid: Option<String>,
    ) -> Result<Option<ChatState>> {
        let client = self.client().await?;
        let found = client
            .query_opt(
                "SELECT b.uuid FROM battles b JOIN users u ON u.id = b.user_id
                 WHERE u.hash = $1 AND b.rpid IS NOT NULL AND ($2::text IS NULL OR b.rpid = $2)
                 ORDER BY b.id DESC LIMIT 1",
                &[&user_hash, &rpid],
            )
            .await
            .map_err(pg)?;
        let Some(row) = found else { return Ok(None) };
        match uuid::Uuid::from_slice(&col::<Vec<u8>>(&row, 0)?) {
            Ok(id) => chat_state(&client, id).await.map(Some),
            Err(_) => Ok(None),
        }
    }

    pub(super) async fn chat_state(&self, id: BattleId) -> Result<ChatState> {
        let client = self.client().await?;
        chat_state(&client, id).await
    }

    pub(super) async fn begin_turn(
        &self,
        id: BattleId,
        turn: i64,
        prompt: String,
        content: Option<String>,
        now: i64,
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let found = tx
            .query_opt(
                "SELECT id, status, failure FROM battles WHERE uuid = $1 FOR UPDATE",
                &[&id.as_bytes().as_slice()],
            )
            .await
            .map_err(pg)?
            .ok_or_else(|| Error::BattleNotFound(format!("no battle `{id}`")))?;
        let (row, status, failure): (i64, String, Option<String>) =
            (col(&found, 0)?, col(&found, 1)?, col(&found, 2)?);
        let latest: i64 = col(
            &tx.query_one(
                "SELECT coalesce(max(turn), 0) FROM turns WHERE battle_id = $1",
                &[&row],
            )
            .await
            .map_err(pg)?,
            0,
        )?;
        lifecycle::turn_allowed(
            id,
            status.parse()?,
            failure.as_deref().and_then(Failure::parse),
            latest,
            turn,
        )?;
        tx.execute(
            "INSERT INTO turns (battle_id, turn, prompt, content, created_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[&row, &turn, &prompt, &content, &now],
        )
        .await
        .map_err(pg)?;
        tx.execute(
            "UPDATE battles SET status = 'pending_generation', updated_at = $2 WHERE id = $1",
            &[&row, &now],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)
    }

    pub(super) async fn record_answer(
        &self,
        id: BattleId,
        turn: i64,
        side: Side,
        outcome: SideOutcome,
        now: i64,
    ) -> Result<Status> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let found = tx
            .query_opt(
                "SELECT id, status FROM battles WHERE uuid = $1 FOR UPDATE",
                &[&id.as_bytes().as_slice()],
            )
            .await
            .map_err(pg)?
            .ok_or_else(|| Error::BattleNotFound(format!("no battle `{id}`")))?;
        let row: i64 = col(&found, 0)?;
        let status: Status = col::<String>(&found, 1)?.parse()?;
        if status != Status::PendingGeneration {
            tx.commit().await.map_err(pg)?;
            return Ok(status);
        }
        let x = match side {
            Side::A => "a",
            Side::B => "b",
        };
        if turn == 0 {
            tx.execute(
                &format!(
                    "UPDATE battles SET response_{x} = $2, error_{x} = $3,
                         latency_ms_{x} = $4, first_token_ms_{x} = $5,
                         prompt_tokens_{x} = $6, completion_tokens_{x} = $7,
                         finish_{x} = $8
                     WHERE id = $1"
                ),
                &[
                    &row,
                    &outcome.response,
                    &outcome.error,
                    &outcome.latency_ms,
                    &outcome.first_token_ms,
                    &outcome.prompt_tokens,
                    &outcome.completion_tokens,
                    &outcome.finish_reason,
                ],
            )
            .await
            .map_err(pg)?;
        } else {
            tx.execute(
                &format!(
                    "UPDATE turns SET response_{x} = $3, error_{x} = $4, finish_{x} = $5
                     WHERE battle_id = $1 AND turn = $2"
                ),
                &[
                    &row,
                    &turn,
                    &outcome.response,
                    &outcome.error,
                    &outcome.finish_reason,
                ],
            )
            .await
            .map_err(pg)?;
        }
        let after = if let Some(error) = &outcome.error {
            let failure = outcome.failure.unwrap_or(Failure::Upstream);
            tx.execute(
                &format!(
                    "UPDATE battles SET status = 'failed', failure = $2, updated_at = $3,
                         error_{x} = coalesce(error_{x}, $4)
                     WHERE id = $1"
                ),
                &[&row, &failure.as_str(), &now, error],
            )
            .await
            .map_err(pg)?;
            Status::Failed
        } else {
            let both = if turn == 0 {
                tx.query_one(
                    "SELECT response_a IS NOT NULL AND response_b IS NOT NULL
                     FROM battles WHERE id = $1",
                    &[&row],
                )
                .await
            } else {
                tx.query_one(
                    "SELECT response_a IS NOT NULL AND response_b IS NOT NULL
                     FROM turns WHERE battle_id = $1 AND turn = $2",
                    &[&row, &turn],
                )
                .await
            }
            .map_err(pg)?;
            if col::<bool>(&both, 0)? {
                tx.execute(
                    "UPDATE battles SET status = 'pending_vote', updated_at = $2 WHERE id = $1",
                    &[&row, &now],
                )
                .await
                .map_err(pg)?;
                Status::PendingVote
            } else {
                Status::PendingGeneration
            }
        };
        tx.commit().await.map_err(pg)?;
        Ok(after)
    }

    pub(super) async fn mark_shown(&self, id: BattleId, turn: i64, side: Side) -> Result<()> {
        let client = self.client().await?;
        let row = row_id(&client, id).await?;
        let sql = match side {
            Side::A => {
                "UPDATE battles SET shown_a = greatest(coalesce(shown_a, -1), $2) WHERE id = $1"
            }
            Side::B => {
                "UPDATE battles SET shown_b = greatest(coalesce(shown_b, -1), $2) WHERE id = $1"
            }
        };
        client.execute(sql, &[&row, &turn]).await.map_err(pg)?;
        Ok(())
    }

    pub(super) async fn kept_vote(&self, id: BattleId) -> Result<Option<KeptVote>> {
        let client = self.client().await?;
        let row = row_id(&client, id).await?;
        let found = client
            .query_opt(
                "SELECT outcome, elo_a_before, elo_a_after, elo_b_before, elo_b_after
                 FROM votes WHERE battle_id = $1",
                &[&row],
            )
            .await
            .map_err(pg)?;
        let Some(r) = found else { return Ok(None) };
        let (a0, a1, b0, b1): (Option<f64>, Option<f64>, Option<f64>, Option<f64>) =
            (col(&r, 1)?, col(&r, 2)?, col(&r, 3)?, col(&r, 4)?);
        Ok(Winner::from_code(col(&r, 0)?).map(|winner| KeptVote {
            winner,
            elo_a: a0.zip(a1),
            elo_b: b0.zip(b1),
        }))
    }
}

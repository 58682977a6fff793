//! Copying a whole database from one backend to another (`arena migrate`): every table in
//! the order its references need, page by page, each page one transaction on the
//! destination, with each row's own ids, so that a copy cut short goes on from the last page
//! the destination holds. The running counts and online Elo are not copied: the destination
//! rebuilds them from the votes. Both backends read and write `Cell`s of the columns below,
//! which have the same names on both.

use super::AnyStore;
use crate::error::{Error, Result};

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    /// An integer 0/1 on SQLite, a `boolean` on PostgreSQL.
    Bool,
    Real,
    Text,
    Blob,
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// A table to copy: its columns, and the integer column (its own id, unique) that orders
/// the pages and tells where a copy cut short resumes; `None` for small tables copied whole
/// each time (a row the destination holds is left as it is).
pub(crate) struct Table {
    pub name: &'static str,
    pub key: Option<&'static str>,
    pub columns: &'static [(&'static str, Kind)],
}

use Kind::{Blob, Bool, Int, Real, Text};

/// Every table, referenced ones first.
pub(crate) const TABLES: &[Table] = &[
    Table {
        name: "models",
        key: Some("id"),
        columns: &[("id", Int), ("name", Text), ("created_at", Int)],
    },
    Table {
        name: "users",
        key: Some("id"),
        columns: &[("id", Int), ("hash", Text), ("created_at", Int)],
    },
    Table {
        name: "prompts",
        key: None,
        columns: &[
            ("id", Text),
            ("text", Text),
            ("theme", Text),
            ("created_at", Int),
        ],
    },
    Table {
        name: "battles",
        key: Some("id"),
        columns: &[
            ("id", Int),
            ("uuid", Blob),
            ("user_id", Int),
            ("origin", Text),
            ("prompt", Text),
            ("prompt_id", Text),
            ("theme", Text),
            ("system", Text),
            ("model_a", Int),
            ("model_b", Int),
            ("status", Text),
            ("response_a", Text),
            ("response_b", Text),
            ("error_a", Text),
            ("error_b", Text),
            ("latency_ms_a", Int),
            ("latency_ms_b", Int),
            ("first_token_ms_a", Int),
            ("first_token_ms_b", Int),
            ("prompt_tokens_a", Int),
            ("prompt_tokens_b", Int),
            ("completion_tokens_a", Int),
            ("completion_tokens_b", Int),
            ("created_at", Int),
            ("updated_at", Int),
            ("rpid", Text),
            ("failure", Text),
            ("identity_leak", Text),
            ("prompt_content", Text),
            ("shown_a", Int),
            ("shown_b", Int),
            ("finish_a", Text),
            ("finish_b", Text),
            ("style", Text),
        ],
    },
    Table {
        name: "turns",
        key: None,
        columns: &[
            ("battle_id", Int),
            ("turn", Int),
            ("prompt", Text),
            ("response_a", Text),
            ("response_b", Text),
            ("created_at", Int),
            ("content", Text),
            ("error_a", Text),
            ("error_b", Text),
            ("finish_a", Text),
            ("finish_b", Text),
        ],
    },
    Table {
        name: "votes",
        key: Some("id"),
        columns: &[
            ("id", Int),
            ("battle_id", Int),
            ("model_a", Int),
            ("model_b", Int),
            ("outcome", Int),
            ("user_id", Int),
            ("created_at", Int),
            ("import_key", Int),
            ("time_known", Bool),
            ("question_id", Text),
            ("flags", Int),
            ("elo_a_before", Real),
            ("elo_a_after", Real),
            ("elo_b_before", Real),
            ("elo_b_after", Real),
            ("style", Blob),
        ],
    },
    Table {
        name: "import_chunks",
        key: Some("id"),
        columns: &[("id", Int), ("keys", Blob), ("created_at", Int)],
    },
    Table {
        name: "categories",
        key: Some("id"),
        columns: &[("id", Int), ("name", Text)],
    },
    Table {
        name: "vote_categories",
        key: None,
        columns: &[("category", Int), ("vote_id", Int)],
    },
    Table {
        name: "classified_votes",
        key: Some("vote_id"),
        columns: &[("vote_id", Int)],
    },
    Table {
        name: "api_keys",
        key: Some("id"),
        columns: &[
            ("id", Int),
            ("name", Text),
            ("hash", Text),
            ("kind", Text),
            ("trust_forwarded_user", Bool),
            ("created_at", Int),
            ("last_used_at", Int),
            ("revoked_at", Int),
        ],
    },
    Table {
        name: "settings",
        key: None,
        columns: &[("key", Text), ("value", Text)],
    },
];

/// Settings that describe the running counts, which the destination makes again.
pub(crate) const DERIVED_SETTINGS: &[&str] =
    &["counts_stale", "elo_state", "votes_version", "last_vote_ms"];

/// Rows per page (one transaction on the destination).
pub(crate) const PAGE: usize = 2_000;

impl AnyStore {
    /// Rows of `table` after `after` in its key's order (all rows when it has no key), at
    /// most `limit`.
    pub(crate) async fn dump_rows(
        &self,
        table: &'static Table,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Vec<Cell>>> {
        match self {
            AnyStore::Sqlite(s) => s.dump_rows(table, after, limit).await,
            AnyStore::Postgres(s) => s.dump_rows(table, after, limit).await,
        }
    }

    /// Writes rows of `table` in one transaction; a row whose key the destination holds is
    /// left as it is (settings: replaced).
    pub(crate) async fn load_rows(
        &self,
        table: &'static Table,
        rows: Vec<Vec<Cell>>,
    ) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => s.load_rows(table, rows).await,
            AnyStore::Postgres(s) => s.load_rows(table, rows).await,
        }
    }

    /// The highest key of `table` held (0 when empty), and its number of rows.
    pub(crate) async fn table_extent(&self, table: &'static Table) -> Result<(i64, u64)> {
        match self {
            AnyStore::Sqlite(s) => s.table_extent(table).await,
            AnyStore::Postgres(s) => s.table_extent(table).await,
        }
    }

    /// After rows came with their own ids: makes the ids the backend gives next follow them.
    pub(crate) async fn after_load(&self) -> Result<()> {
        match self {
            AnyStore::Sqlite(_) => Ok(()),
            AnyStore::Postgres(s) => s.after_load().await,
        }
    }
}

/// What a copy did, table by table: rows at the source and at the destination after it;
/// `stopped` when it ended early, as [`Pages::stop_after`] asked.
#[derive(Debug, Clone, Default)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64, u64)>,
    pub stopped: bool,
}

/// How a copy pages: rows a page (`PAGE` unless said), and a number of pages after which
/// it stops as if cut short (to check that a copy goes on where it stopped).
#[derive(Debug, Clone, Copy, Default)]
pub struct Pages {
    pub rows: Option<usize>,
    pub stop_after: Option<usize>,
}

/// Refuses a destination that holds records of another arena: resuming over them would mix
/// two databases. For each table with a key, the destination's last row must be the
/// source's row of that key, the same by its first two columns (its id, and the uuid, name,
/// hash or battle that says which record it is; the rest may change at the source between
/// two runs, as a battle's status does).
async fn same_arena(from: &AnyStore, to: &AnyStore) -> Result<()> {
    for table in TABLES.iter().filter(|t| t.key.is_some()) {
        let (last, held) = to.table_extent(table).await?;
        if held == 0 {
            continue;
        }
        let ours = to.dump_rows(table, last - 1, 1).await?;
        let theirs = from.dump_rows(table, last - 1, 1).await?;
        let identity = |rows: &[Vec<Cell>]| -> Option<Vec<Cell>> {
            rows.first().map(|r| r.iter().take(2).cloned().collect())
        };
        let (ours, theirs) = (identity(&ours), identity(&theirs));
        if ours.is_none() || ours != theirs {
            return Err(Error::Input(format!(
                "the destination holds records of another database: its {} row {last} is \
                 not the source's; give --to an empty database, or the one a copy of this \
                 source cut short",
                table.name
            )));
        }
    }
    Ok(())
}

/// Copies every table of `from` to `to`, going on from what `to` holds already, with
/// `progress` told each table's name and rows copied so far.
pub async fn copy_all(
    from: &AnyStore,
    to: &AnyStore,
    pages: Pages,
    mut progress: impl FnMut(&str, u64),
) -> Result<CopyReport> {
    same_arena(from, to).await?;
    let mut report = CopyReport::default();
    let page = pages.rows.unwrap_or(PAGE).max(1);
    let mut written = 0_usize;
    for table in TABLES {
        let mut after = match table.key {
            Some(_) => to.table_extent(table).await?.0,
            None => i64::MIN,
        };
        let mut copied = 0_u64;
        loop {
            if pages.stop_after.is_some_and(|n| written >= n) {
                report.stopped = true;
                return Ok(report);
            }
            let rows = from.dump_rows(table, after, page).await?;
            let Some(last) = rows.last() else { break };
            let full = rows.len() == page;
            if table.key.is_some()
                && let Some(Cell::Int(k)) = last.first()
            {
                after = *k;
            }
            copied += rows.len() as u64;
            let rows: Vec<Vec<Cell>> = if table.name == "settings" {
                rows.into_iter()
                    .filter(|r| {
                        !matches!(r.first(), Some(Cell::Text(k)) if DERIVED_SETTINGS.contains(&k.as_str()))
                    })
                    .collect()
            } else {
                rows
            };
            to.load_rows(table, rows).await?;
            written += 1;
            progress(table.name, copied);
            // A table without a key comes whole in one read.
            if table.key.is_none() || !full {
                break;
            }
        }
        let (_, source) = from.table_extent(table).await?;
        let (_, destination) = to.table_extent(table).await?;
        report.tables.push((table.name, source, destination));
    }
    to.after_load().await?;
    Ok(report)
}

//! Rows of whole tables, read and written as [`Cell`]s for `arena migrate` (see
//! [`crate::store::copy`]).

use tokio_postgres::types::ToSql;

use super::{PgStore, col, counts, pg};
use crate::error::Result;
use crate::store::copy::{Cell, Kind, Table};

fn columns(table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|(c, _)| *c)
        .collect::<Vec<_>>()
        .join(", ")
}

type Param = Box<dyn ToSql + Sync + Send>;

/// A cell as the parameter of a column of `kind` (a NULL keeps its column's type).
fn param(kind: Kind, cell: Cell) -> Param {
    match (kind, cell) {
        (Kind::Bool, Cell::Int(n)) => Box::new(n != 0),
        (Kind::Bool, _) => Box::new(None::<bool>),
        (Kind::Int, Cell::Int(n)) => Box::new(n),
        (Kind::Int, _) => Box::new(None::<i64>),
        (Kind::Real, Cell::Real(x)) => Box::new(x),
        #[allow(clippy::cast_precision_loss)]
        (Kind::Real, Cell::Int(n)) => Box::new(n as f64),
        (Kind::Real, _) => Box::new(None::<f64>),
        (Kind::Text, Cell::Text(t)) => Box::new(t),
        (Kind::Text, _) => Box::new(None::<String>),
        (Kind::Blob, Cell::Blob(b)) => Box::new(b),
        (Kind::Blob, _) => Box::new(None::<Vec<u8>>),
    }
}

impl PgStore {
    pub(crate) async fn dump_rows(
        &self,
        table: &'static Table,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Vec<Cell>>> {
        let client = self.client().await?;
        let rows = match table.key {
            Some(key) => {
                client
                    .query(
                        &format!(
                            "SELECT {} FROM {} WHERE {key} > $1 ORDER BY {key} LIMIT $2",
                            columns(table),
                            table.name
                        ),
                        &[&after, &i64::try_from(limit).unwrap_or(i64::MAX)],
                    )
                    .await
            }
            None => {
                client
                    .query(
                        &format!("SELECT {} FROM {}", columns(table), table.name),
                        &[],
                    )
                    .await
            }
        }
        .map_err(pg)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut cells = Vec::with_capacity(table.columns.len());
            for (i, (_, kind)) in table.columns.iter().enumerate() {
                cells.push(match kind {
                    Kind::Int => col::<Option<i64>>(row, i)?.map_or(Cell::Null, Cell::Int),
                    Kind::Bool => {
                        col::<Option<bool>>(row, i)?.map_or(Cell::Null, |b| Cell::Int(i64::from(b)))
                    }
                    Kind::Real => col::<Option<f64>>(row, i)?.map_or(Cell::Null, Cell::Real),
                    Kind::Text => col::<Option<String>>(row, i)?.map_or(Cell::Null, Cell::Text),
                    Kind::Blob => col::<Option<Vec<u8>>>(row, i)?.map_or(Cell::Null, Cell::Blob),
                });
            }
            out.push(cells);
        }
        Ok(out)
    }

    pub(crate) async fn load_rows(
        &self,
        table: &'static Table,
        rows: Vec<Vec<Cell>>,
    ) -> Result<()> {
        let width = table.columns.len();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let conflict = if table.name == "settings" {
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        } else {
            "ON CONFLICT DO NOTHING"
        };
        // At most 65535 parameters a statement.
        let per = (60_000 / width).max(1);
        for chunk in rows.chunks(per) {
            let mut n = 0;
            let values: Vec<String> = chunk
                .iter()
                .map(|_| {
                    let one: Vec<String> = (0..width)
                        .map(|_| {
                            n += 1;
                            format!("${n}")
                        })
                        .collect();
                    format!("({})", one.join(","))
                })
                .collect();
            let params: Vec<Param> = chunk
                .iter()
                .flat_map(|row| {
                    table
                        .columns
                        .iter()
                        .zip(row.iter().cloned())
                        .map(|((_, kind), cell)| param(*kind, cell))
                })
                .collect();
            let refs: Vec<&(dyn ToSql + Sync)> = params
                .iter()
                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                .collect();
            tx.execute(
                &format!(
                    "INSERT INTO {} ({}) VALUES {} {conflict}",
                    table.name,
                    columns(table),
                    values.join(",")
                ),
                &refs,
            )
            .await
            .map_err(pg)?;
        }
        if table.name == "votes" {
            counts::mark_stale(&tx).await?;
        }
        tx.commit().await.map_err(pg)
    }

    pub(crate) async fn table_extent(&self, table: &'static Table) -> Result<(i64, u64)> {
        let client = self.client().await?;
        let key = table.key.unwrap_or("0");
        let row = client
            .query_one(
                &format!(
                    "SELECT coalesce(max({key}), 0)::bigint, count(*) FROM {}",
                    table.name
                ),
                &[],
            )
            .await
            .map_err(pg)?;
        Ok((col(&row, 0)?, col::<i64>(&row, 1)?.unsigned_abs()))
    }

    /// Rows came with their own ids: the identity columns go on after the highest.
    pub(crate) async fn after_load(&self) -> Result<()> {
        let client = self.client().await?;
        for table in crate::store::copy::TABLES {
            if let Some(key) = table.key {
                client
                    .execute(
                        &format!(
                            "SELECT setval(pg_get_serial_sequence('{0}', '{key}'),
                                           (SELECT coalesce(max({key}), 0) + 1 FROM {0}), false)",
                            table.name
                        ),
                        &[],
                    )
                    .await
                    .map_err(pg)?;
            }
        }
        Ok(())
    }
}

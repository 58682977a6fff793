//! Rows of whole tables, read and written as [`Cell`]s for `arena migrate` (see
//! [`crate::store::copy`]).

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

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

/// The type a column of `kind` is written as in a binary COPY (the types of the schema).
fn copy_type(kind: Kind) -> Type {
    match kind {
        Kind::Int => Type::INT8,
        Kind::Bool => Type::BOOL,
        Kind::Real => Type::FLOAT8,
        Kind::Text => Type::TEXT,
        Kind::Blob => Type::BYTEA,
    }
}

/// Writes `rows` of `table` with a binary COPY into a temporary table like it, then one
/// `INSERT … SELECT` with `conflict` (a row the destination holds is left as it is): far
/// cheaper for PostgreSQL than parsing and binding a statement of tens of thousands of
/// parameters.
async fn stage(
    tx: &tokio_postgres::Transaction<'_>,
    table: &Table,
    rows: Vec<Vec<Cell>>,
    conflict: &str,
) -> Result<()> {
    let names = columns(table);
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE copy_stage (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP",
        table.name
    ))
    .await
    .map_err(pg)?;
    let sink = tx
        .copy_in(&format!("COPY copy_stage ({names}) FROM STDIN BINARY"))
        .await
        .map_err(pg)?;
    let types: Vec<Type> = table.columns.iter().map(|(_, k)| copy_type(*k)).collect();
    let writer = BinaryCopyInWriter::new(sink, &types);
    futures_util::pin_mut!(writer);
    for row in rows {
        let params: Vec<Param> = table
            .columns
            .iter()
            .zip(row)
            .map(|((_, kind), cell)| param(*kind, cell))
            .collect();
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        writer.as_mut().write(&refs).await.map_err(pg)?;
    }
    writer.finish().await.map_err(pg)?;
    tx.execute(
        &format!(
            "INSERT INTO {} ({names}) SELECT {names} FROM copy_stage {conflict}",
            table.name
        ),
        &[],
    )
    .await
    .map_err(pg)?;
    Ok(())
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
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let conflict = if table.name == "settings" {
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        } else {
            "ON CONFLICT DO NOTHING"
        };
        stage(&tx, table, rows, conflict).await?;
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

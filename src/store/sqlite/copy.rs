//! Rows of whole tables, read and written as [`Cell`]s for `arena migrate` (see
//! [`crate::store::copy`]).

use rusqlite::types::{Value, ValueRef};

use super::{SqliteStore, db};
use crate::error::Result;
use crate::store::copy::{Cell, Table};

fn columns(table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|(c, _)| *c)
        .collect::<Vec<_>>()
        .join(", ")
}

impl SqliteStore {
    pub(crate) async fn dump_rows(
        &self,
        table: &'static Table,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Vec<Cell>>> {
        let sql = match table.key {
            Some(key) => format!(
                "SELECT {} FROM {} WHERE {key} > ?1 ORDER BY {key} LIMIT ?2",
                columns(table),
                table.name
            ),
            None => format!(
                "SELECT {} FROM {} WHERE ?1 = ?1 OR ?2 = ?2",
                columns(table),
                table.name
            ),
        };
        let width = table.columns.len();
        self.read(move |conn| {
            let mut stmt = conn.prepare(&sql).map_err(db)?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut rows = stmt.query(rusqlite::params![after, limit]).map_err(db)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                let mut cells = Vec::with_capacity(width);
                for i in 0..width {
                    cells.push(match row.get_ref(i).map_err(db)? {
                        ValueRef::Null => Cell::Null,
                        ValueRef::Integer(n) => Cell::Int(n),
                        ValueRef::Real(x) => Cell::Real(x),
                        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                        ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
                    });
                }
                out.push(cells);
            }
            Ok(out)
        })
        .await
    }

    pub(crate) async fn load_rows(
        &self,
        table: &'static Table,
        rows: Vec<Vec<Cell>>,
    ) -> Result<()> {
        let marks = vec!["?"; table.columns.len()].join(", ");
        let verb = if table.name == "settings" {
            "INSERT OR REPLACE"
        } else {
            "INSERT OR IGNORE"
        };
        let sql = format!(
            "{verb} INTO {} ({}) VALUES ({marks})",
            table.name,
            columns(table)
        );
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            {
                let mut stmt = tx.prepare(&sql).map_err(db)?;
                for row in rows {
                    let values = row.into_iter().map(|c| match c {
                        Cell::Null => Value::Null,
                        Cell::Int(n) => Value::Integer(n),
                        Cell::Real(x) => Value::Real(x),
                        Cell::Text(t) => Value::Text(t),
                        Cell::Blob(b) => Value::Blob(b),
                    });
                    stmt.execute(rusqlite::params_from_iter(values))
                        .map_err(db)?;
                }
            }
            // The copied votes are not in the running counts yet: rebuilt at the end, or at
            // the next open if the copy is cut short.
            if table.name == "votes" {
                super::counts::mark_stale(&tx).map_err(db)?;
            }
            tx.commit().map_err(db)
        })
        .await
    }

    pub(crate) async fn table_extent(&self, table: &'static Table) -> Result<(i64, u64)> {
        let key = table.key.unwrap_or("0");
        let sql = format!(
            "SELECT coalesce(max({key}), 0), count(*) FROM {}",
            table.name
        );
        self.read(move |conn| {
            conn.query_row(&sql, [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?.unsigned_abs()))
            })
            .map_err(db)
        })
        .await
    }
}

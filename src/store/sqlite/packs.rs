//! Packs: what the style-controlled board reads of each vote (its models, outcome, flags
//! and style counts), kept a second time in blocks of [`BLOCK`] consecutive vote ids, one
//! blob per block. A board over a million votes then reads about a hundred blobs instead
//! of a million rows, which is most of what it costs to read them row by row.
//!
//! A block is packed once every id of it is taken (the newest vote's id is at or past its
//! end): votes are only ever added, with ids past the newest, so a packed block never
//! gains a vote, and the fields packed never change once written, except the style counts
//! that `arena rebuild` fills in for older votes; it drops the packs of the blocks it
//! touched and packs them again. A block without a pack (not yet packed, or whose values
//! do not fit a pack) is read row by row, so packs only ever make a read faster: what a
//! board reads is the same either way, as a test checks.
//!
//! Packing happens where votes are written: an import packs every complete block at its
//! end, `arena rebuild` packs whatever is missing, and each vote packs at most the next
//! block, so that a database from before packs catches up a block per vote.
//!
//! A pack's blob: a format byte, then one entry per vote of the block in id order:
//! `model_a` and `model_b` (little-endian `u32`), the outcome code and the flags, then (in
//! format [`STYLED`]) 1 if the vote has style counts (else 0) and the 32 bytes of its style
//! (zeros without). A block where no vote has style counts (a log imported without them)
//! takes format [`PLAIN`], the first ten bytes of each entry alone.

use rusqlite::{Connection, params};

/// Vote ids per block.
pub(super) const BLOCK: i64 = 8192;
/// The format byte of a pack with style counts, and the bytes of each of its entries.
const STYLED: u8 = 1;
const STYLED_ENTRY: usize = PLAIN_ENTRY + 1 + 32;
/// The format byte of a pack without style counts, and the bytes of each of its entries.
const PLAIN: u8 = 2;
const PLAIN_ENTRY: usize = 4 + 4 + 1 + 1;

/// How many blocks [`catch_up`] may pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Catch {
    /// Every complete block without a pack, gaps included.
    All,
    /// At most the block after the last packed one (a vote's share).
    Next,
}

/// The ids of block `block`: `(first, last]`.
pub(super) fn ids(block: i64) -> (i64, i64) {
    (block * BLOCK, (block + 1) * BLOCK)
}

/// Packs complete blocks that have no pack, as `how` says; `newest` is the newest vote's
/// id. Returns how many were packed.
pub(super) fn catch_up(tx: &Connection, newest: i64, how: Catch) -> rusqlite::Result<usize> {
    let complete = newest.max(0) / BLOCK;
    let todo: Vec<i64> = match how {
        Catch::Next => {
            let next: i64 = tx
                .prepare_cached("SELECT coalesce(max(block) + 1, 0) FROM style_packs")?
                .query_row([], |r| r.get(0))?;
            if next < complete { vec![next] } else { vec![] }
        }
        Catch::All => {
            let mut stmt = tx.prepare_cached("SELECT block FROM style_packs ORDER BY block")?;
            let have = stmt
                .query_map([], |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<std::collections::HashSet<i64>>>()?;
            (0..complete).filter(|b| !have.contains(b)).collect()
        }
    };
    for &block in &todo {
        let data = pack(tx, block)?;
        tx.prepare_cached(
            "INSERT INTO style_packs (block, data) VALUES (?1, ?2)
             ON CONFLICT(block) DO UPDATE SET data = excluded.data",
        )?
        .execute(params![block, data])?;
    }
    Ok(todo.len())
}

/// Drops the packs of the blocks that hold any of `votes` (ids), which changed.
pub(super) fn drop_for(tx: &Connection, votes: &[i64]) -> rusqlite::Result<()> {
    let mut blocks: Vec<i64> = votes.iter().map(|&v| (v - 1).max(0) / BLOCK).collect();
    blocks.dedup();
    let mut stmt = tx.prepare_cached("DELETE FROM style_packs WHERE block = ?1")?;
    for block in blocks {
        stmt.execute([block])?;
    }
    Ok(())
}

/// The blob of block `block`, or `None` when one of its values does not fit an entry (it is
/// then read row by row).
fn pack(tx: &Connection, block: i64) -> rusqlite::Result<Option<Vec<u8>>> {
    use rusqlite::types::ValueRef;
    let (after, upto) = ids(block);
    let mut stmt = tx.prepare_cached(
        "SELECT model_a, model_b, outcome, flags, style FROM votes
         WHERE id > ?1 AND id <= ?2 ORDER BY id",
    )?;
    let mut rows = stmt.query(params![after, upto])?;
    let mut data = Vec::with_capacity(1 + STYLED_ENTRY * usize::try_from(BLOCK).unwrap_or(0));
    data.push(STYLED);
    let mut styled = false;
    while let Some(row) = rows.next()? {
        let (a, b, outcome, flags): (i64, i64, i64, i64) =
            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
        let (Ok(a), Ok(b), Ok(outcome), Ok(flags)) = (
            u32::try_from(a),
            u32::try_from(b),
            u8::try_from(outcome),
            u8::try_from(flags),
        ) else {
            return Ok(None);
        };
        data.extend(a.to_le_bytes());
        data.extend(b.to_le_bytes());
        data.extend([outcome, flags]);
        match row.get_ref(4)? {
            ValueRef::Blob(style) if style.len() == 32 => {
                styled = true;
                data.push(1);
                data.extend_from_slice(style);
            }
            ValueRef::Null => data.extend([0; 33]),
            // A style that is not eight counts is read row by row, as it reads there.
            _ => return Ok(None),
        }
    }
    if !styled {
        // No style anywhere: each entry's first ten bytes.
        let plain: Vec<u8> = std::iter::once(PLAIN)
            .chain(
                data[1..]
                    .chunks_exact(STYLED_ENTRY)
                    .flat_map(|e| e[..PLAIN_ENTRY].iter().copied()),
            )
            .collect();
        return Ok(Some(plain));
    }
    Ok(Some(data))
}

/// One vote of a pack.
pub(super) struct Entry<'a> {
    pub(super) model_a: u32,
    pub(super) model_b: u32,
    pub(super) outcome: u8,
    pub(super) flags: u8,
    /// The 32 bytes of its style counts, if it has them.
    pub(super) style: Option<&'a [u8]>,
}

/// The entries of a pack's blob, or `None` for a blob this version cannot read.
pub(super) fn entries(data: &[u8]) -> Option<impl Iterator<Item = Entry<'_>>> {
    let (&format, body) = data.split_first()?;
    let size = match format {
        STYLED => STYLED_ENTRY,
        PLAIN => PLAIN_ENTRY,
        _ => return None,
    };
    if body.len() % size != 0 {
        return None;
    }
    Some(body.chunks_exact(size).map(move |e| {
        let u32_at = |i: usize| u32::from_le_bytes([e[i], e[i + 1], e[i + 2], e[i + 3]]);
        Entry {
            model_a: u32_at(0),
            model_b: u32_at(4),
            outcome: e[8],
            flags: e[9],
            style: (size == STYLED_ENTRY && e[10] == 1).then(|| &e[11..STYLED_ENTRY]),
        }
    }))
}

/// The packs of blocks `from..to`, by block: `None` data for a block to read row by row.
pub(super) fn read(
    conn: &Connection,
    from: i64,
    to: i64,
    mut each: impl FnMut(i64, Option<&[u8]>) -> crate::error::Result<()>,
) -> crate::error::Result<()> {
    use super::db;
    let mut stmt = conn
        .prepare_cached(
            "SELECT block, data FROM style_packs WHERE block >= ?1 AND block < ?2 ORDER BY block",
        )
        .map_err(db)?;
    let mut rows = stmt.query(params![from, to]).map_err(db)?;
    let mut next = from;
    while let Some(row) = rows.next().map_err(db)? {
        let block: i64 = row.get(0).map_err(db)?;
        for missing in next..block {
            each(missing, None)?;
        }
        let data = match row.get_ref(1).map_err(db)? {
            rusqlite::types::ValueRef::Blob(data) => Some(data),
            _ => None,
        };
        each(block, data)?;
        next = block + 1;
    }
    for missing in next..to {
        each(missing, None)?;
    }
    Ok(())
}

//! What the engine moves in and out in bulk: battle logs imported and votes exported, the
//! rebuild of the running counts, and the prompt pool. It may use the store, the transfer
//! readers and the configuration; nothing above the engine.

use std::path::Path;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Arena, ImportSummary, Selection};
use crate::battle::LeftOutCounts;
use crate::error::{Error, Result};
use crate::store::{ExportedVote, Prompt, Store};
use crate::transfer::battles::{InputFormat, Mapping, Skips};

impl Arena {
    /// Imports a battle log (SPEC §2 `arena import`). Parsing runs on a thread of its own
    /// while the store writes the previous chunk; `progress` gets the bytes read so far.
    pub async fn import(
        &self,
        path: &Path,
        format: InputFormat,
        mapping: &Mapping,
        progress: impl Fn(u64) + Send + 'static,
    ) -> Result<ImportSummary> {
        let started = Instant::now();
        let (tx, mut rx) = mpsc::channel::<crate::store::Chunk>(2);
        let owned = path.to_owned();
        let mapping = mapping.clone();
        let reader = tokio::task::spawn_blocking(move || {
            crate::transfer::battles::read(&owned, format, &mapping, |chunk| {
                tx.blocking_send(chunk)
                    .map_err(|_| Error::Internal("the import writer stopped".into()))
            })
        });
        let mut summary = ImportSummary {
            file: path.display().to_string(),
            imported: 0,
            duplicates: 0,
            skipped: Skips::default(),
            seconds: 0.0,
        };
        let mut failure = None;
        let mut session = Some(self.store.start_import().await?);
        let salt = self.user_key()?.to_owned();
        while let Some(chunk) = rx.recv().await {
            let bytes = chunk.bytes_read;
            let Some(open) = session.take() else { break };
            let rows = chunk.rows.len();
            let writing = Instant::now();
            match self.store.import_chunk(chunk, salt.clone(), open).await {
                Ok((count, open)) => {
                    tracing::debug!(
                        "import: {rows} records written in {:.1} ms",
                        writing.elapsed().as_secs_f64() * 1e3
                    );
                    session = Some(open);
                    summary.imported += count.imported;
                    summary.duplicates += count.duplicates;
                    progress(bytes);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        drop(rx);
        // What was imported, whole or not, joins the counts. Had the store failed, the next
        // open rebuilds them.
        if let Some(open) = session {
            self.store.finish_import(open).await?;
        }
        let read = reader
            .await
            .map_err(|e| Error::Internal(format!("the import reader failed: {e}")))?;
        if let Some(e) = failure {
            return Err(e);
        }
        summary.skipped = read?;
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// Every vote with its identity, in insertion order, handed to `sink` on the database's
    /// thread, then `None`: an export of millions of votes never sits in memory whole.
    pub async fn export_votes(
        &self,
        sink: Box<dyn FnMut(Option<ExportedVote>) -> Result<()> + Send>,
    ) -> Result<u64> {
        self.store.export_votes(sink).await
    }

    /// Recomputes the running counts and online Elo from the votes table (the votes that
    /// count); returns how many votes are kept but left out, by reason.
    pub async fn rebuild(&self) -> Result<LeftOutCounts> {
        self.store.rebuild(self.elo_params()).await?;
        self.boards.clear();
        self.left_out(&Selection::default()).await
    }

    /// The prompt pool, of one theme or all.
    pub async fn prompts(&self, theme: Option<String>) -> Result<Vec<Prompt>> {
        self.store.prompts(theme).await
    }

    /// Adds one prompt; its id defaults to a hash of the text, its theme to the id's prefix
    /// before `_` (else `general`). Returns the id.
    pub async fn add_prompt(
        &self,
        text: String,
        id: Option<String>,
        theme: Option<String>,
    ) -> Result<String> {
        if text.trim().is_empty() {
            return Err(Error::EmptyPrompt);
        }
        let id = id.unwrap_or_else(|| crate::transfer::prompts::id_for(&text));
        let theme = theme.unwrap_or_else(|| crate::transfer::prompts::theme_of(&id));
        let added = self
            .store
            .add_prompts(vec![Prompt {
                id: id.clone(),
                text,
                theme,
            }])
            .await?;
        if added == 0 {
            return Err(Error::Conflict(format!(
                "the pool already has prompt `{id}` or the same text"
            )));
        }
        Ok(id)
    }

    /// Adds a prompt set; returns how many were new.
    pub async fn add_prompts(&self, prompts: Vec<Prompt>) -> Result<usize> {
        self.store.add_prompts(prompts).await
    }

    /// Removes a prompt by id.
    pub async fn remove_prompt(&self, id: String) -> Result<()> {
        self.store.remove_prompt(id).await
    }
}

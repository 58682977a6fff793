//! Jobs that run in one process at a time across every instance on one database (the prompt
//! classifier): a process takes the lead of a job, keeps it while it runs the job, and loses
//! it when it ends, however it ends. On SQLite the one process that writes the file leads;
//! on PostgreSQL the lead is a session advisory lock held on a connection of its own, so a
//! killed instance's lead ends with its connection and another instance takes it over.

/// A job that one instance at a time runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Judging the prompts of votes with the classifier model, at its configured rate: one
    /// instance, so that no prompt is judged twice and the rate holds for the whole.
    Classify,
}

/// The lead of a [`Job`], held until dropped.
pub struct Lead {
    pub(crate) inner: Held,
}

pub(crate) enum Held {
    /// No other process can run the job.
    Alone,
    /// A connection of its own, out of the pool, holding a session advisory lock.
    Postgres(super::postgres::Held),
}

impl Lead {
    /// Whether the lead is still held (on PostgreSQL: its connection still answers; when it
    /// does not, the lock went with it and another instance may have taken the lead).
    pub async fn holds(&self) -> bool {
        match &self.inner {
            Held::Alone => true,
            Held::Postgres(held) => held.holds().await,
        }
    }
}

impl std::fmt::Debug for Lead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.inner {
            Held::Alone => "Lead(alone)",
            Held::Postgres(_) => "Lead(postgres)",
        })
    }
}

//! The OpenAI-compatible client, one pipeline for battles and the proxy: wait for a slot of
//! the endpoint's server (`max_concurrent`), `POST {base_url}/{path}`, fail over to another
//! endpoint of the pool before the answer has begun, cap what is read, and read the answer as
//! server-sent events ([`super::sse`]) or as one JSON body when the upstream does not stream.
//!
//! An answer is whole only when a chunk said why it ended (`finish_reason`): a stream that
//! closes, or says `data: [DONE]`, without one was cut short (llama.cpp's server ends a
//! running answer that way when a second request takes its slot).
//!
//! Everything read is bounded ([`Limits`]); every piece of upstream text that ends up in an
//! error is scrubbed of credentials ([`super::scrub`]); a key never travels over plain http
//! to another machine unless the model allows it.
//!
//! [`failover`] opens a call on one endpoint of the pool after another ([`client`] speaks
//! HTTP, [`stream`] reads the events, [`errors`] words what fails); [`answer`] reads a
//! battle's answer into chunks and [`relay`] hands a proxied one back. Depends on the
//! provider's types, on [`crate::config`] for the models and on reqwest.

mod answer;
mod client;
mod errors;
mod failover;
mod relay;
mod stream;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

pub(super) use answer::answer;
pub(super) use client::{key, list_models};
#[cfg(test)]
pub(super) use failover::all_failed;
pub(super) use relay::relay;
pub use relay::{Relay, RelayStream};

use super::{Chunk, UpstreamError};
use crate::config::Endpoint;

type Tx = mpsc::Sender<Result<Chunk, UpstreamError>>;

/// What every clone of an [`Upstream`] shares.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// The slots of each server with a `max_concurrent`, by base URL and limit.
    slots: Mutex<HashMap<(String, u32), Arc<Semaphore>>>,
    /// Endpoints (base URL, upstream id) that refused `stream_options`: asked without it.
    no_usage: Mutex<HashSet<(String, String)>>,
}

impl Shared {
    fn semaphore(&self, endpoint: &Endpoint) -> Option<Arc<Semaphore>> {
        let n = endpoint.max_concurrent?;
        let server = endpoint.base_url.trim_end_matches('/').to_owned();
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let permits = usize::try_from(n).unwrap_or(usize::MAX);
        Some(
            slots
                .entry((server, n))
                .or_insert_with(|| Arc::new(Semaphore::new(permits)))
                .clone(),
        )
    }

    /// Whether a request to `endpoint` would wait for its slot now.
    fn busy(&self, endpoint: &Endpoint) -> bool {
        self.semaphore(endpoint)
            .is_some_and(|s| s.available_permits() == 0)
    }

    /// Waits for a slot of `endpoint`'s server; none is needed without a limit.
    async fn slot(&self, endpoint: &Endpoint) -> Option<OwnedSemaphorePermit> {
        // The semaphores are never closed, so acquiring only fails if that changes.
        self.semaphore(endpoint)?.acquire_owned().await.ok()
    }

    fn takes_usage(&self, endpoint: &Endpoint) -> bool {
        !self
            .no_usage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&(endpoint.base_url.clone(), endpoint.model.clone()))
    }

    fn refused_usage(&self, endpoint: &Endpoint) {
        self.no_usage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((endpoint.base_url.clone(), endpoint.model.clone()));
    }
}

//! `arena`: blind, pairwise comparison of language models.
//!
//! A person (or a script, or an OpenAI-compatible client) asks a question; two anonymous
//! models answer; the person votes A, B, tie, both bad or skip; only then are the models
//! revealed. Every vote feeds the leaderboards, kept in one SQLite file or a PostgreSQL
//! database.
//!
//! # Layout
//!
//! Lowest layer first; a module may use those of its own layer and below, never above
//! (`tests/layering.rs` checks it from the source).
//!
//! - [`util`], [`error`]: times, terminal-safe text, private and atomic files; the
//!   library's typed error and its exit codes.
//! - [`rating`]: Elo, Bradley-Terry (plain and style-controlled), Glicko-2 and the
//!   leaderboard; pure functions over votes and counts, no I/O.
//! - [`battle`]: battle states and outcomes, the pure rules of a battle's life, the in-chat
//!   command grammar, answers that name a model, what a caller may see of a battle.
//! - [`config`], [`trust`]: `config.jsonc` and `models.json`, path resolution; which files
//!   of the current directory the user trusts.
//! - [`provider`], [`store`]: the upstream pipeline (fail over, cap, parse SSE) with its
//!   wire types and the offline mock; the `Store` trait and its backends (SQLite,
//!   PostgreSQL), all SQL, and the clock every stored time is read from.
//! - [`api_keys`], [`transfer`]: the server's API keys; battle logs and prompt sets in and
//!   out.
//! - [`engine`]: [`Arena`], the façade that the command line and the server call, with its
//!   parts: a battle's generation (`engine::run`), pairing (`engine::sampler`), battles
//!   driven from a chat client or the web page (`engine::chat`, also at [`chat`]), the model
//!   pool for its operator ([`pool`]) and the key that hashes user ids ([`user_key`]).
//! - [`classify`]: the LLM classifier of prompts, run by the server in the background.
//! - [`server`]: `arena serve`: the REST API, the OpenAI-compatible endpoints, the web page
//!   and its streaming battle API, auth, errors, the accept loop, the document.
//! - [`cli`]: the command line: argument types, one file per subcommand, rendering.

pub mod api_keys;
pub mod battle;
pub mod classify;
pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod provider;
pub mod rating;
pub mod server;
pub mod store;
pub mod transfer;
pub mod trust;
pub mod util;

pub use engine::Arena;
/// Kept at the paths they had before they moved into the engine.
pub use engine::{chat, pool, user_key};
pub use error::{Error, Result};

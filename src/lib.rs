//! `arena`: blind, pairwise comparison of language models.
//!
//! A person (or a script, or an OpenAI-compatible client) asks a question; two anonymous
//! models answer; the person votes A, B, tie, both bad or skip; only then are the models
//! revealed. Every vote feeds the leaderboards, kept in one SQLite file.
//!
//! # Layout
//!
//! - [`engine`]: [`Arena`], the façade that the command line and the server call.
//! - [`api_keys`]: the server's API keys: made, kept as a hash, revoked, listed.
//! - [`battle`]: battle states and outcomes, pairing of models, generation, the in-chat
//!   command grammar, blinding, answers that name a model and why a vote is left out of the
//!   ratings.
//! - [`chat`]: battles driven from a chat client, under an RPID, turn by turn, and the same
//!   battles for the web page, by id, both sides handed out together.
//! - [`rating`]: Elo and the leaderboard; pure functions over votes and counts.
//! - [`provider`]: the upstream pipeline (a slot of the server, fail over, cap, parse SSE)
//!   shared by battles and the proxy, its wire types, and the offline mock.
//! - [`pool`]: the model pool for its operator: listing, checks, upstream model lists.
//! - [`store`]: SQLite, migrations, and all SQL, behind one writer.
//! - [`config`]: `config.jsonc` and `models.json`, path resolution.
//! - [`server`]: `arena serve`: the REST API over the engine, the web page and its
//!   streaming battle API, errors, auth, document.
//! - [`cli`]: the command line: argument types, one file per subcommand, rendering.
//! - [`error`]: the library's error type and its exit codes.
//! - [`trust`]: which files of the current directory the user trusts.
//! - [`user_key`]: the key that hashes user ids, kept out of the database.
//! - [`transfer`]: battle logs and prompt sets in and out.
//! - [`classify`]: the LLM classifier of prompts, run by the server in the background.
//! - [`util`]: times, terminal-safe text, private and atomic files.

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

//! The modules whose tests touch the database, run a second time on PostgreSQL: the same
//! tests, whose `Test` and `Server` take a new database of the test cluster when their
//! thread's name (the test's path, as the harness names it) starts with `on_postgres::`
//! (see `support::backend_database`). Without PostgreSQL they run on SQLite again and say
//! so; with `ARENA_PG_TESTS=1` a missing PostgreSQL fails them.

// Each file is loaded twice on purpose: one list of tests, two backends.
#![allow(clippy::duplicate_mod)]

#[path = "battle.rs"]
mod battle;
#[path = "callers.rs"]
mod callers;
#[path = "leaderboard.rs"]
mod leaderboard;
#[path = "reliability.rs"]
mod reliability;
#[path = "server.rs"]
mod server;
#[path = "transfer.rs"]
mod transfer;
#[path = "vote.rs"]
mod vote;

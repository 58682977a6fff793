//! The integration tests of the `arena` command line, in one binary: a harness (`support`)
//! with a fake OpenAI-compatible upstream, and one module per area.

mod support;

mod bad_input;
mod battle;
mod browser;
mod callers;
mod chat_battles;
mod classifier;
mod cli_formats;
mod completions;
mod hardening;
mod init;
mod integrity;
mod interactive;
mod keys;
mod layering;
mod leaderboard;
mod left_out;
mod models;
mod on_postgres;
mod open_webui;
mod openai;
mod perimeter;
mod prompts;
mod proxy_wire;
mod reference;
mod reliability;
mod scale_out;
mod sdk;
mod server;
mod shape;
mod store;
mod store_contract;
mod style_boards;
mod terminal;
mod transfer;
mod upstream_wire;
mod vote;
mod web_api;

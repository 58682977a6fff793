//! `arena keys`: the server's API keys: add (the key printed once), list, revoke.

use clap::{Args, Subcommand};
use serde::Serialize;

use super::render;
use super::{Context, RowsFormat};
use crate::store::{KeyKind, Mode};

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    action: KeysAction,
}

#[derive(Debug, Subcommand)]
enum KeysAction {
    /// Add a key and print it (shown only this once; only its hash is kept)
    Add {
        /// The key's name: its user, for a user key (letters, digits, `.`, `_`, `-`)
        name: String,
        /// A service key: acts for the users its requests name (a bot, a chat front end),
        /// rather than being one user
        #[arg(long)]
        service: bool,
        /// The service key may name its user with Open WebUI's X-OpenWebUI-User-Id header
        /// (turn on ENABLE_FORWARD_USER_INFO_HEADERS in Open WebUI)
        #[arg(long, requires = "service")]
        trust_forwarded_user: bool,
    },
    /// List the keys: name, kind, created, last used, revoked (never a key)
    List {
        #[command(flatten)]
        format: RowsFormat,
    },
    /// Revoke a key: a running server refuses it from its next request on
    Revoke {
        /// The key's name
        name: String,
    },
}

/// A key as listed.
#[derive(Debug, Serialize)]
struct Listed {
    name: String,
    kind: &'static str,
    trust_forwarded_user: bool,
    created_at: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

pub async fn run(ctx: &Context, args: &KeysArgs) -> anyhow::Result<u8> {
    match &args.action {
        KeysAction::Add {
            name,
            service,
            trust_forwarded_user,
        } => {
            let kind = if *service {
                KeyKind::Service
            } else {
                KeyKind::User
            };
            crate::api_keys::check_name(name)?;
            let store = ctx.store(Mode::Create).await?;
            let key = crate::api_keys::add(&store, name, kind, *trust_forwarded_user).await?;
            // The key alone on stdout, for a script to take; what it is on stderr.
            outln!("{key}")?;
            let what = match kind {
                KeyKind::User => format!("user key `{name}`: it is the user `{name}`"),
                KeyKind::Service if *trust_forwarded_user => format!(
                    "service key `{name}`: it acts for the users its requests name, and \
                     trusts X-OpenWebUI-User-Id"
                ),
                KeyKind::Service => {
                    format!("service key `{name}`: it acts for the users its requests name")
                }
            };
            ctx.note(format!(
                "added the {what}. Keep the key now: only its hash is stored, and it is never \
                 shown again. Clients send it as `Authorization: Bearer KEY`; with keys, the \
                 server refuses requests without one."
            ));
        }
        KeysAction::List { format } => {
            let store = ctx.store(Mode::Read).await?;
            let keys = crate::api_keys::list(&store).await?;
            let listed: Vec<Listed> = keys
                .iter()
                .map(|k| Listed {
                    name: k.name.clone(),
                    kind: k.kind.as_str(),
                    trust_forwarded_user: k.trust_forwarded_user,
                    created_at: crate::util::format_ms(k.created_at),
                    last_used_at: k.last_used_at.map(crate::util::format_ms),
                    revoked_at: k.revoked_at.map(crate::util::format_ms),
                })
                .collect();
            let header = [
                "name",
                "kind",
                "trusts forwarded user",
                "created",
                "last used",
                "revoked",
            ];
            let fields = [
                "name",
                "kind",
                "trust_forwarded_user",
                "created_at",
                "last_used_at",
                "revoked_at",
            ];
            render::data(format.format(), &listed, &fields, &header, || {
                let or_dash = |t: &Option<String>| t.clone().unwrap_or_else(|| "-".into());
                listed
                    .iter()
                    .map(|k| {
                        vec![
                            k.name.clone(),
                            k.kind.to_owned(),
                            if k.trust_forwarded_user { "yes" } else { "no" }.to_owned(),
                            k.created_at.clone(),
                            or_dash(&k.last_used_at),
                            or_dash(&k.revoked_at),
                        ]
                    })
                    .collect()
            })?;
        }
        KeysAction::Revoke { name } => {
            let store = ctx.store(Mode::Write).await?;
            crate::api_keys::revoke(&store, name).await?;
            outln!("revoked {name}")?;
            ctx.note(
                "a running server refuses it from its next request on. The name stays listed as \
                 revoked; `arena keys add` with it makes a new key for the same user.",
            );
        }
    }
    Ok(0)
}

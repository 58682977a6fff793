//! `arena serve`: binds, says where, serves until SIGINT or SIGTERM, then shuts down
//! gracefully.

use std::net::{IpAddr, SocketAddr};

use clap::Args;

use super::Context;
use crate::error::Error;
use crate::store::{Mode, Store};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on [default: host in config.jsonc, 127.0.0.1]; anything but
    /// this machine must be given here
    #[arg(long, value_name = "ADDR")]
    host: Option<String>,
    /// The port [default: battle_server_port in config.jsonc, 5103]; 0 picks a free one
    #[arg(long)]
    port: Option<u16>,
}

/// Read-only connections beside the writer: reads of several requests run at once.
const READERS: usize = 4;

pub async fn run(ctx: &Context, args: &ServeArgs) -> anyhow::Result<u8> {
    let config = ctx.config()?;
    let host = args.host.clone().unwrap_or_else(|| config.host.clone());
    let ip: IpAddr = host.parse().map_err(|_| {
        Error::Input(format!(
            "--host `{host}`: expected an IP address such as 127.0.0.1, ::1 or 0.0.0.0"
        ))
    })?;
    if !ip.is_loopback() && args.host.is_none() {
        return Err(Error::Input(format!(
            "host `{host}` in config.jsonc is not this machine: a server open to the network \
             must be asked for with --host {host}"
        ))
        .into());
    }
    let models = ctx.models(&config)?;
    let store = crate::store::open_with_readers(&ctx.db_path()?, Mode::Create, READERS).await?;
    if !ip.is_loopback() && config.api_key.is_empty() && !store.key_by_hash(None).await?.any {
        tracing::warn!(
            "listening on {ip}, beyond this machine, with no key: anyone who can reach it can \
             use it, as any user they name (add keys with `arena keys add`, or set api_key in \
             config.jsonc or ARENA_API_KEY)"
        );
    }
    // A server's memory should not grow with its database: 4 MiB of page cache for the
    // writer, 2 MiB for each reader (reads are memory-mapped).
    store.limit_memory(4096, 2048).await?;
    let arena = crate::Arena::new(store, config.clone(), models).await?;
    arena.expire_stale().await?;
    let port = args.port.unwrap_or(config.battle_server_port);
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, port))
        .await
        .map_err(|e| bind_error(ip, port, &e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("the listening address: {e}")))?;
    // Said even with --quiet: a caller needs the port (with --port 0 above all).
    eprintln!("arena serve: listening on http://{addr}");
    let state = crate::server::AppState::new(arena).listening_on(ip);
    crate::server::serve(listener, state, shutdown_signal()).await?;
    eprintln!("arena serve: stopped");
    Ok(0)
}

/// Why the server cannot listen, as the exit codes of the README sort it: a port another
/// process holds is a conflict (4), an address that is not this machine's an input error
/// (2), anything else (a port the system reserves) a runtime failure (1).
fn bind_error(ip: IpAddr, port: u16, e: &std::io::Error) -> Error {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::AddrInUse => Error::Conflict(format!(
            "cannot listen on {ip}:{port}: another process listens there: stop it, or pick \
             another --port (0 picks a free one)"
        )),
        ErrorKind::AddrNotAvailable => Error::Input(format!(
            "cannot listen on {ip}:{port}: {ip} is not an address of this machine (--host)"
        )),
        _ => Error::Internal(format!("cannot listen on {ip}:{port}: {e}")),
    }
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

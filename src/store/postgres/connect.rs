//! From an address to a pool: libpq's URL, its defaults (`PGUSER`, `PGHOST`), the password
//! from the URL, `PGPASSWORD` or the password file, and TLS when `sslmode` asks for it.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_postgres::config::{Host, SslMode};

use crate::error::{Error, Result};

/// A pool of at most `size` connections to `url`, and the database's name for people
/// (host and database, never the password). Connections open when first needed.
pub(super) fn pool(url: &str, size: usize) -> Result<(deadpool_postgres::Pool, String)> {
    let scheme = url.split("://").next().unwrap_or("postgres");
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
        // The parser's message names the part it could not read, never the URL itself.
        Error::Input(format!(
            "--db {scheme}://…: not a PostgreSQL address ({e}); write \
             postgres://USER@HOST:PORT/DATABASE (the password in PGPASSWORD or ~/.pgpass)"
        ))
    })?;
    if config.get_user().is_none()
        && let Some(user) = std::env::var("PGUSER")
            .ok()
            .or_else(|| std::env::var("USER").ok())
    {
        config.user(user);
    }
    if config.get_hosts().is_empty() {
        match std::env::var("PGHOST") {
            Ok(h) if h.starts_with('/') => config.host_path(h),
            Ok(h) => config.host(&h),
            Err(_) => config.host("localhost"),
        };
    }
    if config.get_dbname().is_none()
        && let Some(user) = config.get_user().map(str::to_owned)
    {
        config.dbname(&user);
    }
    let location = location(&config);
    if config.get_password().is_none()
        && let Some(password) = password(&config)
    {
        config.password(password);
    }
    let manager_config = deadpool_postgres::ManagerConfig {
        recycling_method: deadpool_postgres::RecyclingMethod::Fast,
    };
    let manager = match config.get_ssl_mode() {
        SslMode::Disable => {
            deadpool_postgres::Manager::from_config(config, tokio_postgres::NoTls, manager_config)
        }
        // libpq's default (`prefer`) is kept only when the address says it: without a word
        // of it, connections are plain, as to a local server.
        _ if !url.contains("sslmode=") => {
            config.ssl_mode(SslMode::Disable);
            deadpool_postgres::Manager::from_config(config, tokio_postgres::NoTls, manager_config)
        }
        _ => deadpool_postgres::Manager::from_config(config, tls()?, manager_config),
    };
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(size.max(2))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| Error::Internal(format!("database {location}: {e}")))?;
    Ok((pool, location))
}

/// `url` for messages: its host and database, or only its scheme when it cannot be read.
pub(super) fn describe(url: &str) -> String {
    match url.parse::<tokio_postgres::Config>() {
        Ok(config) => location(&config),
        Err(_) => format!("{}://…", url.split("://").next().unwrap_or("postgres")),
    }
}

/// `host[:port]/database` (a socket's directory for a host), for messages.
fn location(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config
        .get_ports()
        .first()
        .filter(|&&p| p != 5432)
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    format!(
        "postgres {host}{port}/{}",
        config.get_dbname().unwrap_or_default()
    )
}

/// The password of `PGPASSWORD`, else of the first matching line of the password file.
fn password(config: &tokio_postgres::Config) -> Option<String> {
    if let Ok(p) = std::env::var("PGPASSWORD") {
        return Some(p);
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    let text = std::fs::read_to_string(file).ok()?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        // libpq matches a socket as `localhost`.
        _ => "localhost".into(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let db = config.get_dbname().unwrap_or_default();
    let user = config.get_user().unwrap_or_default();
    pgpass_lookup(&text, [&host, &port, db, user])
}

/// The password of the first line of a `.pgpass` text whose fields (`*` for any; `\:` and
/// `\\` escaped) match host, port, database and user.
fn pgpass_lookup(text: &str, want: [&str; 4]) -> Option<String> {
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::with_capacity(5);
        let mut field = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => field.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
                c => field.push(c),
            }
        }
        fields.push(field);
        if fields.len() == 5
            && fields
                .iter()
                .zip(want)
                .all(|(f, w)| f.as_str() == "*" || f.as_str() == w)
        {
            return fields.pop();
        }
    }
    None
}

/// rustls with the system's root certificates.
fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // A certificate the store cannot take is skipped, as every TLS client does.
        let _ = roots.add(cert);
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Internal(format!("TLS for PostgreSQL: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_file_matches_fields_and_wildcards() {
        let text = "# comment\nother:5432:*:u:no\n*:5432:arena:u:pa\\:ss\n*:*:*:*:any\n";
        assert_eq!(
            pgpass_lookup(text, ["db.example", "5432", "arena", "u"]).as_deref(),
            Some("pa:ss")
        );
        assert_eq!(
            pgpass_lookup(text, ["db.example", "6000", "x", "v"]).as_deref(),
            Some("any")
        );
        assert_eq!(pgpass_lookup("a:b:c:d:e\n", ["x", "b", "c", "d"]), None);
    }

    #[test]
    fn sslmode_in_the_address_turns_tls_on() {
        // The pool builds its rustls connector (the system's roots, ring) without a server.
        let (_, location) = pool("postgres://arena@db.example/votes?sslmode=require", 2).unwrap();
        assert_eq!(location, "postgres db.example/votes");
        let err = pool("postgres://arena@db.example/votes?sslmode=sometimes", 2).unwrap_err();
        assert!(
            err.to_string().contains("not a PostgreSQL address"),
            "{err}"
        );
    }

    #[test]
    fn the_location_never_holds_the_password() {
        let (_, location) = pool("postgres://arena:secret@db.example:6000/votes", 2).unwrap();
        assert_eq!(location, "postgres db.example:6000/votes");
        let err = pool("postgres://arena:secret@db.example:notaport/votes", 2).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}

//! A throwaway PostgreSQL cluster, started once per test process: `initdb` into a temporary
//! directory (as the `postgres` user when the tests run as root, which PostgreSQL refuses),
//! `pg_ctl start` listening on a Unix socket in that directory only (no TCP port), and one
//! new database per test. A watcher stops the cluster and removes its directory once the
//! test process is gone.
//!
//! Without PostgreSQL's binaries, [`database`] says the test is skipped and returns `None`;
//! with `ARENA_PG_TESTS=1` (CI) a missing or broken PostgreSQL fails the test instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The running cluster: its socket directory.
struct Cluster {
    socket_dir: PathBuf,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

fn required() -> bool {
    std::env::var("ARENA_PG_TESTS").is_ok_and(|v| v == "1")
}

/// The directory of `initdb` and `pg_ctl`: Debian's newest, else `pg_config --bindir`, else
/// the `PATH`.
fn bin_dir() -> Option<PathBuf> {
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    debian.sort_by_key(|p| {
        p.parent()
            .and_then(Path::file_name)
            .and_then(|v| v.to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(dir) = debian.pop() {
        return Some(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Some(dir);
        }
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program` with `args`, as the `postgres` user when this process is root.
fn as_owner(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut c: Command, what: &str) -> Result<(), String> {
    let out = c
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn start() -> Result<Cluster, String> {
    let bin = bin_dir().ok_or("PostgreSQL not installed")?;
    let root = is_root();
    let dir = tempfile::Builder::new()
        .prefix("arena-pg")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    let data = dir.join("data");
    if root {
        run(
            {
                let mut c = Command::new("chown");
                c.arg("postgres:").arg(&dir);
                c
            },
            "chown",
        )?;
    }
    let mut initdb = as_owner(&bin.join("initdb"), root);
    initdb.arg("-D").arg(&data).args([
        "-A",
        "trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    ]);
    run(initdb, "initdb")?;
    // No TCP port: only the socket in the cluster's own directory. Durability is not what
    // these tests measure: fsync off keeps them fast on a shared disk.
    let options = format!(
        "-k {} -c listen_addresses='' -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=400",
        dir.display()
    );
    let mut pg_ctl = as_owner(&bin.join("pg_ctl"), root);
    pg_ctl
        .arg("-D")
        .arg(&data)
        .args(["-o", &options, "-w", "-l"])
        .arg(dir.join("log"))
        .arg("start");
    run(pg_ctl, "pg_ctl start")?;
    // The watcher: once this process is gone, stop the cluster and remove its directory.
    let stop = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         {owner}{pg_ctl} -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        owner = if root { "runuser -u postgres -- " } else { "" },
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    Command::new("sh")
        .args(["-c", &stop])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("watcher: {e}"))?;
    Ok(Cluster { socket_dir: dir })
}

/// The address of a new, empty database of the test cluster, or `None` (with a note that the
/// test is skipped) when PostgreSQL is not installed and not required.
pub fn database() -> Option<String> {
    let cluster = match CLUSTER.get_or_init(start) {
        Ok(c) => c,
        Err(e) if required() => panic!("ARENA_PG_TESTS=1 but PostgreSQL is not usable: {e}"),
        Err(e) => {
            eprintln!("skipped: {e} (set ARENA_PG_TESTS=1 to require it)");
            return None;
        }
    };
    let host = cluster.socket_dir.display().to_string().replace('/', "%2F");
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let admin = format!("postgres://postgres@{host}/postgres");
    let made = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(name)
        })
    })
    .join()
    .expect("create database thread");
    match made {
        Ok(name) => Some(format!("postgres://postgres@{host}/{name}")),
        Err(e) => panic!("CREATE DATABASE on the test cluster: {e}"),
    }
}

/// Every row of every table of the database at `url`, as text: what a look through a file's
/// bytes is on SQLite (to show that something is kept nowhere).
pub fn contents(url: &str) -> String {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(connection);
            let tables = client
                .query(
                    "SELECT table_name::text FROM information_schema.tables
                     WHERE table_schema = 'public'",
                    &[],
                )
                .await
                .expect("tables");
            let mut all = String::new();
            for table in tables {
                let name: String = table.get(0);
                let rows = client
                    .query(&format!("SELECT t::text FROM \"{name}\" t"), &[])
                    .await
                    .expect("rows");
                for row in rows {
                    all.push_str(row.get::<_, &str>(0));
                    all.push('\n');
                }
            }
            all
        })
    })
    .join()
    .expect("read thread")
}

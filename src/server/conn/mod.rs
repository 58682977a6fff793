//! The accept loop: HTTP/1 (hyper) on each connection, with what clients that are slow on
//! purpose must not be able to do, hold the server's descriptors until nobody else gets in.
//!
//! - A cap on open connections (`max_connections`; by default three quarters of the
//!   process's descriptor limit, the rest left to the database, the upstreams and the logs).
//!   At the cap a new connection is still taken: the connection that has waited longest for
//!   a request (a head sent byte by byte, an idle keep-alive) is closed for it, else the
//!   oldest one still sending its body (under such a flood, a slow upload may be cut). A
//!   connection that has sent nothing yet is left a second for its first bytes, however
//!   fast slow clients reconnect; when nothing can go for two seconds (every connection
//!   serving a request), the new one is answered 503 and closed. So `/health` answers
//!   however many slow connections are held.
//! - `header_read_timeout_seconds`: from the accept, or from the first byte of a next
//!   request, to the end of the request's head.
//! - `keepalive_timeout_seconds`: how long a connection waits for its next request.
//! - `body_read_timeout_seconds`: from the head to the body's last byte. A handler reading
//!   the body gets [`BodyTimedOut`] (a 408); the connection is closed after its answer.
//! - Once a request's body is in, no timeout of this module applies: a stream may run as
//!   long as its generation does.
//!
//! Each connection's state (waiting for a head, idle, reading a body, serving) and since
//! when is one atomic word, written by its reads and its requests; one task reads them all
//! a few times a second and closes the connections past their time. Shutdown stops
//! accepting, closes the connections without a request in progress, and lets the others
//! finish theirs. That state and the choice of whom to close live in `watch`; this file keeps
//! the limits, the accept loop and the I/O wrappers that write the state.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use crate::config::Config;

mod watch;
use watch::{BODY, BUSY, Conns, HEAD, IDLE, NEW, Watch, pack, unpack};

/// The limits of the accept loop, in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once.
    pub max_connections: usize,
    pub header_read: Duration,
    pub keepalive: Duration,
    pub body_read: Duration,
}

/// The longest the accept loop waits for a connection that can make room, before it
/// answers a new one 503.
const ROOM_WAIT: Duration = Duration::from_secs(2);

/// How long a connection may stay silent before it can be closed for a new one at the cap:
/// however fast slow clients reconnect, a connection taken has this long for its first
/// bytes.
const EVICTION_GRACE: Duration = Duration::from_secs(1);

/// The most connections the automatic cap allows, whatever the descriptor limit.
const MAX_AUTO_CONNECTIONS: usize = 16_384;

impl ConnectionLimits {
    /// The limits of `config`, and a warning when `max_connections` asks for more than the
    /// descriptor limit leaves room for (it is lowered to fit).
    #[must_use]
    pub fn of(config: &Config) -> (ConnectionLimits, Option<String>) {
        let room = descriptor_limit().map(|n| usize::try_from(n / 4 * 3).unwrap_or(usize::MAX));
        let (max_connections, warning) = match (config.max_connections, room) {
            (0, Some(room)) => (room.clamp(1, MAX_AUTO_CONNECTIONS), None),
            (0, None) => (1024, None),
            (n, Some(room)) if n > room => (
                room.max(1),
                Some(format!(
                    "max_connections is {n}, but the descriptor limit (ulimit -n) leaves room \
                     for {room}: the server takes {room}; raise the limit to take more"
                )),
            ),
            (n, _) => (n, None),
        };
        let seconds = Duration::from_secs;
        let limits = ConnectionLimits {
            max_connections,
            header_read: seconds(config.header_read_timeout_seconds),
            keepalive: seconds(config.keepalive_timeout_seconds),
            body_read: seconds(config.body_read_timeout_seconds),
        };
        (limits, warning)
    }
}

/// The soft limit on this process's open descriptors, where there is one.
fn descriptor_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// What a handler reading a request body gets when the body did not arrive within
/// `body_read_timeout_seconds`.
#[derive(Debug)]
pub struct BodyTimedOut {
    pub seconds: u64,
}

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body did not arrive within {} s (body_read_timeout_seconds)",
            self.seconds
        )
    }
}

impl std::error::Error for BodyTimedOut {}

/// The [`BodyTimedOut`] behind an error of reading a body, however deeply wrapped.
#[must_use]
pub fn body_timed_out<'a>(
    mut e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a BodyTimedOut> {
    loop {
        if let Some(t) = e.downcast_ref::<BodyTimedOut>() {
            return Some(t);
        }
        e = e.source()?;
    }
}

// -------------------------------------------------------------------------------------------
// The accept loop

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, closes idle
/// connections and waits for the others to end their request. The caller bounds that wait.
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let conns = Arc::new(Conns::new(limits));
    let reaper = tokio::spawn(reap(conns.clone()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Our own timeouts (above) replace hyper's, which count an idle connection's wait as
    // reading a head.
    builder.header_read_timeout(None).keep_alive(true);
    let builder = Arc::new(builder);
    let mut tasks = tokio::task::JoinSet::new();
    let mut next_id: u64 = 0;
    tokio::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        while tasks.try_join_next().is_some() {}
        next_id += 1;
        // Each chunk of a stream goes out as it is written, not held back for the next.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {e}");
        }
        let Some(watch) = conns.admit_soon(next_id).await else {
            refuse(&tcp);
            continue;
        };
        let connection = Connection {
            id: next_id,
            watch,
            conns: conns.clone(),
            app: app.clone(),
        };
        tasks.spawn(connection.serve(tcp, builder.clone(), stop_rx.clone()));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // No request in progress: nothing to finish, closed now rather than at their timeout.
    conns.lock().retain(|_, w| {
        let waiting = matches!(w.phase(), NEW | HEAD | IDLE);
        if waiting {
            w.close.notify_one();
        }
        !waiting
    });
    while tasks.join_next().await.is_some() {}
    reaper.abort();
}

/// An accept that failed: a connection gone before it was taken is nothing; anything else
/// (no descriptor left) is said, and the loop pauses so that connections can end.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!("cannot accept a connection: {e}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Answers a connection the cap has no room for, without waiting for it.
fn refuse(tcp: &TcpStream) {
    const BODY: &str =
        r#"{"detail":"The server has too many connections open; try again shortly."}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: \
         1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tcp.try_write(response.as_bytes());
}

/// Closes the connections past their time, a few times a second.
async fn reap(conns: Arc<Conns>) {
    let l = conns.limits;
    let shortest = l.header_read.min(l.keepalive).min(l.body_read);
    let mut tick = tokio::time::interval(
        (shortest / 4).clamp(Duration::from_millis(50), Duration::from_secs(1)),
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let closed = conns.reap();
        if closed > 0 {
            tracing::debug!("closed {closed} connection(s) past their time");
        }
    }
}

/// One accepted connection.
struct Connection {
    id: u64,
    watch: Arc<Watch>,
    conns: Arc<Conns>,
    app: Router,
}

impl Connection {
    async fn serve(
        self,
        tcp: TcpStream,
        builder: Arc<hyper::server::conn::http1::Builder>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let io = TokioIo::new(Watched {
            tcp,
            watch: self.watch.clone(),
            conns: self.conns.clone(),
        });
        let service = Service {
            app: self.app,
            watch: self.watch.clone(),
            conns: self.conns.clone(),
        };
        let conn = builder.serve_connection(io, service);
        tokio::pin!(conn);
        let mut stopping = false;
        loop {
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(e) = served {
                        tracing::debug!("connection ended: {e}");
                    }
                    break;
                }
                // Past its time, or closed for a new connection at the cap: dropped at once.
                () = self.watch.close.notified() => break,
                _ = stop.wait_for(|s| *s), if !stopping => {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
        self.conns.forget(self.id);
    }
}

/// The socket, telling the connection's watch when a request begins to arrive.
struct Watched {
    tcp: TcpStream,
    watch: Arc<Watch>,
    conns: Arc<Conns>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            match self.watch.phase() {
                // Its first bytes: from now on it may be closed for another; its time for a
                // head still counts from the accept.
                NEW => {
                    let current = self.watch.state.load(Ordering::SeqCst);
                    let since = unpack(current).1;
                    let _ = self.watch.state.compare_exchange(
                        current,
                        pack(HEAD, since),
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    );
                    self.conns.room.notify_one();
                }
                IDLE => {
                    let now = self.conns.now();
                    self.watch.shift(IDLE, HEAD, now);
                }
                _ => {}
            }
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// The application, as one connection's hyper service: marks when each request's body and
/// response end.
#[derive(Clone)]
struct Service {
    app: Router,
    watch: Arc<Watch>,
    conns: Arc<Conns>,
}

type Reply = Pin<Box<dyn Future<Output = Result<axum::response::Response, Infallible>> + Send>>;

impl hyper::service::Service<hyper::Request<Incoming>> for Service {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = Reply;

    fn call(&self, req: hyper::Request<Incoming>) -> Reply {
        use http_body::Body as _;
        let complete = req.body().is_end_stream();
        let number = self.watch.start_request(complete, self.conns.now());
        let limit = self.conns.limits.body_read;
        let watch = self.watch.clone();
        let conns = self.conns.clone();
        let req = req.map(|body| {
            Body::new(Timed {
                body: Body::new(body),
                deadline: Box::pin(tokio::time::sleep(limit)),
                seconds: limit.as_secs(),
                watch: watch.clone(),
                conns: conns.clone(),
                number,
            })
        });
        let app = self.app.clone();
        Box::pin(async move {
            let response = app.oneshot(req).await.unwrap_or_else(|e| match e {});
            Ok(response.map(|body| {
                Body::new(Ending {
                    body,
                    watch,
                    conns,
                    number,
                })
            }))
        })
    }
}

/// A request body with a deadline for its last byte.
struct Timed {
    body: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    seconds: u64,
    watch: Arc<Watch>,
    conns: Arc<Conns>,
    number: u64,
}

impl Timed {
    fn done(&self) {
        self.watch.end(self.number, &[BODY], BUSY, self.conns.now());
    }
}

impl http_body::Body for Timed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        if self.body.is_end_stream() {
            self.done();
            return Poll::Ready(None);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            let seconds = self.seconds;
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut { seconds }))));
        }
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(frame, Poll::Ready(None)) || self.body.is_end_stream() {
            self.done();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A response body that marks its connection idle once it has ended (or was dropped).
struct Ending {
    body: Body,
    watch: Arc<Watch>,
    conns: Arc<Conns>,
    number: u64,
}

impl Ending {
    fn done(&self) {
        self.watch
            .end(self.number, &[BODY, BUSY], IDLE, self.conns.now());
    }
}

impl Drop for Ending {
    fn drop(&mut self) {
        self.done();
    }
}

impl http_body::Body for Ending {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(frame, Poll::Ready(None | Some(Err(_)))) {
            self.done();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

//! Connections: the accept loop (a bounded number of connections, the rest refused at once with
//! 503), HTTP/1 with a header-read timeout that also closes idle kept-alive connections, a
//! stall timeout for an answer the client does not read, and graceful shutdown.

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::Service;

/// The TCP peer of a request's connection (in each request's extensions).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub SocketAddr);

/// What the accept loop needs from [`crate::Limits`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Connections past the limit being answered 503 at the same time; past this they are closed
/// without an answer.
const REFUSING: usize = 64;

/// The most a request head (request line and headers) may take: 431 past it.
const MAX_HEAD: usize = 64 * 1024;

/// Accepts connections on `listener` until `shutdown` completes; then `stopping` runs (long-polls
/// answer), every connection finishes its request in flight and closes, and this returns.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    s: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
    stopping: impl FnOnce(),
) {
    let max = s.max_connections.clamp(1, u32::MAX as usize);
    let conns = Arc::new(Semaphore::new(max));
    let refusing = Arc::new(Semaphore::new(REFUSING));
    let (stop, stopped) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            a = listener.accept() => a,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Most likely out of file descriptors: pause, so the connections open now can
                // finish or time out, rather than spin.
                eprintln!("desk-server: cannot accept a connection: {e}");
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(Duration::from_millis(250)) => continue,
                }
            }
        };
        match conns.clone().try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(connection(
                    tcp,
                    peer,
                    router.clone(),
                    s,
                    stopped.clone(),
                    permit,
                ));
            }
            Err(_) => {
                if let Ok(permit) = refusing.clone().try_acquire_owned() {
                    tokio::spawn(refuse(tcp, permit));
                }
                // else: dropped, which closes it.
            }
        }
    }
    drop(listener);
    stopping();
    let _ = stop.send(true);
    // Every connection holds a permit until it is done.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = conns.acquire_many(all).await;
    let _ = refusing.acquire_many(REFUSING as u32).await;
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    router: Router,
    s: Settings,
    mut stop: watch::Receiver<bool>,
    permit: OwnedSemaphorePermit,
) {
    let _ = tcp.set_nodelay(true);
    let io = TokioIo::new(Stalls::new(tcp, s.idle_timeout));
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(Peer(peer));
        router.clone().call(req)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // Counted from when the connection opens or its previous answer was sent: a head sent
        // slowly, and a kept-alive connection left idle, are both closed after it.
        .header_read_timeout(s.header_timeout)
        .keep_alive(true)
        .max_header_size(MAX_HEAD)
        // The read buffer, and so what a connection holds while its head arrives.
        .max_buf_size(MAX_HEAD + 16 * 1024);
    let mut conn = std::pin::pin!(builder.serve_connection(io, service));
    let done = tokio::select! {
        _ = conn.as_mut() => true,
        _ = stop.wait_for(|s| *s) => false,
    };
    if !done {
        // Shutting down: the request in flight finishes, then the connection closes.
        conn.as_mut().graceful_shutdown();
        let _ = conn.as_mut().await;
    }
    // Free the place before the socket closes (with `conn`): a client that sees it close may
    // connect again at once.
    drop(permit);
}

/// Answers a connection past the limit with 503 and closes it. What the client sent is read
/// and dropped for a moment first, so closing does not reset the connection before the client
/// reads the answer.
async fn refuse(mut tcp: TcpStream, _permit: OwnedSemaphorePermit) {
    let body = serde_json::json!({"error": {
        "code": "busy",
        "message": "the server has as many connections as it takes; try again shortly",
    }})
    .to_string();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 2\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        tcp.write_all(answer.as_bytes()).await?;
        tcp.shutdown().await?;
        let mut sink = [0u8; 4096];
        let mut read = 0;
        while read < 64 * 1024 {
            match tcp.read(&mut sink).await? {
                0 => break,
                n => read += n,
            }
        }
        Ok::<(), io::Error>(())
    })
    .await;
}

/// A connection whose writes fail once the client has taken nothing for `limit` (a client that
/// stops reading its answer cannot hold the connection).
struct Stalls {
    io: TcpStream,
    limit: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Stalls {
    fn new(io: TcpStream, limit: Duration) -> Stalls {
        Stalls {
            io,
            limit,
            stalled: None,
        }
    }

    fn watch<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if r.is_ready() {
            self.stalled = None;
            return r;
        }
        let limit = self.limit;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if timer.as_mut().poll(cx).is_ready() {
            self.stalled = None;
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            )));
        }
        Poll::Pending
    }
}

impl AsyncRead for Stalls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stalls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        self.watch(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.watch(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_flush(cx);
        self.watch(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_shutdown(cx);
        self.watch(cx, r)
    }
}

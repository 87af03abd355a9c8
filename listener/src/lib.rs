//! `pond-listener`: a TCP listener for Pond's public HTTP servers (a
//! provider's outputs, a store server, the GraphQL API) that a stranger
//! cannot exhaust: at most `max_connections` connections at once, at most
//! `max_per_peer` from one IP address (more are closed at once), and a
//! connection that moves no byte either way is closed (an IPv6 client
//! counts by its /64): after
//! `idle_before_answer` until the server has answered anything (a
//! connection that never completes a request), after `idle` once it has
//! (keep-alive between requests, a quiet WebSocket). hyper, as
//! `axum::serve` runs it, has no timer: an idle or half-sent request would
//! otherwise hold its connection forever.
//!
//! ```no_run
//! # async fn f(router: axum::Router) -> std::io::Result<()> {
//! let tcp = tokio::net::TcpListener::bind("0.0.0.0:7070").await?;
//! let listener = pond_listener::GuardedListener::new(tcp, Default::default());
//! axum::serve(listener, router).await
//! # }
//! ```

use std::{
    collections::HashMap,
    future::Future,
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
    time::{Instant, Sleep},
};

/// How many connections a [`GuardedListener`] keeps, and for how long.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Connections at once; a new one waits in the kernel's backlog
    /// until one closes.
    pub max_connections: usize,
    /// Connections at once from one IP address; more are closed at once.
    pub max_per_peer: usize,
    /// A connection the server has not answered yet that moves no byte
    /// for this long is closed.
    pub idle_before_answer: Duration,
    /// A connection the server has answered that moves no byte for this
    /// long is closed.
    pub idle: Duration,
}

impl Default for ConnectionLimits {
    /// 256 connections, 16 per address, 30 s idle before and after the
    /// first answer.
    fn default() -> Self {
        Self {
            max_connections: 256,
            max_per_peer: 16,
            idle_before_answer: Duration::from_secs(30),
            idle: Duration::from_secs(30),
        }
    }
}

/// A [`TcpListener`] under [`ConnectionLimits`], for `axum::serve`.
#[derive(Debug)]
pub struct GuardedListener {
    tcp: TcpListener,
    limits: ConnectionLimits,
    slots: Arc<Semaphore>,
    per_peer: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl GuardedListener {
    /// Guards `tcp` with `limits`.
    #[must_use]
    pub fn new(tcp: TcpListener, limits: ConnectionLimits) -> Self {
        Self {
            tcp,
            slots: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            limits,
            per_peer: Arc::default(),
        }
    }

    /// Counts a connection from `ip`; `None` when it has its share.
    fn admit(&self, ip: IpAddr) -> Option<PeerSlot> {
        let mut peers = self.per_peer.lock().unwrap_or_else(|e| e.into_inner());
        let count = peers.entry(ip).or_insert(0);
        if *count >= self.limits.max_per_peer.max(1) {
            return None;
        }
        *count += 1;
        Some(PeerSlot {
            ip,
            peers: Arc::clone(&self.per_peer),
        })
    }
}

impl axum::serve::Listener for GuardedListener {
    type Io = GuardedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // A slot first: at the cap, new connections wait unaccepted.
            let Ok(slot) = Arc::clone(&self.slots).acquire_owned().await else {
                // The semaphore is never closed; wait for a connection anyway.
                std::future::pending::<()>().await;
                continue;
            };
            let (stream, peer) = match self.tcp.accept().await {
                Ok(accepted) => accepted,
                // That one connection failed: go on with the next.
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: pause, as
                    // axum's own listener does, instead of spinning.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Some(peer_slot) = self.admit(peer_group(peer.ip())) else {
                // Dropping the stream closes it: this address has its share.
                continue;
            };
            let _ = stream.set_nodelay(true);
            return (
                GuardedStream {
                    stream,
                    idle_before_answer: self.limits.idle_before_answer,
                    idle: self.limits.idle,
                    answered: false,
                    deadline: Box::pin(tokio::time::sleep(self.limits.idle_before_answer)),
                    _slot: slot,
                    _peer: peer_slot,
                },
                peer,
            );
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Whether an accept error concerns one connection only.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// What counts as one client: an IPv4 address (also when it arrives
/// IPv4-mapped), or an IPv6 /64 (one host usually holds a whole /64).
fn peer_group(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
        v4 => v4,
    }
}

/// One address's count, given back when its connection closes.
#[derive(Debug)]
struct PeerSlot {
    ip: IpAddr,
    peers: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = peers.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                peers.remove(&self.ip);
            }
        }
    }
}

/// A connection accepted by a [`GuardedListener`]: its slots are freed
/// when it closes, and it fails with `TimedOut` once it has been idle for
/// the limit.
#[derive(Debug)]
pub struct GuardedStream {
    stream: TcpStream,
    /// The idle limit until answered.
    idle_before_answer: Duration,
    /// The idle limit once answered.
    idle: Duration,
    /// Whether the server has written anything yet.
    answered: bool,
    deadline: Pin<Box<Sleep>>,
    _slot: OwnedSemaphorePermit,
    _peer: PeerSlot,
}

impl GuardedStream {
    /// Bytes moved: the idle clock starts again, at the limit of the
    /// connection's phase.
    fn moved(&mut self) {
        let limit = if self.answered {
            self.idle
        } else {
            self.idle_before_answer
        };
        let next = Instant::now() + limit;
        self.deadline.as_mut().reset(next);
    }

    /// Bytes written: the connection is answered, its longer limit
    /// applies from now.
    fn wrote(&mut self) {
        self.answered = true;
        self.moved();
    }

    /// Pending I/O: fails once the idle limit has passed.
    fn check_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection idle past its limit",
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.moved();
                }
                Poll::Ready(result)
            }
            Poll::Pending => this.check_idle(cx).map(Err),
        }
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_write(cx, data) {
            Poll::Ready(result) => {
                if matches!(result, Ok(n) if n > 0) {
                    this.wrote();
                }
                Poll::Ready(result)
            }
            Poll::Pending => this.check_idle(cx).map(Err),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_flush(cx) {
            Poll::Pending => this.check_idle(cx).map(Err),
            ready => ready,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => {
                if matches!(result, Ok(n) if n > 0) {
                    this.wrote();
                }
                Poll::Ready(result)
            }
            Poll::Pending => this.check_idle(cx).map(Err),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Loopback clients for tests of servers behind a [`GuardedListener`]:
/// connections from chosen 127.0.0.x addresses (so one machine can play
/// many clients) and a check that the server closed one.
pub mod testkit {
    use std::{net::SocketAddr, time::Duration};

    use tokio::{io::AsyncReadExt, net::TcpStream};

    /// Opens a connection to `server` from the loopback address `from`.
    ///
    /// # Panics
    /// The address cannot be bound or the server not reached.
    pub async fn connect_from(from: &str, server: SocketAddr) -> TcpStream {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(format!("{from}:0").parse().expect("address"))
            .expect("bind");
        socket.connect(server).await.expect("connect")
    }

    /// Whether the server closed `stream` within `wait`.
    pub async fn closed(stream: &mut TcpStream, wait: Duration) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            tokio::time::timeout(wait, stream.read(&mut byte)).await,
            Ok(Ok(0) | Err(_))
        )
    }

    /// Opens `count` connections to `server` from `from` that never send a
    /// byte, and checks that the server keeps at most `per_peer` of them
    /// and closes the rest within `idle` and a margin.
    ///
    /// # Panics
    /// The server kept more, or left one open.
    pub async fn silent_connections_are_capped_and_closed(
        from: &str,
        server: SocketAddr,
        count: usize,
        per_peer: usize,
        idle: Duration,
    ) {
        let mut silent = Vec::new();
        for _ in 0..count {
            silent.push(connect_from(from, server).await);
        }
        let mut open = 0;
        for stream in &mut silent {
            if !closed(stream, Duration::from_millis(200)).await {
                open += 1;
            }
        }
        assert!(open <= per_peer, "{open} kept from one address");
        for stream in &mut silent {
            assert!(
                closed(stream, idle + Duration::from_secs(9)).await,
                "silent, still open"
            );
        }
    }

    /// Sends one HTTP/1.1 `POST path` with a JSON `body` from `from` (the
    /// connection closed after it) and returns the whole answer, status
    /// line first.
    ///
    /// # Panics
    /// The server cannot be reached or the answer read.
    pub async fn post_from(from: &str, server: SocketAddr, path: &str, body: &str) -> String {
        use tokio::io::AsyncWriteExt;
        let mut client = connect_from(from, server).await;
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        client.write_all(request.as_bytes()).await.expect("sent");
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.expect("answer");
        String::from_utf8_lossy(&answer).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::peer_group;
    use std::net::IpAddr;

    #[test]
    fn ipv6_clients_count_by_their_64_and_mapped_ipv4_by_its_address() {
        let group = |s: &str| peer_group(s.parse::<IpAddr>().expect("address"));
        assert_eq!(group("2001:db8:1:2::1"), group("2001:db8:1:2:ffff::9"));
        assert_ne!(group("2001:db8:1:2::1"), group("2001:db8:1:3::1"));
        assert_eq!(group("::ffff:192.0.2.7"), group("192.0.2.7"));
        assert_ne!(group("192.0.2.7"), group("192.0.2.8"));
    }
}

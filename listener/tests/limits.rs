//! A stranger opening connections against a server behind a
//! [`GuardedListener`], on loopback (source addresses 127.0.0.x tell the
//! "peers" apart): per-address and overall caps, the idle limits before and
//! after the server's first answer, and a normal client served meanwhile.

use std::time::Duration;

use pond_listener::{
    testkit::{closed, connect_from},
    ConnectionLimits, GuardedListener,
};

/// Serves `GET /hello` behind a guarded listener with `limits`.
async fn serve(limits: ConnectionLimits) -> std::net::SocketAddr {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let server = tcp.local_addr().expect("addr");
    let app = axum::Router::new().route("/hello", axum::routing::get(|| async { "hello" }));
    tokio::spawn(async move {
        let _ = axum::serve(GuardedListener::new(tcp, limits), app).await;
    });
    server
}

/// `GET path` from the loopback address `from`: the status line.
async fn get_from(from: &str, server: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = connect_from(from, server).await;
    let request = format!("GET {path} HTTP/1.1\r\nHost: pond\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("answer");
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A stranger opening connections and sending nothing: one address keeps
/// no more than its share (the rest are closed at once), another address
/// is served meanwhile, idle connections are closed after the limit, and
/// a server whose every slot is held serves again once they idle out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_cannot_hold_the_servers_connections() {
    let path = "/hello".to_owned();
    let server = serve(ConnectionLimits {
        max_connections: 8,
        max_per_peer: 4,
        idle_before_answer: Duration::from_secs(3),
        idle: Duration::from_secs(3),
    })
    .await;

    let mut held = Vec::new();
    for _ in 0..12 {
        held.push(connect_from("127.0.0.2", server).await);
    }
    let mut open = 0;
    for stream in &mut held {
        if !closed(stream, Duration::from_millis(300)).await {
            open += 1;
        }
    }
    assert_eq!(open, 4, "one address keeps only its share");
    let started = std::time::Instant::now();
    assert_eq!(
        get_from("127.0.0.3", server, &path).await,
        "HTTP/1.1 200 OK"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // Idle connections are closed by the server.
    for stream in &mut held {
        assert!(
            closed(stream, Duration::from_secs(10)).await,
            "idle, still open"
        );
    }

    // Every slot held (4 + 4 of 8): a new client is served once they idle out.
    let mut full = Vec::new();
    for from in ["127.0.0.4", "127.0.0.5"] {
        for _ in 0..4 {
            full.push(connect_from(from, server).await);
        }
    }
    let path_again = path.clone();
    let client = tokio::spawn(async move { get_from("127.0.0.6", server, &path_again).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!client.is_finished(), "served while every slot was held");
    let served = tokio::time::timeout(Duration::from_secs(15), client)
        .await
        .expect("served once the held slots idled out")
        .expect("client");
    assert_eq!(served, "HTTP/1.1 200 OK");
    for stream in &mut full {
        assert!(closed(stream, Duration::from_secs(10)).await);
    }
}

/// A connection that never completes a request is closed after the short
/// limit; one the server has answered (a keep-alive connection between
/// requests, a WebSocket) is kept for the long one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_connection_is_kept_longer_than_a_silent_one() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = serve(ConnectionLimits {
        max_connections: 16,
        max_per_peer: 16,
        idle_before_answer: Duration::from_secs(1),
        idle: Duration::from_secs(60),
    })
    .await;
    let mut silent = connect_from("127.0.0.7", server).await;
    let mut answered = connect_from("127.0.0.7", server).await;
    answered
        .write_all(b"GET /hello HTTP/1.1\r\nHost: pond\r\n\r\n")
        .await
        .expect("sent");
    let mut answer = [0u8; 512];
    let n = answered.read(&mut answer).await.expect("answer");
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
    assert!(
        closed(&mut silent, Duration::from_secs(10)).await,
        "silent, still open"
    );
    // Well past the short limit, the answered connection still serves.
    tokio::time::sleep(Duration::from_secs(2)).await;
    answered
        .write_all(b"GET /hello HTTP/1.1\r\nHost: pond\r\nConnection: close\r\n\r\n")
        .await
        .expect("sent");
    let mut rest = Vec::new();
    answered.read_to_end(&mut rest).await.expect("answer");
    assert!(
        String::from_utf8_lossy(&rest).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&rest)
    );
}

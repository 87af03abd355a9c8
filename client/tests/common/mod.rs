//! A JSON-over-HTTP server on loopback for tests: each request's JSON body
//! goes to a handler, whose answer is sent back (or, for `None`, the
//! connection is closed unanswered, as a failing endpoint would).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

/// Serves `handler` on a loopback port; returns `http://127.0.0.1:PORT`.
pub(crate) fn serve_json(
    handler: impl Fn(&serde_json::Value) -> Option<serde_json::Value> + Send + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let url = format!(
        "http://{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let Some(answer) = handler(&request) else {
                continue;
            };
            let answer = answer.to_string();
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    url
}

/// A deployment on chain 1 with every address zero, for a fake node.
#[allow(dead_code)] // not every test binary uses it
pub(crate) fn fake_deployment() -> pond_bindings::Deployment {
    pond_bindings::Deployment {
        network: "test".into(),
        chain_id: 1,
        deployment_block: 0,
        token: Default::default(),
        owner: Default::default(),
        treasury: Default::default(),
        contracts: pond_bindings::Contracts::default(),
    }
}

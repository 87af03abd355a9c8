//! `pond up` as a user runs it: the binary starts devnode, deploys Pond,
//! indexes it and serves GraphQL; the printed URL answers queries.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn post(url: &str, body: &str) -> Option<String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/')?;
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    let request = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
}

#[test]
fn pond_up_serves_a_graphql_url_that_answers() {
    let dir = std::env::temp_dir().join(format!("pond-up-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let listen = format!("127.0.0.1:{}", free_port());
    // pond up's log goes to a file, shown if the test fails.
    let log_path = dir.join("pond-up.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pond"))
        .args([
            "up",
            "--devnode-port",
            &free_port().to_string(),
            "--listen",
            &listen,
        ])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("pond up");
    // Keep reading stdout to the end: a closed pipe would make pond up's
    // later lines fail to print.
    let stdout = child.stdout.take().expect("stdout");
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("GraphQL") {
                let _ = url_tx.send(rest.trim().to_owned());
            }
        }
    });
    let url = url_rx.recv_timeout(Duration::from_secs(900)).ok();
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let url = url.unwrap_or_else(|| panic!("pond up printed no GraphQL URL; its log:\n{}", log()));
    let started = Instant::now();
    let mut answer = String::new();
    // Generous: CI machines are shared, and the bound only ends a hung run.
    while started.elapsed() < Duration::from_secs(300) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("pond up exited with {status}; its log:\n{}", log());
        }
        if let Some(body) = post(
            &url,
            r#"{"query":"{ _meta { chainId isReady indexedBlock { number } } }"}"#,
        ) {
            answer = body;
            if answer.contains("\"isReady\":true") {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    let value: serde_json::Value = serde_json::from_str(&answer).unwrap_or_else(|_| {
        panic!(
            "no JSON answer ({answer:?}) after {:?}; pond up's log:\n{}",
            started.elapsed(),
            log()
        )
    });
    assert_eq!(value["data"]["_meta"]["chainId"], 412_346, "{answer}");
    assert_eq!(
        value["data"]["_meta"]["isReady"],
        true,
        "{answer}; log:\n{}",
        log()
    );
    let deployment =
        std::fs::read_to_string(dir.join("deployments/devnode.json")).expect("deployment file");
    assert!(deployment.contains("\"chainId\": 412346"));
    let _ = std::fs::remove_dir_all(&dir);
}

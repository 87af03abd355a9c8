//! The store against hostile directories, corrupt disks and lying or
//! stalling servers; the tree hash against the published test vectors.

use futures::StreamExt;
use pond_store::http::{router, ServeConfig};
use pond_store::tree::{Limits, Manifest};
use pond_store::walk::manifest_of_dir;
use pond_store::{
    ContentHash, LocalStore, RemoteError, RemoteStore, ResolveError, Resolver, StoreError,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A fresh directory under the system's temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pond-store-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn write(root: &Path, files: &[(&str, &[u8])]) {
    for (path, content) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        std::fs::write(path, content).expect("write");
    }
}

const VECTOR_FILES: &[(&str, &[u8])] = &[
    ("hello.txt", b"hello\n"),
    ("data/numbers.csv", b"1,2,3\n"),
    ("data-notes.md", b""),
];

#[test]
fn tree_hashes_match_the_published_vectors() {
    let limits = Limits::default();
    let empty = Manifest::new(Vec::new(), &limits).expect("empty");
    assert_eq!(
        empty.hash().to_string(),
        "0xa710ef983cac429209d752b5077e6e3e4878c999c205d41641203a8bbcd4ff67"
    );
    let dir = scratch("vectors");
    write(&dir, &VECTOR_FILES[..1]);
    assert_eq!(
        manifest_of_dir(&dir, &limits)
            .expect("tree")
            .hash()
            .to_string(),
        "0xdbd276bdf581d5c45cd1f0e85f9ac2089fcd7399d7f056defd704d8a198d2b71"
    );
    write(&dir, VECTOR_FILES);
    let manifest = manifest_of_dir(&dir, &limits).expect("tree");
    assert_eq!(
        String::from_utf8(manifest.encode()).expect("utf8"),
        "pond-tree-v1\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0 data-notes.md\n\
         7a8988e95e356e2b5b8fecf5e31f7c2e7e8fb44a5cd9d89ebb0d1e60b1f5c689 6 data/numbers.csv\n\
         5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03 6 hello.txt\n"
    );
    assert_eq!(
        manifest.hash().to_string(),
        "0x7c2b822cabe67a6fe210fcd99d875c37192371a7614b1cb0810f27ff58ca58fe"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_tree_goes_in_and_comes_out_the_same_and_is_stored_once() {
    let root = scratch("roundtrip");
    let store = LocalStore::open(root.join("store")).expect("store");
    let input = root.join("in");
    write(&input, VECTOR_FILES);
    write(&input, &[("copy/hello.txt", b"hello\n")]);
    let limits = Limits::default();
    let manifest = store.put_dir(&input, &limits).expect("put");
    assert_eq!(
        manifest.hash(),
        manifest_of_dir(&input, &limits).expect("hash").hash()
    );
    // Two files with the same content are one blob: 4 contents + manifest.
    let blobs = walk_count(&root.join("store/blobs"));
    assert_eq!(blobs, 4);
    let out = root.join("out");
    store
        .materialize(&manifest.hash(), &out, &limits)
        .expect("out");
    assert_eq!(
        manifest_of_dir(&out, &limits).expect("hash").hash(),
        manifest.hash()
    );
    assert!(matches!(
        store.materialize(&manifest.hash(), &out, &limits),
        Err(StoreError::DestinationExists(_))
    ));
    let _ = std::fs::remove_dir_all(root);
}

fn walk_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| std::fs::read_dir(e.path()).expect("shard").count())
        .sum()
}

#[test]
fn links_and_escapes_are_refused_and_nothing_is_kept() {
    let root = scratch("hostile");
    let store = LocalStore::open(root.join("store")).expect("store");
    let input = root.join("in");
    write(&input, &[("ok.txt", b"ok")]);
    std::os::unix::fs::symlink("/etc/passwd", input.join("passwd")).expect("link");
    let limits = Limits::default();
    let refused = store.put_dir(&input, &limits);
    assert!(matches!(refused, Err(StoreError::Walk(_))), "{refused:?}");
    assert_eq!(walk_count(&root.join("store/blobs")), 0, "nothing stored");
    std::fs::remove_file(input.join("passwd")).expect("unlink");
    // Too many files and too many bytes are refused before any is read.
    write(&input, &[("two.txt", b"22"), ("three.txt", b"333")]);
    let tight = Limits {
        max_files: 2,
        ..Limits::default()
    };
    assert!(store.put_dir(&input, &tight).is_err());
    let small = Limits {
        max_total_bytes: 5,
        ..Limits::default()
    };
    assert!(store.put_dir(&input, &small).is_err());
    assert_eq!(walk_count(&root.join("store/blobs")), 0, "nothing stored");
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn a_corrupt_blob_is_detected_removed_and_never_written_out() {
    let root = scratch("corrupt");
    let store = LocalStore::open(root.join("store")).expect("store");
    let input = root.join("in");
    write(&input, VECTOR_FILES);
    let limits = Limits::default();
    let manifest = store.put_dir(&input, &limits).expect("put");
    let hello = manifest.get("hello.txt").expect("entry").hash;
    std::fs::write(store.blob_path(&hello), b"HELLO\n").expect("tamper");
    let out = root.join("out");
    let refused = store.materialize(&manifest.hash(), &out, &limits);
    assert!(
        matches!(refused, Err(StoreError::Corrupt(h)) if h == hello),
        "{refused:?}"
    );
    assert!(!out.exists(), "no half-written output");
    assert!(!store.contains(&hello), "the corrupt blob is gone");
    let leftovers: Vec<_> = std::fs::read_dir(&root).expect("dir").flatten().collect();
    assert_eq!(leftovers.len(), 2, "only store/ and in/: {leftovers:?}");
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn garbage_collection_keeps_what_pins_reach() {
    let root = scratch("gc");
    let store = LocalStore::open(root.join("store")).expect("store");
    let input = root.join("in");
    write(&input, VECTOR_FILES);
    let limits = Limits::default();
    let kept = store.put_dir(&input, &limits).expect("put");
    let loose = store.put_bytes(b"unreferenced").expect("put");
    store.pin("job-1", &kept.hash()).expect("pin");
    assert!(store.pin("../x", &kept.hash()).is_err());
    // Within the grace period nothing unpinned goes: it may be a write in
    // progress, not yet pinned.
    let report = store
        .collect_garbage(&limits, Duration::from_secs(3600))
        .expect("gc");
    assert_eq!((report.kept, report.removed), (5, 0));
    let report = store.collect_garbage(&limits, Duration::ZERO).expect("gc");
    assert_eq!((report.kept, report.removed), (4, 1));
    assert!(!store.contains(&loose));
    // A pinned tree whose manifest is damaged: its files cannot be told
    // apart, so the collection stops and removes nothing.
    std::fs::write(store.blob_path(&kept.hash()), b"damaged").expect("tamper");
    assert!(store.collect_garbage(&limits, Duration::ZERO).is_err());
    assert!(store.contains(&hello_hash(&kept)));
    store.unpin("job-1").expect("unpin");
    let report = store.collect_garbage(&limits, Duration::ZERO).expect("gc");
    assert_eq!((report.kept, report.removed), (0, 3));
    let _ = std::fs::remove_dir_all(root);
}

#[tokio::test]
async fn abandoned_writes_leave_nothing_and_damaged_blobs_heal() {
    let root = scratch("writes");
    let store = LocalStore::open(root.join("store")).expect("store");
    let tmp_files = || {
        std::fs::read_dir(root.join("store/tmp"))
            .expect("tmp")
            .count()
    };

    // A stream that sends one chunk and then nothing: the caller gives up.
    let stalled =
        futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"part"))])
            .chain(futures::stream::pending());
    let expected = ContentHash::of(b"partial content");
    let gave_up = tokio::time::timeout(
        Duration::from_millis(200),
        store.put_stream(expected, 1 << 20, Box::pin(stalled)),
    )
    .await;
    assert!(gave_up.is_err(), "the stream never ends");
    assert_eq!(tmp_files(), 0, "the abandoned write's file is gone");

    // A blob damaged on disk is replaced by the next write of its content.
    let hash = store.put_bytes(b"precious").expect("put");
    std::fs::write(store.blob_path(&hash), b"bit rot!").expect("damage");
    store.put_bytes(b"precious").expect("put again");
    assert_eq!(store.read(&hash, 100).expect("read"), b"precious");

    // A pipe or a link is refused at once, never read.
    let fifo = root.join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let refused = store.put_file(&fifo, 1 << 20);
    assert!(matches!(refused, Err(StoreError::Walk(_))), "{refused:?}");
    std::fs::write(root.join("target"), b"x").expect("write");
    std::os::unix::fs::symlink(root.join("target"), root.join("link")).expect("link");
    let refused = store.put_file(&root.join("link"), 1 << 20);
    assert!(
        matches!(
            refused,
            Err(StoreError::Walk(pond_store::walk::WalkError::SymbolicLink(
                _
            )))
        ),
        "{refused:?}"
    );
    assert_eq!(tmp_files(), 0);
    let _ = std::fs::remove_dir_all(root);
}

/// Serves `app` on a loopback port; returns its base URL.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/")
}

#[tokio::test]
async fn trees_move_over_http_and_writes_need_the_token() {
    let root = scratch("http");
    let server_store = Arc::new(LocalStore::open(root.join("server")).expect("store"));
    let config = ServeConfig {
        put_token: Some("s3cret".into()),
        max_blob_bytes: 1 << 20,
        ..ServeConfig::default()
    };
    let base = serve(router(Arc::clone(&server_store), config)).await;
    let creator = LocalStore::open(root.join("creator")).expect("store");
    let input = root.join("in");
    write(&input, VECTOR_FILES);
    let limits = Limits::default();
    let manifest = creator.put_dir(&input, &limits).expect("put");

    let anonymous = RemoteStore::new(&base, None).expect("client");
    let refused = anonymous
        .push_tree(&creator, &manifest.hash(), &limits)
        .await;
    assert!(
        matches!(refused, Err(RemoteError::Status { status: 401, .. })),
        "{refused:?}"
    );
    let wrong = RemoteStore::new(&base, Some("guess".into())).expect("client");
    assert!(wrong
        .push_tree(&creator, &manifest.hash(), &limits)
        .await
        .is_err());
    let publisher = RemoteStore::new(&base, Some("s3cret".into())).expect("client");
    publisher
        .push_tree(&creator, &manifest.hash(), &limits)
        .await
        .expect("push");
    assert!(server_store.contains(&manifest.hash()));

    // A provider resolves pond://<hash> through the server.
    let provider = Arc::new(LocalStore::open(root.join("provider")).expect("store"));
    let resolver = Resolver {
        local: Arc::clone(&provider),
        servers: vec![anonymous.clone()],
        limits,
        allow_file_uris: false,
    };
    let uri = format!("pond://{}", manifest.hash());
    let fetched = resolver
        .tree(&uri, &manifest.hash(), "module.wasm")
        .await
        .expect("fetch");
    assert_eq!(fetched, manifest);
    let other = ContentHash::of(b"other");
    assert!(matches!(
        resolver.tree(&uri, &other, "module.wasm").await,
        Err(ResolveError::NamesAnotherHash { .. })
    ));
    assert!(matches!(
        resolver.tree(&format!("pond://{other}"), &other, "m").await,
        Err(ResolveError::NotFound(..))
    ));
    // file:// is refused unless allowed (URIs from the chain could name
    // the provider's own files); allowed, a URI whose content is another
    // hash keeps nothing.
    let file_uri = format!("file://{}", input.display());
    assert!(matches!(
        resolver.tree(&file_uri, &manifest.hash(), "m").await,
        Err(ResolveError::FileUriRefused)
    ));
    let fresh = Arc::new(LocalStore::open(root.join("fresh")).expect("store"));
    let files = Resolver {
        local: Arc::clone(&fresh),
        allow_file_uris: true,
        ..resolver.clone()
    };
    assert!(matches!(
        files.tree(&file_uri, &other, "m").await,
        Err(ResolveError::WrongContent { .. })
    ));
    assert!(!fresh.contains(&hello_hash(&manifest)), "nothing kept");
    let resolver = Resolver {
        allow_file_uris: true,
        ..resolver
    };
    // file:// of a directory is its tree; of a file, the one-file tree.
    resolver
        .tree(&file_uri, &manifest.hash(), "m")
        .await
        .expect("file tree");
    let module = root.join("prog.wasm");
    std::fs::write(&module, b"\0asm").expect("module");
    let single = Manifest::single("module.wasm", 4, ContentHash::of(b"\0asm")).expect("one");
    let got = resolver
        .tree(
            &format!("file://{}", module.display()),
            &single.hash(),
            "module.wasm",
        )
        .await
        .expect("one-file tree");
    assert_eq!(got, single);

    // Range requests, and a PUT whose body is not its hash keeps nothing.
    let http = reqwest::Client::new();
    let hello = manifest.get("hello.txt").expect("entry").hash;
    let part = http
        .get(anonymous.blob_url(&hello))
        .header("Range", "bytes=1-3")
        .send()
        .await
        .expect("range");
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.expect("body").as_ref(), b"ell");
    let bad_range = http
        .get(anonymous.blob_url(&hello))
        .header("Range", "bytes=9-")
        .send()
        .await
        .expect("range");
    assert_eq!(bad_range.status(), 416);
    let lie = ContentHash::of(b"promised");
    let put = http
        .put(anonymous.blob_url(&lie))
        .bearer_auth("s3cret")
        .body("delivered")
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), 422);
    assert!(!server_store.contains(&lie));
    let big = vec![7u8; (1 << 20) + 1];
    let put = http
        .put(anonymous.blob_url(&ContentHash::of(&big)))
        .bearer_auth("s3cret")
        .body(big)
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), 413);
    let _ = std::fs::remove_dir_all(root);
}

#[tokio::test]
async fn lying_oversized_and_stalling_servers_leave_nothing_behind() {
    use axum::routing::get;
    let root = scratch("liars");
    let limits = Limits::default();
    let creator = LocalStore::open(root.join("creator")).expect("store");
    let input = root.join("in");
    write(&input, &VECTOR_FILES[..1]);
    let manifest = creator.put_dir(&input, &limits).expect("put");
    let manifest_bytes = manifest.encode();
    let hello = manifest.get("hello.txt").expect("entry").hash;

    // Serves the true manifest and then wrong, long or no file content.
    let liar = |file_body: &'static str| {
        let manifest_bytes = manifest_bytes.clone();
        let tree = manifest.hash().hex();
        axum::Router::new().route(
            "/blobs/{hash}",
            get(
                move |axum::extract::Path(hash): axum::extract::Path<String>| {
                    let manifest_bytes = manifest_bytes.clone();
                    let tree = tree.clone();
                    async move {
                        if hash == tree {
                            axum::body::Body::from(manifest_bytes)
                        } else if file_body == "stall" {
                            let stream =
                                futures::stream::pending::<Result<bytes::Bytes, std::io::Error>>();
                            axum::body::Body::from_stream(stream)
                        } else {
                            axum::body::Body::from(file_body)
                        }
                    }
                },
            ),
        )
    };
    for (body, check) in [
        ("HELLO\n", "mismatch"),
        (
            "hello\nand a lot more than the manifest states",
            "too large",
        ),
        ("stall", "stall"),
    ] {
        let base = serve(liar(body)).await;
        let provider = LocalStore::open(root.join(format!("provider-{check}"))).expect("store");
        let server = RemoteStore::new(&base, None)
            .expect("client")
            .with_idle_timeout(Duration::from_millis(300))
            .expect("client");
        let refused = server
            .fetch_tree(&provider, &manifest.hash(), &limits)
            .await;
        match check {
            "mismatch" => assert!(
                matches!(
                    refused,
                    Err(RemoteError::Store(StoreError::HashMismatch { .. }))
                ),
                "{refused:?}"
            ),
            "too large" => assert!(
                matches!(
                    refused,
                    Err(RemoteError::Store(StoreError::TooLarge { .. }))
                ),
                "{refused:?}"
            ),
            // Given up by the idle timeout on the body, or, on a loaded
            // machine, by the headers' deadline: either way in time.
            _ => assert!(
                matches!(
                    refused,
                    Err(RemoteError::Store(StoreError::Stream(_)) | RemoteError::TooSlow { .. })
                ),
                "{refused:?}"
            ),
        }
        assert!(
            !provider.contains(&hello),
            "{check}: nothing unverified kept"
        );
        let temporary = std::fs::read_dir(provider.root().join("tmp"))
            .expect("tmp")
            .count();
        assert_eq!(temporary, 0, "{check}: no temporary file left");
    }
    let _ = std::fs::remove_dir_all(root);
}

fn hello_hash(manifest: &Manifest) -> ContentHash {
    manifest.get("hello.txt").expect("entry").hash
}

#[tokio::test]
async fn a_trickling_upload_is_cut_off_and_writes_beyond_the_limit_are_refused() {
    let root = scratch("trickle");
    let store = Arc::new(LocalStore::open(root.join("store")).expect("store"));
    let config = ServeConfig {
        open_writes: true,
        idle_timeout: Duration::from_secs(1),
        min_put_rate: 1 << 20,
        max_concurrent_puts: 1,
        ..ServeConfig::default()
    };
    let base = serve(router(Arc::clone(&store), config)).await;
    let content = vec![7u8; 100];
    let hash = ContentHash::of(&content);
    let url = format!("{base}blobs/{hash}");
    let http = reqwest::Client::new();

    // One byte every 300 ms: never idle for a second, but far slower than
    // 1 MiB/s, so the whole upload gets one second.
    let trickle = futures::stream::iter(content.clone()).then(|byte| async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok::<_, std::io::Error>(bytes::Bytes::from(vec![byte]))
    });
    let slow = http
        .put(&url)
        .header("content-length", "100")
        .body(reqwest::Body::wrap_stream(trickle))
        .send();
    let slow = tokio::spawn(slow);

    // While it holds the only write slot, another write is turned away.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let other = b"other".to_vec();
    let busy = http
        .put(format!("{base}blobs/{}", ContentHash::of(&other)))
        .body(other.clone())
        .send()
        .await
        .expect("answer");
    assert_eq!(busy.status().as_u16(), 503);
    assert!(busy.headers().contains_key("retry-after"));

    let started = std::time::Instant::now();
    let cut = slow.await.expect("task");
    // The server answers 408 at its deadline (or drops the connection).
    if let Ok(answer) = cut {
        assert_eq!(answer.status().as_u16(), 408);
    }
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(!store.contains(&hash));
    let tmp = std::fs::read_dir(root.join("store/tmp"))
        .expect("tmp")
        .count();
    assert_eq!(tmp, 0, "the cut-off upload left nothing");

    // The slot is free again.
    let ok = http
        .put(format!("{base}blobs/{}", ContentHash::of(&other)))
        .body(other)
        .send()
        .await
        .expect("answer");
    assert_eq!(ok.status().as_u16(), 201);
    let _ = std::fs::remove_dir_all(root);
}

/// A server that sends a file a byte every 100 ms never goes idle, yet a
/// fetch is given up once it takes longer than its idle timeout plus its
/// size at the minimum rate, and keeps nothing.
#[tokio::test]
async fn a_trickling_server_cannot_hold_a_fetch() {
    use axum::routing::get;
    let root = scratch("trickle-fetch");
    let limits = Limits::default();
    let creator = LocalStore::open(root.join("creator")).expect("store");
    let input = root.join("in");
    write(&input, &[("slow.txt", &[b'x'; 100])]);
    let manifest = creator.put_dir(&input, &limits).expect("put");
    let manifest_bytes = manifest.encode();
    let tree = manifest.hash().hex();
    let app = axum::Router::new().route(
        "/blobs/{hash}",
        get(
            move |axum::extract::Path(hash): axum::extract::Path<String>| {
                let (manifest_bytes, tree) = (manifest_bytes.clone(), tree.clone());
                async move {
                    if hash == tree {
                        return axum::response::Response::new(axum::body::Body::from(
                            manifest_bytes,
                        ));
                    }
                    let bytes = futures::stream::iter(0..100).then(|_| async {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"x"))
                    });
                    axum::response::Response::builder()
                        .header("content-length", "100")
                        .body(axum::body::Body::from_stream(bytes))
                        .expect("response")
                }
            },
        ),
    );
    let base = serve(app).await;
    let server = RemoteStore::new(&base, None)
        .expect("client")
        .with_idle_timeout(Duration::from_secs(1))
        .expect("client")
        .with_min_rate(1_000);
    let fetcher = LocalStore::open(root.join("fetcher")).expect("store");
    let started = std::time::Instant::now();
    let refused = server.fetch_tree(&fetcher, &manifest.hash(), &limits).await;
    assert!(
        matches!(refused, Err(RemoteError::TooSlow { rate: 1_000, .. })),
        "{refused:?}"
    );
    // Given up at its deadline (1.1 s), long before the 10 s trickle ends.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    let slow = manifest.get("slow.txt").expect("entry").hash;
    assert!(!fetcher.contains(&slow), "nothing unverified kept");
    let _ = std::fs::remove_dir_all(root);
}

/// A server that trickles its response headers (a byte every 100 ms, so
/// never idle) is given up once the idle timeout passes without them.
#[tokio::test]
async fn a_server_trickling_its_headers_cannot_hold_a_fetch() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request).await;
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: "
                    .iter()
                    .chain([b'a'; 400].iter())
                {
                    if stream.write_all(&[*byte]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
    });
    let server = RemoteStore::new(&format!("http://{addr}/"), None)
        .expect("client")
        .with_idle_timeout(Duration::from_secs(1))
        .expect("client");
    let root = scratch("trickle-headers");
    let local = LocalStore::open(root.join("local")).expect("store");
    let started = std::time::Instant::now();
    let refused = server
        .fetch(&local, &ContentHash::of(b"anything"), 1024)
        .await;
    // reqwest's read timeout or the headers' deadline, whichever first.
    assert!(
        matches!(
            refused,
            Err(RemoteError::TooSlow { .. } | RemoteError::Transport { .. })
        ),
        "{refused:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(root);
}

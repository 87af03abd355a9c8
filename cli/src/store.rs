//! `pond store serve | put | get`: the content-addressed store job data
//! moves through (`docs/jobs.md`). Creators publish inputs with `put`,
//! providers serve results with `serve`, and anyone fetches by hash with
//! `get`; every byte is verified against its hash before it is kept.

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use clap::{Args, Subcommand};
use eyre::{bail, WrapErr};
use pond_store::{
    http::{router, ServeConfig},
    ContentHash, DataUri, Limits, LocalStore, RemoteStore, Resolver,
};

/// `pond store …`.
#[derive(Args, Debug)]
pub(crate) struct Store {
    #[command(subcommand)]
    command: StoreCommand,
    /// The local store's directory.
    #[arg(long, global = true, env = "POND_STORE_DIR")]
    store_dir: Option<PathBuf>,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum StoreCommand {
    /// Serve the local store over HTTP: GET and HEAD /blobs/HASH for
    /// anyone, PUT with the bearer token (or with --open-writes).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:4100")]
        listen: SocketAddr,
        /// A file whose first line is the token PUT needs ($POND_STORE_TOKEN
        /// also works).
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Accept PUT from anyone (a private network only).
        #[arg(long, conflicts_with = "token_file")]
        open_writes: bool,
        /// The largest blob a PUT may send, in bytes.
        #[arg(long, default_value_t = Limits::default().max_file_bytes)]
        max_blob_bytes: u64,
    },
    /// Store a file (a blob) or a directory (a tree) and print its hash and
    /// pond:// URI; with --server, also upload it there.
    Put {
        /// The file or directory.
        path: PathBuf,
        /// A store server to upload to (http://HOST:PORT).
        #[arg(long)]
        server: Option<String>,
        /// A file whose first line is the server's token ($POND_STORE_TOKEN
        /// also works).
        #[arg(long)]
        token_file: Option<PathBuf>,
    },
    /// Fetch a tree (or, with --blob, one blob) by hash or URI, verify
    /// it, and write it to a new path.
    Get {
        /// 0xHASH, pond://HASH or http(s)://SERVER/blobs/HASH.
        what: String,
        /// Where to write it (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Servers to ask for pond:// hashes, in order (repeatable).
        #[arg(long)]
        server: Vec<String>,
        /// The hash names one blob, not a tree.
        #[arg(long)]
        blob: bool,
    },
}

/// `--store-dir`, `$POND_STORE_DIR`, else `~/.pond/store`.
pub(crate) fn open_store(dir: Option<PathBuf>) -> eyre::Result<LocalStore> {
    let dir = match dir.or_else(|| std::env::var_os("POND_STORE_DIR").map(PathBuf::from)) {
        Some(dir) => dir,
        None => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".pond/store"),
            None => bail!("no store directory: pass --store-dir DIR or set POND_STORE_DIR"),
        },
    };
    LocalStore::open(&dir).wrap_err_with(|| format!("opening the store at {}", dir.display()))
}

/// The store token: the first line of `file`, else `$POND_STORE_TOKEN`.
pub(crate) fn token(file: Option<&PathBuf>) -> eyre::Result<Option<String>> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .wrap_err_with(|| format!("reading the token from {}", file.display()))?;
        let token = text.lines().next().unwrap_or("").trim().to_owned();
        if token.is_empty() {
            bail!("{} holds no token", file.display());
        }
        return Ok(Some(token));
    }
    Ok(std::env::var("POND_STORE_TOKEN")
        .ok()
        .filter(|t| !t.is_empty()))
}

impl Store {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let store = Arc::new(open_store(self.store_dir.clone())?);
        let limits = Limits::default();
        match self.command {
            StoreCommand::Serve {
                listen,
                token_file,
                open_writes,
                max_blob_bytes,
            } => {
                let config = ServeConfig {
                    put_token: token(token_file.as_ref())?,
                    open_writes,
                    max_blob_bytes,
                    ..ServeConfig::default()
                };
                let writes = match (&config.put_token, open_writes) {
                    (Some(_), _) => "writes need the token",
                    (None, true) => "writes open to anyone",
                    (None, false) => "read-only",
                };
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .wrap_err_with(|| format!("listening on {listen}"))?;
                let address = listener.local_addr()?;
                println!("store  http://{address}");
                eprintln!(
                    "serving {} ({writes}); Ctrl-C stops",
                    store.root().display()
                );
                let listener = pond_listener::GuardedListener::new(listener, Default::default());
                axum::serve(listener, router(store, config))
                    .with_graceful_shutdown(async {
                        let _ = tokio::signal::ctrl_c().await;
                    })
                    .await?;
                Ok(())
            }
            StoreCommand::Put {
                path,
                server,
                token_file,
            } => {
                let meta = std::fs::metadata(&path)
                    .wrap_err_with(|| format!("reading {}", path.display()))?;
                let (hash, kind, files, bytes) = if meta.is_dir() {
                    let source = path.clone();
                    let local = Arc::clone(&store);
                    let tree = tokio::task::spawn_blocking(move || local.put_dir(&source, &limits))
                        .await??;
                    (
                        tree.hash(),
                        "tree",
                        tree.entries().len(),
                        tree.total_bytes(),
                    )
                } else {
                    let (hash, size) = store.put_file(&path, limits.max_file_bytes)?;
                    (hash, "blob", 1, size)
                };
                if let Some(server) = &server {
                    let remote = RemoteStore::new(server, token(token_file.as_ref())?)?;
                    if kind == "tree" {
                        remote.push_tree(&store, &hash, &limits).await?;
                    } else {
                        remote.push(&store, &hash).await?;
                    }
                }
                if self.json {
                    let uri = server
                        .as_ref()
                        .map(|s| format!("{}/blobs/{}", s.trim_end_matches('/'), hash));
                    println!(
                        "{}",
                        serde_json::json!({
                            "hash": hash.to_string(), "kind": kind, "files": files,
                            "bytes": bytes, "uri": format!("pond://{hash}"), "serverUri": uri,
                        })
                    );
                } else {
                    println!("{hash}");
                    eprintln!("{kind} of {files} file(s), {bytes} bytes: pond://{hash}");
                    if let Some(server) = server {
                        eprintln!("uploaded: {}/blobs/{hash}", server.trim_end_matches('/'));
                    }
                }
                Ok(())
            }
            StoreCommand::Get {
                what,
                out,
                server,
                blob,
            } => {
                let (hash, mut servers) = match what.parse::<ContentHash>() {
                    Ok(hash) => (hash, Vec::new()),
                    Err(_) => match what.parse::<DataUri>()? {
                        DataUri::Pond(hash) => (hash, Vec::new()),
                        DataUri::Store { base, hash } => (hash, vec![RemoteStore::new(&base, None)?]),
                        DataUri::File(_) => bail!("`pond store get` fetches by hash: use `pond store put` for local files"),
                    },
                };
                for base in &server {
                    servers.push(RemoteStore::new(base, None)?);
                }
                if blob {
                    let mut last = None;
                    for remote in &servers {
                        if store.contains(&hash) {
                            break;
                        }
                        if let Err(e) = remote.fetch(&store, &hash, limits.max_file_bytes).await {
                            last = Some(e);
                        }
                    }
                    if !store.contains(&hash) {
                        match last {
                            Some(e) => return Err(e).wrap_err_with(|| format!("fetching blob {hash}")),
                            None => bail!("blob {hash} is not in the local store; name a server that has it (--server URL)"),
                        }
                    }
                    store.copy_out(&hash, &out)?;
                } else {
                    let resolver = Resolver {
                        local: Arc::clone(&store),
                        servers,
                        limits,
                        allow_file_uris: false,
                    };
                    resolver
                        .tree(&format!("pond://{hash}"), &hash, "data")
                        .await?;
                    let target = out.clone();
                    let local = Arc::clone(&store);
                    tokio::task::spawn_blocking(move || local.materialize(&hash, &target, &limits))
                        .await??;
                }
                if self.json {
                    println!(
                        "{}",
                        serde_json::json!({ "hash": hash.to_string(), "out": out })
                    );
                } else {
                    println!("{}", out.display());
                    eprintln!("{hash} verified and written to {}", out.display());
                }
                Ok(())
            }
        }
    }
}

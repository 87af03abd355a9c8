//! `pond-store`: the content-addressed data Pond's jobs are made of.
//!
//! - [`tree`]: the canonical manifest of a directory tree and its hash,
//!   the `bytes32` a job's module, inputs and result go on chain as;
//! - [`walk`]: reading a local directory as a tree (regular files only);
//! - [`local`]: a local store of blobs named by hash: atomic writes, each
//!   content stored once, every read verified, garbage collection by pins;
//! - [`http`] and [`remote`]: the store served over HTTP and fetched from
//!   it, every byte verified before it is kept;
//! - [`uri`]: `pond://`, `file://` and `http(s)://` data URIs resolved
//!   into the local store.
//!
//! The format is specified, with test vectors, in `docs/jobs.md`.

pub mod hash;
pub mod http;
pub mod local;
pub mod remote;
pub mod tree;
pub mod uri;
pub mod walk;

pub use hash::ContentHash;
pub use local::{LocalStore, StoreError};
pub use remote::{RemoteError, RemoteStore};
pub use tree::{Limits, Manifest};
pub use uri::{DataUri, ResolveError, Resolver};

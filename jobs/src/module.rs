//! A job's module and the hash it goes on chain as: a `wasm32-wasip1`
//! module is the one-file tree `module.wasm`, hashed as every tree is; an
//! OCI image is named by its image ID, the SHA-256 of its configuration,
//! which names every layer by the digest of its content.

use pond_store::{ContentHash, LocalStore, Manifest, StoreError};
use std::path::{Path, PathBuf};

/// The file name a WASM module has in its one-file tree.
pub const WASM_MODULE_FILE: &str = "module.wasm";
/// The largest WASM module read.
pub const MAX_WASM_BYTES: u64 = 256 << 20;

/// What a job runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobModule {
    /// A WebAssembly module for WASI preview 1.
    Wasm(Vec<u8>),
    /// A container image, by image ID.
    Image(ContentHash),
}

/// Why a module could not be named or read.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// Neither a `.wasm` file nor `image:sha256:<64 hex>`.
    #[error(
        "`{0}` is not a module: give a .wasm file, or an image as image:sha256:<64 hex digits>"
    )]
    Unrecognized(String),
    /// The module file is too large.
    #[error("{0} is larger than {MAX_WASM_BYTES} bytes")]
    TooLarge(PathBuf),
    /// It does not start with the WebAssembly magic number.
    #[error("{0} is not a WebAssembly module (no \\0asm header)")]
    NotWasm(PathBuf),
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// What.
        source: std::io::Error,
    },
}

/// The hash of a WASM module: its one-file tree's.
pub fn wasm_module_hash(bytes: &[u8]) -> ContentHash {
    match Manifest::single(WASM_MODULE_FILE, bytes.len() as u64, ContentHash::of(bytes)) {
        Ok(tree) => tree.hash(),
        // `module.wasm` is a valid path, so this cannot happen; hashing the
        // bytes alone would still name them uniquely.
        Err(_) => ContentHash::of(bytes),
    }
}

/// Puts a WASM module into `store` as its one-file tree (the module's
/// blob and the tree's manifest), so the tree can be served and fetched
/// by the hash [`wasm_module_hash`] gives; that hash.
///
/// # Errors
/// The store cannot write.
pub fn put_wasm_module(store: &LocalStore, bytes: &[u8]) -> Result<ContentHash, StoreError> {
    let blob = store.put_bytes(bytes)?;
    let tree = Manifest::single(WASM_MODULE_FILE, bytes.len() as u64, blob)?;
    store.put_bytes(&tree.encode())?;
    Ok(tree.hash())
}

impl JobModule {
    /// The hash that goes on chain as the job's `moduleHash`.
    pub fn hash(&self) -> ContentHash {
        match self {
            Self::Wasm(bytes) => wasm_module_hash(bytes),
            Self::Image(id) => *id,
        }
    }

    /// Reads a module named on the command line: a path to a `.wasm` file,
    /// or `image:sha256:<hex>` for a container image already loaded into
    /// the container runtime.
    ///
    /// # Errors
    /// See [`ModuleError`].
    pub fn open(name: &str) -> Result<Self, ModuleError> {
        if let Some(id) = name.strip_prefix("image:") {
            let hex = id.strip_prefix("sha256:").unwrap_or(id);
            return hex
                .parse()
                .map(Self::Image)
                .map_err(|_| ModuleError::Unrecognized(name.to_owned()));
        }
        let path = Path::new(name);
        if path.extension().and_then(|e| e.to_str()) != Some("wasm") {
            return Err(ModuleError::Unrecognized(name.to_owned()));
        }
        Self::read_wasm(path)
    }

    /// Reads a `.wasm` file, bounded by [`MAX_WASM_BYTES`].
    ///
    /// # Errors
    /// See [`ModuleError`].
    pub fn read_wasm(path: &Path) -> Result<Self, ModuleError> {
        use std::io::Read;
        let io = |source| ModuleError::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        file.take(MAX_WASM_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_WASM_BYTES {
            return Err(ModuleError::TooLarge(path.to_owned()));
        }
        if !bytes.starts_with(b"\0asm") {
            return Err(ModuleError::NotWasm(path.to_owned()));
        }
        Ok(Self::Wasm(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wasm_module_hashes_as_its_one_file_tree() {
        let bytes = b"\0asm\x01\0\0\0";
        let manifest = format!(
            "pond-tree-v1\n{} 8 module.wasm\n",
            ContentHash::of(bytes).hex()
        );
        assert_eq!(
            wasm_module_hash(bytes),
            ContentHash::of(manifest.as_bytes())
        );
    }

    #[test]
    fn module_names_are_checked() {
        let id = format!("image:sha256:{}", "ab".repeat(32));
        assert!(matches!(JobModule::open(&id), Ok(JobModule::Image(_))));
        assert!(matches!(
            JobModule::open("image:sha256:zz"),
            Err(ModuleError::Unrecognized(_))
        ));
        assert!(matches!(
            JobModule::open("job.exe"),
            Err(ModuleError::Unrecognized(_))
        ));
        assert!(matches!(
            JobModule::open("/nonexistent/x.wasm"),
            Err(ModuleError::Io { .. })
        ));
    }
}

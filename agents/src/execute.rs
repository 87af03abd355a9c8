//! Running a job from the chain's description of it: fetch its module and
//! inputs from the URIs its posting named (verified against the hashes on
//! chain; `file://` refused, since a stranger wrote those URIs), run it
//! with the executors of `pond-jobs`, and keep its outputs in the local
//! store. Providers and validators run jobs the same way.

use std::{path::PathBuf, sync::Arc};

use pond_client::JobData;
use pond_jobs::{module::WASM_MODULE_FILE, run::run_job, ContainerRuntime, JobModule};
use pond_store::{ContentHash, DataUri, LocalStore, Manifest, Resolver};

/// Why a job could not be run here.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// Its module or inputs could not be fetched (perhaps for now).
    #[error("fetching the {what}: {source}")]
    Fetch {
        /// `module` or `inputs`.
        what: &'static str,
        /// Why.
        #[source]
        source: pond_store::ResolveError,
    },
    /// The module is a container image this machine has not loaded, or
    /// no container runtime is configured.
    #[error("the module {0} is not a WASM module at a data URI, and no container runtime here has it as an image")]
    NoImage(ContentHash),
    /// The module tree is not one `module.wasm`.
    #[error("the module tree {0} is not the one file {WASM_MODULE_FILE}")]
    NotAModule(ContentHash),
    /// The container runtime could not be asked.
    #[error(transparent)]
    Container(#[from] pond_jobs::ContainerError),
    /// The run failed.
    #[error(transparent)]
    Run(#[from] pond_jobs::run::RunError),
    /// The comparison could not be made.
    #[error(transparent)]
    Verify(pond_jobs::VerifyError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] pond_store::StoreError),
    /// The working directory could not be prepared.
    #[error("{}: {source}", path.display())]
    Io {
        /// Where.
        path: PathBuf,
        /// What.
        #[source]
        source: std::io::Error,
    },
    /// The blocking run stopped (panicked or was cancelled).
    #[error("the run stopped: {0}")]
    Stopped(String),
}

impl ExecuteError {
    /// Whether trying again later could succeed (a store was down), as
    /// opposed to a job that cannot run here.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Fetch { .. } | Self::Io { .. } | Self::Stopped(_) | Self::Store(_)
        )
    }
}

/// How jobs are run on this machine.
#[derive(Debug, Clone)]
pub struct Executor {
    /// Where fetched data and outputs are kept.
    pub store: Arc<LocalStore>,
    /// Fetches module and inputs.
    pub resolver: Resolver,
    /// Image jobs' runtime (`None`: WASM jobs only).
    pub containers: Option<ContainerRuntime>,
    /// Scratch directory for runs (one subdirectory per run).
    pub work_dir: PathBuf,
}

impl Executor {
    /// The module named by `data`: a WASM module fetched from its URI, or
    /// a container image this machine has loaded.
    ///
    /// # Errors
    /// See [`ExecuteError`].
    pub async fn module(&self, data: &JobData) -> Result<JobModule, ExecuteError> {
        let hash = ContentHash(data.module_hash.0);
        if data.module_uri.parse::<DataUri>().is_ok() {
            let tree = self
                .resolver
                .tree(&data.module_uri, &hash, WASM_MODULE_FILE)
                .await
                .map_err(|source| ExecuteError::Fetch {
                    what: "module",
                    source,
                })?;
            let [entry] = tree.entries() else {
                return Err(ExecuteError::NotAModule(hash));
            };
            if entry.path != WASM_MODULE_FILE {
                return Err(ExecuteError::NotAModule(hash));
            }
            let bytes = self
                .store
                .read(&entry.hash, pond_jobs::module::MAX_WASM_BYTES)?;
            return Ok(JobModule::Wasm(bytes));
        }
        match &self.containers {
            Some(runtime) if runtime.has_image(&hash)? => Ok(JobModule::Image(hash)),
            _ => Err(ExecuteError::NoImage(hash)),
        }
    }

    /// Runs the job `data` as run `name` (a file name), and keeps its
    /// outputs in the store; their tree.
    ///
    /// # Errors
    /// See [`ExecuteError`]; nothing of a failed run is left in the work
    /// directory.
    pub async fn run(&self, name: &str, data: &JobData) -> Result<Manifest, ExecuteError> {
        let module = self.module(data).await?;
        let input_hash = ContentHash(data.input_hash.0);
        self.resolver
            .tree(&data.input_uri, &input_hash, "input")
            .await
            .map_err(|source| ExecuteError::Fetch {
                what: "inputs",
                source,
            })?;
        let executor = self.clone();
        let dir = self.work_dir.join(name);
        in_clean_dir(dir, move |dir| {
            let limits = executor.resolver.limits;
            let input = dir.join("input");
            executor.store.materialize(&input_hash, &input, &limits)?;
            let output = dir.join("output");
            let report = run_job(&module, &input, &output, executor.containers.as_ref())?;
            let kept = executor.store.put_dir(&output, &limits)?;
            if kept.hash() != report.result_hash {
                // The outputs changed between the run and the store
                // (someone else wrote to the work directory).
                return Err(ExecuteError::Io {
                    path: output,
                    source: std::io::Error::other("the outputs changed after the run"),
                });
            }
            Ok(kept)
        })
        .await
    }

    /// Judges a provider's outputs against this machine's own run of the
    /// same job: equal trees agree; otherwise an `exact` job disagrees, and
    /// a `tolerant` job asks its comparator (`pond_jobs::verify::compare`)
    /// on the trees written out under the work directory as `name`.
    ///
    /// # Errors
    /// The trees or the job's parameters cannot be read, or the comparator
    /// fails on both sides.
    pub async fn judge(
        &self,
        name: &str,
        input: &ContentHash,
        provider: &Manifest,
        own: &Manifest,
    ) -> Result<pond_jobs::Verdict, ExecuteError> {
        if provider.hash() == own.hash() {
            return Ok(pond_jobs::Verdict::Agree);
        }
        let executor = self.clone();
        let dir = self.work_dir.join(name);
        let (input, provider, own) = (*input, provider.clone(), own.clone());
        in_clean_dir(dir, move |dir| {
            let limits = executor.resolver.limits;
            let input_dir = dir.join("input");
            let input_tree = executor.store.materialize(&input, &input_dir, &limits)?;
            let spec =
                pond_jobs::JobSpec::load(&input_dir).map_err(|e| ExecuteError::Run(e.into()))?;
            if spec.determinism == pond_jobs::Determinism::Exact {
                return Ok(pond_jobs::Verdict::Disagree(format!(
                    "exact job: result {} differs from the provider's {}",
                    own.hash(),
                    provider.hash()
                )));
            }
            let (theirs, ours) = (dir.join("provider"), dir.join("own"));
            executor
                .store
                .materialize(&provider.hash(), &theirs, &limits)?;
            executor.store.materialize(&own.hash(), &ours, &limits)?;
            let side = |dir, tree| pond_jobs::verify::Side { dir, tree };
            pond_jobs::compare(
                side(&input_dir, &input_tree),
                &spec,
                side(&theirs, &provider),
                side(&ours, &own),
            )
            .map_err(ExecuteError::Verify)
        })
        .await
    }

    /// Fetches the tree `required` from the store server `uri` names (never
    /// from this machine's store, which may hold the same tree from its own
    /// run: what counts is whether the server serves it) and keeps it.
    ///
    /// # Errors
    /// The URI is not a store server's, names another hash, or the server
    /// does not serve the tree (within `limits`).
    pub async fn fetch_served(
        &self,
        name: &str,
        uri: &str,
        required: &ContentHash,
    ) -> Result<Manifest, ExecuteError> {
        let fetch = |source| ExecuteError::Fetch {
            what: "provider's outputs",
            source,
        };
        let DataUri::Store { base, hash } = uri.parse::<DataUri>().map_err(fetch)? else {
            return Err(fetch(pond_store::ResolveError::BadUri(format!(
                "{uri} (the provider must serve its outputs from a store server)"
            ))));
        };
        if hash != *required {
            return Err(fetch(pond_store::ResolveError::NamesAnotherHash {
                named: hash,
                required: *required,
            }));
        }
        let server = pond_store::RemoteStore::new(&base, None).map_err(|e| fetch(e.into()))?;
        // A store of its own, so that nothing already held here counts as
        // served.
        let dir = self.work_dir.join(format!("{name}-served"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|source| ExecuteError::Io {
                path: dir.clone(),
                source,
            })?;
        }
        let fresh = LocalStore::open(&dir)?;
        let fetched = server
            .fetch_tree(&fresh, required, &self.resolver.limits)
            .await
            .map_err(|e| fetch(e.into()));
        let kept = fetched.and_then(|tree| {
            for entry in tree.entries() {
                self.store
                    .put_file(&fresh.blob_path(&entry.hash), entry.size)?;
            }
            self.store.put_bytes(&tree.encode())?;
            Ok(tree)
        });
        let _ = std::fs::remove_dir_all(&dir);
        kept
    }
}

/// Runs `work` on a blocking thread in the new, empty directory `dir` (a
/// leftover of a run cut short is removed first), and removes `dir`
/// afterwards whatever happens.
async fn in_clean_dir<T: Send + 'static>(
    dir: PathBuf,
    work: impl FnOnce(&std::path::Path) -> Result<T, ExecuteError> + Send + 'static,
) -> Result<T, ExecuteError> {
    tokio::task::spawn_blocking(move || {
        let io = |source| ExecuteError::Io {
            path: dir.clone(),
            source,
        };
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io)?;
        }
        std::fs::create_dir_all(&dir).map_err(io)?;
        let result = work(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        result
    })
    .await
    .map_err(|e| ExecuteError::Stopped(e.to_string()))?
}

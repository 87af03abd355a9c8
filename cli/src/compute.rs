//! `pond job pack | run --local | verify`: a job computed on this machine,
//! exactly as a provider computes it and a validator checks it
//! (`docs/jobs.md`). Nothing here touches the chain.

use std::path::PathBuf;

use clap::Args;
use eyre::{bail, WrapErr};
use pond_jobs::{
    run::{read_input, run_job, RunReport},
    verify::{claimed_tree, compare, vote, Side, Verdict},
    ContainerRuntime, GpuAccess, JobModule,
};
use pond_store::{ContentHash, Limits};

use crate::store::open_store;

/// `pond job pack DIR`.
#[derive(Args, Debug)]
pub(crate) struct Pack {
    /// The input directory (with pond-job.json at its root).
    dir: PathBuf,
    /// Also put the tree into the local store (see `pond store`).
    #[arg(long)]
    store: bool,
    /// The local store's directory (with --store).
    #[arg(long, env = "POND_STORE_DIR")]
    store_dir: Option<PathBuf>,
}

/// How to run containers.
#[derive(Args, Debug)]
pub(crate) struct Executors {
    /// The container command line for image jobs: podman or docker.
    #[arg(long, default_value = "podman", env = "POND_CONTAINER_RUNTIME")]
    runtime: PathBuf,
    /// Pass a GPU to image jobs as a CDI device, e.g. nvidia.com/gpu=all
    /// (repeatable; podman, or docker 25+).
    #[arg(long, conflicts_with = "docker_gpus")]
    gpu_device: Vec<String>,
    /// Pass GPUs to image jobs with docker's --gpus, e.g. all.
    #[arg(long)]
    docker_gpus: Option<String>,
}

impl Executors {
    pub(crate) fn containers(&self) -> ContainerRuntime {
        let mut runtime = ContainerRuntime::new(&self.runtime);
        runtime.gpu = match (&self.docker_gpus, self.gpu_device.is_empty()) {
            (Some(which), _) => GpuAccess::DockerGpus(which.clone()),
            (None, false) => GpuAccess::Cdi(self.gpu_device.clone()),
            (None, true) => GpuAccess::None,
        };
        runtime
    }
}

/// `pond job run [--local] MODULE --input DIR --output DIR`.
#[derive(Args, Debug)]
pub(crate) struct Run {
    /// Run here, as a provider would, instead of on the market.
    #[arg(long)]
    pub(crate) local: bool,
    /// The module: a .wasm file, or image:sha256:<id> for a loaded image.
    pub(crate) module: String,
    /// The input directory (with pond-job.json at its root).
    #[arg(long)]
    pub(crate) input: PathBuf,
    /// Where to write the outputs (a new directory).
    #[arg(long)]
    pub(crate) output: PathBuf,
    #[command(flatten)]
    pub(crate) executors: Executors,
    #[command(flatten)]
    pub(crate) market: crate::creator_run::Market,
}

/// `pond job verify MODULE --input DIR --claimed DIR`.
#[derive(Args, Debug)]
pub(crate) struct Verify {
    /// The module: a .wasm file, or image:sha256:<id> for a loaded image.
    module: String,
    /// The input directory (with pond-job.json at its root).
    #[arg(long)]
    input: PathBuf,
    /// The provider's output directory.
    #[arg(long)]
    claimed: PathBuf,
    /// The result hash the provider committed to; the claimed outputs must
    /// hash to it.
    #[arg(long)]
    claimed_hash: Option<ContentHash>,
    /// Keep your own outputs here (a new directory; default: a temporary
    /// one, removed afterwards).
    #[arg(long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    executors: Executors,
}

fn print_report(report: &RunReport, output: &std::path::Path, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({
                "moduleHash": report.module_hash.to_string(),
                "inputHash": report.input_hash.to_string(),
                "resultHash": report.result_hash.to_string(),
                "outputFiles": report.output.entries().len(),
                "outputBytes": report.output.total_bytes(),
                "output": output,
                "fuelUsed": report.fuel_used,
            })
        );
        return;
    }
    println!("module  {}", report.module_hash);
    println!("input   {}", report.input_hash);
    println!("result  {}", report.result_hash);
    println!(
        "outputs {} file(s), {} bytes in {}",
        report.output.entries().len(),
        report.output.total_bytes(),
        output.display()
    );
    if let Some(fuel) = report.fuel_used {
        println!("fuel    {fuel}");
    }
}

/// The job's own output, on stderr so stdout stays the report; control
/// characters (a job could move the cursor or retitle the terminal) are
/// shown as `?`.
fn echo_job_output(report: &RunReport) {
    for stream in [&report.stdout, &report.stderr] {
        let text: String = String::from_utf8_lossy(stream)
            .chars()
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    '?'
                } else {
                    c
                }
            })
            .collect();
        eprint!("{text}");
    }
}

impl Pack {
    pub(crate) fn run(self, json: bool) -> eyre::Result<()> {
        let (tree, spec) = read_input(&self.dir)?;
        let stored = if self.store {
            let store = open_store(self.store_dir)?;
            let put = store.put_dir(&self.dir, &Limits::default())?;
            if put.hash() != tree.hash() {
                bail!(
                    "{} changed while it was packed; pack it again",
                    self.dir.display()
                );
            }
            Some(store.root().to_owned())
        } else {
            None
        };
        let hash = tree.hash();
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "inputHash": hash.to_string(), "files": tree.entries().len(),
                    "bytes": tree.total_bytes(), "uri": format!("pond://{hash}"),
                    "determinism": spec.determinism, "stored": stored,
                })
            );
        } else {
            println!("{hash}");
            let class = match &spec.determinism {
                pond_jobs::Determinism::Exact => "exact".to_owned(),
                pond_jobs::Determinism::Tolerant { comparator, .. } => {
                    format!("tolerant, comparator {comparator}")
                }
            };
            eprintln!(
                "{} file(s), {} bytes; {} argument(s), {class}",
                tree.entries().len(),
                tree.total_bytes(),
                spec.args.len(),
            );
            match stored {
                Some(root) => eprintln!("stored in {}: pond://{hash}", root.display()),
                None => eprintln!(
                    "post it with --input-hash {hash}; --store keeps it in the local store"
                ),
            }
        }
        Ok(())
    }
}

impl Run {
    pub(crate) fn run(self, json: bool) -> eyre::Result<()> {
        let module = JobModule::open(&self.module)?;
        let report = run_job(
            &module,
            &self.input,
            &self.output,
            Some(&self.executors.containers()),
        )?;
        echo_job_output(&report);
        print_report(&report, &self.output, json);
        Ok(())
    }
}

impl Verify {
    pub(crate) fn run(self, json: bool) -> eyre::Result<()> {
        let module = JobModule::open(&self.module)?;
        let (_, spec) = read_input(&self.input)?;
        let provider_tree = claimed_tree(&self.claimed, self.claimed_hash, &spec)?;
        // Without --output, a private temporary directory, removed on drop.
        let scratch = match &self.output {
            Some(_) => None,
            None => Some(
                tempfile::Builder::new()
                    .prefix("pond-verify-")
                    .tempdir()
                    .wrap_err("creating a temporary directory")?,
            ),
        };
        let output = match (&self.output, &scratch) {
            (Some(dir), _) => dir.clone(),
            (None, Some(scratch)) => scratch.path().join("own"),
            (None, None) => bail!("no output directory"),
        };
        let report = run_job(
            &module,
            &self.input,
            &output,
            Some(&self.executors.containers()),
        )
        .wrap_err("re-running the job")?;
        let verdict = compare(
            Side {
                dir: &self.input,
                tree: &report.input,
            },
            &report.spec,
            Side {
                dir: &self.claimed,
                tree: &provider_tree,
            },
            Side {
                dir: &output,
                tree: &report.output,
            },
        )?;
        let vote = vote(&verdict, provider_tree.hash(), report.result_hash);
        drop(scratch);
        let (agrees, reason) = match &verdict {
            Verdict::Agree => (true, String::new()),
            Verdict::Disagree(reason) => (false, reason.clone()),
        };
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "agree": agrees, "reason": reason, "vote": vote.to_string(),
                    "claimedHash": provider_tree.hash().to_string(),
                    "ownHash": report.result_hash.to_string(),
                })
            );
        } else {
            println!("claimed {}", provider_tree.hash());
            println!("own     {}", report.result_hash);
            println!("verdict {}", if agrees { "agree" } else { "disagree" });
            if !reason.is_empty() {
                let reason: String = reason
                    .chars()
                    .map(|c| if c.is_control() { '?' } else { c })
                    .collect();
                println!("reason  {reason}");
            }
            println!("vote    {vote}");
        }
        if !agrees {
            bail!("the provider's result does not agree with this re-run (vote {vote})");
        }
        Ok(())
    }
}

/// A job's module and inputs as `pond job post` takes them: files, hashed
/// and stored (and published) for the user, or hashes with URIs.
#[derive(Debug)]
pub(crate) struct JobData {
    pub(crate) module: Option<String>,
    pub(crate) module_hash: Option<alloy::primitives::B256>,
    pub(crate) module_uri: Option<String>,
    pub(crate) input: Option<PathBuf>,
    pub(crate) input_hash: Option<alloy::primitives::B256>,
    pub(crate) input_uri: Option<String>,
    pub(crate) publish: Option<String>,
    pub(crate) publish_token_file: Option<PathBuf>,
}

/// What goes on chain.
#[derive(Debug)]
pub(crate) struct ResolvedJobData {
    pub(crate) module_hash: alloy::primitives::B256,
    pub(crate) module_uri: String,
    pub(crate) input_hash: alloy::primitives::B256,
    pub(crate) input_uri: String,
}

impl JobData {
    /// Hashes and stores the files given, uploads them with `publish`, and
    /// fills in the URIs not given.
    pub(crate) async fn resolve(self) -> eyre::Result<ResolvedJobData> {
        use alloy::primitives::B256;
        let store = std::sync::Arc::new(open_store(None)?);
        let limits = Limits::default();
        let remote = match &self.publish {
            Some(server) => Some(pond_store::RemoteStore::new(
                server,
                crate::store::token(self.publish_token_file.as_ref())?,
            )?),
            None => None,
        };
        let uri = |hash: &ContentHash| match &self.publish {
            Some(server) => format!("{}/blobs/{hash}", server.trim_end_matches('/')),
            None => format!("pond://{hash}"),
        };
        let (module_hash, module_uri) = match (&self.module, self.module_hash) {
            (Some(name), _) => match JobModule::open(name)? {
                JobModule::Wasm(bytes) => {
                    let hash = pond_jobs::module::put_wasm_module(&store, &bytes)?;
                    if let Some(remote) = &remote {
                        remote.push_tree(&store, &hash, &limits).await?;
                    }
                    (hash, self.module_uri.clone().unwrap_or_else(|| uri(&hash)))
                }
                JobModule::Image(id) => {
                    let Some(given) = &self.module_uri else {
                        bail!("an image module needs --module-uri: where providers can load image {id} from");
                    };
                    (id, given.clone())
                }
            },
            (None, Some(hash)) => (
                ContentHash(hash.0),
                self.module_uri.clone().unwrap_or_default(),
            ),
            (None, None) => {
                bail!("give the module: --module FILE, or --module-hash with --module-uri")
            }
        };
        let (input_hash, input_uri) = match (&self.input, self.input_hash) {
            (Some(dir), _) => {
                read_input(dir)?;
                let (local, dir) = (std::sync::Arc::clone(&store), dir.clone());
                let tree =
                    tokio::task::spawn_blocking(move || local.put_dir(&dir, &limits)).await??;
                if let Some(remote) = &remote {
                    remote.push_tree(&store, &tree.hash(), &limits).await?;
                }
                let hash = tree.hash();
                (hash, self.input_uri.clone().unwrap_or_else(|| uri(&hash)))
            }
            (None, Some(hash)) => (
                ContentHash(hash.0),
                self.input_uri.clone().unwrap_or_default(),
            ),
            (None, None) => bail!("give the inputs: --input DIR, or --input-hash with --input-uri"),
        };
        Ok(ResolvedJobData {
            module_hash: B256::from(module_hash.0),
            module_uri,
            input_hash: B256::from(input_hash.0),
            input_uri,
        })
    }
}

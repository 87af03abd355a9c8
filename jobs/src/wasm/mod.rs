//! The deterministic WASM executor: a `wasm32-wasip1` module run by wasmi
//! with fuel metering, a memory cap, NaN canonicalization and the WASI of
//! [`wasi`], so that the same job gives the same result hash on every
//! machine.

pub mod vfs;
pub mod wasi;

use crate::outputs::Outputs;
use crate::spec::JobSpec;
use pond_store::tree::TreeError;
use pond_store::{ContentHash, Manifest};
use std::path::{Path, PathBuf};
use wasi::WasiCtx;
use wasmi::{Config, EnforcedLimits, Engine, Linker, Module, Store, TrapCode};

/// Why a WASM job did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    /// The module is not valid WebAssembly, or imports something other than
    /// WASI preview 1.
    #[error("the module cannot be loaded: {0}")]
    Module(String),
    /// The job used up its instruction budget.
    #[error("the job ran out of fuel (its limit is {0} instructions; raise limits.fuel in pond-job.json)")]
    OutOfFuel(u64),
    /// The job asked for more memory than its limit.
    #[error("the job exceeded its memory limit of {0} bytes (limits.memory_bytes)")]
    MemoryLimit(u64),
    /// The job exited with a non-zero code.
    #[error("the job exited with code {code}: {stderr}")]
    Exit {
        /// The exit code.
        code: i32,
        /// The end of its stderr.
        stderr: String,
    },
    /// The job trapped.
    #[error("the job trapped: {trap}: {stderr}")]
    Trap {
        /// The trap.
        trap: String,
        /// The end of its stderr.
        stderr: String,
    },
    /// An input file could not be read from the host as its manifest
    /// describes it (the run is void: another machine would not have
    /// failed).
    #[error("an input file could not be read from this machine's disk; check the input directory")]
    HostInput,
    /// What the job wrote is not a valid tree.
    #[error("the job's outputs are not a valid tree: {0}")]
    Outputs(#[from] TreeError),
}

/// The files a job sees under `/input`: (tree path, file on the host,
/// size), as a tree's entries name them.
#[derive(Debug, Clone, Default)]
pub struct InputFiles(pub Vec<(String, PathBuf, u64)>);

impl InputFiles {
    /// The files of `manifest`, materialized under `dir`.
    pub fn of_tree(dir: &Path, manifest: &Manifest) -> Self {
        Self::under("", dir, manifest)
    }

    /// Like [`InputFiles::of_tree`], each path under `prefix/`.
    pub fn under(prefix: &str, dir: &Path, manifest: &Manifest) -> Self {
        Self(
            manifest
                .entries()
                .iter()
                .map(|e| {
                    let path = if prefix.is_empty() {
                        e.path.clone()
                    } else {
                        format!("{prefix}/{}", e.path)
                    };
                    (path, dir.join(&e.path), e.size)
                })
                .collect(),
        )
    }
}

/// What a successful run produced.
#[derive(Debug)]
pub struct WasmRun {
    /// The output files (their tree's hash is the result hash).
    pub outputs: Outputs,
    /// Their tree.
    pub manifest: Manifest,
    /// Instructions used (fuel, host calls included).
    pub fuel_used: u64,
    /// Captured stdout (first [`wasi::MAX_CAPTURED`] bytes).
    pub stdout: Vec<u8>,
    /// Captured stderr (first [`wasi::MAX_CAPTURED`] bytes).
    pub stderr: Vec<u8>,
}

/// Runs `module` with `inputs` under `/input`, the parameters of `spec`,
/// and random bytes seeded with `seed` (the input hash). The outputs are
/// returned in memory; nothing on the host is written.
///
/// # Errors
/// See [`WasmError`].
pub fn run(
    module: &[u8],
    inputs: &InputFiles,
    seed: ContentHash,
    spec: &JobSpec,
) -> Result<WasmRun, WasmError> {
    let mut config = Config::default();
    config
        .consume_fuel(true)
        .enforced_limits(EnforcedLimits::strict())
        .wasm_multi_memory(false);
    let engine = Engine::new(&config);
    let module = Module::new(&engine, module).map_err(|e| WasmError::Module(e.to_string()))?;
    let limits = &spec.limits;
    let vfs = vfs::Vfs::new(&inputs.0, limits.output_bytes, limits.output_files);
    let mut args = vec![b"job".to_vec()];
    args.extend(spec.args.iter().map(|a| a.as_bytes().to_vec()));
    let env = spec
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}").into_bytes())
        .collect();
    let memory_limit = usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX);
    let ctx = WasiCtx::new(args, env, vfs, seed.0, memory_limit);
    let mut store = Store::new(&engine, ctx);
    store.limiter(|ctx| ctx as &mut dyn wasmi::ResourceLimiter);
    store
        .set_fuel(limits.fuel)
        .map_err(|e| WasmError::Module(e.to_string()))?;
    let mut linker = Linker::new(&engine);
    wasi::link(&mut linker).map_err(|e| WasmError::Module(e.to_string()))?;
    let started = linker
        .instantiate_and_start(&mut store, &module)
        .and_then(|instance| {
            store.data_mut().memory = wasi::find_memory(&instance, &store);
            let start = instance.get_typed_func::<(), ()>(&store, "_start")?;
            start.call(&mut store, ())
        });
    let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
    let ctx = store.into_data();
    if ctx.vfs.host_failed() {
        return Err(WasmError::HostInput);
    }
    if let Err(error) = started {
        match error.i32_exit_status() {
            Some(0) => {}
            Some(code) => {
                return Err(WasmError::Exit {
                    code,
                    stderr: tail(&ctx.stderr),
                })
            }
            None if error.as_trap_code() == Some(TrapCode::OutOfFuel) => {
                return Err(WasmError::OutOfFuel(limits.fuel))
            }
            None if ctx.memory_limit_hit => {
                return Err(WasmError::MemoryLimit(limits.memory_bytes))
            }
            None if error.as_trap_code().is_some() => {
                return Err(WasmError::Trap {
                    trap: error.to_string(),
                    stderr: tail(&ctx.stderr),
                })
            }
            None => return Err(WasmError::Module(error.to_string())),
        }
    }
    let (stdout, stderr) = (ctx.stdout, ctx.stderr);
    let outputs = Outputs::new(ctx.vfs.into_outputs());
    let manifest = outputs.manifest()?;
    Ok(WasmRun {
        outputs,
        manifest,
        fuel_used,
        stdout,
        stderr,
    })
}

/// The last 2000 bytes of a captured stream, as text.
fn tail(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(2000)..])
        .trim_end()
        .to_owned()
}

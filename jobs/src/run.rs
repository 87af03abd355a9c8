//! Running a job exactly as a provider does: hash the input tree, read its
//! parameters, run the module with the executor its kind needs, and write
//! the outputs whose tree hash is the result hash.

use crate::container::{ContainerError, ContainerRuntime};
use crate::module::JobModule;
use crate::outputs::OutputError;
use crate::spec::{Determinism, JobSpec, SpecError};
use crate::wasm::{self, InputFiles, WasmError};
use pond_store::walk::{manifest_of_dir, WalkError};
use pond_store::{ContentHash, Limits, Manifest};
use std::path::Path;

/// Why a job could not be run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The input directory is not a valid tree.
    #[error("the input directory: {0}")]
    Input(#[from] WalkError),
    /// The parameters file is missing or invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A WASM job declared the tolerant class.
    #[error("a WASM job is always exact: its determinism must be \"exact\"")]
    TolerantWasm,
    /// A container job, but no container runtime configured.
    #[error("this job runs a container image: configure a container runtime (podman or docker)")]
    NoContainerRuntime,
    /// The WASM run failed.
    #[error(transparent)]
    Wasm(#[from] WasmError),
    /// The container run failed.
    #[error(transparent)]
    Container(#[from] ContainerError),
    /// Writing the outputs failed.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// What a run produced, with the three hashes that go on chain.
#[derive(Debug)]
pub struct RunReport {
    /// `moduleHash`.
    pub module_hash: ContentHash,
    /// `inputHash`: the input tree's.
    pub input_hash: ContentHash,
    /// The result hash: the output tree's.
    pub result_hash: ContentHash,
    /// The input tree.
    pub input: Manifest,
    /// The output tree.
    pub output: Manifest,
    /// The parameters.
    pub spec: JobSpec,
    /// Instructions used (WASM jobs).
    pub fuel_used: Option<u64>,
    /// Captured stdout.
    pub stdout: Vec<u8>,
    /// Captured stderr.
    pub stderr: Vec<u8>,
}

/// Reads the input directory as a tree, and its parameters.
///
/// # Errors
/// See [`RunError`].
pub fn read_input(input: &Path) -> Result<(Manifest, JobSpec), RunError> {
    let manifest = manifest_of_dir(input, &Limits::default())?;
    let spec = JobSpec::load(input)?;
    Ok((manifest, spec))
}

/// Runs `module` on the input tree `input` and writes the outputs to the new
/// directory `output`.
///
/// # Errors
/// See [`RunError`]; on error nothing is left at `output`.
pub fn run_job(
    module: &JobModule,
    input: &Path,
    output: &Path,
    containers: Option<&ContainerRuntime>,
) -> Result<RunReport, RunError> {
    // Refused before the run, not after it.
    if output.exists() {
        return Err(OutputError::Exists(output.to_owned()).into());
    }
    let (manifest, spec) = read_input(input)?;
    let input_hash = manifest.hash();
    let (output_tree, fuel_used, stdout, stderr) = match module {
        JobModule::Wasm(bytes) => {
            if spec.determinism != Determinism::Exact {
                return Err(RunError::TolerantWasm);
            }
            let run = wasm::run(
                bytes,
                &InputFiles::of_tree(input, &manifest),
                input_hash,
                &spec,
            )?;
            let tree = run.outputs.write_to(output)?;
            (tree, Some(run.fuel_used), run.stdout, run.stderr)
        }
        JobModule::Image(id) => {
            let runtime = containers.ok_or(RunError::NoContainerRuntime)?;
            let run = runtime.run(id, input, &spec, output)?;
            (run.manifest, None, run.stdout, run.stderr)
        }
    };
    Ok(RunReport {
        module_hash: module.hash(),
        input_hash,
        result_hash: output_tree.hash(),
        input: manifest,
        output: output_tree,
        spec,
        fuel_used,
        stdout,
        stderr,
    })
}

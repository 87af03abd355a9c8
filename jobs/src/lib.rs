//! `pond-jobs`: what a job is and how it runs (specified in `docs/jobs.md`).
//!
//! - [`spec`]: the job's parameters, `pond-job.json` in its input tree;
//! - [`module`]: a job's module (WASM or container image) and its hash;
//! - [`wasm`]: the deterministic WASI preview 1 executor on wasmi;
//! - [`container`]: the container executor (podman or docker);
//! - [`run`]: running a job as a provider does, with its three hashes;
//! - [`verify`]: the determinism classes, comparing results as a
//!   validator does;
//! - [`outputs`]: output directories written atomically.

pub mod container;
pub mod module;
pub mod outputs;
pub mod run;
pub mod spec;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod verify;
pub mod wasm;

pub use container::{ContainerError, ContainerRuntime, GpuAccess};
pub use module::JobModule;
pub use run::{run_job, RunError, RunReport};
pub use spec::{Determinism, JobSpec, RunLimits};
pub use verify::{compare, vote, Verdict, VerifyError};

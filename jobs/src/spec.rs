//! The job's parameters: `pond-job.json` at the root of the input tree, so
//! the on-chain input hash covers them (specified in `docs/jobs.md`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The name of the parameters file inside the input tree.
pub const SPEC_FILE: &str = "pond-job.json";
/// The largest parameters file read.
pub const MAX_SPEC_BYTES: u64 = 64 << 10;
/// The format version this crate reads.
pub const SPEC_VERSION: u32 = 1;

/// How results are compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Determinism {
    /// The result hash must match exactly (WASM jobs always are).
    Exact,
    /// A comparator decides whether two outputs agree.
    Tolerant {
        /// The comparator module's path in the input tree (so the input
        /// hash covers it).
        comparator: String,
        /// Its arguments (tolerances, say).
        #[serde(default)]
        args: Vec<String>,
    },
}

/// What a run may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunLimits {
    /// Instructions (wasmi fuel) for WASM jobs.
    pub fuel: u64,
    /// Linear memory (WASM) or container memory, in bytes.
    pub memory_bytes: u64,
    /// Bytes the job may write to its output directory.
    pub output_bytes: u64,
    /// Files the job may create.
    pub output_files: u64,
    /// Wall-clock seconds (containers; WASM is bounded by fuel).
    pub wall_seconds: u64,
    /// CPUs (containers).
    pub cpus: u32,
    /// Processes (containers).
    pub pids: u32,
}

impl Default for RunLimits {
    /// 10^10 instructions, 1 GiB of memory and of output, 10 000 output
    /// files, one hour, one CPU, 64 processes.
    fn default() -> Self {
        Self {
            fuel: 10_000_000_000,
            memory_bytes: 1 << 30,
            output_bytes: 1 << 30,
            output_files: 10_000,
            wall_seconds: 3_600,
            cpus: 1,
            pids: 64,
        }
    }
}

/// The largest limits a job may ask for: bounds a provider's machine can
/// be trusted to hold (outputs of a WASM job are kept in memory).
pub const MAX_LIMITS: RunLimits = RunLimits {
    fuel: 10_000_000_000_000,
    memory_bytes: 1 << 40,
    output_bytes: 16 << 30,
    output_files: 1_000_000,
    wall_seconds: 7 * 24 * 3600,
    cpus: 1024,
    pids: 1 << 20,
};

/// The parameters of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Format version ([`SPEC_VERSION`]).
    pub version: u32,
    /// Arguments after the program name.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Resource limits.
    #[serde(default)]
    pub limits: RunLimits,
    /// How results are compared.
    pub determinism: Determinism,
}

/// Why the parameters file was refused.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The input tree has no parameters file.
    #[error("{0} is missing: every job's input tree holds its parameters in `{SPEC_FILE}` (see docs/jobs.md)")]
    Missing(PathBuf),
    /// The file is larger than [`MAX_SPEC_BYTES`].
    #[error("{SPEC_FILE} is larger than {MAX_SPEC_BYTES} bytes")]
    TooLarge,
    /// Not valid JSON for a [`JobSpec`].
    #[error("{SPEC_FILE}: {0}")]
    Json(#[from] serde_json::Error),
    /// A version this crate does not read.
    #[error("{SPEC_FILE}: version {0} is not supported (this build reads version {SPEC_VERSION})")]
    Version(u32),
    /// A field breaks a rule.
    #[error("{SPEC_FILE}: {0}")]
    Invalid(String),
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// What.
        source: std::io::Error,
    },
}

impl JobSpec {
    /// An exact job with default limits and these arguments.
    pub fn exact(args: Vec<String>) -> Self {
        Self {
            version: SPEC_VERSION,
            args,
            env: BTreeMap::new(),
            limits: RunLimits::default(),
            determinism: Determinism::Exact,
        }
    }

    /// Parses and checks a parameters file.
    ///
    /// # Errors
    /// See [`SpecError`].
    pub fn parse(bytes: &[u8]) -> Result<Self, SpecError> {
        if bytes.len() as u64 > MAX_SPEC_BYTES {
            return Err(SpecError::TooLarge);
        }
        let spec: Self = serde_json::from_slice(bytes)?;
        spec.check()?;
        Ok(spec)
    }

    /// Reads `pond-job.json` from the input directory.
    ///
    /// # Errors
    /// See [`SpecError`].
    pub fn load(input: &Path) -> Result<Self, SpecError> {
        use std::io::Read;
        let path = input.join(SPEC_FILE);
        let io = |source| SpecError::Io {
            path: path.clone(),
            source,
        };
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SpecError::Missing(path))
            }
            Err(e) => return Err(io(e)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_SPEC_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        Self::parse(&bytes)
    }

    fn check(&self) -> Result<(), SpecError> {
        let invalid = |why: String| Err(SpecError::Invalid(why));
        if self.version != SPEC_VERSION {
            return Err(SpecError::Version(self.version));
        }
        if self.args.len() > 1024 || self.env.len() > 1024 {
            return invalid("at most 1024 arguments and 1024 variables".into());
        }
        for arg in &self.args {
            if arg.contains('\0') {
                return invalid("an argument contains a NUL byte".into());
            }
        }
        for (key, value) in &self.env {
            let bad_key =
                key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if bad_key || value.contains('\0') {
                return invalid(format!(
                    "environment variable {key:?}: names are [A-Za-z0-9_]+ and values have no NUL"
                ));
            }
        }
        let l = &self.limits;
        if l.fuel == 0 || l.memory_bytes == 0 || l.wall_seconds == 0 || l.cpus == 0 || l.pids == 0 {
            return invalid(
                "limits.fuel, memory_bytes, wall_seconds, cpus and pids must not be 0".into(),
            );
        }
        if let Determinism::Tolerant { comparator, args } = &self.determinism {
            pond_store::tree::check_path(comparator, &pond_store::Limits::default())
                .map_err(|e| SpecError::Invalid(format!("determinism.tolerant.comparator: {e}")))?;
            if args.len() > 64 || args.iter().any(|a| a.contains('\0')) {
                return invalid("determinism.tolerant.args: at most 64, without NUL bytes".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_spec_gets_default_limits() {
        let spec = JobSpec::parse(br#"{"version":1,"determinism":"exact"}"#);
        assert_eq!(spec.ok(), Some(JobSpec::exact(vec![])));
    }

    #[test]
    fn tolerant_names_its_comparator() {
        let spec = JobSpec::parse(
            br#"{"version":1,"determinism":{"tolerant":{"comparator":"cmp/compare.wasm","args":["1e-3"]}}}"#,
        );
        let Ok(JobSpec {
            determinism: Determinism::Tolerant { comparator, args },
            ..
        }) = spec
        else {
            panic!("not parsed: {spec:?}");
        };
        assert_eq!((comparator.as_str(), args.len()), ("cmp/compare.wasm", 1));
    }

    #[test]
    fn bad_specs_are_refused_with_a_reason() {
        let refused = |json: &str| JobSpec::parse(json.as_bytes()).is_err();
        assert!(refused(r#"{"version":2,"determinism":"exact"}"#));
        assert!(refused(r#"{"version":1}"#));
        assert!(refused(r#"{"version":1,"determinism":"exact","extra":1}"#));
        assert!(refused(
            r#"{"version":1,"determinism":"exact","limits":{"fuel":0}}"#
        ));
        assert!(refused(
            r#"{"version":1,"determinism":"exact","env":{"A=B":"x"}}"#
        ));
        assert!(refused(
            r#"{"version":1,"determinism":{"tolerant":{"comparator":"../x"}}}"#
        ));
        assert!(refused(
            r#"{"version":1,"determinism":{"tolerant":{"comparator":"/x"}}}"#
        ));
        let big = format!(
            r#"{{"version":1,"determinism":"exact","args":["{}"]}}"#,
            "a".repeat(70_000)
        );
        assert!(matches!(
            JobSpec::parse(big.as_bytes()),
            Err(SpecError::TooLarge)
        ));
    }
}

//! The container executor: an OCI image, named by its image ID, run with
//! the podman or docker command line under the job's limits: no network, a
//! read-only root file system, the inputs mounted read-only at `/input`, an
//! output directory at `/output`, CPU, memory and process limits, an
//! unprivileged user with no capabilities, and a wall-clock timeout after
//! which the container is killed. The container is removed afterwards,
//! whatever happened. See `docs/jobs.md` for GPU pass-through.

use crate::outputs::{self, OutputError, Partial};
use crate::spec::{JobSpec, MAX_LIMITS};
use crate::wasm::wasi::MAX_CAPTURED;
use pond_store::tree::Limits;
use pond_store::{walk, ContentHash, Manifest};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How GPUs reach the container (NVIDIA).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum GpuAccess {
    /// No GPU (the default).
    #[default]
    None,
    /// Container Device Interface devices, for podman (and docker 25+):
    /// each is passed as `--device`, e.g. `nvidia.com/gpu=all`.
    Cdi(Vec<String>),
    /// docker's `--gpus` value, e.g. `all` or `device=0`.
    DockerGpus(String),
}

/// The container command line to use, and how.
#[derive(Debug, Clone)]
pub struct ContainerRuntime {
    /// `podman` or `docker` (a name on `PATH` or a path).
    pub program: PathBuf,
    /// Environment for the runtime itself (e.g. `CONTAINERS_CONF`).
    pub env: Vec<(String, String)>,
    /// GPU pass-through.
    pub gpu: GpuAccess,
    /// The user the job runs as inside the container.
    pub user: String,
}

impl ContainerRuntime {
    /// `program` (podman or docker) with no GPU, running jobs as `nobody`.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            env: Vec::new(),
            gpu: GpuAccess::None,
            user: "65534:65534".into(),
        }
    }
}

/// Why a container job did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// The runtime could not be started.
    #[error(
        "cannot run `{program}` (install podman or docker, or name it with --runtime): {source}"
    )]
    Runtime {
        /// The program.
        program: PathBuf,
        /// What.
        source: std::io::Error,
    },
    /// The image is not loaded in the runtime.
    #[error("image {0} is not loaded (load it first: `podman load -i IMAGE.tar` or `podman import ROOTFS.tar`)")]
    NoImage(ContentHash),
    /// The job ran longer than its wall-clock limit and was killed.
    #[error("the job ran longer than {0} s (limits.wall_seconds) and was killed")]
    Timeout(u64),
    /// The job exited with a non-zero code.
    #[error("the job exited with code {code}{hint}: {stderr}")]
    Exit {
        /// The exit code.
        code: i32,
        /// What the code usually means.
        hint: &'static str,
        /// The end of its stderr.
        stderr: String,
    },
    /// The outputs broke a limit or a rule (a link, too many bytes…).
    #[error(transparent)]
    Outputs(#[from] OutputError),
}

/// What a successful container run produced.
#[derive(Debug)]
pub struct ContainerRun {
    /// The output tree.
    pub manifest: Manifest,
    /// Captured stdout (first [`MAX_CAPTURED`] bytes).
    pub stdout: Vec<u8>,
    /// Captured stderr (first [`MAX_CAPTURED`] bytes).
    pub stderr: Vec<u8>,
    /// Wall-clock time from start to exit.
    pub elapsed: Duration,
}

impl ContainerRuntime {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Whether image `id` is loaded.
    ///
    /// # Errors
    /// The runtime cannot be started.
    pub fn has_image(&self, id: &ContentHash) -> Result<bool, ContainerError> {
        let status = self
            .command()
            .args(["image", "inspect", "--format", "{{.Id}}", &id.hex()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|source| self.runtime_error(source))?;
        Ok(status.success())
    }

    fn runtime_error(&self, source: std::io::Error) -> ContainerError {
        ContainerError::Runtime {
            program: self.program.clone(),
            source,
        }
    }

    /// The `run` arguments for a job (everything after the program name).
    pub fn run_args(
        &self,
        name: &str,
        image: &ContentHash,
        input: &Path,
        output: &Path,
        spec: &JobSpec,
    ) -> Vec<String> {
        let limits = &spec.limits;
        let mut args: Vec<String> = [
            "run",
            "--rm",
            "--pull=never",
            "--name",
            name,
            "--network",
            "none",
            "--read-only",
            "--cap-drop",
            "all",
            "--security-opt",
            "no-new-privileges",
            "--user",
            &self.user,
            // The same name, zone and language everywhere: a job's result
            // should not depend on whose machine it ran.
            "--hostname",
            "pond-job",
            "--env",
            "TZ=UTC",
            "--env",
            "LANG=C.UTF-8",
            "--workdir",
            "/",
            "--tmpfs",
            "/tmp:rw,size=64m,mode=1777",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend([
            format!("--pids-limit={}", limits.pids),
            format!("--memory={}", limits.memory_bytes),
            format!("--memory-swap={}", limits.memory_bytes),
            format!("--cpus={}", limits.cpus),
            "--volume".into(),
            format!("{}:/input:ro", input.display()),
            "--volume".into(),
            format!("{}:/output:rw", output.display()),
        ]);
        for (key, value) in &spec.env {
            args.extend(["--env".into(), format!("{key}={value}")]);
        }
        match &self.gpu {
            GpuAccess::None => {}
            GpuAccess::Cdi(devices) => {
                for device in devices {
                    args.extend(["--device".into(), device.clone()]);
                }
            }
            GpuAccess::DockerGpus(which) => args.extend(["--gpus".into(), which.clone()]),
        }
        args.push(image.hex());
        args.extend(spec.args.iter().cloned());
        args
    }

    /// Runs image `image` on the input directory `input` (the job's whole
    /// input tree) with `spec`, and writes the outputs to the new directory
    /// `output`.
    ///
    /// # Errors
    /// See [`ContainerError`]; on any error nothing is left at `output` and
    /// the container is gone.
    pub fn run(
        &self,
        image: &ContentHash,
        input: &Path,
        spec: &JobSpec,
        output: &Path,
    ) -> Result<ContainerRun, ContainerError> {
        if !self.has_image(image)? {
            return Err(ContainerError::NoImage(*image));
        }
        let input = input.canonicalize().map_err(|e| OutputError::Io {
            path: input.to_owned(),
            source: e,
        })?;
        bindable(&input)?;
        let partial = Partial::begin(output)?;
        let (stdout, stderr, elapsed) = self.run_in(image, &input, spec, partial.path())?;
        let limits = Limits {
            max_files: usize::try_from(spec.limits.output_files).unwrap_or(usize::MAX),
            max_total_bytes: spec.limits.output_bytes,
            max_file_bytes: spec.limits.output_bytes,
            ..Limits::default()
        };
        let manifest = walk::manifest_of_dir(partial.path(), &limits).map_err(OutputError::from)?;
        partial.finish()?;
        Ok(ContainerRun {
            manifest,
            stdout,
            stderr,
            elapsed,
        })
    }

    fn run_in(
        &self,
        image: &ContentHash,
        input: &Path,
        spec: &JobSpec,
        partial: &Path,
    ) -> Result<(Vec<u8>, Vec<u8>, Duration), ContainerError> {
        use std::os::unix::fs::PermissionsExt;
        // The job runs as an unprivileged user: let it write its outputs.
        std::fs::set_permissions(partial, std::fs::Permissions::from_mode(0o777))
            .map_err(outputs::io_at(partial))?;
        let partial = partial.canonicalize().map_err(outputs::io_at(partial))?;
        bindable(&partial)?;
        let name = format!(
            "pond-job-{}-{}",
            std::process::id(),
            ContentHash::of(partial.as_os_str().as_encoded_bytes())
                .hex()
                .get(..12)
                .unwrap_or("0")
        );
        let wall = Duration::from_secs(spec.limits.wall_seconds);
        let started = Instant::now();
        let deadline = started
            .checked_add(wall)
            .unwrap_or(started + Duration::from_secs(MAX_LIMITS.wall_seconds));
        let mut command = self.command();
        // A process group of its own: a Ctrl-C at the agent's terminal, or
        // a service manager signalling the agent's group, must not stop
        // the job (the agent finishes it while it shuts down, or the next
        // start runs it again); the timeout below still ends it.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .args(self.run_args(&name, image, input, &partial, spec))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| self.runtime_error(source))?;
        let stdout = capture(child.stdout.take());
        let stderr = capture(child.stderr.take());
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => break None,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(source) => {
                    self.remove(&name);
                    return Err(self.runtime_error(source));
                }
            }
        };
        let elapsed = started.elapsed();
        let Some(status) = status else {
            // Stop the container, then its client, then make sure the
            // container (if it started meanwhile) is gone too.
            self.remove(&name);
            let _ = child.kill();
            let _ = child.wait();
            self.remove(&name);
            return Err(ContainerError::Timeout(spec.limits.wall_seconds));
        };
        let (stdout, stderr) = (joined(stdout), joined(stderr));
        match status.code() {
            Some(0) => Ok((stdout, stderr, elapsed)),
            code => {
                // `--rm` removes it on a normal exit; this covers the rest.
                self.remove(&name);
                let code = code.unwrap_or(-1);
                let hint = match code {
                    125 => " (the runtime refused the container)",
                    126 | 127 => " (the command in the image cannot be run)",
                    137 => " (killed: out of memory, limits.memory_bytes)",
                    _ => "",
                };
                Err(ContainerError::Exit {
                    code,
                    hint,
                    stderr: String::from_utf8_lossy(&stderr[stderr.len().saturating_sub(2000)..])
                        .trim_end()
                        .to_owned(),
                })
            }
        }
    }

    /// Kills and removes container `name` if it exists.
    fn remove(&self, name: &str) {
        // podman's `rm --force` waits the stop timeout unless told not to;
        // docker's kills at once and has no such flag.
        let docker = self
            .program
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains("docker"));
        let args: &[&str] = if docker {
            &["rm", "--force", name]
        } else {
            &["rm", "--force", "--time", "0", name]
        };
        let _ = self
            .command()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Refuses a host path `-v HOST:/dir:ro` cannot carry unambiguously.
fn bindable(path: &Path) -> Result<(), ContainerError> {
    match path.to_str() {
        Some(text) if !text.contains([':', ',']) => Ok(()),
        _ => Err(ContainerError::Outputs(OutputError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a directory mounted into a container must be UTF-8 without ':' or ','; move it",
            ),
        })),
    }
}

type Capture = Option<std::thread::JoinHandle<Vec<u8>>>;

/// Reads a pipe to its end on a thread, keeping the first
/// [`MAX_CAPTURED`] bytes.
fn capture(pipe: Option<impl Read + Send + 'static>) -> Capture {
    pipe.map(|mut pipe| {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let room = MAX_CAPTURED.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
            kept
        })
    })
}

fn joined(capture: Capture) -> Vec<u8> {
    capture.and_then(|h| h.join().ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(gpu: GpuAccess) -> Vec<String> {
        let mut runtime = ContainerRuntime::new("podman");
        runtime.gpu = gpu;
        let mut spec = JobSpec::exact(vec!["run".into()]);
        spec.env.insert("MODE".into(), "fast".into());
        runtime.run_args(
            "n",
            &ContentHash([0xab; 32]),
            Path::new("/in"),
            Path::new("/out"),
            &spec,
        )
    }

    #[test]
    fn the_command_line_isolates_the_job() {
        let args = args(GpuAccess::None);
        for isolation in [
            "--network",
            "none",
            "--read-only",
            "--pull=never",
            "--cap-drop",
            "no-new-privileges",
        ] {
            assert!(
                args.iter().any(|a| a == isolation),
                "{isolation} missing: {args:?}"
            );
        }
        assert!(args.contains(&"/in:/input:ro".to_owned()));
        assert!(args.contains(&"MODE=fast".to_owned()));
        // The image, then the job's arguments, come last.
        assert_eq!(args[args.len() - 2], "ab".repeat(32));
        assert_eq!(args[args.len() - 1], "run");
        assert!(!args.iter().any(|a| a == "--device" || a == "--gpus"));
    }

    #[test]
    fn gpus_are_passed_as_configured() {
        let cdi = args(GpuAccess::Cdi(vec!["nvidia.com/gpu=all".into()]));
        let at = cdi.iter().position(|a| a == "--device").unwrap_or(0);
        assert_eq!(cdi[at + 1], "nvidia.com/gpu=all");
        let docker = args(GpuAccess::DockerGpus("all".into()));
        let at = docker.iter().position(|a| a == "--gpus").unwrap_or(0);
        assert_eq!(docker[at + 1], "all");
    }
}

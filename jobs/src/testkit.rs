//! Shared test fixtures: the example jobs built for `wasm32-wasip1`, their
//! input directories, and scratch directories.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The result hash of `example-jobs/align` on its shipped input.
pub const ALIGN_RESULT: &str = "0x4293bc9e1c9edf09d062ab7479e07fd3a100d505c53e445010f0b103da393f41";
/// The result hash of `example-jobs/infer` on its shipped input.
pub const INFER_RESULT: &str = "0xce9014814a26287b0c11a1048cb00c4013523188d72bfa246f8785af562fec43";
/// The result hash of `example-jobs/gc-content` on its shipped input.
pub const GC_CONTENT_RESULT: &str =
    "0x3310943fe1efe9e1985542dca1967ed9786df628cbe33c469460f66da44c4ee6";

/// The repository's root (this crate lives in `jobs/`).
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// The example job `name`'s directory (`example-jobs/NAME`).
pub fn example_dir(name: &str) -> PathBuf {
    repository().join("example-jobs").join(name)
}

/// Builds example job `name` (its package is `pond-example-NAME`) for
/// `wasm32-wasip1` in release mode, as `docs/jobs.md` documents, and
/// returns the module's path. Builds go to `target/example-jobs`, apart
/// from the test build's own target directory, so they never wait on it.
///
/// # Panics
/// When the build fails (a test fixture: the panic is the test failure).
pub fn example_wasm(name: &str) -> PathBuf {
    static BUILDING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    let root = repository();
    let target = root.join("target").join("example-jobs");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let package = format!("pond-example-{name}");
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "--quiet",
            "--release",
            "--target",
            "wasm32-wasip1",
            "-p",
            &package,
        ])
        .env("CARGO_TARGET_DIR", &target)
        .status();
    assert!(
        status.as_ref().is_ok_and(|s| s.success()),
        "building {package} for wasm32-wasip1 failed ({status:?}); is the target installed? \
         rustup target add wasm32-wasip1"
    );
    let module = target
        .join("wasm32-wasip1/release")
        .join(format!("{package}.wasm"));
    assert!(module.is_file(), "{} was not built", module.display());
    module
}

/// A fresh scratch directory, removed when dropped.
///
/// # Panics
/// When the system's temporary directory is not writable.
pub fn scratch() -> tempfile::TempDir {
    match tempfile::Builder::new().prefix("pond-jobs-test-").tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("cannot create a scratch directory: {e}"),
    }
}

/// The container runtime for tests: podman with runc and cgroupfs, through
/// a `containers.conf` written under `target/podman` (on these machines
/// crun cannot raise rlimits and systemd is not the cgroup manager).
///
/// # Panics
/// When the configuration cannot be written.
pub fn podman() -> crate::ContainerRuntime {
    let dir = repository().join("target").join("podman");
    let conf = dir.join("containers.conf");
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::write(
            &conf,
            "[engine]\ncgroup_manager = \"cgroupfs\"\nruntime = \"runc\"\nevents_logger = \"file\"\n\n\
             [containers]\ndefault_ulimits = []\n",
        )
    });
    if let Err(e) = written {
        panic!("writing {}: {e}", conf.display());
    }
    let mut runtime = crate::ContainerRuntime::new("podman");
    runtime
        .env
        .push(("CONTAINERS_CONF".into(), conf.display().to_string()));
    runtime
}

fn imported_id(
    output: std::io::Result<std::process::Output>,
    what: &str,
) -> pond_store::ContentHash {
    let output = match output {
        Ok(output) if output.status.success() => output,
        Ok(output) => panic!(
            "{what} failed: {}; podman, runc and busybox-static are needed \
             (apt-get install podman runc busybox-static)",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(e) => {
            panic!("{what}: {e}; install podman (apt-get install podman runc busybox-static)")
        }
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let id = text.lines().last().unwrap_or("").trim();
    match id.strip_prefix("sha256:").unwrap_or(id).parse() {
        Ok(id) => id,
        Err(e) => panic!("{what} printed no image ID: {e}"),
    }
}

/// The example container job `name`, built with its `build-image.sh`.
pub fn example_image(runtime: &crate::ContainerRuntime, name: &str) -> pond_store::ContentHash {
    let script = example_dir(name).join("build-image.sh");
    let output = Command::new("sh")
        .arg(&script)
        .arg(&runtime.program)
        .envs(runtime.env.iter().map(|(k, v)| (k, v)))
        .output();
    imported_id(output, &script.display().to_string())
}

/// A plain busybox image (every applet, no entrypoint) for tests that give
/// their own command.
pub fn busybox_image(runtime: &crate::ContainerRuntime) -> pond_store::ContentHash {
    let root = scratch();
    let rootfs = root.path().join("rootfs");
    for dir in ["bin", "input", "output", "tmp", "proc", "sys", "dev"] {
        if let Err(e) = std::fs::create_dir_all(rootfs.join(dir)) {
            panic!("{e}");
        }
    }
    let busybox = std::env::var("BUSYBOX").unwrap_or_else(|_| "/bin/busybox".into());
    if let Err(e) = std::fs::copy(&busybox, rootfs.join("bin/busybox")) {
        panic!("{busybox}: {e}; apt-get install busybox-static");
    }
    let applets = Command::new(&busybox).arg("--list").output();
    let applets = applets
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    for applet in applets.lines().filter(|a| *a != "busybox") {
        let _ = std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet));
    }
    let tar = root.path().join("rootfs.tar");
    let packed = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status();
    assert!(packed.is_ok_and(|s| s.success()), "tar failed");
    let output = Command::new(&runtime.program)
        .envs(runtime.env.iter().map(|(k, v)| (k, v)))
        .args(["import", "--quiet"])
        .arg(&tar)
        .arg("pond-test-busybox")
        .output();
    imported_id(output, "podman import")
}

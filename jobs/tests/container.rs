//! The container executor with podman and runc: the shipped example image,
//! and a job that tries to get out of its limits (network, root file
//! system, inputs, time, processes, links out of its outputs).

use pond_jobs::container::{ContainerError, ContainerRuntime};
use pond_jobs::outputs::OutputError;
use pond_jobs::run::run_job;
use pond_jobs::testkit::{
    busybox_image, example_dir, example_image, podman, scratch, GC_CONTENT_RESULT,
};
use pond_jobs::{JobModule, JobSpec, RunError, RunLimits};
use pond_store::ContentHash;
use std::path::Path;

#[test]
fn the_container_example_runs_from_a_local_root_file_system() {
    let runtime = podman();
    let image = example_image(&runtime, "gc-content");
    let dir = scratch();
    let out = dir.path().join("out");
    let report = run_job(
        &JobModule::Image(image),
        &example_dir("gc-content").join("input"),
        &out,
        Some(&runtime),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.module_hash, image);
    assert_eq!(report.result_hash.to_string(), GC_CONTENT_RESULT);
    let tsv = std::fs::read_to_string(out.join("gc.tsv")).unwrap_or_default();
    assert_eq!(tsv.lines().count(), 25, "{tsv}");
    assert!(String::from_utf8_lossy(&report.stdout).contains("24 sequences"));
}

/// Runs `script` with `sh -c` in the busybox image on a one-file input.
fn sh(
    runtime: &ContainerRuntime,
    image: &ContentHash,
    script: &str,
    limits: RunLimits,
    out: &Path,
) -> Result<Vec<u8>, ContainerError> {
    let dir = scratch();
    std::fs::write(dir.path().join("data.txt"), "input\n").unwrap_or_else(|e| panic!("{e}"));
    let mut spec = JobSpec::exact(vec!["/bin/sh".into(), "-c".into(), script.into()]);
    spec.limits = limits;
    runtime
        .run(image, dir.path(), &spec, out)
        .map(|run| run.stdout)
}

fn small() -> RunLimits {
    RunLimits {
        memory_bytes: 64 << 20,
        wall_seconds: 30,
        pids: 16,
        output_bytes: 1 << 20,
        output_files: 8,
        ..RunLimits::default()
    }
}

fn container_exists(runtime: &ContainerRuntime, image: &ContentHash) -> bool {
    let listed = std::process::Command::new(&runtime.program)
        .envs(runtime.env.iter().map(|(k, v)| (k, v)))
        .args(["ps", "--all", "--quiet", "--filter"])
        .arg(format!("ancestor={}", image.hex()))
        .output();
    listed.is_ok_and(|o| !String::from_utf8_lossy(&o.stdout).trim().is_empty())
}

#[test]
fn a_container_job_stays_inside_its_limits() {
    let runtime = podman();
    let image = busybox_image(&runtime);
    let dir = scratch();

    // No network but loopback, a read-only root and inputs, an unprivileged
    // user; the job reports what it could do into its outputs.
    let probe = r#"
        ls /sys/class/net > /output/net
        touch /rootfile 2>/dev/null && echo yes > /output/root || echo no > /output/root
        touch /input/x 2>/dev/null && echo yes > /output/input || echo no > /output/input
        id -u > /output/uid
        cat /input/data.txt > /output/copy"#;
    let out = dir.path().join("probe");
    sh(&runtime, &image, probe, small(), &out).unwrap_or_else(|e| panic!("{e}"));
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap_or_default();
    assert_eq!(read("net").trim(), "lo");
    assert_eq!(read("root").trim(), "no");
    assert_eq!(read("input").trim(), "no");
    assert_eq!(read("uid").trim(), "65534");
    assert_eq!(read("copy"), "input\n");

    // Processes are capped: 40 background sleeps cannot all start under a
    // limit of 16 (the shell fails to fork), and can under 64.
    let forks = "i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done; echo $i > /output/n";
    let capped = sh(
        &runtime,
        &image,
        forks,
        small(),
        &dir.path().join("forks16"),
    );
    let Err(ContainerError::Exit { stderr, .. }) = capped else {
        panic!("40 processes started under a limit of 16: {capped:?}");
    };
    assert!(stderr.contains("fork"), "{stderr}");
    let roomy = RunLimits {
        pids: 64,
        ..small()
    };
    let out = dir.path().join("forks64");
    sh(&runtime, &image, forks, roomy, &out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read_number(&out.join("n")), 40);

    // A job over its wall-clock limit is killed and removed.
    let out = dir.path().join("slow");
    let limits = RunLimits {
        wall_seconds: 2,
        ..small()
    };
    let slow = sh(&runtime, &image, "sleep 60", limits, &out);
    assert!(matches!(slow, Err(ContainerError::Timeout(2))), "{slow:?}");
    assert!(!out.exists());
    assert!(
        !container_exists(&runtime, &image),
        "the killed container is gone"
    );

    // A link out of the outputs is refused, and nothing is kept.
    let out = dir.path().join("link");
    let link = sh(
        &runtime,
        &image,
        "ln -s /etc/passwd /output/passwd",
        small(),
        &out,
    );
    assert!(
        matches!(link, Err(ContainerError::Outputs(OutputError::Walk(_)))),
        "{link:?}"
    );
    assert!(!out.exists());

    // Too many output files.
    let out = dir.path().join("many");
    let many = sh(
        &runtime,
        &image,
        "for i in $(seq 20); do echo > /output/f$i; done",
        small(),
        &out,
    );
    assert!(matches!(many, Err(ContainerError::Outputs(_))), "{many:?}");

    // A failing command is an error with its code and stderr.
    let out = dir.path().join("fail");
    let failed = sh(&runtime, &image, "echo broken >&2; exit 3", small(), &out);
    let Err(ContainerError::Exit {
        code: 3, stderr, ..
    }) = failed
    else {
        panic!("{failed:?}");
    };
    assert_eq!(stderr, "broken");
    assert!(!container_exists(&runtime, &image));
}

fn read_number(path: &Path) -> u32 {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or(u32::MAX)
}

#[test]
fn an_image_that_is_not_loaded_is_a_typed_error() {
    let runtime = podman();
    let dir = scratch();
    let missing = ContentHash([7; 32]);
    let outcome = run_job(
        &JobModule::Image(missing),
        &example_dir("gc-content").join("input"),
        &dir.path().join("out"),
        Some(&runtime),
    );
    assert!(
        matches!(
            outcome,
            Err(RunError::Container(ContainerError::NoImage(_)))
        ),
        "{outcome:?}"
    );
}

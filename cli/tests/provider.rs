//! `pond provider` through the binary against devnode with the real
//! contracts: registration with detected hardware (two 24 GB GPUs from a
//! stand-in `nvidia-smi`, the machine's cores and RAM), flags that
//! override, a second registration refused with the registry's named
//! error, an update, and `show` for anyone; then offers posted on that
//! hardware, listed, refused beyond it, and cancelled.

mod common;

use common::{key_of, printed_text as text, ChainCli};
use pond_deploy::testkit::Stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_is_registered_updated_and_shown() {
    let s = Stack::start().await;
    let account = s.node.accounts()[6].clone();
    let cli = ChainCli::for_stack(&s, "pond-provider");
    let bin = cli.dir.join("bin");
    std::fs::create_dir_all(&bin).expect("dir");
    // What nvidia-smi prints for two 24 GB GPUs (MiB per GPU).
    let smi = bin.join("nvidia-smi");
    std::fs::write(&smi, "#!/bin/sh\nprintf '24576\\n24576\\n'\n").expect("script");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&smi, std::fs::Permissions::from_mode(0o755)).expect("mode");
    }
    let key = key_of(&account);
    // `--private-key-env KEY` where a command signs.
    let run = |command: &str, args: &[&str], path_first| {
        let mut all = vec![command];
        all.extend_from_slice(args);
        cli.run_with(None, &[("KEY", key.as_str())], path_first, &all)
    };
    let pond = |args: &[&str]| run("provider", args, Some(bin.as_path()));
    let address = account.address.to_string();

    let unknown = pond(&["show", "--account", &address]);
    assert!(!unknown.status.success());
    assert!(
        text(&unknown).contains("is not a registered provider"),
        "{}",
        text(&unknown)
    );

    let registered = pond(&[
        "register",
        "--private-key-env",
        "KEY",
        "--metadata-uri",
        "https://example.org/rig",
        "--disk-gb",
        "500",
        "--json",
    ]);
    assert!(registered.status.success(), "{}", text(&registered));
    let shown = pond(&["show", "--account", &address, "--json"]);
    assert!(shown.status.success(), "{}", text(&shown));
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    let hw = &shown["hardware"];
    assert_eq!(
        (&hw["gpuCount"], &hw["gpuMemoryGb"]),
        (&2.into(), &24.into()),
        "{shown}"
    );
    assert_eq!(hw["diskGb"], 500);
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    assert_eq!(hw["cpuCores"], cores);
    assert!(hw["ramGb"].as_u64().is_some_and(|gb| gb >= 1), "{shown}");
    assert_eq!(shown["completed"], 0);
    assert_eq!(shown["earned"], "0");

    let again = pond(&["register", "--private-key-env", "KEY"]);
    assert!(!again.status.success());
    assert!(
        text(&again).contains(&format!("Registry.ProviderAlreadyRegistered({address})")),
        "{}",
        text(&again)
    );

    let updated = pond(&[
        "update",
        "--private-key-env",
        "KEY",
        "--gpus",
        "1",
        "--gpu-memory-gb",
        "80",
    ]);
    assert!(updated.status.success(), "{}", text(&updated));
    let shown = pond(&["show", "--private-key-env", "KEY"]);
    let shown = text(&shown);
    assert!(shown.contains("1 GPU × 80 GB"), "{shown}");

    // Offers: posted on the registered hardware, listed, refused beyond
    // it, cancelled.
    let offer = |args: &[&str]| run("offer", args, None);
    let posted = offer(&[
        "post",
        "--private-key-env",
        "KEY",
        "--price",
        "12.5",
        "--max-duration",
        "2h",
        "--json",
    ]);
    assert!(posted.status.success(), "{}", text(&posted));
    let posted: serde_json::Value = serde_json::from_slice(&posted.stdout).expect("JSON");
    let id = posted["offerId"].as_str().expect("offer id").to_owned();
    let listed = offer(&["list", "--provider", &address, "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    let mine = &listed[0];
    assert_eq!(mine["id"], id.as_str(), "{listed}");
    assert_eq!(
        (&mine["price"], &mine["maxDuration"], &mine["minDuration"]),
        (&"12.5".into(), &7200.into(), &300.into())
    );
    assert_eq!(
        (
            &mine["hardware"]["gpuCount"],
            &mine["hardware"]["gpuMemoryGb"]
        ),
        (&1.into(), &80.into())
    );
    let too_big = offer(&[
        "post",
        "--private-key-env",
        "KEY",
        "--price",
        "1",
        "--max-duration",
        "1h",
        "--gpus",
        "4",
    ]);
    assert!(!too_big.status.success());
    assert!(
        text(&too_big).contains("OfferBook.HardwareExceedsRegistration()"),
        "{}",
        text(&too_big)
    );
    let bad_duration = offer(&[
        "post",
        "--private-key-env",
        "KEY",
        "--price",
        "1",
        "--max-duration",
        "2 hours",
    ]);
    assert!(
        text(&bad_duration).contains("is not a duration"),
        "{}",
        text(&bad_duration)
    );
    let cancelled = offer(&["cancel", &id, "--private-key-env", "KEY"]);
    assert!(cancelled.status.success(), "{}", text(&cancelled));
    let open = offer(&["list", "--provider", &address, "--json"]);
    assert_eq!(
        String::from_utf8_lossy(&open.stdout).trim(),
        "[]",
        "{}",
        text(&open)
    );
    let all = offer(&["list", "--provider", &address, "--all", "--json"]);
    let all: serde_json::Value = serde_json::from_slice(&all.stdout).expect("JSON");
    assert_eq!(all[0]["open"], false, "{all}");
}

//! `pond wallet` as a user runs it: keystores created and imported
//! (private key from an environment variable, mnemonic from a file),
//! listed, and opened again; a wrong password, an unknown name and a
//! malformed key each fail with a one-line reason, and no key or password
//! is ever printed.

mod common;

use std::{path::Path, process::Output};

use common::{printed_text, run_pond, run_pond_without_terminal};

const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const DEV_ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const SECOND_ADDRESS: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const PASSWORD: &str = "correct horse battery staple";

/// Runs `pond args…` with the keystores in `dir/keys`.
fn pond(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let keys = dir.join("keys").display().to_string();
    let mut env = env.to_vec();
    env.push(("POND_KEYSTORE_DIR", &keys));
    run_pond(dir, None, &env, args)
}

/// [`pond`] without a terminal to prompt on.
fn pond_without_terminal(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let keys = dir.join("keys").display().to_string();
    let mut env = env.to_vec();
    env.push(("POND_KEYSTORE_DIR", &keys));
    run_pond_without_terminal(dir, &env, args)
}

fn text(output: &Output) -> String {
    printed_text(output)
}

fn printed(output: &Output, label: &str) -> String {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(label).map(|r| r.trim().to_owned()))
        .unwrap_or_else(|| panic!("no {label} line in {}", text(output)))
}

#[test]
fn keystores_are_made_listed_opened_and_never_leak() {
    let dir = std::env::temp_dir().join(format!("pond-wallet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let with_password = [("POND_PASSWORD", PASSWORD)];

    // A new key.
    let made = pond(&dir, &with_password, &["wallet", "new", "--name", "alice"]);
    assert!(made.status.success(), "{}", text(&made));
    let alice = printed(&made, "address");
    let keystore = printed(&made, "keystore");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&keystore)
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{keystore}");
    }

    // Imports: a private key from the environment, a mnemonic's second
    // account from a file.
    let imported = pond(
        &dir,
        &[("POND_PASSWORD", PASSWORD), ("DEV_KEY", DEV_KEY)],
        &[
            "wallet",
            "import",
            "--name",
            "dev",
            "--private-key-env",
            "DEV_KEY",
        ],
    );
    assert!(imported.status.success(), "{}", text(&imported));
    assert_eq!(printed(&imported, "address"), DEV_ADDRESS);
    let phrase = dir.join("phrase");
    std::fs::write(
        &phrase,
        "test test test test test test test test test test test junk\n",
    )
    .expect("phrase");
    let phrase_arg = phrase.display().to_string();
    let second = pond(
        &dir,
        &with_password,
        &[
            "wallet",
            "import",
            "--name",
            "second",
            "--mnemonic-file",
            &phrase_arg,
            "--index",
            "1",
        ],
    );
    assert_eq!(
        printed(&second, "address"),
        SECOND_ADDRESS,
        "{}",
        text(&second)
    );

    // Listed, without a password, with their addresses.
    let listed = pond(&dir, &[], &["wallet", "list", "--json"]);
    assert!(listed.status.success(), "{}", text(&listed));
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    let names: Vec<_> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or_default(),
                e["address"].as_str().unwrap_or_default().to_lowercase(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("alice", alice.to_lowercase()),
            ("dev", DEV_ADDRESS.to_lowercase()),
            ("second", SECOND_ADDRESS.to_lowercase())
        ]
    );

    // Opened again: with the password from the environment or a file.
    let opened = pond(
        &dir,
        &with_password,
        &["wallet", "address", "--keystore", "alice"],
    );
    assert_eq!(
        String::from_utf8_lossy(&opened.stdout).trim(),
        alice,
        "{}",
        text(&opened)
    );
    let password_file = dir.join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).expect("password file");
    let file_arg = password_file.display().to_string();
    let opened = pond(
        &dir,
        &[],
        &[
            "wallet",
            "address",
            "--keystore",
            "dev",
            "--password-file",
            &file_arg,
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&opened.stdout).trim(),
        DEV_ADDRESS,
        "{}",
        text(&opened)
    );
    let plain = pond(
        &dir,
        &[("K", DEV_KEY)],
        &["wallet", "address", "--private-key-env", "K"],
    );
    assert_eq!(String::from_utf8_lossy(&plain.stdout).trim(), DEV_ADDRESS);

    // Failures: non-zero, one reason, nothing secret.
    let failures = [
        (
            pond(
                &dir,
                &[("POND_PASSWORD", "wrong")],
                &["wallet", "address", "--keystore", "alice"],
            ),
            "wrong password",
        ),
        (
            pond(
                &dir,
                &with_password,
                &["wallet", "address", "--keystore", "nobody"],
            ),
            "no keystore named \"nobody\"",
        ),
        (
            pond(&dir, &with_password, &["wallet", "new", "--name", "alice"]),
            "already exists",
        ),
        (
            pond(
                &dir,
                &with_password,
                &["wallet", "new", "--name", "../escape"],
            ),
            "is not a keystore name",
        ),
        (
            pond(
                &dir,
                &[("POND_PASSWORD", PASSWORD), ("BAD", "0x1234")],
                &[
                    "wallet",
                    "import",
                    "--name",
                    "bad",
                    "--private-key-env",
                    "BAD",
                ],
            ),
            "not 32 bytes of hex",
        ),
        (
            pond_without_terminal(&dir, &[], &["wallet", "new", "--name", "nopassword"]),
            "no password",
        ),
    ];
    for (output, reason) in &failures {
        let all = text(output);
        assert!(!output.status.success(), "{reason}: {all}");
        assert!(all.contains(reason), "{reason}: {all}");
        assert!(
            !all.contains(PASSWORD) && !all.contains(&DEV_KEY[2..]),
            "{all}"
        );
    }
    for output in [&made, &imported, &second] {
        let all = text(output);
        assert!(
            !all.contains(PASSWORD) && !all.contains(&DEV_KEY[2..]),
            "{all}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

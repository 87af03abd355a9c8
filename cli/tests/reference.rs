//! `docs/cli.md` is what `pond reference` prints from the command
//! definitions: a stale reference fails here and says how to refresh it.

mod common;

use common::run_pond;

#[test]
fn the_command_reference_is_fresh() {
    let dir = std::env::temp_dir();
    // Set variables must not leak into the reference.
    let printed = run_pond(
        &dir,
        None,
        &[("POND_RPC", "http://elsewhere:1")],
        &["reference"],
    );
    assert!(printed.status.success());
    let printed = String::from_utf8(printed.stdout).expect("UTF-8");
    assert!(!printed.contains("elsewhere"));
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cli.md");
    let checked_in = std::fs::read_to_string(&file).expect("docs/cli.md");
    assert!(
        printed == checked_in,
        "docs/cli.md is stale: run `cargo run -p pond -- reference > docs/cli.md` and commit it"
    );
    for command in [
        "pond wallet new",
        "pond job post",
        "pond case reveal",
        "pond deal commit",
    ] {
        assert!(printed.contains(&format!("## `{command}`")), "{command}");
    }
}

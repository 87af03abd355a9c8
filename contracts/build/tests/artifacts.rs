//! The checked-in contract code (`contracts/code/wasm/`, embedded in
//! `pond`) must be what the contract sources build to.

use pond_contract_build::{
    artifacts_dir, build_all, contracts_workspace, stale_artifacts, target_dir, CONTRACTS,
    REFRESH_COMMAND,
};

#[test]
fn the_checked_in_code_is_what_the_sources_build_to() {
    let target = target_dir();
    build_all(&contracts_workspace(), &target).expect("the contracts build");
    let stale: Vec<&str> = stale_artifacts(&target, &artifacts_dir())
        .expect("every contract was built")
        .iter()
        .map(|c| c.name)
        .collect();
    assert!(
        stale.is_empty(),
        "the checked-in code of {} is stale: run `{REFRESH_COMMAND}` and commit contracts/code/wasm/",
        stale.join(", ")
    );
    // What pond embeds is what is checked in.
    for contract in CONTRACTS {
        let file = std::fs::read(artifacts_dir().join(contract.wasm_file())).expect("checked in");
        assert_eq!(contract.wasm, file.as_slice(), "{}", contract.name);
    }
}

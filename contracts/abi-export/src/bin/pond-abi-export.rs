//! Writes the contracts' Solidity interfaces into `contracts/abi/`, or with
//! `--check` fails when the checked-in files are stale.

use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = pond_abi_export::abi_dir();
    if std::env::args().any(|arg| arg == "--check") {
        let stale = pond_abi_export::stale_files(&dir);
        if stale.is_empty() {
            println!("contracts/abi is up to date");
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "stale ABI files (run `cargo run -p pond-abi-export`): {}",
            stale.join(", ")
        );
        return ExitCode::FAILURE;
    }
    match pond_abi_export::write_all(&dir) {
        Ok(()) => {
            println!(
                "wrote {} interfaces to {}",
                pond_abi_export::exports().len(),
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("cannot write {}: {error}", dir.display());
            ExitCode::FAILURE
        }
    }
}

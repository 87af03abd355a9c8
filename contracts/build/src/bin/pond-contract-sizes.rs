//! Builds every contract and prints its raw and compressed size; fails if
//! any exceeds Nitro's 24 KiB compressed code limit, or if the checked-in
//! code that `pond` embeds (`contracts/code/wasm/`) differs from the build.
//!
//! `--write` refreshes the checked-in code from the build; `--no-build`
//! measures what is already built; `--markdown` prints the table for the
//! README.

use std::process::ExitCode;

use pond_contract_build::{
    artifacts_dir, build_all, contracts_workspace, measure_all, stale_artifacts, target_dir,
    write_artifacts, MAX_COMPRESSED_CODE, REFRESH_COMMAND,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let workspace = contracts_workspace();
    let target_dir = target_dir();
    if !args.iter().any(|a| a == "--no-build") {
        if let Err(error) = build_all(&workspace, &target_dir) {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    }
    let sizes = match measure_all(&target_dir) {
        Ok(sizes) => sizes,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let stale = if args.iter().any(|a| a == "--write") {
        write_artifacts(&target_dir, &artifacts_dir()).map(|()| Vec::new())
    } else {
        stale_artifacts(&target_dir, &artifacts_dir())
    };
    let stale: Vec<&str> = match stale {
        Ok(stale) => stale.iter().map(|c| c.name).collect(),
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let markdown = args.iter().any(|a| a == "--markdown");
    if markdown {
        println!("| contract | wasm bytes | deployed (brotli 11) bytes | of 24 KiB |");
        println!("|---|---:|---:|---:|");
    } else {
        println!(
            "{:<16} {:>10} {:>12} {:>8}",
            "contract", "wasm", "compressed", "limit"
        );
    }
    for size in &sizes {
        #[allow(clippy::cast_precision_loss)]
        let share = size.compressed as f64 * 100.0 / MAX_COMPRESSED_CODE as f64;
        if markdown {
            println!(
                "| {} | {} | {} | {share:.1} % |",
                size.contract.name, size.raw, size.compressed
            );
        } else {
            let flag = if size.fits() { "" } else { "  TOO LARGE" };
            println!(
                "{:<16} {:>10} {:>12} {:>7.1}%{flag}",
                size.contract.name, size.raw, size.compressed, share
            );
        }
    }
    let too_large: Vec<&str> = sizes
        .iter()
        .filter(|s| !s.fits())
        .map(|s| s.contract.name)
        .collect();
    if !too_large.is_empty() {
        eprintln!(
            "over the {MAX_COMPRESSED_CODE}-byte compressed limit: {}",
            too_large.join(", ")
        );
    }
    if !stale.is_empty() {
        eprintln!(
            "the checked-in code of {} is stale: run `{REFRESH_COMMAND}` and commit contracts/code/wasm/",
            stale.join(", ")
        );
    }
    if too_large.is_empty() && stale.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

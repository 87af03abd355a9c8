//! Checking a provider's result, as a validator does (the determinism
//! classes of `docs/jobs.md`): an `exact` job agrees when the re-run's
//! result hash is the provider's; a `tolerant` job, when its comparator
//! says the two output trees agree. The validator then votes the provider's
//! hash if they agree, its own otherwise.

use crate::module::JobModule;
use crate::outputs::Outputs;
use crate::spec::{Determinism, JobSpec};
use crate::wasm::{self, InputFiles, WasmError};
use pond_store::walk::{manifest_of_dir, WalkError};
use pond_store::{ContentHash, Limits, Manifest};
use std::path::Path;

/// The comparator's verdict file in its outputs.
pub const VERDICT_FILE: &str = "verdict";
/// Where a comparator may explain a disagreement.
pub const REASON_FILE: &str = "reason";

/// Whether two results agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// They agree: vote the provider's result hash.
    Agree,
    /// They differ: vote your own; the reason, if one was given.
    Disagree(String),
}

/// Why a comparison could not be made (never a vote).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// An output directory is not a valid tree.
    #[error("an output directory: {0}")]
    Tree(#[from] WalkError),
    /// The provider's outputs do not hash to the result it claims.
    #[error("the provider's outputs hash to {found}, not the claimed {claimed}")]
    NotTheClaim {
        /// The claimed result hash.
        claimed: ContentHash,
        /// What the outputs hash to.
        found: ContentHash,
    },
    /// The comparator named by the job is not in its input tree.
    #[error("the comparator {0} is not in the input tree")]
    NoComparator(String),
    /// Reading the comparator failed.
    #[error("reading the comparator: {0}")]
    ComparatorModule(#[from] crate::module::ModuleError),
    /// The comparator failed.
    #[error("the comparator failed: {0}")]
    Comparator(#[from] WasmError),
    /// The comparator wrote no valid verdict.
    #[error("the comparator's verdict is {0:?}, not \"agree\" or \"disagree\"")]
    NoVerdict(String),
}

/// One side of a comparison: an output directory and its tree.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// The directory.
    pub dir: &'a Path,
    /// Its tree.
    pub tree: &'a Manifest,
}

/// Reads an output directory as a tree within the job's output limits,
/// checking it against `claimed`.
///
/// # Errors
/// The directory is not a tree, or hashes to something else.
pub fn claimed_tree(
    dir: &Path,
    claimed: Option<ContentHash>,
    spec: &JobSpec,
) -> Result<Manifest, VerifyError> {
    // The job's own output limits: a provider cannot make a validator read
    // more than the job could have written.
    let limits = Limits {
        max_files: usize::try_from(spec.limits.output_files).unwrap_or(usize::MAX),
        max_file_bytes: spec.limits.output_bytes,
        max_total_bytes: spec.limits.output_bytes,
        ..Limits::default()
    };
    let tree = manifest_of_dir(dir, &limits)?;
    match claimed {
        Some(claimed) if claimed != tree.hash() => Err(VerifyError::NotTheClaim {
            claimed,
            found: tree.hash(),
        }),
        _ => Ok(tree),
    }
}

/// Compares the provider's outputs with the validator's own re-run of the
/// job whose input tree is `input` (with `input_tree` and `spec`).
///
/// # Errors
/// See [`VerifyError`].
pub fn compare(
    input: Side<'_>,
    spec: &JobSpec,
    provider: Side<'_>,
    own: Side<'_>,
) -> Result<Verdict, VerifyError> {
    let (theirs, ours) = (provider.tree.hash(), own.tree.hash());
    if theirs == ours {
        return Ok(Verdict::Agree);
    }
    let Determinism::Tolerant { comparator, args } = &spec.determinism else {
        return Ok(Verdict::Disagree(format!(
            "exact job: result {ours} differs from the provider's {theirs}"
        )));
    };
    if input.tree.get(comparator).is_none() {
        return Err(VerifyError::NoComparator(comparator.clone()));
    }
    let module = match JobModule::read_wasm(&input.dir.join(comparator)) {
        Ok(JobModule::Wasm(bytes)) => bytes,
        Ok(JobModule::Image(_)) => return Err(VerifyError::NoComparator(comparator.clone())),
        Err(e) => return Err(VerifyError::ComparatorModule(e)),
    };
    let judge = |a: Side<'_>, b: Side<'_>| {
        let mut files = InputFiles::under("a", a.dir, a.tree);
        files.0.extend(InputFiles::under("b", b.dir, b.tree).0);
        let seed = ContentHash::of(&[a.tree.hash().0, b.tree.hash().0].concat());
        let run = wasm::run(&module, &files, seed, &JobSpec::exact(args.clone()))?;
        verdict_of(&run.outputs)
    };
    match judge(provider, own) {
        Ok(verdict) => Ok(verdict),
        // Outputs that break the comparator must not stop validators from
        // voting: if it judges the validator's own outputs against
        // themselves, the provider's outputs are at fault.
        Err(failure) => match judge(own, own) {
            Ok(Verdict::Agree) => Ok(Verdict::Disagree(format!(
                "the comparator fails on the provider's outputs: {failure}"
            ))),
            _ => Err(failure),
        },
    }
}

/// Reads a comparator's verdict from its outputs.
///
/// # Errors
/// No `verdict` file, or one that says neither `agree` nor `disagree`.
pub fn verdict_of(outputs: &Outputs) -> Result<Verdict, VerifyError> {
    let verdict = outputs.get(VERDICT_FILE).unwrap_or_default();
    let text = String::from_utf8_lossy(verdict);
    match text.trim() {
        "agree" => Ok(Verdict::Agree),
        "disagree" => {
            let reason = outputs.get(REASON_FILE).unwrap_or_default();
            let reason = String::from_utf8_lossy(&reason[..reason.len().min(2000)]);
            Ok(Verdict::Disagree(reason.trim().to_owned()))
        }
        other => Err(VerifyError::NoVerdict(other.chars().take(80).collect())),
    }
}

/// The result hash a validator votes for.
pub fn vote(verdict: &Verdict, provider: ContentHash, own: ContentHash) -> ContentHash {
    match verdict {
        Verdict::Agree => provider,
        Verdict::Disagree(_) => own,
    }
}

/// The output digest a validator reveals with its vote (`docs/protocol.md`,
/// Mediation): `sha256(seed ‖ the manifest ‖ the content of every file in
/// manifest order)`, with the voting round's `seed`. It cannot be computed
/// from the public result hash, only from the outputs themselves.
///
/// # Errors
/// A file of the tree is missing from `store`, or has another size.
pub fn output_digest(
    seed: &[u8; 32],
    tree: &Manifest,
    store: &pond_store::LocalStore,
) -> Result<ContentHash, pond_store::StoreError> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(seed);
    hasher.update(tree.encode());
    for entry in tree.entries() {
        let path = store.blob_path(&entry.hash);
        let mut file =
            std::fs::File::open(&path).map_err(|_| pond_store::StoreError::Missing(entry.hash))?;
        let copied = std::io::copy(&mut file, &mut hasher)
            .map_err(|source| pond_store::StoreError::Io { path, source })?;
        if copied != entry.size {
            return Err(pond_store::StoreError::SizeMismatch {
                hash: entry.hash,
                expected: entry.size,
                actual: copied,
            });
        }
    }
    Ok(ContentHash(hasher.finalize().into()))
}

#[cfg(test)]
mod digest_tests {
    use super::*;

    #[test]
    fn the_digest_binds_seed_manifest_and_content() {
        let dir = tempfile::tempdir().expect("dir");
        let store = pond_store::LocalStore::open(dir.path().join("store")).expect("store");
        let content = b"GATTACA\n";
        let blob = store.put_bytes(content).expect("blob");
        let tree = Manifest::single("out.txt", content.len() as u64, blob).expect("tree");
        let seed = [7u8; 32];
        let digest = output_digest(&seed, &tree, &store).expect("digest");
        // Independently: sha256(seed ‖ manifest ‖ content).
        let expected =
            ContentHash::of(&[seed.as_slice(), &tree.encode(), content.as_slice()].concat());
        assert_eq!(digest, expected);
        assert_ne!(
            output_digest(&[8u8; 32], &tree, &store).expect("digest"),
            digest
        );
        let missing = Manifest::single("out.txt", 3, ContentHash::of(b"abc")).expect("tree");
        assert!(output_digest(&seed, &missing, &store).is_err());
    }
}

//! Example Pond comparator, for jobs of the `tolerant` determinism class
//! (GPU results, say, that are not bit-reproducible).
//!
//! A comparator is itself a WASM job: Pond runs it with the two output
//! trees under `/input/a` (the provider's) and `/input/b` (the validator's)
//! and reads its verdict from `/output/verdict`: `agree` or `disagree`
//! (anything else, or a failed run, is an error, never a vote).
//!
//! This one says `agree` when both trees hold the same file names, and each
//! pair of files has the same lines and fields (split on `,` and tabs),
//! where a field that parses as a number in both may differ by at most the
//! absolute tolerance `ARG1` plus the relative tolerance `ARG2` times the
//! larger magnitude. Defaults: 1e-6 and 1e-4. The first difference found is
//! written to `/output/reason`.

use std::{env, fs, path::Path, process::ExitCode};

fn files(root: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), String> {
    let mut entries: Vec<_> = fs::read_dir(root.join(prefix))
        .map_err(|e| format!("{prefix}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{prefix}: {e}"))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type().map_err(|e| format!("{path}: {e}"))?;
        if kind.is_dir() {
            files(root, &path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn close(a: f64, b: f64, absolute: f64, relative: f64) -> bool {
    if a == b {
        return true;
    }
    (a - b).abs() <= absolute + relative * a.abs().max(b.abs())
}

/// The first difference between two files' text, if any.
fn difference(a: &str, b: &str, absolute: f64, relative: f64) -> Option<String> {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    if la.len() != lb.len() {
        return Some(format!("{} lines vs {}", la.len(), lb.len()));
    }
    for (n, (x, y)) in la.iter().zip(&lb).enumerate() {
        let fx: Vec<&str> = x.split([',', '\t']).collect();
        let fy: Vec<&str> = y.split([',', '\t']).collect();
        if fx.len() != fy.len() {
            return Some(format!(
                "line {}: {} fields vs {}",
                n + 1,
                fx.len(),
                fy.len()
            ));
        }
        for (u, v) in fx.iter().zip(&fy) {
            let same = match (u.trim().parse::<f64>(), v.trim().parse::<f64>()) {
                (Ok(p), Ok(q)) if p.is_finite() && q.is_finite() => close(p, q, absolute, relative),
                _ => u == v,
            };
            if !same {
                return Some(format!("line {}: {u:?} vs {v:?}", n + 1));
            }
        }
    }
    None
}

fn run() -> Result<Option<String>, String> {
    let input = env::var("POND_INPUT").unwrap_or_else(|_| "/input".into());
    let args: Vec<String> = env::args().skip(1).collect();
    let number = |k: usize, default: f64| -> Result<f64, String> {
        match args.get(k) {
            Some(v) => v
                .parse()
                .map_err(|_| format!("tolerance {v:?} is not a number")),
            None => Ok(default),
        }
    };
    let (absolute, relative) = (number(0, 1e-6)?, number(1, 1e-4)?);
    let (a, b) = (Path::new(&input).join("a"), Path::new(&input).join("b"));
    let (mut fa, mut fb) = (Vec::new(), Vec::new());
    files(&a, "", &mut fa)?;
    files(&b, "", &mut fb)?;
    if fa != fb {
        return Ok(Some(format!("different files: {fa:?} vs {fb:?}")));
    }
    for name in &fa {
        let (x, y) = (fs::read(a.join(name)), fs::read(b.join(name)));
        let (x, y) = (
            x.map_err(|e| format!("a/{name}: {e}"))?,
            y.map_err(|e| format!("b/{name}: {e}"))?,
        );
        if x == y {
            continue;
        }
        let (Ok(x), Ok(y)) = (String::from_utf8(x), String::from_utf8(y)) else {
            return Ok(Some(format!("{name}: binary files differ")));
        };
        if let Some(why) = difference(&x, &y, absolute, relative) {
            return Ok(Some(format!("{name}: {why}")));
        }
    }
    Ok(None)
}

fn main() -> ExitCode {
    let output = env::var("POND_OUTPUT").unwrap_or_else(|_| "/output".into());
    let verdict = match run() {
        Ok(None) => "agree\n".to_owned(),
        Ok(Some(reason)) => {
            if let Err(e) = fs::write(format!("{output}/reason"), format!("{reason}\n")) {
                eprintln!("compare-csv: {e}");
                return ExitCode::FAILURE;
            }
            "disagree\n".to_owned()
        }
        Err(e) => {
            eprintln!("compare-csv: {e}");
            return ExitCode::FAILURE;
        }
    };
    match fs::write(format!("{output}/verdict"), verdict) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compare-csv: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_within_tolerance_agree() {
        assert_eq!(difference("a,1.0000\n", "a,1.00001\n", 1e-6, 1e-4), None);
        assert!(difference("a,1.0\n", "a,1.1\n", 1e-6, 1e-4).is_some());
        assert!(difference("a,1\n", "b,1\n", 1e-6, 1e-4).is_some());
        assert!(difference("a\n", "a\nb\n", 1e-6, 1e-4).is_some());
        assert!(difference("NaN\n", "NaN\n", 1e-6, 1e-4).is_none());
        assert!(difference("NaN\n", "1\n", 1e-6, 1e-4).is_some());
    }
}

//! Example Pond job: Smith–Waterman local alignment with affine gap costs
//! (Gotoh) of one DNA or protein query against every sequence of a FASTA
//! file, the classic first step of homology search.
//!
//! As every Pond job, it reads its inputs under `/input` and writes its
//! results under `/output` (`POND_INPUT` and `POND_OUTPUT` override both, for
//! a native run). Arguments: `QUERY.fasta TARGETS.fasta [REPEAT]`; `REPEAT`
//! aligns everything that many times (for benchmarks) with the same output.
//!
//! Output: `alignments.tsv`, one line per target, best score first (ties by
//! target order): target, score, query and target coordinates (1-based,
//! inclusive) and the alignment as an extended CIGAR string (`=` match,
//! `X` mismatch, `I` query bases the target lacks, `D` target bases the
//! query lacks).

use std::{env, fs, process::ExitCode};

/// Score of a match, a mismatch, opening and extending a gap.
const MATCH: i32 = 2;
const MISMATCH: i32 = -3;
const GAP_OPEN: i32 = -5;
const GAP_EXTEND: i32 = -2;

/// Largest sequence accepted, so the traceback matrix stays bounded.
const MAX_LEN: usize = 20_000;

struct Record {
    name: String,
    sequence: Vec<u8>,
}

fn parse_fasta(text: &str) -> Result<Vec<Record>, String> {
    let mut records: Vec<Record> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if let Some(header) = line.strip_prefix('>') {
            let name = header.split_whitespace().next().unwrap_or("").to_owned();
            if name.is_empty() {
                return Err(format!("line {}: a record without a name", number + 1));
            }
            records.push(Record {
                name,
                sequence: Vec::new(),
            });
        } else if !line.is_empty() {
            let record = records
                .last_mut()
                .ok_or_else(|| format!("line {}: sequence before the first '>'", number + 1))?;
            if !line.bytes().all(|b| b.is_ascii_alphabetic() || b == b'*') {
                return Err(format!("line {}: not a sequence", number + 1));
            }
            record
                .sequence
                .extend(line.bytes().map(|b| b.to_ascii_uppercase()));
            if record.sequence.len() > MAX_LEN {
                return Err(format!("{}: longer than {MAX_LEN}", record.name));
            }
        }
    }
    Ok(records)
}

/// The best local alignment of `a` and `b`.
struct Alignment {
    score: i32,
    a_range: (usize, usize),
    b_range: (usize, usize),
    cigar: String,
}

/// Traceback states: which matrix a cell's best score came from.
const FROM_ZERO: u8 = 0;
const FROM_DIAG: u8 = 1;
const FROM_UP: u8 = 2;
const FROM_LEFT: u8 = 3;
/// Bits recording whether a gap matrix cell extended a gap (vs. opened it).
const UP_EXTENDS: u8 = 4;
const LEFT_EXTENDS: u8 = 8;

fn align(a: &[u8], b: &[u8]) -> Alignment {
    let (n, m) = (a.len(), b.len());
    let width = m + 1;
    let mut trace = vec![0u8; (n + 1) * width];
    let mut h_prev = vec![0i32; width];
    let mut h_row = vec![0i32; width];
    // Gap in `a` (moving along b) per column; gap in `b` carried along the row.
    let mut up = vec![i32::MIN / 2; width];
    let (mut best, mut best_at) = (0, (0, 0));
    for i in 1..=n {
        let mut left = i32::MIN / 2;
        h_row[0] = 0;
        for j in 1..=m {
            let mut t = 0u8;
            let open_up = h_prev[j] + GAP_OPEN;
            let extend_up = up[j] + GAP_EXTEND;
            up[j] = if extend_up > open_up {
                t |= UP_EXTENDS;
                extend_up
            } else {
                open_up
            };
            let open_left = h_row[j - 1] + GAP_OPEN;
            let extend_left = left + GAP_EXTEND;
            left = if extend_left > open_left {
                t |= LEFT_EXTENDS;
                extend_left
            } else {
                open_left
            };
            let diagonal = h_prev[j - 1]
                + if a[i - 1] == b[j - 1] {
                    MATCH
                } else {
                    MISMATCH
                };
            let (mut h, mut from) = (0, FROM_ZERO);
            if diagonal > h {
                (h, from) = (diagonal, FROM_DIAG);
            }
            if up[j] > h {
                (h, from) = (up[j], FROM_UP);
            }
            if left > h {
                (h, from) = (left, FROM_LEFT);
            }
            h_row[j] = h;
            trace[i * width + j] = t | from;
            if h > best {
                (best, best_at) = (h, (i, j));
            }
        }
        std::mem::swap(&mut h_prev, &mut h_row);
    }
    // Walk back from the best cell, staying in a gap while it was extended.
    let (mut i, mut j) = best_at;
    let mut ops = Vec::new();
    let mut state = trace[i * width + j] & 3;
    while i > 0 && j > 0 && state != FROM_ZERO {
        let cell = trace[i * width + j];
        match state {
            FROM_DIAG => {
                ops.push(if a[i - 1] == b[j - 1] { b'=' } else { b'X' });
                i -= 1;
                j -= 1;
                state = trace[i * width + j] & 3;
            }
            FROM_UP => {
                ops.push(b'I');
                let extends = cell & UP_EXTENDS != 0;
                i -= 1;
                state = if extends {
                    FROM_UP
                } else {
                    trace[i * width + j] & 3
                };
            }
            _ => {
                ops.push(b'D');
                let extends = cell & LEFT_EXTENDS != 0;
                j -= 1;
                state = if extends {
                    FROM_LEFT
                } else {
                    trace[i * width + j] & 3
                };
            }
        }
    }
    ops.reverse();
    Alignment {
        score: best,
        a_range: (i + 1, best_at.0),
        b_range: (j + 1, best_at.1),
        cigar: cigar(&ops),
    }
}

fn cigar(ops: &[u8]) -> String {
    let mut out = String::new();
    let mut k = 0;
    while k < ops.len() {
        let run = ops[k..].iter().take_while(|&&o| o == ops[k]).count();
        out.push_str(&format!("{run}{}", ops[k] as char));
        k += run;
    }
    if out.is_empty() {
        out.push('*');
    }
    out
}

fn run() -> Result<(), String> {
    let input = env::var("POND_INPUT").unwrap_or_else(|_| "/input".into());
    let output = env::var("POND_OUTPUT").unwrap_or_else(|_| "/output".into());
    let args: Vec<String> = env::args().skip(1).collect();
    let [query, targets, rest @ ..] = args.as_slice() else {
        return Err("usage: align QUERY.fasta TARGETS.fasta [REPEAT]".into());
    };
    let repeat: u32 = match rest.first() {
        Some(n) => n
            .parse()
            .map_err(|_| format!("REPEAT {n:?} is not a number"))?,
        None => 1,
    };
    let read = |name: &str| {
        fs::read_to_string(format!("{input}/{name}")).map_err(|e| format!("{input}/{name}: {e}"))
    };
    let query = parse_fasta(&read(query)?)?;
    let query = query.first().ok_or("the query file has no record")?;
    let targets = parse_fasta(&read(targets)?)?;
    let mut results = Vec::new();
    for _ in 0..repeat.max(1) {
        results = targets
            .iter()
            .enumerate()
            .map(|(k, t)| (k, align(&query.sequence, &t.sequence)))
            .collect::<Vec<_>>();
    }
    results.sort_by_key(|(k, a)| (std::cmp::Reverse(a.score), *k));
    let mut tsv =
        String::from("target\tscore\tquery_start\tquery_end\ttarget_start\ttarget_end\tcigar\n");
    for (k, a) in &results {
        tsv.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            targets[*k].name, a.score, a.a_range.0, a.a_range.1, a.b_range.0, a.b_range.1, a.cigar
        ));
    }
    fs::write(format!("{output}/alignments.tsv"), tsv).map_err(|e| format!("{output}: {e}"))?;
    println!("aligned {} against {} targets", query.name, targets.len());
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("align: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_embedded_copy_with_a_gap() {
        let a = b"ACGTACGTTTGACCA";
        let b = b"GGGGGACGTACGTGACCAGGGG";
        let found = align(a, b);
        // 13 matches (26) and one gap of length 2 (-5 - 2 = -7): 19.
        assert_eq!(found.score, 19);
        // The query's extra "TT" sits in a run of Ts: the traceback places
        // it before the last T of the run (one of two equal alignments).
        assert_eq!(found.cigar, "7=2I6=");
        assert_eq!(found.b_range, (6, 18));
    }

    #[test]
    fn unrelated_sequences_score_low() {
        assert_eq!(align(b"AAAA", b"CCCC").score, 0);
        assert_eq!(align(b"AAAA", b"CCCC").cigar, "*");
    }

    #[test]
    fn fasta_errors_are_reported() {
        assert!(parse_fasta("ACGT\n").is_err());
        assert!(parse_fasta(">\nACGT\n").is_err());
        assert!(parse_fasta(">x\nAC GT\n").is_err());
        let ok = parse_fasta(">x desc\nAC\ngt\n>y\nA\n").unwrap_or_default();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].sequence, b"ACGT");
    }
}

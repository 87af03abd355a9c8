//! Stylus program code, as Arbitrum stores it.
//!
//! A Stylus program is deployed as ordinary contract code that starts with
//! the three bytes `EF F0 00`, then one dictionary byte (`00`: no
//! dictionary), then the brotli-compressed WebAssembly module. Before
//! compression the module loses its custom sections (names, producers,
//! debug info), which Nitro does not need. [`deployable_code`] does all of
//! that; [`module_from_code`] undoes it; [`init_code`] wraps deployable
//! code in the standard EVM constructor that returns it (the prelude
//! cargo-stylus deploys with).

use std::io::Read;

/// First bytes of every Stylus program's code.
pub const STYLUS_PREFIX: [u8; 3] = [0xEF, 0xF0, 0x00];
/// Dictionary byte for plain brotli (no shared dictionary).
pub const DICTIONARY_NONE: u8 = 0x00;
/// Brotli quality used for deployable code (Nitro measures with it).
pub const BROTLI_QUALITY: i32 = 11;
/// Brotli window (log2).
pub const BROTLI_WINDOW: i32 = 22;
/// Nitro's limit on deployed program code (prefix and compressed module).
pub const MAX_CODE_SIZE: usize = 24 * 1024;
/// Nitro's limit on an uncompressed program module.
pub const MAX_MODULE_SIZE: usize = 128 * 1024;

/// Why code could not be produced or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// The input is not a WebAssembly module.
    #[error("not a WebAssembly module: {0}")]
    InvalidModule(String),
    /// The code does not start with `EF F0 00`.
    #[error("not Stylus code (no EF F0 00 prefix)")]
    NotStylus,
    /// The dictionary byte names a dictionary this implementation lacks.
    #[error("unsupported brotli dictionary {0:#04x}")]
    UnsupportedDictionary(u8),
    /// The compressed module does not decompress.
    #[error("compressed module is corrupt: {0}")]
    Corrupt(String),
    /// The decompressed module is larger than allowed.
    #[error("module is larger than {limit} bytes when decompressed")]
    TooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
}

/// Whether `code` is a Stylus program (starts with `EF F0 00`).
#[must_use]
pub fn is_stylus(code: &[u8]) -> bool {
    code.starts_with(&STYLUS_PREFIX)
}

/// `wasm` without its custom sections, every other section byte for byte.
///
/// # Errors
/// [`CodeError::InvalidModule`] when the bytes do not parse as a module.
pub fn strip_custom_sections(wasm: &[u8]) -> Result<Vec<u8>, CodeError> {
    let mut out = Vec::with_capacity(wasm.len());
    let mut header_done = false;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| CodeError::InvalidModule(e.to_string()))?;
        match payload {
            wasmparser::Payload::Version { range, .. } => {
                out.extend_from_slice(&wasm[..range.end]);
                header_done = true;
            }
            wasmparser::Payload::CustomSection(_) | wasmparser::Payload::End(_) => {}
            wasmparser::Payload::CodeSectionEntry(_) => {}
            other => {
                if let Some((id, range)) = other.as_section() {
                    // The section header (id and size) precedes `range`.
                    out.push(id);
                    write_leb128(&mut out, range.len());
                    out.extend_from_slice(&wasm[range]);
                }
            }
        }
    }
    if !header_done {
        return Err(CodeError::InvalidModule("missing header".into()));
    }
    Ok(out)
}

fn write_leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        // Masked to seven bits, so the cast cannot truncate.
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Deployable code for `wasm`: custom sections stripped, brotli-compressed,
/// prefixed with `EF F0 00 00`.
///
/// # Errors
/// [`CodeError::InvalidModule`] when `wasm` does not parse.
pub fn deployable_code(wasm: &[u8]) -> Result<Vec<u8>, CodeError> {
    let stripped = strip_custom_sections(wasm)?;
    let mut code = Vec::with_capacity(stripped.len() / 3);
    code.extend_from_slice(&STYLUS_PREFIX);
    code.push(DICTIONARY_NONE);
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY,
        lgwin: BROTLI_WINDOW,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &stripped[..], &mut code, &params)
        .map_err(|e| CodeError::Corrupt(e.to_string()))?;
    Ok(code)
}

/// The WebAssembly module inside Stylus `code`, refusing modules larger
/// than `max_module_size` once decompressed (so a small bomb cannot
/// exhaust memory).
///
/// # Errors
/// Not Stylus code, an unknown dictionary, corrupt data or an oversized module.
pub fn module_from_code(code: &[u8], max_module_size: usize) -> Result<Vec<u8>, CodeError> {
    let rest = code
        .strip_prefix(&STYLUS_PREFIX)
        .ok_or(CodeError::NotStylus)?;
    let (&dictionary, compressed) = rest
        .split_first()
        .ok_or(CodeError::Corrupt("no dictionary byte".into()))?;
    if dictionary != DICTIONARY_NONE {
        return Err(CodeError::UnsupportedDictionary(dictionary));
    }
    let mut module = Vec::new();
    let limit = u64::try_from(max_module_size).unwrap_or(u64::MAX);
    brotli::Decompressor::new(compressed, 4096)
        .take(limit.saturating_add(1))
        .read_to_end(&mut module)
        .map_err(|e| CodeError::Corrupt(e.to_string()))?;
    if module.len() > max_module_size {
        return Err(CodeError::TooLarge {
            limit: max_module_size,
        });
    }
    Ok(module)
}

/// EVM init code that deploys `code` unchanged: `PUSH32 len, DUP1, PUSH1
/// 43, PUSH1 0, CODECOPY, PUSH1 0, RETURN`, a version byte (0), then the
/// code itself at offset 43.
#[must_use]
pub fn init_code(code: &[u8]) -> Vec<u8> {
    with_prelude(&[], code)
}

/// The storage slot where Pond's contracts find the account that deployed
/// them: `keccak256("pond.deployer")` (checked in `pond-deploy`'s tests;
/// the contracts compute the same value as `pond_common::deployer::DEPLOYER_SLOT`).
pub const POND_DEPLOYER_SLOT: [u8; 32] = [
    0xa2, 0xb8, 0xe5, 0x4e, 0x20, 0x29, 0xa2, 0x92, 0x7a, 0x66, 0xb6, 0x60, 0x91, 0x98, 0xf6, 0x41,
    0x89, 0x6c, 0x54, 0xd2, 0xc8, 0xc2, 0x0a, 0x5b, 0xbf, 0xdf, 0x6c, 0xe1, 0x62, 0xdc, 0x13, 0x0f,
];

/// Like [`init_code`], but first stores the deploying account (`CALLER`)
/// in the new contract's storage at `slot`: `CALLER, PUSH32 slot, SSTORE`.
/// Pond's contracts let only that account initialize them, so deployment
/// and the right to initialize are one atomic step.
#[must_use]
pub fn init_code_recording_deployer(code: &[u8], slot: [u8; 32]) -> Vec<u8> {
    let mut prelude = Vec::with_capacity(35);
    prelude.push(0x33); // CALLER
    prelude.push(0x7f); // PUSH32 slot
    prelude.extend_from_slice(&slot);
    prelude.push(0x55); // SSTORE
    with_prelude(&prelude, code)
}

/// `prelude`, then the copy-and-return init code, a version byte and `code`.
fn with_prelude(prelude: &[u8], code: &[u8]) -> Vec<u8> {
    // The copy-and-return part is 42 bytes; the version byte follows it.
    let offset = prelude.len() + 43;
    let mut init = Vec::with_capacity(offset + code.len());
    init.extend_from_slice(prelude);
    init.push(0x7f); // PUSH32
    let mut len = [0u8; 32];
    len[24..].copy_from_slice(&(code.len() as u64).to_be_bytes());
    init.extend_from_slice(&len);
    init.push(0x80); // DUP1
                     // The preludes above are 0 and 35 bytes long, so the offset fits a byte.
    debug_assert!(offset <= usize::from(u8::MAX));
    init.extend_from_slice(&[0x60, offset as u8]); // PUSH1 offset of the code
    init.extend_from_slice(&[0x60, 0x00]); // PUSH1 0 (memory offset)
    init.push(0x39); // CODECOPY
    init.extend_from_slice(&[0x60, 0x00]); // PUSH1 0
    init.push(0xf3); // RETURN
    init.push(0x00); // version
    init.extend_from_slice(code);
    init
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module() -> Vec<u8> {
        wat::parse_str(
            r#"(module
                (import "vm_hooks" "read_args" (func (param i32)))
                (memory (export "memory") 1 1)
                (func (export "user_entrypoint") (param i32) (result i32) i32.const 0)
                (@custom "name-like" "some debug text that should go")
                (@custom "producers" "rustc"))"#,
        )
        .unwrap()
    }

    #[test]
    fn custom_sections_are_stripped_and_the_rest_is_kept() {
        let wasm = module();
        let stripped = strip_custom_sections(&wasm).unwrap();
        assert!(stripped.len() < wasm.len());
        let mut customs = 0;
        let mut exports = 0;
        for payload in wasmparser::Parser::new(0).parse_all(&stripped) {
            match payload.unwrap() {
                wasmparser::Payload::CustomSection(_) => customs += 1,
                wasmparser::Payload::ExportSection(reader) => exports = reader.count(),
                _ => {}
            }
        }
        assert_eq!((customs, exports), (0, 2));
        wasmparser::Validator::new()
            .validate_all(&stripped)
            .unwrap();
        // Stripping twice changes nothing.
        assert_eq!(strip_custom_sections(&stripped).unwrap(), stripped);
        assert!(matches!(
            strip_custom_sections(b"not wasm"),
            Err(CodeError::InvalidModule(_))
        ));
    }

    #[test]
    fn deployable_code_round_trips() {
        let wasm = module();
        let code = deployable_code(&wasm).unwrap();
        assert!(is_stylus(&code));
        assert_eq!(&code[..4], &[0xEF, 0xF0, 0x00, 0x00]);
        assert_eq!(
            module_from_code(&code, MAX_MODULE_SIZE).unwrap(),
            strip_custom_sections(&wasm).unwrap()
        );
    }

    #[test]
    fn bad_code_is_refused_with_the_reason() {
        let code = deployable_code(&module()).unwrap();
        assert!(matches!(
            module_from_code(&code[1..], MAX_MODULE_SIZE),
            Err(CodeError::NotStylus)
        ));
        let mut other_dictionary = code.clone();
        other_dictionary[3] = 1;
        assert!(matches!(
            module_from_code(&other_dictionary, MAX_MODULE_SIZE),
            Err(CodeError::UnsupportedDictionary(1))
        ));
        let mut corrupt = code.clone();
        corrupt.truncate(8);
        corrupt.extend_from_slice(&[0xff; 8]);
        assert!(matches!(
            module_from_code(&corrupt, MAX_MODULE_SIZE),
            Err(CodeError::Corrupt(_))
        ));
        assert!(matches!(
            module_from_code(&[0xEF, 0xF0, 0x00], MAX_MODULE_SIZE),
            Err(CodeError::Corrupt(_))
        ));
        // A small payload that inflates past the limit.
        let big = wat::parse_str(format!(
            r#"(module (memory 2) (data (i32.const 0) "{}"))"#,
            "a".repeat(100_000)
        ))
        .unwrap();
        let bomb = deployable_code(&big).unwrap();
        assert!(bomb.len() < 1_000);
        assert!(matches!(
            module_from_code(&bomb, 50_000),
            Err(CodeError::TooLarge { limit: 50_000 })
        ));
    }

    #[test]
    fn init_code_returns_the_code_at_offset_43() {
        let code = [0xEF, 0xF0, 0x00, 0x00, 1, 2, 3];
        let init = init_code(&code);
        assert_eq!(init.len(), 43 + code.len());
        assert_eq!(init[0], 0x7f);
        assert_eq!(&init[1..25], &[0u8; 24]);
        assert_eq!(&init[25..33], &7u64.to_be_bytes());
        assert_eq!(
            &init[33..42],
            &[0x80, 0x60, 43, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3]
        );
        assert_eq!(init[42], 0);
        assert_eq!(&init[43..], &code);
    }
    #[test]
    fn recording_init_code_stores_the_caller_then_returns_the_code_at_offset_78() {
        let code = [0xEF, 0xF0, 0x00, 0x00, 1, 2, 3];
        let slot = [0x5a; 32];
        let init = init_code_recording_deployer(&code, slot);
        assert_eq!(init[0], 0x33, "CALLER");
        assert_eq!(init[1], 0x7f, "PUSH32");
        assert_eq!(&init[2..34], &slot);
        assert_eq!(init[34], 0x55, "SSTORE");
        assert_eq!(init.len(), 78 + code.len());
        assert_eq!(
            &init[68..77],
            &[0x80, 0x60, 78, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3]
        );
        assert_eq!(&init[78..], &code);
    }
}

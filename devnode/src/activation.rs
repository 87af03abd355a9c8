//! What a Stylus module must satisfy before activation accepts it.
//!
//! The rules, written from Arbitrum's documentation of Stylus and the
//! behaviour of its activation (not from Nitro's source):
//!
//! 1. The module is valid WebAssembly using only the features Stylus
//!    enables: mutable globals, saturating float-to-int, sign extension,
//!    multi-value and bulk memory. Reference types, SIMD, threads, tail
//!    calls, multiple memories, exceptions, 64-bit memory, extended
//!    constants, function references and GC are refused, and so is any
//!    floating-point instruction.
//! 2. Its uncompressed size is at most [`MAX_MODULE_SIZE`].
//! 3. No start function (activation runs no code).
//! 4. Exactly one memory, defined (not imported) and exported as
//!    `memory`, starting at no more than the page limit.
//! 5. An exported function `user_entrypoint` of type `(i32) -> i32`.
//! 6. Imports are functions from `vm_hooks` or `console` that exist (see
//!    [`crate::hostio`]) with exactly their signature.
//! 7. No export name starts with `stylus` (reserved for the host's own
//!    instrumentation).
//! 8. At most one table.

use pond_stylus_code::MAX_MODULE_SIZE;
use wasmparser::{ExternalKind, FuncType, Parser, Payload, TypeRef, Validator, WasmFeatures};

use crate::hostio;

/// Memory pages a program may start with (64 KiB each): 8 MiB.
pub const PAGE_LIMIT: u32 = 128;
/// The entry point every program exports.
pub const ENTRYPOINT: &str = "user_entrypoint";
/// Export-name prefix reserved for the host.
pub const RESERVED_EXPORT_PREFIX: &str = "stylus";

/// The WebAssembly features Stylus accepts.
#[must_use]
pub fn stylus_features() -> WasmFeatures {
    WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::BULK_MEMORY
}

/// Why activation refuses a module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActivationError {
    /// Not valid WebAssembly, or uses a feature Stylus does not enable.
    #[error("invalid or unsupported WebAssembly: {0}")]
    Invalid(String),
    /// Larger than [`MAX_MODULE_SIZE`].
    #[error("module is {size} bytes, more than {limit}")]
    TooLarge {
        /// Module size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Declares a start function.
    #[error("module has a start function")]
    StartFunction,
    /// Not exactly one memory (or an imported one).
    #[error("module must define exactly one memory, found {0}")]
    MemoryCount(usize),
    /// The memory is not exported as `memory`.
    #[error("the memory must be exported as \"memory\"")]
    MemoryNotExported,
    /// The memory starts larger than the page limit.
    #[error("memory starts at {pages} pages, more than {limit}")]
    TooManyPages {
        /// Initial pages.
        pages: u64,
        /// The limit.
        limit: u32,
    },
    /// No `user_entrypoint` function export.
    #[error("missing export user_entrypoint")]
    MissingEntrypoint,
    /// `user_entrypoint` has another type.
    #[error("user_entrypoint must have type (i32) -> i32")]
    EntrypointType,
    /// An import from a module other than `vm_hooks` and `console`, or of a non-function.
    #[error("import {module}.{name} is not allowed: only vm_hooks and console functions")]
    ForeignImport {
        /// Import module.
        module: String,
        /// Import name.
        name: String,
    },
    /// A host import that does not exist.
    #[error("unknown host import {module}.{name}")]
    UnknownImport {
        /// Import module.
        module: String,
        /// Import name.
        name: String,
    },
    /// A host import declared with the wrong signature.
    #[error("host import {module}.{name} has the wrong signature")]
    ImportSignature {
        /// Import module.
        module: String,
        /// Import name.
        name: String,
    },
    /// An export name in the host's reserved namespace.
    #[error("export {0} uses the reserved prefix \"stylus\"")]
    ReservedExport(String),
    /// More than one table.
    #[error("module has {0} tables, at most 1 is allowed")]
    TooManyTables(usize),
}

/// What activation learned about an accepted module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Initial memory pages.
    pub initial_pages: u64,
    /// Host imports the module declares, as `module.name`.
    pub imports: Vec<String>,
    /// Functions defined by the module.
    pub functions: u32,
}

/// Checks `wasm` (already decompressed) against the activation rules.
///
/// # Errors
/// The first rule the module breaks.
pub fn validate(wasm: &[u8]) -> Result<ModuleInfo, ActivationError> {
    if wasm.len() > MAX_MODULE_SIZE {
        return Err(ActivationError::TooLarge {
            size: wasm.len(),
            limit: MAX_MODULE_SIZE,
        });
    }
    Validator::new_with_features(stylus_features())
        .validate_all(wasm)
        .map_err(|e| ActivationError::Invalid(e.to_string()))?;

    let mut types: Vec<FuncType> = Vec::new();
    let mut function_types: Vec<u32> = Vec::new();
    let mut imported_functions = 0u32;
    let mut imports = Vec::new();
    let mut memories = 0usize;
    let mut initial_pages = 0u64;
    let mut tables = 0usize;
    let mut memory_exported = false;
    let mut entrypoint: Option<u32> = None;
    let invalid = |e: wasmparser::BinaryReaderError| ActivationError::Invalid(e.to_string());

    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(invalid)? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group.map_err(invalid)?.into_types() {
                        if let wasmparser::CompositeInnerType::Func(func) = sub.composite_type.inner
                        {
                            types.push(func);
                        } else {
                            return Err(ActivationError::Invalid("non-function type".into()));
                        }
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader {
                    let import = import.map_err(invalid)?;
                    let (module, name) = (import.module.to_string(), import.name.to_string());
                    // Memories, tables and globals cannot be imported.
                    let TypeRef::Func(type_index) = import.ty else {
                        return Err(ActivationError::ForeignImport { module, name });
                    };
                    if module != "vm_hooks" && module != "console" {
                        return Err(ActivationError::ForeignImport { module, name });
                    }
                    let Some(expected) = hostio::find(&module, &name) else {
                        return Err(ActivationError::UnknownImport { module, name });
                    };
                    let declared = types.get(type_index as usize);
                    let matches = declared.is_some_and(|ty| {
                        ty.params() == expected.params && ty.results() == expected.results
                    });
                    if !matches {
                        return Err(ActivationError::ImportSignature { module, name });
                    }
                    imports.push(format!("{module}.{name}"));
                    function_types.push(type_index);
                    imported_functions += 1;
                }
            }
            Payload::FunctionSection(reader) => {
                for type_index in reader {
                    function_types.push(type_index.map_err(invalid)?);
                }
            }
            Payload::TableSection(reader) => tables += reader.count() as usize,
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let memory = memory.map_err(invalid)?;
                    memories += 1;
                    initial_pages = memory.initial;
                }
            }
            Payload::StartSection { .. } => return Err(ActivationError::StartFunction),
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(invalid)?;
                    if export.name.starts_with(RESERVED_EXPORT_PREFIX) {
                        return Err(ActivationError::ReservedExport(export.name.to_string()));
                    }
                    match (export.kind, export.name) {
                        (ExternalKind::Memory, "memory") => memory_exported = true,
                        (ExternalKind::Func, ENTRYPOINT) => entrypoint = Some(export.index),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    if tables > 1 {
        return Err(ActivationError::TooManyTables(tables));
    }
    if memories != 1 {
        return Err(ActivationError::MemoryCount(memories));
    }
    if !memory_exported {
        return Err(ActivationError::MemoryNotExported);
    }
    if initial_pages > u64::from(PAGE_LIMIT) {
        return Err(ActivationError::TooManyPages {
            pages: initial_pages,
            limit: PAGE_LIMIT,
        });
    }
    let entry = entrypoint.ok_or(ActivationError::MissingEntrypoint)?;
    let entry_type = function_types
        .get(entry as usize)
        .and_then(|type_index| types.get(*type_index as usize));
    let is_entry_type = entry_type.is_some_and(|ty| {
        ty.params() == [wasmparser::ValType::I32] && ty.results() == [wasmparser::ValType::I32]
    });
    if !is_entry_type {
        return Err(ActivationError::EntrypointType);
    }
    Ok(ModuleInfo {
        initial_pages,
        imports,
        functions: u32::try_from(function_types.len()).unwrap_or(u32::MAX) - imported_functions,
    })
}

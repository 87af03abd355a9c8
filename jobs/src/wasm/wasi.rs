//! WASI preview 1, implemented for determinism: arguments and environment
//! from the job, a clock fixed at the job's epoch, random bytes from SHA-256
//! in counter mode seeded with the input hash, the virtual file system of
//! [`super::vfs`], stdout and stderr captured within a bound, no sockets,
//! no host time, no host files beyond the inputs.

use super::vfs::{errno, Node, NodeId, Vfs};
use sha2::{Digest, Sha256};
use std::cell::Cell;
use wasmi::{Caller, Error as Trap, Extern, Linker, Memory, TrapCode};

/// Bytes of stdout and of stderr kept (the rest is counted and dropped).
pub const MAX_CAPTURED: usize = 1 << 20;
/// The time every clock reads: 2025-01-01T00:00:00Z, in nanoseconds.
pub const FIXED_TIME_NS: u64 = 1_735_689_600_000_000_000;

const FILETYPE_DIRECTORY: u8 = 3;
const FILETYPE_REGULAR: u8 = 4;
const FILETYPE_CHARACTER_DEVICE: u8 = 2;
const OFLAG_CREAT: i32 = 1;
const OFLAG_DIRECTORY: i32 = 2;
const OFLAG_EXCL: i32 = 4;
const OFLAG_TRUNC: i32 = 8;
const FDFLAG_APPEND: i32 = 1;
const ALL_RIGHTS: u64 = 0x1fff_ffff;
/// Fuel every host call costs, on top of one unit per [`BYTES_PER_FUEL`]
/// bytes it moves: host work is bounded by the job's fuel as its own
/// instructions are, so no call loop can run the host for free.
pub const HOST_CALL_FUEL: u64 = 100;
/// Bytes moved per unit of fuel in host calls.
pub const BYTES_PER_FUEL: u64 = 8;

/// An open descriptor.
#[derive(Debug, Clone)]
pub enum Fd {
    /// stdin (always empty), stdout or stderr.
    Stdio(u32),
    /// A preopened directory.
    Preopen {
        /// Its root node.
        node: NodeId,
        /// Its path as the guest sees it.
        name: &'static str,
    },
    /// A file or directory opened through a path.
    Node {
        /// What is open.
        node: NodeId,
        /// The preopened directory it was opened under (`..` stops there).
        root: NodeId,
        /// The read and write position.
        position: u64,
        /// Writes go to the end.
        append: bool,
    },
}

/// Everything a job's run holds.
#[derive(Debug)]
pub struct WasiCtx {
    /// `argv`, program name first.
    pub args: Vec<Vec<u8>>,
    /// `KEY=value` pairs.
    pub env: Vec<Vec<u8>>,
    /// The file system.
    pub vfs: Vfs,
    /// Descriptors by number.
    pub fds: Vec<Option<Fd>>,
    /// Captured stdout.
    pub stdout: Vec<u8>,
    /// Captured stderr.
    pub stderr: Vec<u8>,
    seed: [u8; 32],
    counter: u64,
    /// The guest's memory, once instantiated.
    pub memory: Option<Memory>,
    /// Memory growth beyond the limit was asked for.
    pub memory_limit_hit: bool,
    /// The memory limit in bytes.
    pub memory_limit: usize,
    /// Bytes (or equivalent work) the current host call has done.
    host_work: Cell<u64>,
}

impl WasiCtx {
    /// A context for a run; `seed` is the input hash.
    pub fn new(
        args: Vec<Vec<u8>>,
        env: Vec<Vec<u8>>,
        vfs: Vfs,
        seed: [u8; 32],
        memory_limit: usize,
    ) -> Self {
        let fds = vec![
            Some(Fd::Stdio(0)),
            Some(Fd::Stdio(1)),
            Some(Fd::Stdio(2)),
            Some(Fd::Preopen {
                node: vfs.input,
                name: "/input",
            }),
            Some(Fd::Preopen {
                node: vfs.output,
                name: "/output",
            }),
        ];
        Self {
            args,
            env,
            vfs,
            fds,
            stdout: Vec::new(),
            stderr: Vec::new(),
            seed,
            counter: 0,
            memory: None,
            memory_limit_hit: false,
            memory_limit,
            host_work: Cell::new(0),
        }
    }

    fn random(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(32) {
            let mut h = Sha256::new();
            h.update(self.seed);
            h.update(self.counter.to_le_bytes());
            self.counter += 1;
            let block = h.finalize();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
}

impl wasmi::ResourceLimiter for WasiCtx {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, wasmi_core::LimiterError> {
        if desired > self.memory_limit {
            self.memory_limit_hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, wasmi_core::LimiterError> {
        Ok(desired <= 100_000)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        10
    }

    fn memories(&self) -> usize {
        1
    }
}

type Ctx<'a> = Caller<'a, WasiCtx>;

/// Counts `units` bytes of host work against the current call.
fn work(caller: &Ctx<'_>, units: usize) {
    let counter = &caller.data().host_work;
    counter.set(counter.get().saturating_add(units as u64));
}

/// Fails the call before doing `bytes` of work it cannot pay for: the
/// fuel is emptied, so the call then traps with `OutOfFuel`.
fn afford(caller: &mut Ctx<'_>, bytes: u64) -> Result<(), i32> {
    let fuel = caller.get_fuel().unwrap_or(0);
    if bytes / BYTES_PER_FUEL > fuel {
        let _ = caller.set_fuel(0);
        return Err(errno::NOSPC);
    }
    Ok(())
}

/// Takes the current call's fuel: [`HOST_CALL_FUEL`] plus its work.
fn charge(caller: &mut Ctx<'_>) -> Result<(), Trap> {
    let work = caller.data().host_work.replace(0);
    let cost = HOST_CALL_FUEL.saturating_add(work / BYTES_PER_FUEL);
    let fuel = caller.get_fuel()?;
    if fuel < cost {
        caller.set_fuel(0)?;
        return Err(Trap::from(TrapCode::OutOfFuel));
    }
    caller.set_fuel(fuel - cost)
}

fn memory(caller: &Ctx<'_>) -> Result<Memory, i32> {
    caller.data().memory.ok_or(errno::INVAL)
}

fn u(value: i32) -> usize {
    u32::from_ne_bytes(value.to_ne_bytes()) as usize
}

fn read_bytes(caller: &Ctx<'_>, ptr: i32, len: usize) -> Result<Vec<u8>, i32> {
    if len > 64 << 20 {
        return Err(errno::INVAL);
    }
    work(caller, len);
    let mut buf = vec![0u8; len];
    memory(caller)?
        .read(caller, u(ptr), &mut buf)
        .map_err(|_| errno::INVAL)?;
    Ok(buf)
}

fn write_bytes(caller: &mut Ctx<'_>, ptr: i32, bytes: &[u8]) -> Result<(), i32> {
    work(caller, bytes.len());
    memory(caller)?
        .write(caller, u(ptr), bytes)
        .map_err(|_| errno::INVAL)
}

fn write_u32(caller: &mut Ctx<'_>, ptr: i32, value: u32) -> Result<(), i32> {
    write_bytes(caller, ptr, &value.to_le_bytes())
}

fn write_u64(caller: &mut Ctx<'_>, ptr: i32, value: u64) -> Result<(), i32> {
    write_bytes(caller, ptr, &value.to_le_bytes())
}

fn read_string(caller: &Ctx<'_>, ptr: i32, len: i32) -> Result<String, i32> {
    String::from_utf8(read_bytes(caller, ptr, u(len))?).map_err(|_| errno::INVAL)
}

/// The (pointer, length) pairs of an iovec array.
fn iovecs(caller: &Ctx<'_>, ptr: i32, count: i32) -> Result<Vec<(i32, usize)>, i32> {
    if u(count) > 1024 {
        return Err(errno::INVAL);
    }
    let raw = read_bytes(caller, ptr, u(count) * 8)?;
    Ok(raw
        .chunks_exact(8)
        .map(|c| {
            let base = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let len = u32::from_le_bytes([c[4], c[5], c[6], c[7]]) as usize;
            (base, len)
        })
        .collect())
}

fn fd(caller: &Ctx<'_>, fd: i32) -> Result<Fd, i32> {
    caller
        .data()
        .fds
        .get(u(fd))
        .cloned()
        .flatten()
        .ok_or(errno::BADF)
}

/// A directory descriptor's (root, node).
fn dir_of(caller: &Ctx<'_>, number: i32) -> Result<(NodeId, NodeId), i32> {
    match fd(caller, number)? {
        Fd::Preopen { node, .. } => Ok((node, node)),
        Fd::Node { node, root, .. } => match caller.data().vfs.node(node) {
            Node::Dir(_) => Ok((root, node)),
            Node::File(_) => Err(errno::NOTDIR),
        },
        Fd::Stdio(_) => Err(errno::NOTDIR),
    }
}

fn filestat(caller: &mut Ctx<'_>, node: NodeId, ptr: i32) -> Result<(), i32> {
    let vfs = &caller.data().vfs;
    let filetype = match vfs.node(node) {
        Node::Dir(_) => FILETYPE_DIRECTORY,
        Node::File(_) => FILETYPE_REGULAR,
    };
    let size = vfs.size(node);
    let mut buf = [0u8; 64];
    buf[8..16].copy_from_slice(&(node as u64).to_le_bytes());
    buf[16] = filetype;
    buf[24..32].copy_from_slice(&1u64.to_le_bytes());
    buf[32..40].copy_from_slice(&size.to_le_bytes());
    for at in [40, 48, 56] {
        buf[at..at + 8].copy_from_slice(&FIXED_TIME_NS.to_le_bytes());
    }
    write_bytes(caller, ptr, &buf)
}

fn io_transfer(
    caller: &mut Ctx<'_>,
    number: i32,
    iovs: i32,
    count: i32,
    at: Option<u64>,
    write: bool,
) -> Result<usize, i32> {
    let vecs = iovecs(caller, iovs, count)?;
    // Every buffer is a call's worth of work, and the bytes are paid for
    // before they are moved.
    work(
        caller,
        vecs.len() * (HOST_CALL_FUEL * BYTES_PER_FUEL) as usize,
    );
    afford(caller, vecs.iter().map(|(_, len)| *len as u64).sum())?;
    let descriptor = fd(caller, number)?;
    let mut total = 0usize;
    match descriptor {
        Fd::Stdio(0) => Ok(0),
        Fd::Stdio(which) => {
            if !write {
                return Err(errno::BADF);
            }
            for (ptr, len) in vecs {
                let bytes = read_bytes(caller, ptr, len)?;
                let sink = if which == 1 {
                    &mut caller.data_mut().stdout
                } else {
                    &mut caller.data_mut().stderr
                };
                let room = MAX_CAPTURED.saturating_sub(sink.len());
                sink.extend_from_slice(&bytes[..bytes.len().min(room)]);
                total += len;
            }
            Ok(total)
        }
        Fd::Preopen { .. } => Err(errno::ISDIR),
        Fd::Node {
            node,
            position,
            append,
            ..
        } => {
            let mut offset = match at {
                Some(offset) => offset,
                None if write && append => caller.data().vfs.size(node),
                None => position,
            };
            for (ptr, len) in vecs {
                if write {
                    let bytes = read_bytes(caller, ptr, len)?;
                    let before = caller.data().vfs.size(node);
                    let end = offset.checked_add(len as u64).ok_or(errno::FBIG)?;
                    caller.data().vfs.reserve(node, end)?;
                    afford(caller, offset.saturating_sub(before))?;
                    let n = caller.data_mut().vfs.write_at(node, offset, &bytes)?;
                    // Zeros filled in before the offset are work too.
                    work(caller, offset.saturating_sub(before) as usize);
                    offset += n as u64;
                    total += n;
                } else {
                    let left = caller.data().vfs.size(node).saturating_sub(offset);
                    let mut buf = vec![0u8; len.min(16 << 20).min(left as usize)];
                    let n = caller.data().vfs.read_at(node, offset, &mut buf)?;
                    write_bytes(caller, ptr, &buf[..n])?;
                    offset += n as u64;
                    total += n;
                    if n < len {
                        break;
                    }
                }
            }
            if at.is_none() {
                if let Some(Some(Fd::Node { position, .. })) =
                    caller.data_mut().fds.get_mut(u(number))
                {
                    *position = offset;
                }
            }
            Ok(total)
        }
    }
}

fn result(r: Result<(), i32>) -> i32 {
    match r {
        Ok(()) => errno::SUCCESS,
        Err(e) => e,
    }
}

macro_rules! wasi {
    ($linker:ident, $name:literal, |$caller:ident $(, $arg:ident : $ty:ty)*| $body:block) => {
        $linker.func_wrap(
            "wasi_snapshot_preview1",
            $name,
            |mut $caller: Ctx<'_> $(, $arg: $ty)*| -> Result<i32, Trap> {
                // The closure gives `?` in the body its own scope.
                #[allow(clippy::redundant_closure_call)]
                let r: Result<(), i32> = (|| $body)();
                charge(&mut $caller)?;
                Ok(result(r))
            },
        )?;
    };
}

/// Links every WASI preview 1 import.
///
/// # Errors
/// A linking conflict (a bug).
pub fn link(linker: &mut Linker<WasiCtx>) -> Result<(), wasmi::errors::LinkerError> {
    wasi!(linker, "args_sizes_get", |caller, argc: i32, size: i32| {
        let args = &caller.data().args;
        let (n, bytes) = (
            args.len() as u32,
            args.iter().map(|a| a.len() as u32 + 1).sum(),
        );
        write_u32(&mut caller, argc, n)?;
        write_u32(&mut caller, size, bytes)
    });
    wasi!(linker, "args_get", |caller, argv: i32, buf: i32| {
        let args = caller.data().args.clone();
        put_strings(&mut caller, &args, argv, buf)
    });
    wasi!(
        linker,
        "environ_sizes_get",
        |caller, count: i32, size: i32| {
            let env = &caller.data().env;
            let (n, bytes) = (
                env.len() as u32,
                env.iter().map(|a| a.len() as u32 + 1).sum(),
            );
            write_u32(&mut caller, count, n)?;
            write_u32(&mut caller, size, bytes)
        }
    );
    wasi!(linker, "environ_get", |caller, environ: i32, buf: i32| {
        let env = caller.data().env.clone();
        put_strings(&mut caller, &env, environ, buf)
    });
    wasi!(linker, "clock_res_get", |caller, _id: i32, out: i32| {
        write_u64(&mut caller, out, 1_000)
    });
    wasi!(
        linker,
        "clock_time_get",
        |caller, _id: i32, _precision: i64, out: i32| {
            write_u64(&mut caller, out, FIXED_TIME_NS)
        }
    );
    wasi!(linker, "random_get", |caller, buf: i32, len: i32| {
        if u(len) > 64 << 20 {
            return Err(errno::INVAL);
        }
        // A SHA-256 block per 32 bytes: a unit of fuel per byte.
        work(&caller, u(len) * BYTES_PER_FUEL as usize);
        afford(&mut caller, u(len) as u64 * BYTES_PER_FUEL)?;
        let mut bytes = vec![0u8; u(len)];
        caller.data_mut().random(&mut bytes);
        write_bytes(&mut caller, buf, &bytes)
    });
    wasi!(
        linker,
        "fd_write",
        |caller, number: i32, iovs: i32, count: i32, out: i32| {
            let n = io_transfer(&mut caller, number, iovs, count, None, true)?;
            write_u32(&mut caller, out, n as u32)
        }
    );
    wasi!(linker, "fd_read", |caller,
                              number: i32,
                              iovs: i32,
                              count: i32,
                              out: i32| {
        let n = io_transfer(&mut caller, number, iovs, count, None, false)?;
        write_u32(&mut caller, out, n as u32)
    });
    wasi!(
        linker,
        "fd_pwrite",
        |caller, number: i32, iovs: i32, count: i32, offset: i64, out: i32| {
            let n = io_transfer(&mut caller, number, iovs, count, Some(offset as u64), true)?;
            write_u32(&mut caller, out, n as u32)
        }
    );
    wasi!(
        linker,
        "fd_pread",
        |caller, number: i32, iovs: i32, count: i32, offset: i64, out: i32| {
            let n = io_transfer(&mut caller, number, iovs, count, Some(offset as u64), false)?;
            write_u32(&mut caller, out, n as u32)
        }
    );
    wasi!(linker, "fd_close", |caller, number: i32| {
        fd(&caller, number)?;
        if number < 5 {
            // stdio and the preopens stay; closing them is a no-op.
            return Ok(());
        }
        caller.data_mut().fds[u(number)] = None;
        Ok(())
    });
    wasi!(linker, "fd_seek", |caller,
                              number: i32,
                              offset: i64,
                              whence: i32,
                              out: i32| {
        let Fd::Node { node, position, .. } = fd(&caller, number)? else {
            return Err(errno::SPIPE);
        };
        let base = match whence {
            0 => 0i128,
            1 => i128::from(position),
            2 => i128::from(caller.data().vfs.size(node)),
            _ => return Err(errno::INVAL),
        };
        let target = base + i128::from(offset);
        let target = u64::try_from(target).map_err(|_| errno::INVAL)?;
        if let Some(Some(Fd::Node { position, .. })) = caller.data_mut().fds.get_mut(u(number)) {
            *position = target;
        }
        write_u64(&mut caller, out, target)
    });
    wasi!(linker, "fd_tell", |caller, number: i32, out: i32| {
        let Fd::Node { position, .. } = fd(&caller, number)? else {
            return Err(errno::SPIPE);
        };
        write_u64(&mut caller, out, position)
    });
    wasi!(linker, "fd_fdstat_get", |caller, number: i32, out: i32| {
        let (filetype, flags) = match fd(&caller, number)? {
            Fd::Stdio(_) => (FILETYPE_CHARACTER_DEVICE, 0u16),
            Fd::Preopen { .. } => (FILETYPE_DIRECTORY, 0),
            Fd::Node { node, append, .. } => match caller.data().vfs.node(node) {
                Node::Dir(_) => (FILETYPE_DIRECTORY, 0),
                Node::File(_) => (FILETYPE_REGULAR, u16::from(append)),
            },
        };
        let mut buf = [0u8; 24];
        buf[0] = filetype;
        buf[2..4].copy_from_slice(&flags.to_le_bytes());
        buf[8..16].copy_from_slice(&ALL_RIGHTS.to_le_bytes());
        buf[16..24].copy_from_slice(&ALL_RIGHTS.to_le_bytes());
        write_bytes(&mut caller, out, &buf)
    });
    wasi!(
        linker,
        "fd_fdstat_set_flags",
        |caller, number: i32, flags: i32| {
            if let Some(Some(Fd::Node { append, .. })) = caller.data_mut().fds.get_mut(u(number)) {
                *append = flags & FDFLAG_APPEND != 0;
                return Ok(());
            }
            Err(errno::BADF)
        }
    );
    wasi!(
        linker,
        "fd_fdstat_set_rights",
        |caller, number: i32, _base: i64, _inheriting: i64| { fd(&caller, number).map(|_| ()) }
    );
    wasi!(
        linker,
        "fd_filestat_get",
        |caller, number: i32, out: i32| {
            match fd(&caller, number)? {
                Fd::Stdio(_) => write_bytes(&mut caller, out, &{
                    let mut b = [0u8; 64];
                    b[16] = FILETYPE_CHARACTER_DEVICE;
                    b
                }),
                Fd::Preopen { node, .. } | Fd::Node { node, .. } => {
                    filestat(&mut caller, node, out)
                }
            }
        }
    );
    wasi!(
        linker,
        "fd_filestat_set_size",
        |caller, number: i32, size: i64| {
            let Fd::Node { node, .. } = fd(&caller, number)? else {
                return Err(errno::BADF);
            };
            caller.data().vfs.reserve(node, size as u64)?;
            let growth = (size as u64).saturating_sub(caller.data().vfs.size(node));
            afford(&mut caller, growth)?;
            work(&caller, growth as usize);
            caller.data_mut().vfs.set_size(node, size as u64)
        }
    );
    wasi!(
        linker,
        "fd_filestat_set_times",
        |caller, number: i32, _a: i64, _m: i64, _f: i32| {
            // Times are not part of a tree: accepted and ignored.
            fd(&caller, number).map(|_| ())
        }
    );
    wasi!(
        linker,
        "fd_advise",
        |caller, number: i32, _o: i64, _l: i64, _a: i32| { fd(&caller, number).map(|_| ()) }
    );
    wasi!(
        linker,
        "fd_allocate",
        |caller, number: i32, _o: i64, _l: i64| {
            fd(&caller, number).map(|_| ())?;
            Err(errno::NOTSUP)
        }
    );
    wasi!(linker, "fd_sync", |caller, number: i32| {
        fd(&caller, number).map(|_| ())
    });
    wasi!(linker, "fd_datasync", |caller, number: i32| {
        fd(&caller, number).map(|_| ())
    });
    wasi!(linker, "fd_prestat_get", |caller, number: i32, out: i32| {
        let Fd::Preopen { name, .. } = fd(&caller, number)? else {
            return Err(errno::BADF);
        };
        let mut buf = [0u8; 8];
        buf[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
        write_bytes(&mut caller, out, &buf)
    });
    wasi!(
        linker,
        "fd_prestat_dir_name",
        |caller, number: i32, out: i32, len: i32| {
            let Fd::Preopen { name, .. } = fd(&caller, number)? else {
                return Err(errno::BADF);
            };
            if u(len) < name.len() {
                return Err(errno::NAMETOOLONG);
            }
            write_bytes(&mut caller, out, name.as_bytes())
        }
    );
    wasi!(
        linker,
        "fd_readdir",
        |caller, number: i32, buf: i32, len: i32, cookie: i64, used: i32| {
            let (_, dir) = dir_of(&caller, number)?;
            // Listing costs as much as the names it copies, however few fit.
            work(
                &caller,
                caller.data().vfs.child_count(dir).saturating_mul(64),
            );
            let children = caller.data().vfs.children(dir)?;
            let mut out = Vec::new();
            for (i, (name, node)) in children.iter().enumerate().skip(cookie as usize) {
                let filetype = match caller.data().vfs.node(*node) {
                    Node::Dir(_) => FILETYPE_DIRECTORY,
                    Node::File(_) => FILETYPE_REGULAR,
                };
                out.extend_from_slice(&(i as u64 + 1).to_le_bytes());
                out.extend_from_slice(&(*node as u64).to_le_bytes());
                out.extend_from_slice(&(name.len() as u32).to_le_bytes());
                out.extend_from_slice(&[filetype, 0, 0, 0]);
                out.extend_from_slice(name.as_bytes());
                if out.len() >= u(len) {
                    break;
                }
            }
            out.truncate(u(len));
            write_bytes(&mut caller, buf, &out)?;
            write_u32(&mut caller, used, out.len() as u32)
        }
    );
    wasi!(linker, "fd_renumber", |caller, from: i32, to: i32| {
        let moved = fd(&caller, from)?;
        fd(&caller, to)?;
        if from < 5 || to < 5 {
            return Err(errno::NOTSUP);
        }
        if from == to {
            return Ok(());
        }
        let fds = &mut caller.data_mut().fds;
        fds[u(to)] = Some(moved);
        fds[u(from)] = None;
        Ok(())
    });
    wasi!(
        linker,
        "path_open",
        |caller,
         number: i32,
         _dirflags: i32,
         path: i32,
         len: i32,
         oflags: i32,
         _base: i64,
         _inheriting: i64,
         fdflags: i32,
         out: i32| {
            let (root, from) = dir_of(&caller, number)?;
            let path = read_string(&caller, path, len)?;
            let (parent, name, existing) = caller.data().vfs.resolve(root, from, &path)?;
            let node = match existing {
                Some(_) if oflags & OFLAG_EXCL != 0 && oflags & OFLAG_CREAT != 0 => {
                    return Err(errno::EXIST)
                }
                Some(node) => node,
                None if oflags & OFLAG_CREAT != 0 => {
                    caller.data_mut().vfs.create(parent, &name, false)?
                }
                None => return Err(errno::NOENT),
            };
            let is_dir = matches!(caller.data().vfs.node(node), Node::Dir(_));
            if oflags & OFLAG_DIRECTORY != 0 && !is_dir {
                return Err(errno::NOTDIR);
            }
            if oflags & OFLAG_TRUNC != 0 {
                if is_dir {
                    return Err(errno::ISDIR);
                }
                caller.data_mut().vfs.set_size(node, 0)?;
            }
            let fds = &mut caller.data_mut().fds;
            // A closed descriptor's number is reused before the table grows.
            let slot = fds.iter().position(Option::is_none).unwrap_or(fds.len());
            if slot >= 1024 {
                return Err(errno::NOSPC);
            }
            let entry = Some(Fd::Node {
                node,
                root,
                position: 0,
                append: fdflags & FDFLAG_APPEND != 0,
            });
            if slot == fds.len() {
                fds.push(entry);
            } else {
                fds[slot] = entry;
            }
            write_u32(&mut caller, out, slot as u32)
        }
    );
    wasi!(
        linker,
        "path_filestat_get",
        |caller, number: i32, _flags: i32, path: i32, len: i32, out: i32| {
            let (root, from) = dir_of(&caller, number)?;
            let path = read_string(&caller, path, len)?;
            let (_, _, node) = caller.data().vfs.resolve(root, from, &path)?;
            filestat(&mut caller, node.ok_or(errno::NOENT)?, out)
        }
    );
    wasi!(
        linker,
        "path_filestat_set_times",
        |caller, number: i32, _f: i32, _p: i32, _l: i32, _a: i64, _m: i64, _s: i32| {
            dir_of(&caller, number).map(|_| ())
        }
    );
    wasi!(
        linker,
        "path_create_directory",
        |caller, number: i32, path: i32, len: i32| {
            let (root, from) = dir_of(&caller, number)?;
            let path = read_string(&caller, path, len)?;
            let (parent, name, existing) = caller.data().vfs.resolve(root, from, &path)?;
            if existing.is_some() {
                return Err(errno::EXIST);
            }
            caller
                .data_mut()
                .vfs
                .create(parent, &name, true)
                .map(|_| ())
        }
    );
    wasi!(
        linker,
        "path_remove_directory",
        |caller, number: i32, path: i32, len: i32| {
            let (root, from) = dir_of(&caller, number)?;
            let path = read_string(&caller, path, len)?;
            let (parent, name, _) = caller.data().vfs.resolve(root, from, &path)?;
            caller.data_mut().vfs.remove(parent, &name, true)
        }
    );
    wasi!(
        linker,
        "path_unlink_file",
        |caller, number: i32, path: i32, len: i32| {
            let (root, from) = dir_of(&caller, number)?;
            let path = read_string(&caller, path, len)?;
            let (parent, name, _) = caller.data().vfs.resolve(root, from, &path)?;
            caller.data_mut().vfs.remove(parent, &name, false)
        }
    );
    // Links and renames are not offered: a tree has no links, and jobs
    // write their outputs in place.
    wasi!(
        linker,
        "path_rename",
        |caller, _a: i32, _b: i32, _c: i32, _d: i32, _e: i32, _f: i32| { Err(errno::NOTSUP) }
    );
    wasi!(
        linker,
        "path_link",
        |caller, _a: i32, _b: i32, _c: i32, _d: i32, _e: i32, _f: i32, _g: i32| {
            Err(errno::PERM)
        }
    );
    wasi!(
        linker,
        "path_symlink",
        |caller, _a: i32, _b: i32, _c: i32, _d: i32, _e: i32| { Err(errno::PERM) }
    );
    wasi!(
        linker,
        "path_readlink",
        |caller, _a: i32, _b: i32, _c: i32, _d: i32, _e: i32, _f: i32| { Err(errno::INVAL) }
    );
    wasi!(
        linker,
        "poll_oneoff",
        |caller, _a: i32, _b: i32, _c: i32, _d: i32| { Err(errno::NOTSUP) }
    );
    wasi!(linker, "sched_yield", |caller| { Ok(()) });
    wasi!(linker, "proc_raise", |caller, _sig: i32| {
        Err(errno::NOSYS)
    });
    wasi!(
        linker,
        "sock_accept",
        |caller, _a: i32, _b: i32, _c: i32| { Err(errno::NOTSUP) }
    );
    wasi!(
        linker,
        "sock_recv",
        |caller, _a: i32, _b: i32, _c: i32, _d: i32, _e: i32, _f: i32| { Err(errno::NOTSUP) }
    );
    wasi!(
        linker,
        "sock_send",
        |caller, _a: i32, _b: i32, _c: i32, _d: i32, _e: i32| { Err(errno::NOTSUP) }
    );
    wasi!(linker, "sock_shutdown", |caller, _a: i32, _b: i32| {
        Err(errno::NOTSUP)
    });
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "proc_exit",
        |_caller: Ctx<'_>, code: i32| -> Result<(), Trap> { Err(Trap::i32_exit(code)) },
    )?;
    Ok(())
}

fn put_strings(
    caller: &mut Ctx<'_>,
    items: &[Vec<u8>],
    pointers: i32,
    buf: i32,
) -> Result<(), i32> {
    let mut at = u(buf);
    for (i, item) in items.iter().enumerate() {
        let slot = i32::try_from(u(pointers) + i * 4).map_err(|_| errno::INVAL)?;
        write_u32(caller, slot, at as u32)?;
        let mut bytes = item.clone();
        bytes.push(0);
        write_bytes(caller, i32::try_from(at).map_err(|_| errno::INVAL)?, &bytes)?;
        at += bytes.len();
    }
    Ok(())
}

/// The memory export, found after instantiation.
pub fn find_memory(instance: &wasmi::Instance, store: &wasmi::Store<WasiCtx>) -> Option<Memory> {
    instance
        .get_export(store, "memory")
        .and_then(Extern::into_memory)
}

//! The file system a WASM job sees: a read-only `/input` backed by the
//! materialized input tree, and a writable `/output` kept in memory within
//! the job's limits and written out only when the run succeeds. Nothing else
//! of the host is reachable: there are no links, and `..` stops at a root.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// WASI errno values used here, named as in the WASI preview 1
/// specification (`errno::NOENT` is `ENOENT`).
#[allow(missing_docs)]
pub mod errno {
    pub const SUCCESS: i32 = 0;
    pub const ACCES: i32 = 2;
    pub const BADF: i32 = 8;
    pub const EXIST: i32 = 20;
    pub const FBIG: i32 = 22;
    pub const INVAL: i32 = 28;
    pub const IO: i32 = 29;
    pub const ISDIR: i32 = 31;
    pub const NAMETOOLONG: i32 = 37;
    pub const NOENT: i32 = 44;
    pub const NOSPC: i32 = 51;
    pub const NOSYS: i32 = 52;
    pub const NOTDIR: i32 = 54;
    pub const NOTEMPTY: i32 = 55;
    pub const NOTSUP: i32 = 58;
    pub const PERM: i32 = 63;
    pub const ROFS: i32 = 69;
    pub const SPIPE: i32 = 70;
    pub const NOTCAPABLE: i32 = 76;
}

/// A node's index in the arena.
pub type NodeId = usize;

/// A file's content.
#[derive(Debug)]
pub enum Content {
    /// An input file, read from the host on demand (read-only).
    Host {
        /// Where it is on the host.
        path: PathBuf,
        /// Its size in the input tree.
        size: u64,
    },
    /// An output file, in memory.
    Memory(Vec<u8>),
}

/// A file or a directory.
#[derive(Debug)]
pub enum Node {
    /// A directory and its children by name.
    Dir(BTreeMap<String, NodeId>),
    /// A regular file.
    File(Content),
}

/// The two trees and the output budget.
#[derive(Debug)]
pub struct Vfs {
    nodes: Vec<(Node, bool)>,
    /// The root of `/input`.
    pub input: NodeId,
    /// The root of `/output`.
    pub output: NodeId,
    output_bytes: u64,
    output_files: u64,
    max_output_bytes: u64,
    max_output_files: u64,
    /// An input file could not be read as the manifest describes it.
    host_failure: std::cell::Cell<bool>,
}

impl Vfs {
    /// `/input` over the files listed (tree path, host path, size) and an
    /// empty `/output` bounded by the limits.
    pub fn new(
        inputs: &[(String, PathBuf, u64)],
        max_output_bytes: u64,
        max_output_files: u64,
    ) -> Self {
        let mut vfs = Self {
            nodes: vec![
                (Node::Dir(BTreeMap::new()), false),
                (Node::Dir(BTreeMap::new()), true),
            ],
            input: 0,
            output: 1,
            output_bytes: 0,
            output_files: 0,
            max_output_bytes,
            max_output_files,
            host_failure: std::cell::Cell::new(false),
        };
        for (path, host, size) in inputs {
            let mut dir = vfs.input;
            let parts: Vec<&str> = path.split('/').collect();
            for (i, part) in parts.iter().enumerate() {
                let last = i + 1 == parts.len();
                let existing = match &vfs.nodes[dir].0 {
                    Node::Dir(children) => children.get(*part).copied(),
                    Node::File(_) => None,
                };
                dir = match existing {
                    Some(id) => id,
                    None => {
                        let node = if last {
                            Node::File(Content::Host {
                                path: host.clone(),
                                size: *size,
                            })
                        } else {
                            Node::Dir(BTreeMap::new())
                        };
                        let id = vfs.push(node, false);
                        if let Node::Dir(children) = &mut vfs.nodes[dir].0 {
                            children.insert((*part).to_owned(), id);
                        }
                        id
                    }
                };
            }
        }
        vfs
    }

    fn push(&mut self, node: Node, writable: bool) -> NodeId {
        self.nodes.push((node, writable));
        self.nodes.len() - 1
    }

    /// The node `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id].0
    }

    /// Whether `id` lies in `/output`.
    pub fn writable(&self, id: NodeId) -> bool {
        self.nodes[id].1
    }

    /// Resolves `path` from the directory `from`, never above `root`.
    /// Returns the parent directory, the last name, and the node if it
    /// exists.
    pub fn resolve(
        &self,
        root: NodeId,
        from: NodeId,
        path: &str,
    ) -> Result<(NodeId, String, Option<NodeId>), i32> {
        if path.starts_with('/') {
            return Err(errno::NOTCAPABLE);
        }
        if path.len() > 4096 {
            return Err(errno::NAMETOOLONG);
        }
        let mut stack = vec![from];
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        if parts.is_empty() {
            return Ok((from, ".".into(), Some(from)));
        }
        for part in &parts[..parts.len() - 1] {
            let here = *stack.last().ok_or(errno::INVAL)?;
            match *part {
                "." => {}
                ".." => {
                    if here == root || stack.len() == 1 && from == root {
                        return Err(errno::NOTCAPABLE);
                    }
                    stack.pop();
                    if stack.is_empty() {
                        return Err(errno::NOTCAPABLE);
                    }
                }
                name => match &self.nodes[here].0 {
                    Node::Dir(children) => {
                        stack.push(*children.get(name).ok_or(errno::NOENT)?);
                    }
                    Node::File(_) => return Err(errno::NOTDIR),
                },
            }
        }
        let parent = *stack.last().ok_or(errno::INVAL)?;
        let last = parts[parts.len() - 1];
        match last {
            "." => Ok((parent, ".".into(), Some(parent))),
            ".." => Err(errno::NOTCAPABLE),
            name => match &self.nodes[parent].0 {
                Node::Dir(children) => Ok((parent, name.to_owned(), children.get(name).copied())),
                Node::File(_) => Err(errno::NOTDIR),
            },
        }
    }

    /// Creates an empty file or directory `name` in the writable `parent`;
    /// every creation counts against the output file limit.
    pub fn create(&mut self, parent: NodeId, name: &str, dir: bool) -> Result<NodeId, i32> {
        if !self.writable(parent) {
            return Err(errno::ROFS);
        }
        if self.output_files >= self.max_output_files {
            return Err(errno::NOSPC);
        }
        if name.is_empty() || name.len() > 255 || name.contains(['/', '\\', '\0']) {
            return Err(errno::INVAL);
        }
        let node = if dir {
            Node::Dir(BTreeMap::new())
        } else {
            Node::File(Content::Memory(Vec::new()))
        };
        let id = self.push(node, true);
        match &mut self.nodes[parent].0 {
            Node::Dir(children) => {
                if children.contains_key(name) {
                    return Err(errno::EXIST);
                }
                children.insert(name.to_owned(), id);
            }
            Node::File(_) => return Err(errno::NOTDIR),
        }
        self.output_files += 1;
        Ok(id)
    }

    /// Removes `name` from the writable `parent` (a directory only if empty).
    pub fn remove(&mut self, parent: NodeId, name: &str, dir: bool) -> Result<(), i32> {
        if !self.writable(parent) {
            return Err(errno::ROFS);
        }
        let Node::Dir(children) = &self.nodes[parent].0 else {
            return Err(errno::NOTDIR);
        };
        let id = *children.get(name).ok_or(errno::NOENT)?;
        match (&self.nodes[id].0, dir) {
            (Node::Dir(c), true) if !c.is_empty() => return Err(errno::NOTEMPTY),
            (Node::Dir(_), false) => return Err(errno::ISDIR),
            (Node::File(_), true) => return Err(errno::NOTDIR),
            _ => {}
        }
        if let Node::File(Content::Memory(data)) = &self.nodes[id].0 {
            self.output_bytes -= data.len() as u64;
        }
        if let Node::Dir(children) = &mut self.nodes[parent].0 {
            children.remove(name);
        }
        // The node stays in the arena, emptied; `output_files` is not given
        // back, so creating and removing in a loop cannot grow the arena
        // beyond the limit.
        self.nodes[id].0 = Node::File(Content::Memory(Vec::new()));
        Ok(())
    }

    /// The size of file `id`.
    pub fn size(&self, id: NodeId) -> u64 {
        match &self.nodes[id].0 {
            Node::File(Content::Host { size, .. }) => *size,
            Node::File(Content::Memory(data)) => data.len() as u64,
            Node::Dir(_) => 0,
        }
    }

    /// Reads up to `buf.len()` bytes of file `id` at `offset`.
    pub fn read_at(&self, id: NodeId, offset: u64, buf: &mut [u8]) -> Result<usize, i32> {
        match &self.nodes[id].0 {
            Node::Dir(_) => Err(errno::ISDIR),
            Node::File(Content::Memory(data)) => {
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                let n = buf.len().min(data.len() - start);
                buf[..n].copy_from_slice(&data[start..start + n]);
                Ok(n)
            }
            Node::File(Content::Host { path, size }) => {
                use std::os::unix::fs::FileExt;
                if offset >= *size {
                    return Ok(0);
                }
                let want = buf
                    .len()
                    .min(usize::try_from(size - offset).unwrap_or(usize::MAX));
                let file = std::fs::File::open(path).map_err(|_| errno::IO)?;
                let mut done = 0;
                while done < want {
                    let n = file
                        .read_at(&mut buf[done..want], offset + done as u64)
                        .map_err(|_| errno::IO)?;
                    if n == 0 {
                        break;
                    }
                    done += n;
                }
                Ok(done)
            }
        }
    }

    /// Writes `bytes` into the output file `id` at `offset`, within the
    /// output budget.
    pub fn write_at(&mut self, id: NodeId, offset: u64, bytes: &[u8]) -> Result<usize, i32> {
        let end = offset.checked_add(bytes.len() as u64).ok_or(errno::FBIG)?;
        let before = self.size(id);
        self.reserve(id, end)?;
        let Node::File(Content::Memory(data)) = &mut self.nodes[id].0 else {
            return Err(errno::ISDIR);
        };
        // `reserve` bounded `end` by the budget, so these fit in memory.
        let (start, end) = (offset as usize, end as usize);
        if end > data.len() {
            data.resize(end, 0);
        }
        data[start..end].copy_from_slice(bytes);
        self.output_bytes += (end as u64).saturating_sub(before);
        Ok(bytes.len())
    }

    /// Checks that output file `id` may grow to `size` bytes.
    ///
    /// # Errors
    /// `ROFS`, `ISDIR`, or `NOSPC` beyond the output budget.
    pub fn reserve(&self, id: NodeId, size: u64) -> Result<(), i32> {
        if !self.writable(id) {
            return Err(errno::ROFS);
        }
        let Node::File(Content::Memory(data)) = &self.nodes[id].0 else {
            return Err(errno::ISDIR);
        };
        let growth = size.saturating_sub(data.len() as u64);
        let room = self.max_output_bytes.saturating_sub(self.output_bytes);
        if growth > room {
            return Err(errno::NOSPC);
        }
        Ok(())
    }

    /// Truncates or extends the output file `id` to `size`; memory given
    /// up by truncation is released.
    pub fn set_size(&mut self, id: NodeId, size: u64) -> Result<(), i32> {
        self.reserve(id, size)?;
        let Node::File(Content::Memory(data)) = &mut self.nodes[id].0 else {
            return Err(errno::ISDIR);
        };
        let before = data.len() as u64;
        // Bounded by the budget (`reserve`), so it fits in memory.
        data.resize(size as usize, 0);
        data.shrink_to_fit();
        self.output_bytes = self.output_bytes - before + size;
        Ok(())
    }

    /// Whether reading an input file from the host failed (the run must
    /// then fail: the job saw an error another machine would not).
    pub fn host_failed(&self) -> bool {
        self.host_failure.get()
    }

    /// How many children directory `id` has (0 for a file).
    pub fn child_count(&self, id: NodeId) -> usize {
        match &self.nodes[id].0 {
            Node::Dir(children) => children.len(),
            Node::File(_) => 0,
        }
    }

    /// The children of directory `id` by name.
    pub fn children(&self, id: NodeId) -> Result<Vec<(String, NodeId)>, i32> {
        match &self.nodes[id].0 {
            Node::Dir(children) => Ok(children.iter().map(|(k, v)| (k.clone(), *v)).collect()),
            Node::File(_) => Err(errno::NOTDIR),
        }
    }

    /// Every output file as (tree path, content), in no particular order;
    /// empty directories are not part of a tree and are dropped.
    pub fn into_outputs(mut self) -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        let mut pending = vec![(self.output, String::new())];
        while let Some((id, prefix)) = pending.pop() {
            let Node::Dir(children) = &self.nodes[id].0 else {
                continue;
            };
            let children: Vec<(String, NodeId)> =
                children.iter().map(|(k, v)| (k.clone(), *v)).collect();
            for (name, child) in children {
                let path = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                };
                match &mut self.nodes[child].0 {
                    Node::Dir(_) => pending.push((child, path)),
                    Node::File(Content::Memory(data)) => files.push((path, std::mem::take(data))),
                    Node::File(Content::Host { .. }) => {}
                }
            }
        }
        files
    }
}

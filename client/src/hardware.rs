//! The machine a provider offers: GPUs (through `nvidia-smi`), CPU cores,
//! RAM and free disk, detected; every field can be overridden.

use std::{path::Path, process::Command};

/// What a provider declares, in the contracts' units (whole GB).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hardware {
    /// GPUs.
    pub gpu_count: u32,
    /// Memory of the smallest GPU, GB (a job needing N GB runs on any).
    pub gpu_memory_gb: u32,
    /// CPU cores (logical).
    pub cpu_cores: u32,
    /// RAM, GB.
    pub ram_gb: u32,
    /// Disk space for jobs, GB.
    pub disk_gb: u32,
}

/// Hardware fields a person set (flags, a configuration file); each
/// replaces the detected value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HardwareOverrides {
    /// GPUs.
    pub gpus: Option<u32>,
    /// Memory of the smallest GPU, GB.
    pub gpu_memory_gb: Option<u32>,
    /// CPU cores.
    pub cpu_cores: Option<u32>,
    /// RAM, GB.
    pub ram_gb: Option<u32>,
    /// Disk, GB.
    pub disk_gb: Option<u32>,
}

impl HardwareOverrides {
    /// `detected`, with the fields set here replaced.
    #[must_use]
    pub fn over(self, detected: Hardware) -> Hardware {
        Hardware {
            gpu_count: self.gpus.unwrap_or(detected.gpu_count),
            gpu_memory_gb: self.gpu_memory_gb.unwrap_or(detected.gpu_memory_gb),
            cpu_cores: self.cpu_cores.unwrap_or(detected.cpu_cores),
            ram_gb: self.ram_gb.unwrap_or(detected.ram_gb),
            disk_gb: self.disk_gb.unwrap_or(detected.disk_gb),
        }
    }
}

/// The GPU tool: `nvidia-smi`, or `$POND_NVIDIA_SMI` (another path, or a
/// compatible tool on machines with other drivers).
fn nvidia_smi() -> String {
    std::env::var("POND_NVIDIA_SMI").unwrap_or_else(|_| "nvidia-smi".to_owned())
}

/// Detects this machine's hardware; `disk` is where job data will live.
/// What cannot be detected is 0 (no GPU tool: no GPUs).
#[must_use]
pub fn detect(disk: &Path) -> Hardware {
    let (gpu_count, gpu_memory_gb) = gpus();
    Hardware {
        gpu_count,
        gpu_memory_gb,
        cpu_cores: std::thread::available_parallelism()
            .map_or(0, |n| u32::try_from(n.get()).unwrap_or(u32::MAX)),
        ram_gb: std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| meminfo_total_gb(&text))
            .unwrap_or(0),
        disk_gb: free_disk_gb(disk).unwrap_or(0),
    }
}

/// (count, smallest memory in GB) from `nvidia-smi`.
fn gpus() -> (u32, u32) {
    let output = Command::new(nvidia_smi())
        .args(["--query-gpu=memory.total", "--format=csv,noheader,nounits"])
        .output();
    match output {
        Ok(out) if out.status.success() => parse_gpu_memory(&String::from_utf8_lossy(&out.stdout)),
        _ => (0, 0),
    }
}

/// Parses `nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits`
/// (MiB per GPU, one per line).
fn parse_gpu_memory(text: &str) -> (u32, u32) {
    let sizes: Vec<u32> = text
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .map(|mib| u32::try_from(mib / 1024).unwrap_or(u32::MAX))
        .collect();
    let count = u32::try_from(sizes.len()).unwrap_or(u32::MAX);
    (count, sizes.iter().copied().min().unwrap_or(0))
}

/// `MemTotal` of `/proc/meminfo`, in whole GB.
fn meminfo_total_gb(text: &str) -> Option<u32> {
    let kib: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    u32::try_from(kib / (1024 * 1024)).ok()
}

/// Free space under `path` in whole GB (`df -Pk`).
fn free_disk_gb(path: &Path) -> Option<u32> {
    let out = Command::new("df").arg("-Pk").arg(path).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let available_kib: u64 = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    u32::try_from(available_kib / (1024 * 1024)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_memory_is_the_smallest_gpus_in_whole_gb() {
        assert_eq!(parse_gpu_memory("24576\n81920\n"), (2, 24));
        assert_eq!(parse_gpu_memory(" 8192 \n"), (1, 8));
        assert_eq!(parse_gpu_memory(""), (0, 0));
        assert_eq!(parse_gpu_memory("N/A\n"), (0, 0));
    }

    #[test]
    fn ram_is_memtotal_in_whole_gb() {
        let text = "MemTotal:       24632556 kB\nMemFree:  100 kB\n";
        assert_eq!(meminfo_total_gb(text), Some(23));
        assert_eq!(meminfo_total_gb("MemFree: 1 kB\n"), None);
    }

    #[test]
    fn this_machine_is_detected() {
        let here = detect(Path::new("."));
        assert!(here.cpu_cores >= 1, "{here:?}");
        assert!(here.ram_gb >= 1, "{here:?}");
    }
}

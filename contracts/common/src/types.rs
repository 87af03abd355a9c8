//! Structured ABI types: hardware (what a provider has, what an offer
//! commits, what a job needs), a job's specification and a token permit.
//!
//! `AbiType` is implemented by hand: the SDK's derive names a struct by its
//! Rust name in function signatures, which would give selectors that differ
//! from Solidity's (which spell structs as tuples).

use alloc::{vec, vec::Vec};

use stylus_sdk::{prelude::*, storage::StorageU32};

mod sol_types {
    #![allow(missing_docs)]
    alloy_sol_types::sol! {
        /// A machine's resources. Memory and disk are in whole gigabytes;
        /// `gpuMemoryGb` is per GPU.
        #[derive(Debug, Default, PartialEq, Eq)]
        struct Hardware {
            uint32 gpuCount;
            uint32 gpuMemoryGb;
            uint32 cpuCores;
            uint32 ramGb;
            uint32 diskGb;
        }

        /// What a job creator asks for. `offerId` names an offer for a
        /// direct match (0: none); `biddingWindow` opens a reverse auction
        /// of that many seconds (0: none). The two exclude each other.
        #[derive(Debug, Default, PartialEq, Eq)]
        struct JobSpec {
            bytes32 moduleHash;
            string moduleUri;
            bytes32 inputHash;
            string inputUri;
            Hardware minHardware;
            uint64 maxDuration;
            uint256 maxPrice;
            uint64 matchDeadline;
            uint64 biddingWindow;
            uint256 offerId;
        }

        /// An optional EIP-2612 permit for the payment token, so a relayed
        /// job can be funded in the same transaction. `amount == 0`: none.
        #[derive(Debug, Default, PartialEq, Eq)]
        struct PermitData {
            uint256 amount;
            uint256 deadline;
            uint8 v;
            bytes32 r;
            bytes32 s;
        }
    }
}
pub use sol_types::{Hardware, JobSpec, PermitData};

/// Canonical tuple spelling of [`Hardware`] in signatures.
pub const HARDWARE_TUPLE: &str = "(uint32,uint32,uint32,uint32,uint32)";
/// Canonical tuple spelling of [`JobSpec`] in signatures.
pub const JOB_SPEC_TUPLE: &str =
    "(bytes32,string,bytes32,string,(uint32,uint32,uint32,uint32,uint32),uint64,uint256,uint64,uint64,uint256)";
/// Canonical tuple spelling of [`PermitData`] in signatures.
pub const PERMIT_DATA_TUPLE: &str = "(uint256,uint256,uint8,bytes32,bytes32)";

macro_rules! struct_abi_type {
    ($ty:ty, $tuple:expr, $name:literal) => {
        impl stylus_sdk::abi::AbiType for $ty {
            type SolType = Self;
            const ABI: stylus_sdk::abi::ConstString = stylus_sdk::abi::ConstString::new($tuple);
            const EXPORT_ABI_ARG: stylus_sdk::abi::ConstString =
                stylus_sdk::abi::ConstString::new(concat!($name, " calldata"));
            const EXPORT_ABI_RET: stylus_sdk::abi::ConstString =
                stylus_sdk::abi::ConstString::new(concat!($name, " memory"));
        }

        #[cfg(feature = "export-abi")]
        impl stylus_sdk::abi::export::internal::InnerTypes for $ty {}
    };
}

struct_abi_type!(Hardware, HARDWARE_TUPLE, "Hardware");
struct_abi_type!(JobSpec, JOB_SPEC_TUPLE, "JobSpec");
struct_abi_type!(PermitData, PERMIT_DATA_TUPLE, "PermitData");

impl Hardware {
    /// True when every resource of `self` is at least that of `minimum`.
    #[must_use]
    pub fn covers(&self, minimum: &Hardware) -> bool {
        self.gpuCount >= minimum.gpuCount
            && self.gpuMemoryGb >= minimum.gpuMemoryGb
            && self.cpuCores >= minimum.cpuCores
            && self.ramGb >= minimum.ramGb
            && self.diskGb >= minimum.diskGb
    }

    /// True when the description names no resource at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Hardware::default()
    }
}

/// [`Hardware`] in contract storage (packed into one slot).
#[storage]
pub struct StoredHardware {
    gpu_count: StorageU32,
    gpu_memory_gb: StorageU32,
    cpu_cores: StorageU32,
    ram_gb: StorageU32,
    disk_gb: StorageU32,
}

impl StoredHardware {
    /// Reads the stored description.
    #[must_use]
    pub fn read(&self) -> Hardware {
        Hardware {
            gpuCount: self.gpu_count.get().to(),
            gpuMemoryGb: self.gpu_memory_gb.get().to(),
            cpuCores: self.cpu_cores.get().to(),
            ramGb: self.ram_gb.get().to(),
            diskGb: self.disk_gb.get().to(),
        }
    }

    /// Overwrites the stored description.
    pub fn write(&mut self, hardware: &Hardware) {
        self.gpu_count
            .set(alloy_primitives::U32::from(hardware.gpuCount));
        self.gpu_memory_gb
            .set(alloy_primitives::U32::from(hardware.gpuMemoryGb));
        self.cpu_cores
            .set(alloy_primitives::U32::from(hardware.cpuCores));
        self.ram_gb.set(alloy_primitives::U32::from(hardware.ramGb));
        self.disk_gb
            .set(alloy_primitives::U32::from(hardware.diskGb));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stylus_sdk::abi::AbiType;

    mod canonical {
        alloy_sol_types::sol! {
            struct Hardware { uint32 gpuCount; uint32 gpuMemoryGb; uint32 cpuCores; uint32 ramGb; uint32 diskGb; }
            struct JobSpec {
                bytes32 moduleHash; string moduleUri; bytes32 inputHash; string inputUri;
                Hardware minHardware; uint64 maxDuration; uint256 maxPrice; uint64 matchDeadline;
                uint64 biddingWindow; uint256 offerId;
            }
            struct PermitData { uint256 amount; uint256 deadline; uint8 v; bytes32 r; bytes32 s; }
            function probe(Hardware hardware, JobSpec spec, PermitData permit);
        }
    }

    #[test]
    fn signature_spelling_matches_solidity() {
        use alloy_sol_types::SolCall;
        let expected = alloc::format!(
            "probe({},{},{})",
            <Hardware as AbiType>::ABI.as_str(),
            <JobSpec as AbiType>::ABI.as_str(),
            <PermitData as AbiType>::ABI.as_str()
        );
        assert_eq!(canonical::probeCall::SIGNATURE, expected);
    }

    fn hw(gpus: u32, mem: u32, cpus: u32, ram: u32, disk: u32) -> Hardware {
        Hardware {
            gpuCount: gpus,
            gpuMemoryGb: mem,
            cpuCores: cpus,
            ramGb: ram,
            diskGb: disk,
        }
    }

    #[test]
    fn covers_requires_every_resource() {
        let machine = hw(2, 24, 16, 64, 500);
        assert!(machine.covers(&machine));
        assert!(machine.covers(&hw(1, 24, 8, 32, 100)));
        assert!(!machine.covers(&hw(3, 24, 8, 32, 100)));
        assert!(!machine.covers(&hw(1, 48, 8, 32, 100)));
        assert!(!machine.covers(&hw(1, 24, 32, 32, 100)));
        assert!(!machine.covers(&hw(1, 24, 8, 128, 100)));
        assert!(!machine.covers(&hw(1, 24, 8, 32, 1000)));
        assert!(Hardware::default().is_empty());
        assert!(!machine.is_empty());
    }
}

//! Devices: the DLPack `(device_type, device_id)` pair, its display name, and
//! whether the host may dereference memory on it.

use crate::error::{Error, Result};
use dlpark::ffi::{DLDevice, DLDeviceType};

/// DLPack device type numbers (DLPack 1.3 `DLDeviceType`).
pub mod kind {
    pub const CPU: i32 = 1;
    pub const CUDA: i32 = 2;
    pub const CUDA_HOST: i32 = 3;
    pub const OPENCL: i32 = 4;
    pub const VULKAN: i32 = 7;
    pub const METAL: i32 = 8;
    pub const VPI: i32 = 9;
    pub const ROCM: i32 = 10;
    pub const ROCM_HOST: i32 = 11;
    pub const EXT_DEV: i32 = 12;
    pub const CUDA_MANAGED: i32 = 13;
    pub const ONE_API: i32 = 14;
    pub const WEBGPU: i32 = 15;
    pub const HEXAGON: i32 = 16;
    pub const MAIA: i32 = 17;
    pub const TRN: i32 = 18;
}

/// Where a tensor's memory lives. Any DLPack device is representable; only
/// host-addressable ones can have their elements read without a runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Device {
    pub device_type: i32,
    pub device_id: i32,
}

const NAMES: &[(i32, &str)] = &[
    (kind::CPU, "cpu"),
    (kind::CUDA, "cuda"),
    (kind::CUDA_HOST, "cuda_host"),
    (kind::OPENCL, "opencl"),
    (kind::VULKAN, "vulkan"),
    (kind::METAL, "metal"),
    (kind::VPI, "vpi"),
    (kind::ROCM, "rocm"),
    (kind::ROCM_HOST, "rocm_host"),
    (kind::EXT_DEV, "ext_dev"),
    (kind::CUDA_MANAGED, "cuda_managed"),
    (kind::ONE_API, "oneapi"),
    (kind::WEBGPU, "webgpu"),
    (kind::HEXAGON, "hexagon"),
    (kind::MAIA, "maia"),
    (kind::TRN, "trn"),
];

impl Device {
    pub const CPU: Device = Device {
        device_type: kind::CPU,
        device_id: 0,
    };

    pub fn new(device_type: i32, device_id: i32) -> Device {
        Device {
            device_type,
            device_id,
        }
    }

    pub fn from_dl(d: DLDevice) -> Device {
        // The C enum is an unsigned int; anything that does not fit i32 is an
        // unknown device and stays unknown (it prints as `device<N>`).
        Device {
            device_type: d.device_type.0 as i32,
            device_id: d.device_id,
        }
    }

    pub fn to_dl(self) -> DLDevice {
        DLDevice {
            device_type: DLDeviceType(self.device_type as u32),
            device_id: self.device_id,
        }
    }

    pub fn is_cpu(self) -> bool {
        self.device_type == kind::CPU
    }

    /// Memory the host can read and write directly: CPU, pinned host memory
    /// and CUDA managed memory.
    pub fn is_host_accessible(self) -> bool {
        matches!(
            self.device_type,
            kind::CPU | kind::CUDA_HOST | kind::ROCM_HOST | kind::CUDA_MANAGED
        )
    }

    /// Fails with `UNSUPPORTED_DEVICE` unless the host can touch this memory.
    pub fn require_host(self, what: &str) -> Result<()> {
        if self.is_host_accessible() {
            Ok(())
        } else {
            Err(Error::UnsupportedDevice(format!(
                "{what} needs host-accessible memory, but the tensor is on {self}"
            )))
        }
    }

    /// Parses `"cpu"`, `"cuda"`, `"cuda:1"`, ...
    pub fn parse(text: &str) -> Result<Device> {
        let (name, id) = match text.split_once(':') {
            Some((n, i)) => {
                let id = i.parse::<i32>().ok().filter(|&id| id >= 0).ok_or_else(|| {
                    Error::InvalidArgument(format!("bad device index in {text:?}"))
                })?;
                (n, id)
            }
            None => (text, 0),
        };
        NAMES
            .iter()
            .find(|&&(_, n)| n == name)
            .map(|&(t, _)| Device::new(t, id))
            .ok_or_else(|| Error::InvalidArgument(format!("unknown device {text:?}")))
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match NAMES.iter().find(|&&(t, _)| t == self.device_type) {
            Some(&(kind::CPU, name)) if self.device_id == 0 => f.write_str(name),
            Some(&(_, name)) => write!(f, "{name}:{}", self.device_id),
            None => write!(f, "device{}:{}", self.device_type, self.device_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(Device::CPU.to_string(), "cpu");
        assert_eq!(Device::new(kind::CUDA, 1).to_string(), "cuda:1");
        assert_eq!(Device::parse("cuda:1").unwrap(), Device::new(kind::CUDA, 1));
        assert_eq!(Device::parse("cuda").unwrap(), Device::new(kind::CUDA, 0));
        assert_eq!(Device::new(99, 2).to_string(), "device99:2");
        assert!(Device::parse("tpu").is_err());
        assert!(Device::parse("cuda:-1").is_err());
    }

    #[test]
    fn host_accessibility() {
        assert!(Device::CPU.is_host_accessible());
        assert!(Device::new(kind::CUDA_MANAGED, 0).is_host_accessible());
        let err = Device::new(kind::CUDA, 0)
            .require_host("reading elements")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "reading elements needs host-accessible memory, but the tensor is on cuda:0"
        );
    }
}

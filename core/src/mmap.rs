//! File-backed memory: memory maps through `libc` with the four modes of
//! `numpy.memmap` (docs/rules.md §7), `memmap` over raw files, `flush`, and the
//! positioned reads `npy` uses to fill a fresh buffer.
//!
//! A mapping is a [`Storage`] whose [`Owner::Foreign`] is a [`Mapping`]:
//! dropping the last view or DLPack export drops the storage, whose owner
//! unmaps. The storage's base is the first byte of the tensor's data (not the
//! page-aligned start of the mapping) and its known length is the mapped
//! bytes from there, so `as_strided` can never reach header bytes or pages
//! beyond the mapping.
//!
//! As with NumPy, a file that another process truncates while it is mapped
//! makes reads of the lost pages fault (SIGBUS): mapping cannot protect
//! against that. `npy::save` replaces files by renaming, so it never
//! truncates a file that is mapped.
//!
//! This module knows files, pages and `libc`; it knows nothing of the `.npy`
//! format (that is `npy.rs`).

use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Error, Result, invalid};
use crate::layout::{Layout, Order, fmt_dims};
use crate::storage::{Owner, Storage};
use crate::tensor::Tensor;
use std::ffi::c_void;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;

/// How a file is mapped; the modes of `numpy.memmap` and `numpy.load(mmap_mode=...)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapMode {
    /// `"r"`: a read-only view. The pages are mapped private and
    /// copy-on-write, so a consumer that ignores the read-only flag (PyTorch
    /// does) writes to private copies: it can neither fault nor change the file.
    Read,
    /// `"r+"`: shared and writeable; writes reach the file (see [`flush`]).
    /// Other mappings of the file reach the same memory, so the tensor is
    /// never [exclusive](Tensor::is_exclusive): Rust code writes it through
    /// the unsafe `_shared` writes (e.g. [`Tensor::set_f64_shared`]).
    ReadWrite,
    /// `"c"`: private copy-on-write and writeable; writes stay in memory.
    CopyOnWrite,
    /// `"w+"`: create (or truncate) the file, then as `ReadWrite` (shared:
    /// written through the `_shared` writes).
    Create,
}

impl MapMode {
    /// Parses NumPy's mode strings (`"r"`, `"r+"`, `"c"`, `"w+"` and their
    /// long spellings `"readonly"`, `"readwrite"`, `"copyonwrite"`, `"write"`).
    pub fn from_numpy(mode: &str) -> Result<MapMode> {
        match mode {
            "r" | "readonly" => Ok(MapMode::Read),
            "r+" | "readwrite" => Ok(MapMode::ReadWrite),
            "c" | "copyonwrite" => Ok(MapMode::CopyOnWrite),
            "w+" | "write" => Ok(MapMode::Create),
            other => Err(invalid!(
                "mode {other:?} is not one of \"r\", \"r+\", \"c\", \"w+\""
            )),
        }
    }

    /// NumPy's short spelling.
    pub fn as_numpy(self) -> &'static str {
        match self {
            MapMode::Read => "r",
            MapMode::ReadWrite => "r+",
            MapMode::CopyOnWrite => "c",
            MapMode::Create => "w+",
        }
    }

    /// Writes reach the file (`MAP_SHARED`).
    fn is_shared(self) -> bool {
        matches!(self, MapMode::ReadWrite | MapMode::Create)
    }

    /// Views of the mapping may be written through dlview.
    pub fn is_writeable(self) -> bool {
        self != MapMode::Read
    }
}

/// One live `mmap` region; dropping it unmaps. The owner of a mapped
/// storage.
pub struct Mapping {
    /// Page-aligned start of the region; NULL when nothing was mapped
    /// (a tensor without bytes: `mmap` cannot map zero bytes).
    addr: *mut c_void,
    len: usize,
    mode: MapMode,
}

// SAFETY: the region belongs to this value alone (it was mapped by `map`
// and is unmapped only by `Drop`); `msync` and `munmap` may be called from
// any thread.
unsafe impl Send for Mapping {}
// SAFETY: see `Send`; `Mapping` has no interior mutability.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `file` starting at byte `offset`, and returns the
    /// mapping with the address of byte `offset` in it. The caller has
    /// checked that the file holds those bytes.
    fn map(
        file: &File,
        path: &Path,
        offset: u64,
        len: usize,
        mode: MapMode,
    ) -> Result<(Mapping, *mut u8)> {
        if len == 0 {
            return Ok((
                Mapping {
                    addr: std::ptr::null_mut(),
                    len: 0,
                    mode,
                },
                std::ptr::null_mut(),
            ));
        }
        let page = page_size() as u64;
        let start = offset - offset % page;
        let lead = (offset - start) as usize;
        let map_len = lead
            .checked_add(len)
            .filter(|&n| n <= isize::MAX as usize)
            .ok_or_else(|| {
                invalid!(
                    "cannot map {len} bytes at offset {offset}: too large for the address space"
                )
            })?;
        let file_offset = libc::off_t::try_from(start)
            .map_err(|_| invalid!("offset {offset} is too large for this platform's mmap"))?;
        // Read-only mappings are still PROT_WRITE | MAP_PRIVATE: a consumer
        // that ignores READ_ONLY must get private copies, not a fault.
        let flags = if mode.is_shared() {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE
        };
        // SAFETY: a fresh mapping chosen by the kernel (addr NULL) of a valid
        // descriptor; nothing else is aliased or replaced.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                file.as_raw_fd(),
                file_offset,
            )
        };
        if addr == libc::MAP_FAILED {
            let err = io::Error::last_os_error();
            return Err(Error::Io(format!(
                "cannot map {map_len} bytes of {} at offset {start} (mode {:?}): {err}",
                path.display(),
                mode.as_numpy()
            )));
        }
        let mapping = Mapping {
            addr,
            len: map_len,
            mode,
        };
        Ok((mapping, addr.cast::<u8>().wrapping_add(lead)))
    }

    pub fn mode(&self) -> MapMode {
        self.mode
    }

    /// Bytes mapped (from the page-aligned start).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes dirty pages of a shared mapping back to the file and waits
    /// (`msync(MS_SYNC)`). Private mappings have nothing to write back: a
    /// no-op, as NumPy's `flush` is for modes `r` and `c`.
    pub fn flush(&self) -> Result<()> {
        if self.addr.is_null() || !self.mode.is_shared() {
            return Ok(());
        }
        // SAFETY: exactly the region this value mapped and still owns.
        if unsafe { libc::msync(self.addr, self.len, libc::MS_SYNC) } != 0 {
            return Err(Error::Io(format!(
                "msync of a {}-byte mapping failed: {}",
                self.len,
                io::Error::last_os_error()
            )));
        }
        Ok(())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if !self.addr.is_null() {
            // SAFETY: the region was mapped by `map` and nothing can use it
            // any more: every view and export held the storage that owns us.
            // munmap of a valid region cannot fail; there is nothing to do if it did.
            unsafe { libc::munmap(self.addr, self.len) };
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as usize } else { 4096 }
}

/// An I/O error naming what was being done and the path, with the OS error
/// ("cannot open /x.npy: No such file or directory (os error 2)").
pub(crate) fn io_error(what: &str, path: &Path, err: io::Error) -> Error {
    Error::Io(format!("cannot {what} {}: {err}", path.display()))
}

/// Opens `path` with the access `mode` needs (`Create` creates or truncates).
pub(crate) fn open(path: &Path, mode: MapMode) -> Result<File> {
    let mut options = OpenOptions::new();
    match mode {
        MapMode::Read | MapMode::CopyOnWrite => options.read(true),
        MapMode::ReadWrite => options.read(true).write(true),
        MapMode::Create => options.read(true).write(true).create(true).truncate(true),
    };
    // Refuses NUL bytes in the path, and FIFOs, directories and devices
    // without blocking on them.
    crate::fileio::open_regular(path, &mut options)
}

/// The size of an open file.
pub(crate) fn file_len(file: &File, path: &Path) -> Result<u64> {
    file.metadata()
        .map(|m| m.len())
        .map_err(|e| io_error("stat", path, e))
}

/// A root tensor of `layout` over a new mapping of `file` whose element 0
/// is at byte `offset`. The layout must be compact (C or F) with
/// non-negative strides, and the file must hold its bytes.
pub(crate) fn map_tensor(
    file: &File,
    path: &Path,
    mode: MapMode,
    offset: u64,
    layout: Layout,
    dtype: DType,
) -> Result<Tensor> {
    let (_, end) = Tensor::check_layout(&layout, dtype)?;
    let (mapping, data) = Mapping::map(file, path, offset, end as usize, mode)?;
    // SAFETY: the mapping holds `end` bytes from `data` and lives in the
    // storage's owner until the storage drops; it is writable memory
    // (PROT_WRITE) whatever the mode. A shared mapping is not exclusive:
    // another mapping of the file (this process's or another's) reaches the
    // same pages, so safe code must not write it (`Tensor::is_exclusive`).
    let storage = unsafe {
        Storage::from_foreign(
            data,
            Some(end as usize),
            Device::CPU,
            !mode.is_writeable(),
            !mode.is_shared(),
            Owner::Foreign(Box::new(mapping)),
        )
    };
    Tensor::from_storage(Arc::new(storage), data, layout, dtype, mode.is_writeable())
}

/// Maps a raw file as a tensor, like `numpy.memmap(path, dtype, mode,
/// offset, shape, order)`.
///
/// `shape == None` maps the whole file from `offset` as a 1-D tensor (whose
/// byte count must be a multiple of the itemsize); mode `Create` needs a
/// shape. With a shape, modes `ReadWrite` and `Create` grow the file to hold
/// it (as NumPy does); `Read` and `CopyOnWrite` need it to be there already.
/// Files under `/dev/shm` map like any other, so two processes can share one
/// tensor through `ReadWrite`.
pub fn memmap(
    path: &Path,
    dtype: DType,
    mode: MapMode,
    offset: u64,
    shape: Option<&[i64]>,
    order: Order,
) -> Result<Tensor> {
    dtype.require_addressable("memory-mapping")?;
    if order == Order::K {
        return Err(invalid!(
            "order K is only meaningful for copies; memmap takes C or F"
        ));
    }
    let item = dtype.itemsize() as u64;
    // Validate everything that does not need the file before touching it,
    // so a bad call cannot create or truncate anything.
    let layout = match shape {
        Some(shape) => Some(Layout::compact(shape, order)?),
        None if mode == MapMode::Create => {
            return Err(invalid!(
                "mode \"w+\" needs a shape: there is no file to measure"
            ));
        }
        None => None,
    };
    let needed = match &layout {
        Some(l) => Some(
            (Tensor::check_layout(l, dtype)?.1 as u64)
                .checked_add(offset)
                .filter(|&n| n <= i64::MAX as u64)
                .ok_or_else(|| {
                    invalid!("offset {offset} plus the tensor's bytes overflows a file size")
                })?,
        ),
        None => None,
    };
    let file = open(path, mode)?;
    let len = file_len(&file, path)?;
    let layout = match (layout, needed) {
        (Some(layout), Some(needed)) => {
            if len < needed {
                if mode.is_shared() {
                    file.set_len(needed)
                        .map_err(|e| io_error("grow", path, e))?;
                } else {
                    return Err(invalid!(
                        "{} holds {len} bytes, but shape {} of {dtype} at offset {offset} needs {needed}",
                        path.display(),
                        fmt_dims(layout.shape())
                    ));
                }
            }
            layout
        }
        _ => {
            let avail = len.checked_sub(offset).ok_or_else(|| {
                invalid!(
                    "offset {offset} is past the end of {} ({len} bytes)",
                    path.display()
                )
            })?;
            if avail % item != 0 {
                return Err(invalid!(
                    "the {avail} bytes of {} after offset {offset} are not a multiple of the {item}-byte {dtype} itemsize",
                    path.display()
                ));
            }
            Layout::compact(&[(avail / item) as i64], Order::C)?
        }
    };
    map_tensor(&file, path, mode, offset, layout, dtype)
}

/// The mapping behind a tensor, if its storage is one.
pub fn mapping_of(t: &Tensor) -> Option<&Mapping> {
    t.storage().foreign_owner()?.downcast_ref::<Mapping>()
}

/// Writes a shared mapping's changes back to its file (`msync`), like
/// NumPy's `memmap.flush`. A private mapping, or a tensor that is not
/// file-backed, has nothing to write: a no-op.
pub fn flush(t: &Tensor) -> Result<()> {
    mapping_of(t).map_or(Ok(()), Mapping::flush)
}

/// Asks the kernel to back a large fresh buffer with huge pages (as NumPy
/// does for its allocations): reading a whole file into it then takes a
/// fault per 2 MiB instead of per 4 KiB, and freeing it is as cheap. A hint
/// only; failure changes nothing.
pub(crate) fn advise_huge_pages(ptr: *mut u8, len: usize) {
    const HUGE: usize = 2 << 20;
    if len < 2 * HUGE {
        return;
    }
    let page = page_size();
    let start = (ptr as usize).next_multiple_of(page);
    let end = (ptr as usize + len) / page * page;
    if end > start {
        // SAFETY: madvise(MADV_HUGEPAGE) on whole pages inside a buffer we
        // own changes how they are backed, never their contents.
        unsafe { libc::madvise(start as *mut c_void, end - start, libc::MADV_HUGEPAGE) };
    }
}

/// Reads exactly `len` bytes at `offset` of `file` into `dst`.
///
/// Raw `pread` rather than `std::io::Read`: the destination is a fresh,
/// uninitialised buffer, which must not be seen as a `&mut [u8]`.
///
/// # Safety
/// `dst` must be valid for writing `len` bytes.
pub(crate) unsafe fn read_exact_at(
    file: &File,
    path: &Path,
    mut offset: u64,
    dst: *mut u8,
    len: usize,
) -> Result<()> {
    let mut done = 0;
    while done < len {
        // Linux reads at most 0x7fff_f000 bytes per call; ask for whole chunks.
        let want = (len - done).min(1 << 30);
        let at =
            libc::off_t::try_from(offset).map_err(|_| invalid!("offset {offset} is too large"))?;
        // SAFETY: `dst + done .. dst + done + want` is inside the caller's buffer.
        let n = unsafe { libc::pread(file.as_raw_fd(), dst.add(done).cast(), want, at) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(io_error("read", path, err));
        }
        if n == 0 {
            return Err(Error::Format(format!(
                "{} ended after {} of {len} data bytes (was it truncated while being read?)",
                path.display(),
                done
            )));
        }
        done += n as usize;
        offset += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_strings_round_trip() {
        for m in [
            MapMode::Read,
            MapMode::ReadWrite,
            MapMode::CopyOnWrite,
            MapMode::Create,
        ] {
            assert_eq!(MapMode::from_numpy(m.as_numpy()).unwrap(), m);
        }
        assert_eq!(MapMode::from_numpy("readonly").unwrap(), MapMode::Read);
        assert!(
            MapMode::from_numpy("rw")
                .unwrap_err()
                .to_string()
                .contains("\"rw\"")
        );
    }
}

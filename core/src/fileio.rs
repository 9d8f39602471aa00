//! The file rules of docs/rules.md §7 that are not about the `.npy` format:
//!
//! - paths with a NUL byte are refused, never truncated ([`check_path`]);
//! - only regular files are read or mapped, and opening never blocks on a
//!   FIFO or a device ([`open_regular`]);
//! - a file is replaced atomically through a temporary created exclusively
//!   next to it, with a random name, never following or reusing an
//!   existing path; the target's permission bits are kept; a failure
//!   leaves the old file untouched and no temporary ([`replace_atomically`]).

use crate::error::{Error, Result, invalid};
use crate::mmap::io_error;
use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Refuses a path containing a NUL byte (a C string would end there, so
/// `"victim\0.npy"` would silently become `"victim"`).
pub fn check_path(path: &Path) -> Result<()> {
    let bytes = path.as_os_str().as_bytes();
    if bytes.is_empty() {
        return Err(invalid!("path is empty"));
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(invalid!(
            "path {:?} contains a NUL byte at position {at}; paths are never truncated",
            path.as_os_str()
        ));
    }
    Ok(())
}

/// What a non-regular file is, for the error message.
fn kind_of(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Opens `path` with `options`, refusing anything but a regular file
/// without blocking: the open itself is non-blocking (opening a FIFO for
/// reading would otherwise wait for a writer forever, as `numpy.load`
/// does), then `fstat` decides, then the descriptor is made blocking again.
pub fn open_regular(path: &Path, options: &mut OpenOptions) -> Result<File> {
    check_path(path)?;
    let file = options
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| io_error("open", path, e))?;
    let meta = file.metadata().map_err(|e| io_error("stat", path, e))?;
    if !meta.file_type().is_file() {
        return Err(Error::Io(format!(
            "cannot load or map {}: it is {}; only regular files are read",
            path.display(),
            kind_of(meta.file_type())
        )));
    }
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own; failure is reported, not UB.
    let ok = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) == 0
    };
    if !ok {
        return Err(io_error("open", path, io::Error::last_os_error()));
    }
    Ok(file)
}

/// 64 unpredictable bits for a temporary name: the kernel's random pool,
/// or (should `getrandom` fail) the clock, the pid and a counter, which
/// still never repeat within a process (`O_EXCL` guards the rest).
fn random_u64() -> u64 {
    let mut v = 0u64;
    // SAFETY: writes at most 8 bytes into `v`.
    let n = unsafe { libc::getrandom((&raw mut v).cast(), 8, libc::GRND_NONBLOCK) };
    if n == 8 {
        return v;
    }
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    t ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// How many random names to try before giving up (each collision means a
/// file of that exact random name exists: practically never twice).
const TEMP_ATTEMPTS: usize = 16;

/// Creates a new temporary file next to `path`, exclusively (`O_EXCL`:
/// an existing file or symlink of that name is never opened, followed or
/// truncated), with a name from `names`. Returns the file and its path.
pub(crate) fn create_temp(path: &Path, mut names: impl FnMut() -> u64) -> Result<(File, PathBuf)> {
    let file_name = path
        .file_name()
        .ok_or_else(|| invalid!("path {} does not name a file", path.display()))?;
    let mut last = None;
    for _ in 0..TEMP_ATTEMPTS {
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".dlview-{:016x}.tmp", names()));
        let tmp = path.with_file_name(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
        {
            Ok(file) => return Ok((file, tmp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(io_error("create a temporary file for", path, e)),
        }
    }
    Err(io_error(
        "create a temporary file for",
        path,
        last.unwrap_or_else(|| io::Error::other("no free temporary name")),
    ))
}

/// The permission bits the new file gets: those of the existing target
/// (so a 0600 file stays 0600), else what `open(O_CREAT, 0666)` would give
/// under the process's umask.
fn target_mode(path: &Path) -> u32 {
    if let Ok(meta) = std::fs::metadata(path) {
        return meta.permissions().mode() & 0o7777;
    }
    // SAFETY: umask only swaps the process mask; it is put back at once.
    // (Reading it has no other interface; a concurrent file creation in
    // another thread between the two calls would use the mask 0o077, the
    // more private one, never a more open one.)
    let mask = unsafe {
        let m = libc::umask(0o077);
        libc::umask(m);
        m
    };
    0o666 & !(mask as u32)
}

/// Replaces `path` by a file whose contents `write` produces, atomically:
/// see the module docs. `write` gets the temporary file and its path (for
/// messages).
pub fn replace_atomically(
    path: &Path,
    write: impl FnOnce(&mut File, &Path) -> Result<()>,
) -> Result<()> {
    replace_atomically_with(path, random_u64, write)
}

pub(crate) fn replace_atomically_with(
    path: &Path,
    names: impl FnMut() -> u64,
    write: impl FnOnce(&mut File, &Path) -> Result<()>,
) -> Result<()> {
    check_path(path)?;
    let mode = target_mode(path);
    let (mut file, tmp) = create_temp(path, names)?;
    let result = (|| {
        file.set_permissions(Permissions::from_mode(mode))
            .map_err(|e| io_error("set the permissions of", &tmp, e))?;
        write(&mut file, &tmp)?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(|e| io_error("replace", path, e))
    })();
    if result.is_err() {
        // Ours: created exclusively above, never renamed.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("dlview-fileio-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_symlink_planted_at_the_temporary_name_is_skipped_not_followed() {
        let dir = scratch("planted");
        let victim = dir.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let target = dir.join("a.npy");
        // The first name the generator gives is taken by a symlink.
        symlink(&victim, dir.join(format!(".a.npy.dlview-{:016x}.tmp", 1))).unwrap();
        let mut n = 0;
        replace_atomically_with(
            &target,
            || {
                n += 1;
                n
            },
            |f, _| {
                use std::io::Write;
                f.write_all(b"new").map_err(|e| Error::Io(e.to_string()))
            },
        )
        .unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(n, 2, "the planted name was skipped");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failing_write_leaves_the_target_and_no_temporary() {
        let dir = scratch("fail");
        let target = dir.join("a.npy");
        std::fs::write(&target, b"old").unwrap();
        let err = replace_atomically(&target, |f, _| {
            use std::io::Write;
            f.write_all(b"half").unwrap();
            Err(Error::Io("disk full".into()))
        })
        .unwrap_err();
        assert_eq!(err, Error::Io("disk full".into()));
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(entries(&dir), ["a.npy"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn paths_with_nul_are_refused() {
        let e = check_path(Path::new(std::ffi::OsStr::from_bytes(b"victim\0.npy"))).unwrap_err();
        assert_eq!(
            e,
            Error::InvalidArgument(
                "path \"victim\\0.npy\" contains a NUL byte at position 6; paths are never truncated".into()
            )
        );
    }
}

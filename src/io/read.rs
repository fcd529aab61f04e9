//! Reading configuration files that may be hostile: only regular files (or
//! symlinks to one) are read. A FIFO would block forever and a device such
//! as /dev/zero never ends; both are refused with an error instead.

use std::io::Read;
use std::path::Path;

/// `O_NONBLOCK` on Linux: opening a FIFO with it returns at once instead of
/// waiting for a writer, so the type check after `open` cannot be raced.
#[cfg(target_os = "linux")]
const OPEN_FLAGS: i32 = 0o4000;
#[cfg(not(target_os = "linux"))]
const OPEN_FLAGS: i32 = 0;

/// The error for a path that is not a regular file.
fn not_regular_error() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        "not a regular file (a FIFO, socket or device); it must be a regular file or a symlink to one",
    )
}

/// Open `path` for reading when it is a regular file (following
/// symlinks): an `InvalidInput` error for a FIFO, socket, device or
/// directory, checked on the open file so that a swap after the check
/// cannot make a read block. Also returns the file's length.
pub fn open_regular(path: &Path) -> std::io::Result<(std::fs::File, u64)> {
    use std::os::unix::fs::OpenOptionsExt;
    // Checked before opening too: without O_NONBLOCK (not Linux), opening
    // a FIFO would block.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(not_regular_error());
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(OPEN_FLAGS)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular_error());
    }
    Ok((file, meta.len()))
}

/// Why a file was not read, for a warning: "not found", else
/// "cannot read: <error>".
pub fn unread_reason(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        "not found".to_string()
    } else {
        format!("cannot read: {e}")
    }
}

/// Read `path` when it is a regular file (see [`open_regular`]).
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    let (mut file, len) = open_regular(path)?;
    // Sized up front, but fallibly: a sparse file of terabytes is an
    // error, not an abort.
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(usize::try_from(len).unwrap_or(usize::MAX))
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::OutOfMemory,
                format!("{len} bytes do not fit in memory"),
            )
        })?;
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The bytes of regular file `path` from byte `offset` on, at most `max`
/// of them (the last `max` when there are more): for reading what a log
/// file gained since an offset without reading the whole log. `None`
/// when `path` is missing, unreadable or not a regular file (a log file
/// of `/dev/stdout` in a container must not be read: it would block).
pub fn read_regular_tail(path: &Path, offset: u64, max: u64) -> Option<Vec<u8>> {
    use std::io::{Seek, SeekFrom};
    let (mut file, len) = open_regular(path).ok()?;
    // A log rotated or truncated since the offset: read it from the start.
    let offset = if offset > len { 0 } else { offset };
    let start = offset.max(len.saturating_sub(max));
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut bytes = Vec::new();
    file.take(max).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_and_others_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("main.cf");
        std::fs::write(&file, b"a = b\n").unwrap();
        assert_eq!(read_regular(&file).unwrap(), b"a = b\n");
        let link = dir.path().join("link.cf");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read_regular(&link).unwrap(), b"a = b\n");
        for other in [dir.path(), Path::new("/dev/zero"), Path::new("/dev/null")] {
            let e = read_regular(other).unwrap_err();
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::InvalidInput,
                "{}",
                other.display()
            );
        }
        assert_eq!(
            read_regular(&dir.path().join("missing"))
                .unwrap_err()
                .kind(),
            std::io::ErrorKind::NotFound
        );
    }

    #[test]
    fn tails_read_from_the_offset_and_skip_what_is_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("maillog");
        std::fs::write(&log, b"old line\nnew line\n").unwrap();
        assert_eq!(read_regular_tail(&log, 9, 1 << 20).unwrap(), b"new line\n");
        assert_eq!(read_regular_tail(&log, 0, 5).unwrap(), b"line\n");
        // Truncated (rotated) since the offset: from the start.
        assert_eq!(
            read_regular_tail(&log, 1000, 1 << 20).unwrap(),
            b"old line\nnew line\n"
        );
        assert_eq!(read_regular_tail(Path::new("/dev/zero"), 0, 10), None);
        assert_eq!(read_regular_tail(&dir.path().join("missing"), 0, 10), None);
    }
}

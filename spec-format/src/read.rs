//! Reading an input file whole, up to a limit: the importer and the generator take 30 to
//! 40 times a file's size in memory, so a file over any real one's size is refused before
//! it is read further, whatever it is (a huge file, a device, a pipe that never ends).

use std::io::Read;
use std::path::Path;

/// The largest doc page the importer reads: twice the largest of Feishu's (the
/// document-block pages, about 940 KiB), and the size the budgets are checked at (2 s and
/// 256 MB for any input up to it: `cargo xtask budgets`).
pub const MAX_PAGE_BYTES: u64 = 2 * 1024 * 1024;

/// The largest spec file the generator reads: over ten times the largest real one (about
/// 170 KiB), and the size the budgets are checked at.
pub const MAX_SPEC_FILE_BYTES: u64 = 2 * 1024 * 1024;

/// Why a file could not be read whole.
#[derive(Debug)]
pub enum ReadError {
    /// The file system's error.
    Io(std::io::Error),
    /// The file is longer than the limit, in bytes.
    TooLarge {
        /// The limit.
        limit: u64,
    },
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(err) => write!(f, "cannot read: {err}"),
            ReadError::TooLarge { limit } => write!(
                f,
                "the file is over {limit} bytes, more than any real one; it is not read"
            ),
        }
    }
}

impl std::error::Error for ReadError {}

/// The bytes of `path`, if there are at most `limit` of them. At most `limit + 1` bytes are
/// read whatever the file is.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_refuses_past_it() {
        let dir = std::env::temp_dir().join(format!("feishu-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("page.md");
        std::fs::write(&file, "x".repeat(10)).unwrap();
        assert_eq!(read_limited(&file, 10).unwrap().len(), 10);
        assert!(matches!(
            read_limited(&file, 9),
            Err(ReadError::TooLarge { limit: 9 })
        ));
        assert!(matches!(
            read_limited(&dir.join("absent.md"), 9),
            Err(ReadError::Io(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_file_is_refused_at_the_limit() {
        assert!(matches!(
            read_limited(Path::new("/dev/zero"), 1024),
            Err(ReadError::TooLarge { limit: 1024 })
        ));
    }
}

//! One transfer: the bytes copied from the source folder to the destination folder, their
//! ADLER32 computed on the way, checked as the job asks, with the reasons FTS reports.
//!
//! The copy goes to a hidden part file next to the destination; the store renames it into
//! place only if the transfer was not canceled meanwhile, so a destination never holds a
//! partial file.
//!
//! Limitation: only ADLER32 is verified; a checksum of another algorithm (MD5) is accepted
//! and not compared.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use crate::checksum::{Adler32, UserChecksum};
use crate::storage::Storage;

use super::model::ChecksumCheck;
use super::store::Order;

/// What a successful copy left behind, before it is committed.
#[derive(Debug)]
pub struct Copied {
    pub size: u64,
    pub adler32: u32,
    pub part: PathBuf,
    pub destination: PathBuf,
}

/// A failed copy: FTS's reason, and whether a retry may help.
#[derive(Debug, PartialEq, Eq)]
pub struct CopyError {
    pub reason: String,
    pub recoverable: bool,
}

fn fail(reason: String, recoverable: bool) -> CopyError {
    CopyError {
        reason,
        recoverable,
    }
}

/// Copies the file of `order`; blocking, run it on a blocking thread.
pub fn copy(storage: &Storage, order: &Order) -> Result<Copied, CopyError> {
    let unserved = |url: &str| {
        fail(format!("TRANSFER [113] TRANSFER Could not resolve {url}: no storage endpoint of gridsim serves it"), false)
    };
    let source = storage
        .resolve(&order.source)
        .ok_or_else(|| unserved(&order.source))?
        .path;
    let destination = storage
        .resolve(&order.destination)
        .ok_or_else(|| unserved(&order.destination))?
        .path;

    let mut input = match File::open(&source) {
        Ok(file) if file.metadata().is_ok_and(|m| m.is_file()) => file,
        Ok(_) => {
            return Err(fail(
                "SOURCE [21] Failed to stat file (Is a directory)".to_owned(),
                false,
            ))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(fail(
                "SOURCE [2] SOURCE Failed to stat file (No such file or directory)".to_owned(),
                false,
            ))
        }
        Err(e) => {
            return Err(fail(
                format!("SOURCE [5] SOURCE Failed to open file ({e})"),
                true,
            ))
        }
    };
    if destination.exists() && !order.overwrite {
        return Err(fail(
            "DESTINATION OVERWRITE [17] Destination file exists and overwrite is not enabled"
                .to_owned(),
            false,
        ));
    }

    let user = UserChecksum::parse(&order.checksum);
    let part = part_path(&destination);
    let (size, sum) = stream(&mut input, &destination, &part).map_err(|e| {
        let _ = std::fs::remove_file(&part);
        fail(
            format!("DESTINATION [5] DESTINATION Failed to write file ({e})"),
            true,
        )
    })?;

    // The bytes written are the bytes read, so source and destination sums agree by
    // construction; what can disagree is the user's checksum.
    let check_user = matches!(
        order.verify,
        ChecksumCheck::Source | ChecksumCheck::Both | ChecksumCheck::Target
    );
    if check_user && user.adler32_matches(sum.value()) == Some(false) {
        let _ = std::fs::remove_file(&part);
        let expected = user.value.unwrap_or_default();
        let side = if order.verify == ChecksumCheck::Target {
            "DESTINATION"
        } else {
            "SOURCE"
        };
        let what = side.to_ascii_lowercase();
        return Err(fail(
            format!(
                "{side} [5] {side} CHECKSUM MISMATCH User defined checksum and {what} checksum \
                 do not match {expected} != {}",
                sum.hex()
            ),
            false,
        ));
    }
    Ok(Copied {
        size,
        adler32: sum.value(),
        part,
        destination,
    })
}

fn stream(input: &mut File, destination: &Path, part: &Path) -> std::io::Result<(u64, Adler32)> {
    if let Some(parent) = destination.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut output = File::create(part)?;
    let mut sum = Adler32::default();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let read = input.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        sum.update(&buffer[..read]);
        output.write_all(&buffer[..read])?;
        size += read as u64;
    }
    output.sync_data()?;
    Ok((size, sum))
}

/// The hidden file a copy writes before it is committed.
fn part_path(destination: &Path) -> PathBuf {
    let name = destination
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    destination.with_file_name(format!(".{name}.gridsim-part"))
}

/// Moves a copy into place (`keep`) or throws it away.
pub fn commit(copied: &Copied, keep: bool) -> Result<(), String> {
    if keep {
        std::fs::rename(&copied.part, &copied.destination)
            .map_err(|e| format!("DESTINATION [5] DESTINATION Failed to rename part file ({e})"))
    } else {
        let _ = std::fs::remove_file(&copied.part);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::store::{Entry, Link};
    use super::*;
    use crate::checksum::adler32;
    use crate::config::StorageConfig;

    struct Fixture {
        root: PathBuf,
        storage: Storage,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    fn fixture(name: &str) -> Fixture {
        let root = std::env::temp_dir().join(format!("gridsim-copy-{name}-{}", std::process::id()));
        let endpoint = |n: &str| StorageConfig {
            name: n.to_owned(),
            url: format!("http://127.0.0.1:1/storage/{n}"),
            path: root.join(n),
        };
        let storage = Storage::new(&[endpoint("a"), endpoint("b")]).unwrap();
        std::fs::write(root.join("a/f1"), b"bm@n run 8 raw data").unwrap();
        Fixture { root, storage }
    }

    fn order(file: &str, checksum: &str, verify: ChecksumCheck, overwrite: bool) -> Order {
        Order {
            entry: Entry {
                job: uuid::Uuid::nil(),
                row: 0,
            },
            link: Link {
                source: 0,
                destination: 1,
            },
            source: format!("http://127.0.0.1:1/storage/a/{file}").into(),
            destination: format!("http://127.0.0.1:1/storage/b/run8/{file}").into(),
            checksum: checksum.into(),
            verify,
            overwrite,
            attempt: 0,
            staging: false,
        }
    }

    #[test]
    fn copies_bytes_with_their_adler32_and_commits_atomically() {
        let f = fixture("ok");
        let expected = adler32(b"bm@n run 8 raw data");
        let checksum = format!("ADLER32:{expected:08x}");
        let copied = copy(
            &f.storage,
            &order("f1", &checksum, ChecksumCheck::Both, false),
        )
        .unwrap();
        assert_eq!(copied.adler32, expected);
        let destination = f.root.join("b/run8/f1");
        assert!(
            !destination.exists(),
            "nothing at the destination before the commit"
        );
        commit(&copied, true).unwrap();
        assert_eq!(std::fs::read(&destination).unwrap(), b"bm@n run 8 raw data");
        assert!(!copied.part.exists());
    }

    #[test]
    fn failures_carry_fts_reasons() {
        let f = fixture("fail");
        let missing = copy(
            &f.storage,
            &order("nope", "ADLER32", ChecksumCheck::None, false),
        );
        assert!(missing.unwrap_err().reason.starts_with("SOURCE [2]"));

        let wrong = copy(
            &f.storage,
            &order("f1", "ADLER32:00000001", ChecksumCheck::Both, false),
        );
        let error = wrong.unwrap_err();
        assert!(
            error.reason.contains("CHECKSUM MISMATCH"),
            "{}",
            error.reason
        );
        let unchecked = copy(
            &f.storage,
            &order("f1", "ADLER32:00000001", ChecksumCheck::None, false),
        );
        commit(&unchecked.unwrap(), true).unwrap();

        let exists = copy(
            &f.storage,
            &order("f1", "ADLER32", ChecksumCheck::None, false),
        );
        assert_eq!(
            exists.unwrap_err().reason,
            "DESTINATION OVERWRITE [17] Destination file exists and overwrite is not enabled"
        );
        let replaced = copy(
            &f.storage,
            &order("f1", "ADLER32", ChecksumCheck::None, true),
        );
        assert!(replaced.is_ok());
    }
}

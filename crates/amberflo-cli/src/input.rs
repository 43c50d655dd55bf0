//! Opening an input: a file or standard input, gunzipped when it starts with gzip's magic
//! bytes, with a count of the bytes read (for progress) and the file's identity (for derived
//! unique ids and checkpoints).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use amberflo_types::Uuid;
use flate2::read::MultiGzDecoder;

use crate::cli::InputFormat;
use crate::error::CliError;

/// How many of a file's first (decompressed) bytes name it.
const IDENTITY_BYTES: usize = 64 * 1024;

/// The namespace of file identities.
const FILE_NAMESPACE: Uuid = Uuid::from_u128(0x6a7f_3c1e_52d4_4b8e_9a61_0c2f_d8e4_1b70);

/// An open input.
pub(crate) struct Input {
    /// The path as given (`-` for standard input).
    pub(crate) path: PathBuf,
    /// The format to read it as.
    pub(crate) format: InputFormat,
    /// Names the file by its first bytes: the same content gives the same identity, wherever
    /// the file is, so reading it again makes the same unique ids.
    pub(crate) identity: Uuid,
    /// The file's size on disk, when known (for the progress bar).
    pub(crate) size: Option<u64>,
    /// Bytes read from the file so far (compressed bytes, for a gzip file).
    pub(crate) read: Arc<AtomicU64>,
    /// The decompressed content, its first bytes included.
    pub(crate) reader: Box<dyn Read + Send>,
}

impl Input {
    /// Opens `path` (`-` for standard input), to be read as `format` (else told by the
    /// extension: CSV for `.csv`, else JSON).
    pub(crate) fn open(path: &Path, format: Option<InputFormat>) -> Result<Input, CliError> {
        let fail = |error: io::Error| CliError::input(path, &error);
        let (raw, size): (Box<dyn Read + Send>, Option<u64>) = if path.as_os_str() == "-" {
            (Box::new(io::stdin()), None)
        } else {
            let file = File::open(path).map_err(fail)?;
            let size = file.metadata().ok().map(|m| m.len());
            (Box::new(file), size)
        };
        let read = Arc::new(AtomicU64::new(0));
        let counted = Counting {
            inner: raw,
            read: Arc::clone(&read),
        };
        let mut buffered = BufReader::with_capacity(64 * 1024, counted);
        let gzip = buffered
            .fill_buf()
            .map_err(fail)?
            .starts_with(&[0x1f, 0x8b]);
        let mut content: Box<dyn Read + Send> = if gzip {
            Box::new(MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        let mut first = Vec::with_capacity(IDENTITY_BYTES);
        content
            .by_ref()
            .take(IDENTITY_BYTES as u64)
            .read_to_end(&mut first)
            .map_err(fail)?;
        let identity = Uuid::new_v5(&FILE_NAMESPACE, &first);
        let format = format.unwrap_or_else(|| format_of(path));
        Ok(Input {
            path: path.to_owned(),
            format,
            identity,
            size,
            read,
            reader: Box::new(Cursor::new(first).chain(content)),
        })
    }
}

/// The format a file's name says: CSV for `.csv` (or `.csv.gz`), else JSON (array or NDJSON,
/// told by the first byte).
fn format_of(path: &Path) -> InputFormat {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".csv") {
        InputFormat::Csv
    } else {
        InputFormat::Json
    }
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.read.fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}

//! JSON-array files: the array is streamed with serde's `SeqAccess`, one element at a time,
//! through a reader that tracks each element's first line and caps its size.

use std::cell::Cell;
use std::fmt;
use std::io::{self, Read};

use serde::Deserializer as _;
use serde::de::{SeqAccess, Visitor};
use serde_json::Value;

use super::record::{self, Place};
use super::report::{FileReport, Problem, RecordError};
use super::{FileValidator, ReadRecord};

/// Where the reader is: shared by the [`Tracked`] reader (which serde_json owns) and the
/// visitor that checks the elements.
struct Tracker {
    /// The line of the next byte.
    line: Cell<u64>,
    /// The line of the first byte after the mark that is not a separator.
    start_line: Cell<Option<u64>>,
    /// Bytes read since the mark.
    bytes: Cell<u64>,
    /// The most bytes an element may take.
    limit: u64,
    /// Set when an element went past `limit`.
    exceeded: Cell<bool>,
    /// The 0-based index of the element being read.
    index: Cell<u64>,
    /// Set when the array's `]` was read.
    done: Cell<bool>,
}

impl Tracker {
    /// Starts tracking the next element.
    fn mark(&self) {
        self.start_line.set(None);
        self.bytes.set(0);
    }

    fn element_line(&self) -> u64 {
        self.start_line.get().unwrap_or_else(|| self.line.get())
    }
}

/// A reader that counts lines and bytes for the [`Tracker`]. serde_json reads it one byte
/// at a time (it peeks at most one byte ahead), so the counts follow the parser.
struct Tracked<'t, R> {
    inner: R,
    tracker: &'t Tracker,
}

impl<R: Read> Read for Tracked<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        let tracker = self.tracker;
        for &byte in &buf[..read] {
            if byte == b'\n' {
                tracker.line.set(tracker.line.get() + 1);
            } else if tracker.start_line.get().is_none()
                && !matches!(byte, b' ' | b'\t' | b'\r' | b',')
            {
                tracker.start_line.set(Some(tracker.line.get()));
            }
        }
        let bytes = tracker
            .bytes
            .get()
            .saturating_add(u64::try_from(read).unwrap_or(u64::MAX));
        tracker.bytes.set(bytes);
        if bytes > tracker.limit {
            tracker.exceeded.set(true);
            return Err(io::Error::other("record exceeds the size limit"));
        }
        Ok(read)
    }
}

/// Checks the array `reader` starts with (its `[` not yet consumed), on line `line`.
pub(crate) fn check<R: Read>(
    reader: R,
    line: u64,
    options: &FileValidator,
    report: &mut FileReport,
    on_record: &mut dyn FnMut(Result<ReadRecord, &RecordError>),
) -> io::Result<()> {
    let tracker = Tracker {
        line: Cell::new(line),
        start_line: Cell::new(None),
        bytes: Cell::new(0),
        // Generous for the bytes before the `[`, which count against the first element.
        limit: u64::try_from(options.max_record_bytes)
            .unwrap_or(u64::MAX)
            .saturating_add(1),
        exceeded: Cell::new(false),
        index: Cell::new(0),
        done: Cell::new(false),
    };
    let mut deserializer = serde_json::Deserializer::from_reader(Tracked {
        inner: reader,
        tracker: &tracker,
    });
    let visitor = Elements {
        tracker: &tracker,
        options,
        report: &mut *report,
        on_record: &mut *on_record,
    };
    let result = deserializer
        .deserialize_seq(visitor)
        .and_then(|()| deserializer.end());
    let Err(error) = result else {
        return Ok(());
    };
    let at_end = tracker.index.get();
    if tracker.exceeded.get() {
        let problem = Problem::TooLarge {
            limit: options.max_record_bytes,
        };
        let error = RecordError {
            line: tracker.element_line(),
            column: None,
            index: Some(at_end),
            problem,
        };
        on_record(Err(&error));
        report.push_error(error, options.max_errors);
        report.complete = false;
        return Ok(());
    }
    if error.is_io() {
        return Err(io::Error::from(error));
    }
    // A syntax error: serde_json knows its line and column in the whole file.
    // After the `]`, the only syntax error left is text after the array.
    let finished = tracker.done.get();
    let error = RecordError {
        line: u64::try_from(error.line()).unwrap_or(u64::MAX),
        column: u64::try_from(error.column()).ok().filter(|&c| c > 0),
        index: (!finished).then_some(at_end),
        problem: record::syntax_problem(&error),
    };
    on_record(Err(&error));
    report.push_error(error, options.max_errors);
    report.complete = finished;
    Ok(())
}

/// Visits the array's elements, checking each as it is read.
struct Elements<'a> {
    tracker: &'a Tracker,
    options: &'a FileValidator,
    report: &'a mut FileReport,
    on_record: &'a mut dyn FnMut(Result<ReadRecord, &RecordError>),
}

impl<'de> Visitor<'de> for Elements<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of meter records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            self.tracker.mark();
            let Some(value) = seq.next_element::<Value>()? else {
                self.tracker.done.set(true);
                return Ok(());
            };
            let index = self.tracker.index.get();
            let place = Place {
                source: self.options.derive_unique_ids,
                position: index,
            };
            let line = self.tracker.element_line();
            match record::check_value(&value, place) {
                Ok(record) => {
                    self.report.valid += 1;
                    (self.on_record)(Ok(ReadRecord {
                        line,
                        index: Some(index),
                        record,
                    }));
                }
                Err(problem) => {
                    let error = RecordError {
                        line,
                        column: None,
                        index: Some(index),
                        problem,
                    };
                    (self.on_record)(Err(&error));
                    self.report.push_error(error, self.options.max_errors);
                }
            }
            self.tracker.index.set(index + 1);
        }
    }
}

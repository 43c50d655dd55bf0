//! Progress of an ingest: a bar on a terminal (records/s, bytes, ETA), else a plain line
//! every few seconds, on standard error.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::ProgressMode;

/// What has happened so far, over every file.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    /// Records read (valid or not).
    pub(crate) read: u64,
    /// Records that were invalid.
    pub(crate) invalid: u64,
    /// Records handed to the client.
    pub(crate) sent: u64,
    /// Records not sent again because the spool already held them (`--resume`).
    pub(crate) skipped: u64,
}

/// How progress is shown.
pub(crate) struct Progress {
    shown: Shown,
    started: Instant,
}

enum Shown {
    Bar(ProgressBar),
    Lines { every: Duration, last: Instant },
    Nothing,
}

impl Progress {
    pub(crate) fn new(mode: ProgressMode, every: Duration) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let shown = match mode {
            ProgressMode::Bar => Shown::Bar(ProgressBar::hidden()),
            ProgressMode::Auto if terminal => Shown::Bar(ProgressBar::hidden()),
            ProgressMode::Auto | ProgressMode::Lines => Shown::Lines {
                every,
                last: Instant::now(),
            },
            ProgressMode::None => Shown::Nothing,
        };
        Progress {
            shown,
            started: Instant::now(),
        }
    }

    /// Starts showing a file of `size` bytes (when known).
    pub(crate) fn start_file(&mut self, name: &str, size: Option<u64>) {
        if let Shown::Bar(bar) = &mut self.shown {
            bar.finish_and_clear();
            let new = match size {
                Some(size) => ProgressBar::new(size),
                None => ProgressBar::new_spinner(),
            };
            let template = if size.is_some() {
                "{prefix} [{wide_bar}] {bytes}/{total_bytes} {msg} ETA {eta}"
            } else {
                "{prefix} {spinner} {bytes} {msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                new.set_style(style.progress_chars("=> "));
            }
            new.set_prefix(name.to_owned());
            new.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            *bar = new;
        }
    }

    /// Shows `counts`, with `bytes` of the current file read; `name` is the file's.
    pub(crate) fn update(&mut self, name: &str, counts: Counts, bytes: u64, size: Option<u64>) {
        let rate = counts.read as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        match &mut self.shown {
            Shown::Bar(bar) => {
                bar.set_position(bytes);
                bar.set_message(format!("{} records, {rate:.0}/s", counts.read));
            }
            Shown::Lines { every, last } if last.elapsed() >= *every => {
                *last = Instant::now();
                let of = size.map(|size| format!(" of {size}")).unwrap_or_default();
                let _ = writeln!(
                    std::io::stderr(),
                    "amberflo: {name}: {} records read ({rate:.0}/s), {} invalid, {} sent; {bytes}{of} bytes",
                    counts.read,
                    counts.invalid,
                    counts.sent,
                );
            }
            Shown::Lines { .. } | Shown::Nothing => {}
        }
    }

    /// Clears the bar.
    pub(crate) fn finish(&self) {
        if let Shown::Bar(bar) = &self.shown {
            bar.finish_and_clear();
        }
    }
}

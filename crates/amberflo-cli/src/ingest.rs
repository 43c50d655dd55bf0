//! `amberflo ingest`: files of meter records through the SDK's batching client, with
//! progress, a summary, and (with `--spool`) checkpoints to resume from.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amberflo::s3::{S3Credentials, S3Destination};
use amberflo::{Client, MeterError, MeterRecord, RetryPolicy};

use crate::checkpoint::Checkpoint;
use crate::cli::{Connection, IngestArgs};
use crate::connect::Target;
use crate::error::{CliError, Exit, chain};
use crate::input::Input;
use crate::progress::{Counts, Progress};
use crate::records;

/// How many invalid records are printed as they are found (all are counted).
const SHOWN_INVALID: u64 = 20;

/// What could not be delivered, from the client's error callback.
#[derive(Default)]
struct Failures {
    records: AtomicU64,
    first: Mutex<Option<String>>,
}

pub(crate) fn run(
    connection: &Connection,
    args: &IngestArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if args.resume && args.spool.is_none() {
        return Err(CliError::config(
            "--resume needs --spool: without one, records not delivered when the command \
             stops are lost with it (rerun the file instead: Amberflo drops the records it has)",
        ));
    }
    let resume = args.spool.is_some() && !args.no_resume;
    let failures = Arc::new(Failures::default());
    let sender = if args.dry_run {
        None
    } else {
        let target = Target::new(connection)?;
        let client = client(&target, args, Arc::clone(&failures))?;
        Some((target, client))
    };
    let mut progress = Progress::new(args.progress, Duration::from_secs(args.progress_every));
    let mut counts = Counts::default();
    for path in &args.inputs.files {
        let input = Input::open(path, args.inputs.input_format)?;
        let name = path.display().to_string();
        let mut checkpoint = match (&args.spool, &sender) {
            (Some(spool), Some(_)) => Some(
                Checkpoint::open(spool, input.identity, input.size, resume)
                    .map_err(|error| CliError::input(spool, &error))?,
            ),
            _ => None,
        };
        if checkpoint.as_ref().is_some_and(|c| c.complete) {
            let _ = writeln!(
                std::io::stderr(),
                "amberflo: {name}: already ingested (its checkpoint says so); --no-resume sends it again"
            );
            continue;
        }
        let skip = checkpoint.as_ref().map_or(0, |c| c.done);
        if skip > 0 {
            let _ = writeln!(
                std::io::stderr(),
                "amberflo: {name}: resuming after record {skip} (the spool holds those)"
            );
        }
        let (bytes, size) = (Arc::clone(&input.read), input.size);
        progress.start_file(&name, size);
        let mut good = 0_u64;
        let mut stop = None;
        records::read(input, true, |item| {
            if stop.is_some() {
                return;
            }
            counts.read += 1;
            match item {
                Err(invalid) => {
                    counts.invalid += 1;
                    if counts.invalid <= SHOWN_INVALID {
                        let _ = writeln!(
                            std::io::stderr(),
                            "amberflo: {name}:{}: {}",
                            invalid.line,
                            invalid.reason
                        );
                    }
                }
                Ok(record) => {
                    good += 1;
                    if good <= skip {
                        counts.skipped += 1;
                    } else {
                        let sent = match &sender {
                            Some((_, client)) => send(client, record),
                            None => Ok(()),
                        };
                        let noted = match &mut checkpoint {
                            Some(checkpoint) => checkpoint.advance(good).map_err(checkpoint_failed),
                            None => Ok(()),
                        };
                        if let Err(error) = sent.and(noted) {
                            stop = Some(error);
                            return;
                        }
                        counts.sent += 1;
                    }
                }
            }
            if counts.read % 1024 == 0 {
                progress.update(&name, counts, bytes.load(Ordering::Relaxed), size);
            }
        })?;
        if let Some(error) = stop {
            return Err(error);
        }
        progress.update(&name, counts, bytes.load(Ordering::Relaxed), size);
        if let Some(checkpoint) = &mut checkpoint {
            checkpoint.finish(good).map_err(checkpoint_failed)?;
        }
    }
    progress.finish();
    let files = args.inputs.files.len();
    let _ = writeln!(
        out,
        "read {} records from {files} file{}: {} valid, {} invalid",
        counts.read,
        if files == 1 { "" } else { "s" },
        counts.read - counts.invalid,
        counts.invalid
    );
    let Some((_target, client)) = sender else {
        let _ = writeln!(out, "dry run: nothing sent");
        return verdict(counts.invalid, 0, None);
    };
    let waited = client.flush(Duration::from_secs(args.wait));
    let _ = client.shutdown(Duration::from_secs(5));
    let stats = client.stats();
    let failed = failures.records.load(Ordering::Relaxed);
    let left = if args.spool.is_some() {
        stats.left_on_spool + stats.pending()
    } else {
        0
    };
    let skipped = if counts.skipped > 0 {
        format!(" (and {} the spool already held)", counts.skipped)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "sent {}{skipped}, delivered {}, failed {failed}{}",
        counts.sent,
        stats.delivered,
        if left > 0 {
            format!(", {left} left on the spool for the next run")
        } else {
            String::new()
        }
    );
    let first_failure = failures.first.lock().ok().and_then(|first| first.clone());
    if left > 0 {
        return Err(CliError::new(
            Exit::Records,
            format!(
                "{left} records not delivered within {} s; they stay on the spool and the next \
                 run with --spool delivers them",
                args.wait
            ),
        ));
    }
    if let Err(error) = waited
        && failed == 0
    {
        return Err(CliError::new(
            Exit::Records,
            format!(
                "not everything was delivered within {} s: {}",
                args.wait,
                chain(&error)
            ),
        ));
    }
    verdict(counts.invalid, failed, first_failure)
}

/// The client records go through: the target's, with the error callback, and the spool,
/// retries and S3 destination asked for.
fn client(target: &Target, args: &IngestArgs, failures: Arc<Failures>) -> Result<Client, CliError> {
    let mut builder = target.builder().on_error(move |error, batch| {
        failures
            .records
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        if let Ok(mut first) = failures.first.lock() {
            first.get_or_insert_with(|| chain(&error));
        }
    });
    if let Some(spool) = &args.spool {
        builder = builder.spool(spool);
    }
    if let Some(retries) = args.retries {
        // The default waits, the last one repeated for retries beyond them.
        let default = RetryPolicy::default();
        let last = default.backoff().last().copied().unwrap_or_default();
        let waits = default
            .backoff()
            .iter()
            .copied()
            .chain(std::iter::repeat(last))
            .take(retries);
        builder = builder.retry_policy(RetryPolicy::new(waits));
    }
    if let Some(to) = &args.to_s3 {
        builder = builder.ingest_to_s3(s3_destination(to, args)?);
    }
    builder
        .build()
        .map_err(|error| CliError::sdk("cannot start the client", &error))
}

/// `BUCKET/PREFIX` as a destination, with credentials from the environment.
fn s3_destination(to: &str, args: &IngestArgs) -> Result<S3Destination, CliError> {
    let (bucket, prefix) = to.split_once('/').unwrap_or((to, ""));
    let credentials = S3Credentials::from_env()
        .map_err(|error| CliError::config(format!("--to-s3: {}", chain(&error))))?;
    let mut builder = S3Destination::builder(bucket)
        .region(&args.s3_region)
        .credentials(credentials);
    if !prefix.is_empty() {
        // A folder: `bucket/backfill` puts objects under `backfill/`.
        let folder = if prefix.ends_with('/') {
            prefix.to_owned()
        } else {
            format!("{prefix}/")
        };
        builder = builder.prefix(folder);
    }
    if let Some(endpoint) = &args.s3_endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    builder
        .build()
        .map_err(|error| CliError::config(format!("--to-s3: {}", chain(&error))))
}

/// Hands `record` to the client, waiting while its queue is full.
fn send(client: &Client, mut record: MeterRecord) -> Result<(), CliError> {
    loop {
        match client.meter_record_timeout(record, Duration::from_secs(1)) {
            Ok(()) => return Ok(()),
            Err(MeterError::Rejected(refused)) if refused.is_full() => {
                record = refused.into_inner();
            }
            Err(error) => {
                return Err(CliError::new(
                    Exit::Records,
                    format!("the client refused a record: {}", chain(&error)),
                ));
            }
        }
    }
}

#[allow(clippy::needless_pass_by_value)] // the shape `map_err` takes
fn checkpoint_failed(error: std::io::Error) -> CliError {
    CliError::new(Exit::Input, format!("cannot write a checkpoint: {error}"))
}

/// The command's end: success, or exit 1 naming what went wrong.
fn verdict(invalid: u64, failed: u64, first_failure: Option<String>) -> Result<(), CliError> {
    let mut problems = Vec::new();
    if invalid > 0 {
        problems.push(format!("{invalid} invalid records"));
    }
    if failed > 0 {
        let cause = first_failure
            .map(|cause| format!(" (first: {cause})"))
            .unwrap_or_default();
        problems.push(format!("{failed} records not delivered{cause}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::new(Exit::Records, problems.join("; ")))
    }
}

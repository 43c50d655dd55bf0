//! The floor: what metering these records costs without HTTP (see the crate docs of
//! `ingest_load`). The sink does the facade's encoding: the ingest JSON, gzipped.

use std::path::PathBuf;
use std::time::Duration;

use amberflo::MeterRecord;
use amberflo_batcher::{Batcher, CodecError, SinkError, SinkFn, SpoolCodec, SpoolConfig, defaults};
use amberflo_transport::gzip_ingest_body;
use amberflo_types::write_records_json;

use crate::{Args, make_record, process_cpu_seconds};

/// One JSON document per record, like the facade's spool.
struct Json;

impl SpoolCodec<MeterRecord> for Json {
    fn encode(&self, item: &MeterRecord, out: &mut Vec<u8>) -> Result<(), CodecError> {
        serde_json::to_writer(out, item).map_err(CodecError::new)
    }

    fn decode(&self, bytes: &[u8]) -> Result<MeterRecord, CodecError> {
        serde_json::from_slice(bytes).map_err(CodecError::new)
    }
}

/// Encodes and gzips a batch, as the facade's ingest sink does before it posts.
fn encode(batch: &[MeterRecord]) -> Result<(), SinkError> {
    let mut json = Vec::with_capacity(batch.len().saturating_mul(256));
    write_records_json(batch, &mut json).map_err(SinkError::fatal)?;
    let body = gzip_ingest_body(&json).map_err(SinkError::fatal)?;
    std::hint::black_box(body);
    Ok(())
}

/// Removes the floor's spool directory however the measurement ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// CPU microseconds per record of the floor; `None` when `--floor-records 0`.
pub(crate) fn measure(args: &Args, customers: &[String]) -> Result<Option<f64>, String> {
    let records = args.floor_records;
    if records == 0 {
        return Ok(None);
    }
    let mut builder = Batcher::builder()
        .max_batch_size(args.batch_size.unwrap_or(defaults::MAX_BATCH_SIZE))
        .workers(args.workers.unwrap_or(defaults::WORKERS))
        .capacity(args.queue_capacity.unwrap_or(defaults::CAPACITY));
    if let Some(linger) = args.linger_ms {
        builder = builder.linger(Duration::from_millis(linger));
    }
    let _spool_dir = match &args.spool {
        Some(_) => {
            let dir =
                std::env::temp_dir().join(format!("ingest_load-floor-{}", std::process::id()));
            builder = builder.spool(SpoolConfig::new(&dir), Json);
            Some(TempDir(dir))
        }
        None => None,
    };
    let batcher = builder
        .build(SinkFn::new(encode))
        .map_err(|e| format!("floor: cannot build the batcher: {e}"))?;
    let wait = Duration::from_secs(args.shutdown_timeout_s);
    let cpu_before = process_cpu_seconds();
    for i in 0..records {
        let record = make_record(customers, usize::try_from(i).unwrap_or(0), args.dimensions)?;
        batcher
            .send_timeout(record, wait)
            .map_err(|e| format!("floor: no room in the queue: {e}"))?;
    }
    batcher
        .shutdown(wait)
        .map_err(|e| format!("floor: shutdown: {e}"))?;
    let cpu = process_cpu_seconds() - cpu_before;
    let stats = batcher.stats();
    if stats.delivered != records {
        return Err(format!("floor: {records} records sent, {stats:?}"));
    }
    Ok(Some(cpu / records as f64 * 1e6))
}

//! The floor: the run's workload metered through a client whose transport answers every
//! request at once, in memory (see the crate docs of `ingest_load`).

use std::sync::Arc;

use amberflo::{SpoolConfig, TransportError};
use amberflo_transport::{Transport, async_trait};
use bytes::Bytes;

use crate::{Args, configured, delivered, meter_all, process_cpu_seconds};

/// Answers `200 OK` to every request without any I/O.
struct InMemory;

#[async_trait]
impl Transport for InMemory {
    async fn send(
        &self,
        _request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        Ok(http::Response::new(Bytes::from_static(b"ok")))
    }
}

/// CPU microseconds per record of the floor; `None` when `--floor-records 0`.
pub(crate) fn measure(args: &Args, customers: &[String]) -> Result<Option<f64>, String> {
    let records = args.floor_records;
    if records == 0 {
        return Ok(None);
    }
    // Removed however the measurement ends.
    let spool = match &args.spool {
        Some(_) => {
            Some(tempfile::tempdir().map_err(|e| format!("floor: no spool directory: {e}"))?)
        }
        None => None,
    };
    let mut builder = configured(args).transport(Arc::new(InMemory));
    if let Some(dir) = &spool {
        builder = builder.spool_config(SpoolConfig::new(dir.path()).fsync(args.fsync.policy()));
    }
    let cpu_before = process_cpu_seconds();
    let client = builder
        .build()
        .map_err(|e| format!("floor: cannot build the client: {e}"))?;
    meter_all(&client, customers, records, args)?;
    let cpu = process_cpu_seconds() - cpu_before;
    delivered(records, &client.stats(), &client.aggregation_stats())
        .map_err(|message| format!("floor: {message}"))?;
    Ok(Some(cpu / records as f64 * 1e6))
}

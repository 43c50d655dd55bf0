//! Ingest throughput: gzip JSON batches of 100 records decoded, parsed, validated,
//! deduplicated and stored by [`Store::ingest`] (no HTTP), reported as records per second.

use amberflo_types::EpochMillis;
use std::hint::black_box;
use std::io::Write;

use amberflo_emulator::{BodyEncoding, Store};
use amberflo_types::{MeterRecord, UniqueId};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const RECORDS_PER_BATCH: usize = 100;
const BATCHES: usize = 100;

/// `BATCHES` JSON bodies of `RECORDS_PER_BATCH` records each, like the SDK sends.
fn bodies() -> Vec<Vec<u8>> {
    (0..BATCHES)
        .map(|batch| {
            let records: Vec<MeterRecord> = (0..RECORDS_PER_BATCH)
                .map(|index| {
                    MeterRecord::builder(
                        "ApiCalls",
                        (index % 7) as f64 + 0.5,
                        format!("customer-{}", index % 20),
                    )
                    .unique_id(UniqueId::new_v4())
                    .meter_time(EpochMillis::new(
                        1_700_000_000_000 + (batch * RECORDS_PER_BATCH + index) as i64,
                    ))
                    .dimension(
                        "region",
                        if index % 2 == 0 {
                            "us-east-1"
                        } else {
                            "eu-west-1"
                        },
                    )
                    .dimension("plan", "pro")
                    .build()
                    .expect("valid record")
                })
                .collect();
            serde_json::to_vec(&records).expect("serialisable records")
        })
        .collect()
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(body).expect("in-memory write");
    encoder.finish().expect("in-memory gzip")
}

fn ingest(c: &mut Criterion) {
    let plain = bodies();
    let gzipped: Vec<Vec<u8>> = plain.iter().map(|body| gzip(body)).collect();
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements((RECORDS_PER_BATCH * BATCHES) as u64));
    for (name, bodies, encoding) in [
        ("gzip_batches_of_100", &gzipped, BodyEncoding::Gzip),
        ("plain_batches_of_100", &plain, BodyEncoding::Identity),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                Store::new,
                |store| {
                    for body in bodies {
                        let outcome = store
                            .ingest(black_box(body), encoding)
                            .expect("valid batch");
                        black_box(outcome);
                    }
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);

//! Build, validate and serialise one meter record to JSON (also with an explicit
//! `SystemTime`); encode a batch of 500 with serde_json and with `write_records_json`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use amberflo_types::{MeterRecord, write_records_json};

fn record_build_serialize(c: &mut Criterion) {
    c.bench_function("record_build_serialize", |b| {
        let mut buffer = Vec::with_capacity(512);
        b.iter(|| {
            let record = MeterRecord::builder(
                black_box("ApiCalls"),
                black_box(1.0),
                black_box("customer-1"),
            )
            .dimension("region", "us-east-1")
            .build();
            buffer.clear();
            if let Ok(record) = record {
                let _ = serde_json::to_writer(&mut buffer, &record);
            }
            black_box(buffer.len())
        });
    });
    c.bench_function("record_build_3_dimensions", |b| {
        b.iter(|| {
            MeterRecord::builder(
                black_box("ApiCalls"),
                black_box(1.0),
                black_box("customer-42"),
            )
            .dimension("region", black_box("us-east-1"))
            .dimension("service", black_box("checkout"))
            .dimension("tier", black_box("free"))
            .build()
        });
    });
    c.bench_function("record_build_meter_time", |b| {
        let at = std::time::SystemTime::now();
        b.iter(|| {
            MeterRecord::builder(
                black_box("ApiCalls"),
                black_box(1.0),
                black_box("customer-1"),
            )
            .meter_time(black_box(at))
            .build()
        });
    });
    c.bench_function("record_build", |b| {
        b.iter(|| {
            MeterRecord::builder(
                black_box("ApiCalls"),
                black_box(1.0),
                black_box("customer-1"),
            )
            .build()
        });
    });
}

/// 500 records like the end-to-end benchmark's: three dimensions, a UUID, the time now.
fn batch() -> Vec<MeterRecord> {
    (0..500)
        .filter_map(|i| {
            MeterRecord::builder("ApiCalls", 1.0, format!("customer-{}", i % 100))
                .dimension("region", ["us-east-1", "eu-west-1"][i % 2])
                .dimension("service", ["search", "checkout", "auth"][i % 3])
                .dimension("tier", "free")
                .build()
                .ok()
        })
        .collect()
}

fn batch_encode(c: &mut Criterion) {
    let records = batch();
    let mut group = c.benchmark_group("encode_500_records");
    group.throughput(criterion::Throughput::Elements(records.len() as u64));
    let mut buffer = Vec::with_capacity(records.len() * 256);
    group.bench_function("serde_json", |b| {
        b.iter(|| {
            buffer.clear();
            let _ = serde_json::to_writer(&mut buffer, black_box(&records));
            black_box(buffer.len())
        });
    });
    group.bench_function("write_records_json", |b| {
        b.iter(|| {
            buffer.clear();
            let _ = write_records_json(black_box(&records), &mut buffer);
            black_box(buffer.len())
        });
    });
    group.finish();
}

criterion_group!(benches, record_build_serialize, batch_encode);
criterion_main!(benches);

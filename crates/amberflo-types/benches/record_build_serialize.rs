//! Build, validate and serialise one meter record to JSON.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use amberflo_types::MeterRecord;

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

criterion_group!(benches, record_build_serialize);
criterion_main!(benches);

//! Validation throughput of `amberflo_types::ingest_file`: records per second through
//! `validate_reader` for NDJSON and for a JSON array (criterion reports elements/s).

use std::hint::black_box;

use amberflo_types::ingest_file;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const RECORDS: u64 = 20_000;

fn record(id: u64) -> String {
    format!(
        r#"{{"uniqueId":"3f2b8c1e-7a4d-4e5f-9b6a-{id:012x}","meterApiName":"ApiCalls","meterValue":{id},"customerId":"customer-{c}","meterTimeInMillis":1700000000000,"dimensions":{{"region":"us-east-1","tier":"premium","zone":"b"}}}}"#,
        c = id % 97
    )
}

fn validation(c: &mut Criterion) {
    let ndjson: String = (0..RECORDS).map(|id| record(id) + "\n").collect();
    let array = format!(
        "[{}]",
        (0..RECORDS).map(record).collect::<Vec<_>>().join(",\n")
    );
    let mut group = c.benchmark_group("validate_file");
    group.throughput(Throughput::Elements(RECORDS));
    group.bench_function("ndjson", |b| {
        b.iter(|| {
            let report = ingest_file::validate_reader(black_box(ndjson.as_bytes()));
            assert_eq!(report.map(|r| r.valid).ok(), Some(RECORDS));
        });
    });
    group.bench_function("json_array", |b| {
        b.iter(|| {
            let report = ingest_file::validate_reader(black_box(array.as_bytes()));
            assert_eq!(report.map(|r| r.valid).ok(), Some(RECORDS));
        });
    });
    group.finish();
}

criterion_group!(benches, validation);
criterion_main!(benches);

//! `amberflo ingest --to-s3` against a real S3-compatible server that checks signatures
//! (`s3s-fs` on 127.0.0.1, the facade's S3 test server).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::Read;

use assert_cmd::Command;

#[path = "../../amberflo/tests/support/s3_server.rs"]
#[allow(dead_code)]
mod s3_server;
use s3_server::{ACCESS_KEY, BUCKET, S3Server, SECRET};

#[test]
fn to_s3_puts_every_record_under_the_prefix() {
    let server = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let lines: String = (0..2000)
        .map(|i| {
            format!(
                r#"{{"meterApiName":"ApiCalls","meterValue":1,"customerId":"c{}","meterTimeInMillis":{}}}"#,
                i % 10,
                1_765_000_000_000_i64 + i
            ) + "\n"
        })
        .collect();
    let file = dir.path().join("backfill.ndjson");
    std::fs::write(&file, lines).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_amberflo"))
        .env_clear()
        .env("AMBERFLO_API_KEY", "unused-for-s3")
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .args(["ingest", "--progress", "none", "--to-s3"])
        .arg(format!("{BUCKET}/backfill"))
        .args(["--s3-endpoint", &server.url])
        .arg(&file)
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{out}{err}");
    assert!(out.contains("delivered 2000, failed 0"), "{out}");
    let mut ids = BTreeSet::new();
    for (key, body) in server.objects() {
        assert!(key.starts_with("backfill/"), "{key}");
        let mut json = Vec::new();
        if body.starts_with(&[0x1f, 0x8b]) {
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut json)
                .unwrap();
        } else {
            json = body;
        }
        let records: Vec<serde_json::Value> = serde_json::from_slice(&json).unwrap();
        ids.extend(
            records
                .iter()
                .map(|r| r["uniqueId"].as_str().unwrap().to_owned()),
        );
    }
    assert_eq!(ids.len(), 2000);
}

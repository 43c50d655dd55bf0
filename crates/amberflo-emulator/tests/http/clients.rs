//! `/_emulator/client-stats`: what aggregating clients report about themselves, kept per
//! client, bounded, refused when malformed, and shown in the console's data.

use amberflo_emulator::{
    ClientStats, DropConnections, Emulator, FailRequests, MAX_CLIENT_NAME_BYTES, MAX_CLIENTS,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Harness, error_of};

const PATH: &str = "/_emulator/client-stats";

/// A report body from `client`.
fn report(client: &str, records_in: u64, aggregates_out: u64) -> Value {
    json!({
        "client": client,
        "recordsIn": records_in,
        "aggregatesOut": aggregates_out,
        "passedThrough": 3,
        "openKeys": 2,
    })
}

async fn post(harness: &Harness, body: &Value) -> reqwest::Response {
    harness.send_json(Method::POST, PATH, body).await
}

async fn listed(harness: &Harness) -> Vec<ClientStats> {
    let response = harness.get(PATH).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("a list of client stats")
}

#[tokio::test]
async fn a_report_is_stored_and_returned() {
    let harness = Harness::new();
    assert!(listed(&harness).await.is_empty());
    let before = amberflo_types::now_millis();
    let response = post(&harness, &report("api-1", 1000, 4)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let stored: Value = response.json().await.expect("the stored report");
    assert_eq!(stored["client"], "api-1");
    assert_eq!(stored["recordsIn"], 1000);

    let list = listed(&harness).await;
    assert_eq!(list.len(), 1);
    let stats = &list[0];
    assert_eq!(stats.client, "api-1");
    assert_eq!(
        (
            stats.records_in,
            stats.aggregates_out,
            stats.passed_through,
            stats.open_keys
        ),
        (1000, 4, 3, 2)
    );
    assert_eq!(stats.reduction(), Some(250.0));
    assert!(stats.reported_at_millis >= before);
    assert_eq!(harness.emulator.client_stats(), list, "the handle agrees");
}

#[tokio::test]
async fn a_second_report_from_the_same_client_replaces_the_first() {
    let harness = Harness::new();
    post(&harness, &report("api-1", 10, 1)).await;
    post(&harness, &report("api-2", 5, 5)).await;
    let response = post(&harness, &report("api-1", 2000, 8)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let list = harness.emulator.client_stats();
    let names: Vec<&str> = list.iter().map(|stats| stats.client.as_str()).collect();
    assert_eq!(names, ["api-1", "api-2"]);
    assert_eq!((list[0].records_in, list[0].aggregates_out), (2000, 8));
    assert_eq!((list[1].records_in, list[1].aggregates_out), (5, 5));
}

#[tokio::test]
async fn at_most_max_clients_are_kept_the_least_recent_dropped() {
    let harness = Harness::new();
    for index in 0..MAX_CLIENTS {
        let response = post(&harness, &report(&format!("client-{index:03}"), 1, 1)).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    // client-000 reports again, so client-001 becomes the one that reported least recently.
    post(&harness, &report("client-000", 7, 1)).await;
    post(&harness, &report("one-more", 1, 1)).await;
    let list = listed(&harness).await;
    assert_eq!(list.len(), MAX_CLIENTS);
    assert!(list.iter().any(|stats| stats.client == "one-more"));
    assert!(!list.iter().any(|stats| stats.client == "client-001"));
    let first = list
        .iter()
        .find(|stats| stats.client == "client-000")
        .expect("client-000 kept: it reported again");
    assert_eq!(first.records_in, 7);
}

#[tokio::test]
async fn a_bad_report_is_a_400_naming_the_field() {
    let harness = Harness::new();
    let long = "x".repeat(MAX_CLIENT_NAME_BYTES + 1);
    let mut missing = report("api-1", 1, 1);
    missing
        .as_object_mut()
        .expect("an object")
        .remove("aggregatesOut");
    let mut unknown = report("api-1", 1, 1);
    unknown["recordIn"] = json!(1);
    let mut negative = report("api-1", 1, 1);
    negative["openKeys"] = json!(-1);
    for (body, named) in [
        (report("", 1, 1), "client must not be blank"),
        (report(" \t ", 1, 1), "client must not be blank"),
        (report(&long, 1, 1), "client must be at most 256 bytes"),
        (
            json!({"recordsIn": 1, "aggregatesOut": 1, "passedThrough": 0, "openKeys": 0}),
            "`client`",
        ),
        (missing, "`aggregatesOut`"),
        (unknown, "`recordIn`"),
        (negative, "-1"),
    ] {
        let (status, message) = error_of(post(&harness, &body).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(message.contains(named), "{body}: {message}");
    }
    let response = harness
        .request(Method::POST, PATH)
        .body("not json")
        .send()
        .await
        .expect("sent");
    let (status, message) = error_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.starts_with("malformed client stats"), "{message}");
    assert!(
        harness.emulator.client_stats().is_empty(),
        "nothing refused is kept"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused() {
    let emulator = Emulator::builder()
        .worker_threads(1)
        .max_body_bytes(64)
        .start()
        .expect("emulator starts");
    let harness = Harness::from(emulator);
    let (status, message) = error_of(post(&harness, &report(&"x".repeat(100), 1, 1)).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(message.contains("64 bytes"), "{message}");
    assert!(harness.emulator.client_stats().is_empty());
}

#[tokio::test]
async fn needs_no_key_ignores_faults_and_is_not_api_traffic() {
    let harness = Harness::with_key("secret");
    harness
        .emulator
        .faults()
        .fail_next(FailRequests::new(5, 503))
        .expect("a valid fault");
    harness.emulator.faults().drop_next(DropConnections::new(5));
    let response = harness
        .http
        .post(harness.url(PATH))
        .json(&report("api-1", 1, 1))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(harness.emulator.client_stats().len(), 1);
    assert_eq!(harness.emulator.stats().requests_served, 0);
    assert_eq!(
        harness
            .emulator
            .faults()
            .settings()
            .fail
            .map(|fail| fail.count()),
        Some(5),
        "no fault was spent on it"
    );
    let response = harness
        .request(Method::DELETE, PATH)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, POST");
}

/// The console view the page polls.
async fn console(harness: &Harness) -> Value {
    harness
        .get("/_emulator/console")
        .await
        .json()
        .await
        .expect("console")
}

#[tokio::test]
async fn the_console_view_carries_the_reports() {
    let harness = Harness::new();
    let view = console(&harness).await;
    assert_eq!(view["clients"], json!([]));
    post(&harness, &report("zeta", 90, 3)).await;
    post(&harness, &report("alpha", 10, 0)).await;
    let view = console(&harness).await;
    let clients = view["clients"].as_array().expect("a clients array");
    assert_eq!(clients.len(), 2);
    assert_eq!(clients[0]["client"], "alpha", "by name");
    assert_eq!(clients[1]["client"], "zeta");
    assert_eq!(clients[1]["recordsIn"], 90);
    assert_eq!(clients[1]["aggregatesOut"], 3);
    assert_eq!(clients[1]["passedThrough"], 3);
    assert_eq!(clients[1]["openKeys"], 2);
    assert!(
        clients[1]["reportedAtMillis"]
            .as_i64()
            .is_some_and(|at| at > 0)
    );
}

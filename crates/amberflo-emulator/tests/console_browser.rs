//! The console page at `/` in a real browser: headless Chromium (Debian's `chromium`,
//! installed by `.ci/run`; `CHROMIUM` names another binary) driven over the DevTools protocol.
//! Known records go in; the page's charts, tiles and tables must show exactly them, follow a
//! filter, and its fault buttons must make the next ingest fail. Every wait is on the page's
//! DOM (a condition checked in the page until it holds), never a sleep.
//!
//! `AMBERFLO_CONSOLE_SCREENSHOT=path.png` also saves a screenshot of the page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use amberflo_emulator::Emulator;
use amberflo_types::{CANCEL_PREVIOUS_DIMENSION, CustomerPayload, EpochMillis, MeterRecord};
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket, stream::MaybeTlsStream};

/// A process killed on drop, from the moment it is spawned (a failed start does not leave a
/// browser behind).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A headless Chromium, killed on drop.
struct Browser {
    _child: KillOnDrop,
    _profile: tempfile::TempDir,
    page: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Browser {
    fn start() -> Browser {
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
        let profile = tempfile::tempdir().unwrap();
        let mut child = KillOnDrop(Command::new(&binary)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--window-size=1280,1600",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start `{binary}` ({error}): install Debian's `chromium` (.ci/run does)"
                )
            }));
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID", within 60 s.
        let stderr = BufReader::new(child.0.stderr.take().unwrap());
        let (found, port) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ws://127.0.0.1:") {
                    let _ = found.send(url.split('/').next().unwrap_or_default().to_owned());
                }
            }
        });
        let port = port
            .recv_timeout(Duration::from_secs(60))
            .expect("Chromium did not print its DevTools address within 60 s");
        let targets: Value = serde_json::from_str(&http(&port, "GET", "/json/list", "").1).unwrap();
        let page = targets
            .as_array()
            .unwrap()
            .iter()
            .find(|target| target["type"] == "page")
            .expect("a page target");
        let url = page["webSocketDebuggerUrl"].as_str().unwrap();
        let (socket, _) = tungstenite::connect(url).unwrap();
        Browser {
            _child: child,
            _profile: profile,
            page: socket,
            next_id: 0,
        }
    }

    /// Calls a DevTools method on the page; its result.
    fn call(&mut self, method: &str, params: &Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({"id": id, "method": method, "params": params}).to_string();
        self.page.send(Message::text(message)).unwrap();
        loop {
            let Message::Text(text) = self.page.read().unwrap() else {
                continue;
            };
            let reply: Value = serde_json::from_str(&text).unwrap();
            if reply["id"] == id {
                assert!(reply.get("error").is_none(), "{method}: {reply}");
                return reply["result"].clone();
            }
        }
    }

    /// Evaluates `expression` in the page (awaiting a promise); its value.
    fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            &json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {}",
            result["exceptionDetails"]
        );
        result["result"]["value"].clone()
    }

    /// Waits until `condition` (a JavaScript expression) holds in the page, checking it as
    /// the page changes, for at most 20 s.
    fn wait_for(&mut self, condition: &str) {
        let script = format!(
            "new Promise((resolve, reject) => {{
                const deadline = Date.now() + 20000;
                const check = () => {{
                    let held = false;
                    try {{ held = Boolean({condition}); }} catch (e) {{}}
                    if (held) return resolve(true);
                    if (Date.now() > deadline) return reject(new Error('timed out waiting for: ' + {quoted}));
                    setTimeout(check, 25);
                }};
                check();
            }})",
            quoted = serde_json::to_string(condition).unwrap()
        );
        self.eval(&script);
    }

    /// Sets a filter and waits for the page to show it.
    fn choose(&mut self, select: &str, value: &str) {
        self.eval(&format!(
            "(() => {{ const s = document.getElementById('{select}'); s.value = '{value}';
                s.dispatchEvent(new Event('change', {{bubbles: true}})); return s.value; }})()"
        ));
        // The page shows a query once it has drawn it; an empty filter is left out of it.
        let shown = if value.is_empty() {
            format!("!document.body.dataset.query.split('&').some(p => p.startsWith('{select}='))")
        } else {
            let expected = format!("{select}={}", value.replace(':', "%3A"));
            format!("document.body.dataset.query.split('&').includes('{expected}')")
        };
        self.wait_for(&shown);
    }
}

/// One plain HTTP/1.1 exchange with 127.0.0.1:`port`: the status and the body.
fn http(port: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // Read the head, then as many body bytes as it announces (the DevTools server keeps the
    // connection open).
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, String::from_utf8(body).unwrap())
}

fn record(
    id: &str,
    customer: &str,
    meter: &str,
    value: f64,
    time: i64,
    region: &str,
) -> MeterRecord {
    MeterRecord::builder(meter, value, customer)
        .unique_id(id)
        .meter_time(EpochMillis::new(time))
        .dimension("region", region)
        .build()
        .unwrap()
}

/// The sum of the chart points of `meter` (of `group`, when given), read from the SVG.
fn plotted(browser: &mut Browser, meter: &str, group: Option<&str>) -> f64 {
    let selector = match group {
        Some(group) => format!(".chart[data-meter='{meter}'] circle.point[data-group='{group}']"),
        None => format!(".chart[data-meter='{meter}'] circle.point"),
    };
    browser
        .eval(&format!(
            "[...document.querySelectorAll(\"{selector}\")].reduce((sum, c) => sum + Number(c.dataset.v), 0)"
        ))
        .as_f64()
        .unwrap()
}

/// The cells of a table's body rows.
fn table(browser: &mut Browser, id: &str) -> Vec<Vec<String>> {
    serde_json::from_value(browser.eval(&format!(
        "[...document.querySelectorAll('#{id} tbody tr')].map(tr => [...tr.cells].map(td => td.textContent))"
    )))
    .unwrap()
}

#[test]
fn the_console_shows_what_was_ingested_follows_filters_and_injects_faults() {
    let emulator = Emulator::start().unwrap();
    let store = emulator.store();
    let now = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    // Whole minutes ago, so each record has its own minute bucket.
    let minute = |ago: i64| (now / 60_000 - ago) * 60_000 + 1_000;
    store
        .insert_records(&[
            record("a1", "c1", "ApiCalls", 1.0, minute(10), "us"),
            record("a2", "c1", "ApiCalls", 2.0, minute(5), "eu"),
            record("a3", "c1", "ApiCalls", 3.0, minute(2), "us"),
            record("a4", "c2", "ApiCalls", 10.0, minute(3), "eu"),
            record("t1", "c1", "Tokens", 100.0, minute(4), "us"),
        ])
        .unwrap();
    // A duplicate (dropped) and a cancellation of a3 (both then leave the usage).
    store
        .insert_records(&[record("a1", "c1", "ApiCalls", 1.0, minute(10), "us")])
        .unwrap();
    let cancel = MeterRecord::builder("ApiCalls", 3.0, "c1")
        .unique_id("x3")
        .meter_time(EpochMillis::new(minute(2)))
        .dimension(CANCEL_PREVIOUS_DIMENSION, "true")
        .build()
        .unwrap();
    store.insert_records(&[cancel]).unwrap();
    store.set_meter_price("ApiCalls", 0.5).unwrap();
    store
        .create_customer(
            CustomerPayload::builder("c9")
                .customer_name("Nine")
                .build()
                .unwrap(),
            false,
        )
        .unwrap();

    let mut browser = Browser::start();
    browser.call("Page.navigate", &json!({"url": emulator.url()}));
    browser.wait_for("Number(document.body.dataset.generation) >= 1");
    // No client reported aggregation yet: the section is hidden.
    assert_eq!(
        browser.eval("document.getElementById('clients-section').hidden"),
        true
    );

    // Tiles agree with the tables: 6 stored records (the duplicate dropped), customers from
    // the records and the API alike.
    let tile = |browser: &mut Browser, key: &str| {
        browser.eval(&format!(
            "document.querySelector('#tile-{key} b').textContent"
        ))
    };
    assert_eq!(tile(&mut browser, "records"), "6");
    assert_eq!(tile(&mut browser, "customers"), "3");
    assert_eq!(tile(&mut browser, "meters"), "2");
    assert_eq!(tile(&mut browser, "duplicatesDropped"), "1");

    // Charts: what still counts (a3 and its cancellation left out), per customer.
    assert_eq!(plotted(&mut browser, "ApiCalls", None), 13.0);
    assert_eq!(plotted(&mut browser, "ApiCalls", Some("c1")), 3.0);
    assert_eq!(plotted(&mut browser, "ApiCalls", Some("c2")), 10.0);
    assert_eq!(plotted(&mut browser, "Tokens", None), 100.0);
    assert_eq!(
        table(&mut browser, "totals"),
        [
            ["c1", "ApiCalls", "2", "3", "0.5", "1.5"],
            ["c1", "Tokens", "1", "100", "", ""],
            ["c2", "ApiCalls", "1", "10", "0.5", "5"],
        ]
    );
    let latest = table(&mut browser, "latest");
    let status_of = |id: &str| {
        latest
            .iter()
            .find(|row| row[5] == id)
            .map(|row| row[6].clone())
            .unwrap_or_default()
    };
    assert_eq!(latest[0][5], "x3", "newest first");
    assert_eq!(status_of("x3"), "cancels");
    assert_eq!(status_of("a3"), "cancelled");
    assert_eq!(status_of("a4"), "stored");
    assert_eq!(latest.iter().filter(|row| row[6] == "duplicate").count(), 1);

    // By minute: one point per record that counts.
    browser.choose("interval", "minute");
    let points = browser
        .eval("document.querySelectorAll(\".chart[data-meter='ApiCalls'] circle.point\").length");
    assert_eq!(points, 3);

    // One customer.
    browser.choose("customer", "c2");
    assert_eq!(plotted(&mut browser, "ApiCalls", None), 10.0);
    assert_eq!(
        table(&mut browser, "totals"),
        [["c2", "ApiCalls", "1", "10", "0.5", "5"]]
    );
    // Every customer, grouped by region.
    browser.choose("customer", "");
    browser.choose("group", "dimension:region");
    assert_eq!(plotted(&mut browser, "ApiCalls", Some("us")), 1.0);
    assert_eq!(plotted(&mut browser, "ApiCalls", Some("eu")), 12.0);
    // One meter.
    browser.choose("meter", "Tokens");
    assert_eq!(
        browser.eval("document.querySelectorAll('.chart').length"),
        1
    );

    // What aggregating clients report appears, one line per client, the latest report each.
    let port = emulator.addr().port().to_string();
    let report = |client: &str, records_in: u64, aggregates_out: u64| {
        let body = json!({"client": client, "recordsIn": records_in,
            "aggregatesOut": aggregates_out, "passedThrough": 7, "openKeys": 12});
        let (status, reply) = http(&port, "POST", "/_emulator/client-stats", &body.to_string());
        assert_eq!(status, 200, "{reply}");
    };
    report("simulator-1", 1_000, 9);
    report("api", 10, 0);
    report("batch", 1_000, 3);
    report("simulator-1", 1_200_000, 3_000);
    browser.wait_for("document.querySelectorAll('#clients li').length === 3");
    browser.wait_for(
        "document.querySelector(\"#clients li[data-client='simulator-1'] .figures\").textContent.startsWith('1,200,000')",
    );
    assert_eq!(
        browser.eval("document.getElementById('clients-section').hidden"),
        false
    );
    let clients: Vec<String> = serde_json::from_value(
        browser.eval("[...document.querySelectorAll('#clients li')].map(li => li.textContent)"),
    )
    .unwrap();
    assert_eq!(
        clients,
        [
            "api: 10 records in → 0 aggregates (no aggregate yet), 7 passed through, 12 open keys",
            "batch: 1,000 records in → 3 aggregates (333.3×), 7 passed through, 12 open keys",
            "simulator-1: 1,200,000 records in → 3,000 aggregates (400×), 7 passed through, 12 open keys",
        ]
    );

    if let Ok(path) = std::env::var("AMBERFLO_CONSOLE_SCREENSHOT") {
        browser.choose("meter", "");
        browser.choose("group", "customer");
        let shot = browser.call(
            "Page.captureScreenshot",
            &json!({"format": "png", "captureBeyondViewport": true}),
        );
        let png = base64_decode(shot["data"].as_str().unwrap());
        std::fs::write(path, png).unwrap();
    }

    // Faults from the page: the next ingest is refused, until cleared.
    let body = r#"[{"uniqueId":"f1","meterApiName":"ApiCalls","meterValue":1,"customerId":"c1","meterTimeInMillis":1765000000000}]"#;
    browser.eval("document.querySelector('[data-preset=storm503]').click()");
    browser.wait_for("document.getElementById('faults-state').textContent.includes('503')");
    let (status, reply) = http(&port, "POST", "/ingest", body);
    assert_eq!(status, 503, "{reply}");
    browser.eval("document.querySelector('[data-preset=clear]').click()");
    browser.wait_for("document.getElementById('faults-state').textContent === 'none'");
    assert_eq!(http(&port, "POST", "/ingest", body).0, 200);
    browser
        .wait_for("document.querySelector('#tile-requestsFailedByFaults b').textContent === '1'");
}

/// Decodes standard base64 (the screenshot).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let bytes: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(value).collect();
    bytes
        .chunks(4)
        .flat_map(|chunk| {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0_u32, |n, (i, &v)| n | u32::from(v) << (18 - 6 * i));
            let out = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.into_iter().take(chunk.len().saturating_sub(1))
        })
        .collect()
}

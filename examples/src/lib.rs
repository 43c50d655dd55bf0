//! Helpers shared by the runnable examples of the `amberflo` SDK. Each example is an
//! `[[example]]` of this crate, so `cargo run --example NAME` works from the workspace root.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use amberflo::ClientBuilder;
use amberflo_emulator::{Emulator, EmulatorError};
use serde_json::Value;

/// Where an example sends its traffic.
#[derive(Debug)]
pub struct Target {
    /// A client builder pointed at the target.
    pub builder: ClientBuilder,
    /// The embedded emulator, when the example started one (keep it alive while you use it).
    pub emulator: Option<Emulator>,
}

/// The command-line options every example shares: where its traffic goes. Each also reads
/// the environment variables `Client::from_env()` reads.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// Amberflo API key; without it (and without a URL) an embedded emulator is used.
    #[arg(long, env = amberflo::ENV_API_KEY)]
    pub api_key: Option<String>,
    /// The API base URL (default: Amberflo's).
    #[arg(long, env = amberflo::ENV_API_URL)]
    pub api_url: Option<String>,
    /// The ingest base URL (default: Amberflo's).
    #[arg(long, env = amberflo::ENV_INGEST_URL)]
    pub ingest_url: Option<String>,
    /// Send API and ingest traffic to this server, e.g. a running `amberflo-emulator`
    /// (overrides both URLs).
    #[arg(long)]
    pub endpoint: Option<String>,
}

impl TargetArgs {
    /// Picks the target the way every example does:
    ///
    /// - `--endpoint URL`: that server (an emulator elsewhere, a proxy, ...) for both APIs;
    /// - else `--api-url` / `--ingest-url` (or `AMBERFLO_API_URL` / `AMBERFLO_INGEST_URL`)
    ///   where given, Amberflo's own hosts for the rest;
    /// - with neither a URL nor `--api-key` (`AMBERFLO_API_KEY`): an embedded emulator started
    ///   in this process, so the example runs offline.
    ///
    /// Without an API key, a URL gets a placeholder key (emulators accept any) and a lone URL
    /// serves both APIs.
    ///
    /// # Errors
    /// When the embedded emulator cannot start.
    pub fn target(&self) -> Result<Target, EmulatorError> {
        let builder = amberflo::Client::builder();
        if self.api_key.is_none() && !self.has_url() {
            let emulator = Emulator::start()?;
            let builder = builder.api_key("local-key").endpoint(emulator.url());
            return Ok(Target {
                builder,
                emulator: Some(emulator),
            });
        }
        let mut builder = builder.api_key(self.api_key.as_deref().unwrap_or("local-key"));
        // Without a key the target is a local server: a lone URL serves both APIs, so no
        // traffic goes to Amberflo with the placeholder key.
        let local = self.api_key.is_none();
        let api_url = self
            .api_url
            .as_ref()
            .or(self.ingest_url.as_ref().filter(|_| local));
        let ingest_url = self
            .ingest_url
            .as_ref()
            .or(self.api_url.as_ref().filter(|_| local));
        if let Some(url) = api_url {
            builder = builder.api_url(url);
        }
        if let Some(url) = ingest_url {
            builder = builder.ingest_url(url);
        }
        if let Some(endpoint) = &self.endpoint {
            builder = builder.endpoint(endpoint);
        }
        Ok(Target {
            builder,
            emulator: None,
        })
    }

    /// The base URL of the emulator `target` sends to, when it is one: the embedded emulator,
    /// or `--endpoint` (a running `amberflo-emulator`). `None` otherwise, so that calls only
    /// an emulator serves (`/_emulator/...`) never go to Amberflo.
    pub fn emulator_url(&self, target: &Target) -> Option<String> {
        match (&target.emulator, &self.endpoint) {
            (Some(emulator), _) => Some(emulator.url().to_owned()),
            (None, Some(endpoint)) => Some(endpoint.trim_end_matches('/').to_owned()),
            (None, None) => None,
        }
    }

    fn has_url(&self) -> bool {
        self.endpoint.is_some() || self.api_url.is_some() || self.ingest_url.is_some()
    }

    /// Where the traffic goes, for a person to read.
    pub fn describe(&self) -> String {
        match (&self.endpoint, &self.api_url, &self.ingest_url) {
            (Some(endpoint), _, _) => endpoint.clone(),
            (None, None, None) if self.api_key.is_some() => "Amberflo".to_owned(),
            (None, None, None) => "the embedded emulator".to_owned(),
            (None, api, ingest) => format!(
                "API {}, ingest {}",
                api.as_deref().unwrap_or("Amberflo"),
                ingest.as_deref().unwrap_or("Amberflo")
            ),
        }
    }
}

/// The most of a response [`post_json`] reads.
const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

/// Posts `body` (JSON) to `url` with one plain HTTP/1.1 exchange over a fresh connection,
/// for an emulator's own routes (`/_emulator/...`): emulators speak plain HTTP, so an
/// `https` URL is refused. `timeout` bounds the connect, the write and each read.
///
/// ```no_run
/// let body = serde_json::json!({"latencyMs": 100});
/// amberflo_examples::post_json(
///     "http://127.0.0.1:8080/_emulator/faults",
///     &body,
///     std::time::Duration::from_secs(2),
/// )?;
/// # Ok::<(), String>(())
/// ```
///
/// # Errors
/// When the URL is not `http://`, the server cannot be reached, or it answers other than 2xx
/// (the message has the status and the body).
pub fn post_json(url: &str, body: &Value, timeout: Duration) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: an emulator speaks plain http://"))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, "/"),
    };
    // A port is there unless the authority is a bare host or a bracketed IPv6 address.
    let address = if authority.ends_with(']') || !authority.contains(':') {
        format!("{authority}:80")
    } else {
        authority.to_owned()
    };
    let addresses = address
        .to_socket_addrs()
        .map_err(|error| format!("{url}: cannot resolve {authority}: {error}"))?;
    let mut last_error = format!("{url}: {authority} resolves to no address");
    let mut stream = None;
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(connected) => {
                stream = Some(connected);
                break;
            }
            Err(error) => last_error = format!("{url}: cannot connect to {address}: {error}"),
        }
    }
    let mut stream = stream.ok_or(last_error)?;
    let io_error = |error: std::io::Error| format!("{url}: {error}");
    stream.set_write_timeout(Some(timeout)).map_err(io_error)?;
    stream.set_read_timeout(Some(timeout)).map_err(io_error)?;
    let body = body.to_string();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Accept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(io_error)?;
    let mut response = Vec::new();
    stream
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut response)
        .map_err(io_error)?;
    let response = String::from_utf8_lossy(&response);
    let status: u16 = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("{url}: not an HTTP response"))?;
    if (200..300).contains(&status) {
        return Ok(());
    }
    let reply = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, reply)| reply);
    Err(format!("{url}: {status} {reply}"))
}

/// Installs a `tracing` subscriber that honours `RUST_LOG` (default: warnings), on stderr,
/// in colour only when stderr is a terminal (no escape codes in a pipe or a file).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Parses the simulator's `--dimensions` argument. Three forms are accepted:
///
/// - one `{"Name": "region", "Value": "us-east-1"}` pair (the seed README's form),
/// - a list of such pairs,
/// - a plain map, `{"region": "us-east-1"}`.
///
/// ```
/// let one = amberflo_examples::parse_dimensions(r#"{"Name": "region", "Value": "us-east-1"}"#)?;
/// let map = amberflo_examples::parse_dimensions(r#"{"region": "us-east-1"}"#)?;
/// assert_eq!(one, map);
/// # Ok::<(), String>(())
/// ```
pub fn parse_dimensions(text: &str) -> Result<BTreeMap<String, String>, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("--dimensions is not JSON: {e}"))?;
    let mut dimensions = BTreeMap::new();
    match value {
        Value::Array(pairs) => {
            for pair in &pairs {
                insert_name_value(pair, &mut dimensions)?;
            }
        }
        Value::Object(ref map) if map.contains_key("Name") && map.contains_key("Value") => {
            insert_name_value(&value, &mut dimensions)?;
        }
        Value::Object(map) => {
            for (key, value) in map {
                dimensions.insert(key, scalar(&value)?);
            }
        }
        other => {
            return Err(format!(
                "--dimensions must be an object or a list, not {other}"
            ));
        }
    }
    Ok(dimensions)
}

fn insert_name_value(
    pair: &Value,
    dimensions: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let field = |name: &str| {
        pair.get(name)
            .ok_or_else(|| format!("--dimensions entry {pair} lacks \"{name}\""))
            .and_then(scalar)
    };
    dimensions.insert(field("Name")?, field("Value")?);
    Ok(())
}

fn scalar(value: &Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        other => Err(format!("--dimensions values must be strings, not {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_to_an_emulator_and_reports_its_refusals() {
        let emulator = Emulator::start().unwrap();
        let url = format!("{}/_emulator/client-stats", emulator.url());
        let timeout = Duration::from_secs(5);
        let report = serde_json::json!({"client": "test", "recordsIn": 10,
            "aggregatesOut": 2, "passedThrough": 1, "openKeys": 0});
        post_json(&url, &report, timeout).unwrap();
        let stored = emulator.client_stats();
        assert_eq!(stored.len(), 1);
        assert_eq!((stored[0].records_in, stored[0].aggregates_out), (10, 2));
        let refused = post_json(&url, &serde_json::json!({"client": ""}), timeout).unwrap_err();
        assert!(refused.contains("400"), "{refused}");
        assert!(post_json("https://127.0.0.1/", &report, timeout).is_err());
    }

    #[test]
    fn the_emulator_url_is_never_amberflo() {
        let args = |key: Option<&str>, endpoint: Option<&str>| TargetArgs {
            api_key: key.map(str::to_owned),
            api_url: None,
            ingest_url: None,
            endpoint: endpoint.map(str::to_owned),
        };
        let embedded = args(None, None);
        let target = embedded.target().unwrap();
        let url = embedded.emulator_url(&target).unwrap();
        assert_eq!(url, target.emulator.as_ref().unwrap().url());
        let amberflo = args(Some("key"), None);
        assert_eq!(amberflo.emulator_url(&amberflo.target().unwrap()), None);
        let endpoint = args(Some("key"), Some("http://127.0.0.1:8080/"));
        assert_eq!(
            endpoint
                .emulator_url(&endpoint.target().unwrap())
                .as_deref(),
            Some("http://127.0.0.1:8080")
        );
    }

    #[test]
    fn accepts_the_three_forms() {
        let list = parse_dimensions(r#"[{"Name": "a", "Value": "1"}, {"Name": "b", "Value": 2}]"#)
            .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list["b"], "2");
        assert_eq!(
            parse_dimensions(r#"{"Name": "a", "Value": "1"}"#).unwrap()["a"],
            "1"
        );
        assert_eq!(
            parse_dimensions(r#"{"a": "1", "b": "2"}"#).unwrap().len(),
            2
        );
    }

    #[test]
    fn rejects_bad_input_with_a_message() {
        assert!(
            parse_dimensions("not json")
                .unwrap_err()
                .contains("not JSON")
        );
        assert!(
            parse_dimensions(r#"[{"Name": "a"}]"#)
                .unwrap_err()
                .contains("Value")
        );
        assert!(parse_dimensions("3").is_err());
        assert!(parse_dimensions(r#"{"a": {"nested": 1}}"#).is_err());
    }
}

//! S3 delivery (feature `s3`): [`S3Client`] PUTs objects into a bucket, signed with AWS
//! Signature V4 by the maintained `aws-sigv4` crate, over any [`Transport`] (so the S3 path
//! shares the HTTP stack, timeouts, response cap and mock of the Amberflo API path). The
//! Amberflo API key is never sent to S3.
//!
//! The newest `aws-sigv4` releases need a newer Rust than this workspace's 1.88; the lock file
//! holds the 1.3 line, which builds with 1.88 (Cargo's MSRV-aware resolver picks it), and the
//! crate is compiled only with this feature.
//!
//! One file on purpose: the request, its signing and the reading of S3's answers are one
//! exchange, and much of its length is tests.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use url::Url;

use crate::{Error, Transport, retry_after, url_policy};

/// Environment variables [`S3Credentials::from_env`] reads.
const ENV_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
const ENV_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
const ENV_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";

/// AWS credentials for signing. `Debug` never shows the secret or the session token.
///
/// ```
/// use amberflo_transport::S3Credentials;
///
/// let credentials = S3Credentials::builder()
///     .access_key_id("AKIDEXAMPLE")
///     .secret_access_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
///     .build()?;
/// assert_eq!(credentials.access_key_id(), "AKIDEXAMPLE");
/// assert!(!format!("{credentials:?}").contains("EXAMPLEKEY"));
/// # Ok::<(), amberflo_transport::Error>(())
/// ```
#[derive(Clone)]
pub struct S3Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl S3Credentials {
    /// A builder; the access key id and the secret are required.
    pub fn builder() -> S3CredentialsBuilder {
        S3CredentialsBuilder::default()
    }

    /// The standard AWS environment variables: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
    /// and, if set, `AWS_SESSION_TOKEN`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the variable that is unset or blank.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |name: &'static str| {
            lookup(name)
                .filter(|value| !value.trim().is_empty())
                .ok_or_else(|| Error::invalid_config(name, "is not set"))
        };
        let mut builder = S3Credentials::builder()
            .access_key_id(get(ENV_ACCESS_KEY_ID)?)
            .secret_access_key(get(ENV_SECRET_ACCESS_KEY)?);
        if let Ok(token) = get(ENV_SESSION_TOKEN) {
            builder = builder.session_token(token);
        }
        builder.build()
    }

    /// The access key id (not a secret).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    fn identity(&self) -> Identity {
        Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            self.session_token.clone(),
            None,
            "amberflo-rs",
        )
        .into()
    }
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Builds [`S3Credentials`].
#[derive(Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct S3CredentialsBuilder {
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
}

impl fmt::Debug for S3CredentialsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3CredentialsBuilder")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl S3CredentialsBuilder {
    /// The access key id (required).
    pub fn access_key_id(mut self, id: impl Into<String>) -> Self {
        self.access_key_id = Some(id.into());
        self
    }

    /// The secret access key (required).
    pub fn secret_access_key(mut self, secret: impl Into<String>) -> Self {
        self.secret_access_key = Some(secret.into());
        self
    }

    /// A session token, for temporary credentials.
    pub fn session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(token.into());
        self
    }

    /// Checks that the id and secret are set and not blank.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming `access_key_id` or `secret_access_key`.
    pub fn build(self) -> Result<S3Credentials, Error> {
        let required = |value: Option<String>, field: &'static str| {
            value
                .filter(|value| !value.trim().is_empty())
                .ok_or_else(|| Error::invalid_config(field, "must be set and not blank"))
        };
        Ok(S3Credentials {
            access_key_id: required(self.access_key_id, "access_key_id")?,
            secret_access_key: required(self.secret_access_key, "secret_access_key")?,
            session_token: self.session_token,
        })
    }
}

/// How a batch is written into an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum S3BodyFormat {
    /// A JSON array, key suffix `.json` (the Python SDK's format; the default).
    #[default]
    Json,
    /// A gzipped JSON array, key suffix `.json.gz`.
    GzipJson,
    /// One JSON object per line, key suffix `.ndjson`.
    Ndjson,
}

impl S3BodyFormat {
    /// The object key's suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            S3BodyFormat::Json => ".json",
            S3BodyFormat::GzipJson => ".json.gz",
            S3BodyFormat::Ndjson => ".ndjson",
        }
    }

    /// The object's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            S3BodyFormat::Json => "application/json",
            S3BodyFormat::GzipJson => "application/gzip",
            S3BodyFormat::Ndjson => "application/x-ndjson",
        }
    }
}

/// Where objects go: bucket, region, key prefix, endpoint, credentials and body format.
///
/// Without an endpoint URL, objects go to AWS (`https://{bucket}.s3.{region}.amazonaws.com`);
/// with one (an S3-compatible store, a local test server), to `{endpoint}/{bucket}/{key}`
/// (path style). The endpoint follows the same policy as the Amberflo URLs: `https`, or
/// `http` to loopback.
///
/// ```
/// use amberflo_transport::{S3BodyFormat, S3Credentials, S3Destination};
///
/// let credentials = S3Credentials::builder()
///     .access_key_id("AKIDEXAMPLE")
///     .secret_access_key("secret")
///     .build()?;
/// let destination = S3Destination::builder("my-bucket")
///     .region("eu-west-1")
///     .prefix("amberflo/")
///     .body_format(S3BodyFormat::GzipJson)
///     .credentials(credentials)
///     .build()?;
/// assert_eq!(destination.bucket(), "my-bucket");
/// assert!(S3Destination::builder(" ").build().is_err());
/// # Ok::<(), amberflo_transport::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct S3Destination {
    bucket: String,
    region: String,
    prefix: String,
    endpoint: Option<Url>,
    credentials: S3Credentials,
    body_format: S3BodyFormat,
}

impl S3Destination {
    /// A builder for objects in `bucket`.
    pub fn builder(bucket: impl Into<String>) -> S3DestinationBuilder {
        S3DestinationBuilder {
            bucket: bucket.into(),
            region: None,
            prefix: String::new(),
            endpoint: None,
            credentials: None,
            body_format: S3BodyFormat::default(),
        }
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The key prefix (may be empty).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// How batches are written.
    pub fn body_format(&self) -> S3BodyFormat {
        self.body_format
    }

    /// Whether objects are put over `https://` (AWS itself, or an `https` endpoint).
    pub fn is_https(&self) -> bool {
        self.endpoint
            .as_ref()
            .is_none_or(|endpoint| endpoint.scheme() == "https")
    }

    /// The URL of the object `key`.
    fn object_url(&self, key: &str) -> Result<Url, Error> {
        let encoded = encode_key(key);
        let text = match &self.endpoint {
            Some(endpoint) => format!(
                "{}/{}/{encoded}",
                endpoint.as_str().trim_end_matches('/'),
                self.bucket
            ),
            None => format!(
                "https://{}.s3.{}.amazonaws.com/{encoded}",
                self.bucket, self.region
            ),
        };
        Url::parse(&text).map_err(|error| Error::encode("the object URL", error))
    }
}

/// Builds an [`S3Destination`].
#[derive(Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct S3DestinationBuilder {
    bucket: String,
    region: Option<String>,
    prefix: String,
    endpoint: Option<String>,
    credentials: Option<S3Credentials>,
    body_format: S3BodyFormat,
}

impl S3DestinationBuilder {
    /// The bucket's region (default: `AWS_REGION`, else `us-east-1`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// A prefix for every key, such as `"amberflo/"` (default none).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// An S3-compatible endpoint, such as `http://127.0.0.1:8014` (path-style requests).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The credentials (default: [`S3Credentials::from_env`]).
    pub fn credentials(mut self, credentials: S3Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// How batches are written (default [`S3BodyFormat::Json`]).
    pub fn body_format(mut self, format: S3BodyFormat) -> Self {
        self.body_format = format;
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming `bucket`, `region` or `endpoint_url`, or the AWS
    /// variable missing when no credentials were given.
    pub fn build(self) -> Result<S3Destination, Error> {
        let valid_bucket = self.bucket.len() >= 3
            && self.bucket.len() <= 63
            && self
                .bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_bucket {
            return Err(Error::invalid_config(
                "bucket",
                "must be 3 to 63 lower-case letters, digits, dots or hyphens",
            ));
        }
        let region = match self.region {
            Some(region) => region,
            None => std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned()),
        };
        if region.trim().is_empty() || region.contains(['/', ' ']) {
            return Err(Error::invalid_config("region", "must be a region name"));
        }
        let endpoint = match &self.endpoint {
            Some(raw) => Some(url_policy::check_base_url("endpoint_url", raw, false)?),
            None => None,
        };
        let credentials = match self.credentials {
            Some(credentials) => credentials,
            None => S3Credentials::from_env()?,
        };
        Ok(S3Destination {
            bucket: self.bucket,
            region,
            prefix: self.prefix,
            endpoint,
            credentials,
            body_format: self.body_format,
        })
    }
}

/// An error answer from S3: its status and the `Code` and `Message` of its XML body.
///
/// ```
/// use amberflo_transport::S3Error;
///
/// let body = "<Error><Code>SignatureDoesNotMatch</Code><Message>bad</Message></Error>";
/// let error = S3Error::from_answer(http::StatusCode::FORBIDDEN, body.as_bytes(), None);
/// assert_eq!(error.code, "SignatureDoesNotMatch");
/// assert!(!error.is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("S3 answered {status} {code}: {message}")]
#[non_exhaustive]
pub struct S3Error {
    /// The HTTP status.
    pub status: StatusCode,
    /// S3's error code, such as `SignatureDoesNotMatch`, `NoSuchBucket` or `SlowDown`
    /// (empty when the body had none).
    pub code: String,
    /// S3's message (at most 512 characters).
    pub message: String,
    /// The server's `Retry-After`, as sent (the retry policy caps the wait).
    pub retry_after: Option<Duration>,
}

impl S3Error {
    /// Reads the status, and `Code` / `Message` from an S3 XML error body.
    pub fn from_answer(status: StatusCode, body: &[u8], retry_after: Option<Duration>) -> Self {
        let text = String::from_utf8_lossy(body);
        let element = |name: &str| -> String {
            let open = format!("<{name}>");
            let close = format!("</{name}>");
            text.split_once(open.as_str())
                .and_then(|(_, rest)| rest.split_once(close.as_str()))
                .map(|(value, _)| value.chars().take(512).collect())
                .unwrap_or_default()
        };
        S3Error {
            status,
            code: element("Code"),
            message: element("Message"),
            retry_after,
        }
    }

    /// True for 408, 429, 5xx and S3's `SlowDown` / `RequestTimeout`; false otherwise (a bad
    /// signature, a missing bucket, access denied).
    pub fn is_retryable(&self) -> bool {
        self.status == StatusCode::REQUEST_TIMEOUT
            || self.status == StatusCode::TOO_MANY_REQUESTS
            || self.status.is_server_error()
            || self.code == "SlowDown"
            || self.code == "RequestTimeout"
    }
}

/// PUTs objects into an [`S3Destination`] over a [`Transport`].
///
/// ```
/// # #[cfg(feature = "mock")] {
/// use amberflo_transport::{MockTransport, S3Client, S3Credentials, S3Destination};
///
/// let mock = MockTransport::new();
/// let credentials = S3Credentials::builder()
///     .access_key_id("AKIDEXAMPLE")
///     .secret_access_key("secret")
///     .build()?;
/// let destination = S3Destination::builder("my-bucket").credentials(credentials).build()?;
/// let client = S3Client::new(std::sync::Arc::new(mock.clone()), destination);
/// # let rt = tokio::runtime::Builder::new_current_thread().build().map_err(|e| e.to_string())?;
/// rt.block_on(client.put_object("a/b.json", b"[]".to_vec().into()))?;
/// let sent = &mock.requests()[0];
/// assert_eq!(sent.method, "PUT");
/// assert!(sent.header("authorization").unwrap().starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct S3Client {
    transport: Arc<dyn Transport>,
    destination: S3Destination,
}

impl fmt::Debug for S3DestinationBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3DestinationBuilder")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("prefix", &self.prefix)
            // Checked only at `build`: it may still hold credentials.
            .field(
                "endpoint",
                &self.endpoint.as_deref().map(url_policy::redacted_url),
            )
            .field("credentials", &self.credentials)
            .field("body_format", &self.body_format)
            .finish()
    }
}

impl fmt::Debug for S3Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Client")
            .field("transport", &self.transport.name())
            .field("destination", &self.destination)
            .finish()
    }
}

impl S3Client {
    /// A client sending through `transport`.
    pub fn new(transport: Arc<dyn Transport>, destination: S3Destination) -> Self {
        S3Client {
            transport,
            destination,
        }
    }

    /// The destination.
    pub fn destination(&self) -> &S3Destination {
        &self.destination
    }

    /// PUTs `body` as the object `key` (under the destination's prefix), with the
    /// destination's content type, signed with Signature V4.
    ///
    /// # Errors
    /// [`Error::S3`] for a non-2xx answer (retryable or not, see [`S3Error::is_retryable`]),
    /// [`Error::Transport`] when no answer came, [`Error::Encode`] for a key that cannot be
    /// signed.
    pub async fn put_object(&self, key: &str, body: Bytes) -> Result<(), Error> {
        let request = self.signed_put(key, body, SystemTime::now())?;
        let response = self.transport.send(request).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = retry_after::from_headers(response.headers(), SystemTime::now());
        Err(Error::S3(S3Error::from_answer(
            status,
            response.body(),
            retry_after,
        )))
    }

    fn signed_put(
        &self,
        key: &str,
        body: Bytes,
        now: SystemTime,
    ) -> Result<http::Request<Bytes>, Error> {
        let destination = &self.destination;
        let url = destination.object_url(&format!("{}{key}", destination.prefix))?;
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let content_type = destination.body_format.content_type();
        let mut request = http::Request::builder()
            .method(Method::PUT)
            .uri(url.as_str())
            .header(http::header::HOST, &host)
            .header(http::header::CONTENT_TYPE, content_type)
            .header(http::header::CONTENT_LENGTH, body.len())
            .body(body)
            .map_err(|error| Error::encode("the S3 request", error))?;
        // S3 signs the path as sent (single encoding, no normalisation) and wants the
        // payload's hash in `x-amz-content-sha256`.
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let identity = destination.credentials.identity();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&destination.region)
            .name("s3")
            .time(now)
            .settings(settings)
            .build()
            .map_err(|error| Error::encode("S3 signing parameters", error))?
            .into();
        let headers = request
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
        let signable = SignableRequest::new(
            "PUT",
            url.as_str(),
            headers,
            SignableBody::Bytes(request.body()),
        )
        .map_err(|error| Error::encode("the S3 request to sign", error))?;
        // `aws-sigv4` logs the canonical request, session token included, at trace level:
        // sign with this thread's events going nowhere, so no subscriber ever sees it.
        let signed =
            tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
                sign(signable, &params)
            });
        let (instructions, _signature) = signed
            .map_err(|error| Error::encode("the S3 signature", error))?
            .into_parts();
        instructions.apply_to_request_http1x(&mut request);
        if !request.headers().contains_key(http::header::CONTENT_TYPE) {
            request.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(content_type),
            );
        }
        Ok(request)
    }
}

/// Percent-encodes an object key for its URL path: everything but unreserved characters and
/// `/` (S3's own URI encoding, which Signature V4 signs as is).
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(byte));
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event (any level, any target) logged on this thread while `run` runs, as text.
    fn logged<R>(run: impl FnOnce() -> R) -> (R, String) {
        use std::sync::Mutex;
        use tracing::field::{Field, Visit};
        use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

        #[derive(Clone, Default)]
        struct Events(Arc<Mutex<String>>);
        struct Text<'a>(&'a mut String);
        impl Visit for Text<'_> {
            fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
                self.0.push_str(&format!("{}={value:?} ", field.name()));
            }
        }
        impl<S: tracing::Subscriber> Layer<S> for Events {
            fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
                let mut text = self.0.lock().unwrap_or_else(|e| e.into_inner());
                text.push_str(event.metadata().target());
                text.push(' ');
                event.record(&mut Text(&mut text));
                text.push('\n');
            }
        }
        let events = Events::default();
        let subscriber = tracing_subscriber::registry().with(events.clone());
        let result = tracing::subscriber::with_default(subscriber, run);
        let text = events.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        (result, text)
    }

    #[test]
    fn signing_logs_neither_the_session_token_nor_the_secret_key() {
        struct Unused;
        #[async_trait::async_trait]
        impl Transport for Unused {
            async fn send(
                &self,
                _request: http::Request<Bytes>,
            ) -> Result<http::Response<Bytes>, crate::TransportError> {
                unreachable!("only signing runs here")
            }
        }
        let credentials = S3Credentials::builder()
            .access_key_id("AKIDEXAMPLE")
            .secret_access_key("SECRETKEY0123456789")
            .session_token("SESSIONTOKEN0123456789")
            .build()
            .unwrap();
        let destination = S3Destination::builder("bucket-1")
            .endpoint_url("http://127.0.0.1:8014")
            .credentials(credentials)
            .build()
            .unwrap();
        let client = S3Client::new(Arc::new(Unused), destination);
        let (request, text) = logged(|| {
            // The capture sees trace-level events (the control).
            tracing::trace!("signing a test upload");
            client.signed_put("k.json", Bytes::from_static(b"{}"), SystemTime::now())
        });
        let request = request.unwrap();
        // The token is in the signed request, so a log of it would show it.
        assert_eq!(
            request.headers()["x-amz-security-token"],
            "SESSIONTOKEN0123456789"
        );
        assert!(text.contains("signing a test upload"), "{text}");
        assert!(!text.contains("SESSIONTOKEN0123456789"), "{text}");
        assert!(!text.contains("SECRETKEY0123456789"), "{text}");
    }

    fn lookup(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn credentials_come_from_the_standard_variables_and_name_the_missing_one() {
        let credentials = S3Credentials::from_lookup(lookup(&[
            (ENV_ACCESS_KEY_ID, "AKID"),
            (ENV_SECRET_ACCESS_KEY, "SECRET"),
            (ENV_SESSION_TOKEN, "TOKEN"),
        ]))
        .unwrap();
        assert_eq!(credentials.access_key_id(), "AKID");
        let shown = format!("{credentials:?}");
        assert!(
            !shown.contains("SECRET") && !shown.contains("TOKEN"),
            "{shown}"
        );
        let missing =
            S3Credentials::from_lookup(lookup(&[(ENV_ACCESS_KEY_ID, "AKID")])).unwrap_err();
        assert!(
            matches!(
                missing,
                Error::InvalidConfig {
                    field: "AWS_SECRET_ACCESS_KEY",
                    ..
                }
            ),
            "{missing:?}"
        );
    }

    #[test]
    fn keys_are_encoded_and_urls_follow_the_endpoint_style() {
        assert_eq!(encode_key("a b/c=d+e.json"), "a%20b/c%3Dd%2Be.json");
        let credentials = S3Credentials::builder()
            .access_key_id("a")
            .secret_access_key("b")
            .build()
            .unwrap();
        let aws = S3Destination::builder("bucket-1")
            .region("eu-west-1")
            .credentials(credentials.clone())
            .build()
            .unwrap();
        assert_eq!(
            aws.object_url("k.json").unwrap().as_str(),
            "https://bucket-1.s3.eu-west-1.amazonaws.com/k.json"
        );
        let local = S3Destination::builder("bucket-1")
            .endpoint_url("http://127.0.0.1:8014/")
            .credentials(credentials)
            .build()
            .unwrap();
        assert_eq!(
            local
                .object_url("ingest/schema_detection=AUTO/k.json")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8014/bucket-1/ingest/schema_detection%3DAUTO/k.json"
        );
    }

    #[test]
    fn no_malformed_endpoint_echoes_its_password() {
        use crate::url_policy::malformed::{MALFORMED_WITH_SECRETS, shows_secret};
        for raw in MALFORMED_WITH_SECRETS {
            let builder = S3Destination::builder("bucket-1").endpoint_url(*raw);
            let shown = format!("{builder:?}");
            assert!(!shows_secret(&shown), "{raw}: {shown}");
            if let Err(error) = builder.build() {
                let shown = format!("{error} {error:?}");
                assert!(!shows_secret(&shown), "{raw}: {shown}");
            }
        }
    }

    #[test]
    fn bad_settings_name_the_field() {
        let credentials = S3Credentials::builder()
            .access_key_id("a")
            .secret_access_key("b")
            .build()
            .unwrap();
        for (builder, field) in [
            (S3Destination::builder("Bad_Bucket"), "bucket"),
            (S3Destination::builder("ok-bucket").region(" "), "region"),
            (
                S3Destination::builder("ok-bucket").endpoint_url("http://s3.example.com"),
                "endpoint_url",
            ),
        ] {
            let error = builder
                .credentials(credentials.clone())
                .build()
                .unwrap_err();
            assert!(
                matches!(error, Error::InvalidConfig { field: f, .. } if f == field),
                "{error:?}"
            );
        }
    }
}

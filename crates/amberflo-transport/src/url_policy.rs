//! Base-URL policy: `https` always, plain `http` only for loopback hosts or on explicit opt-in.

use std::net::{IpAddr, Ipv6Addr};

use url::{Host, Url};

use crate::Error;

/// Parses and checks a base URL for the setting `field` (`api_url` or `ingest_url`).
///
/// Accepts `https://` URLs; accepts `http://` only when the host is loopback (`127.0.0.0/8`,
/// `::1`, `localhost`) or `allow_insecure_http` is set. Rejects other schemes, URLs without a
/// host, and URLs with credentials, a query or a fragment. A trailing `/` is removed so paths
/// join cleanly.
pub(crate) fn check_base_url(
    field: &'static str,
    raw: &str,
    allow_insecure_http: bool,
) -> Result<Url, Error> {
    // Messages quote the URL without any credentials it carries.
    let shown = redacted_url(raw);
    let url = Url::parse(raw.trim())
        .map_err(|e| Error::invalid_config(field, format!("`{shown}` is not a valid URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_config(
            field,
            format!("`{shown}` must not carry credentials; the API key is sent as a header"),
        ));
    }
    let Some(host) = url.host() else {
        return Err(Error::invalid_config(
            field,
            format!("`{shown}` has no host"),
        ));
    };
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(&host) => {}
        "http" => {
            return Err(Error::invalid_config(
                field,
                format!(
                    "`{shown}` uses plain http to a non-loopback host, which would send the API \
                     key in clear text; use https, or opt in with allow_insecure_http()"
                ),
            ));
        }
        other => {
            return Err(Error::invalid_config(
                field,
                format!("`{shown}` has scheme `{other}`; only https (and http to loopback) work"),
            ));
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid_config(
            field,
            format!("`{shown}` must not have a query or fragment"),
        ));
    }
    let mut url = url;
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&trimmed);
    Ok(url)
}

/// `raw` with everything between the scheme's `://` (or the start, without one) and the last
/// `@` replaced by `***`, whether or not it parses as a URL: safe to log or show in an error.
///
/// Conservative on purpose: a password may hold an unencoded `/`, `?`, `#` or `@`, so no
/// `@` can be trusted to end it but the last; a URL with an `@` in its path loses that part of
/// the path in messages, never a credential.
///
/// ```
/// use amberflo_transport::redacted_url;
///
/// assert_eq!(redacted_url("https://user:secret@example.com/api"), "https://***@example.com/api");
/// assert_eq!(redacted_url("https://user:se/c#ret@example.com"), "https://***@example.com");
/// assert_eq!(redacted_url("https://example.com/api"), "https://example.com/api");
/// ```
pub fn redacted_url(raw: &str) -> String {
    // After `scheme://` only when what precedes it is a scheme (a `://` inside a password is
    // not one), else from the start.
    let start = raw
        .find("://")
        .filter(|&at| is_scheme(&raw[..at]))
        .map_or(0, |at| at + 3);
    match raw[start..].rfind('@') {
        Some(at) => format!("{}***{}", &raw[..start], &raw[start + at..]),
        None => raw.to_owned(),
    }
}

/// Whether `text` is a URL scheme: a letter, then letters, digits, `+`, `-` or `.`.
fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Whether `host` is `localhost` or a loopback address.
pub(crate) fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => {
            let name = name.trim_end_matches('.');
            name.eq_ignore_ascii_case("localhost")
        }
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => is_loopback_v6(*ip),
    }
}

fn is_loopback_v6(ip: Ipv6Addr) -> bool {
    ip.is_loopback()
        || ip
            .to_ipv4_mapped()
            .is_some_and(|v4| IpAddr::V4(v4).is_loopback())
}

/// Test data shared with the modules that echo URLs.
#[cfg(test)]
pub(crate) mod malformed {
    /// Every malformed way to put a password in a URL (the password is `HUNTER2XYZZY`,
    /// sometimes split, beside the character that breaks the parse).
    pub(crate) const MALFORMED_WITH_SECRETS: &[&str] = &[
        "https://user:HUNTER2XYZZY#x@example.com",
        "https://user:x#HUNTER2XYZZY@example.com",
        "https://user:HUNTER2XYZZY?x@example.com",
        "https://user:HUNTER2/XYZZY@example.com/path",
        "https://user:x/HUNTER2XYZZY@example.com",
        "https:///user:HUNTER2XYZZY@example.com",
        "https:/user:HUNTER2XYZZY@example.com",
        "https:user:HUNTER2XYZZY@example.com",
        "https://user:HUNTER2XYZZY@@example.com",
        "https://user:HUNTER2@XYZZY@example.com",
        "https://user:HUNTER2XYZZY@exa mple.com",
        "http://user:HUNTER2XYZZY@[::1",
        "//user:HUNTER2XYZZY@example.com",
        "https:user:HUNTER2://XYZZY@example.com",
    ];

    /// Whether `text` shows any part of the secret of [`MALFORMED_WITH_SECRETS`].
    pub(crate) fn shows_secret(text: &str) -> bool {
        text.contains("HUNTER2") || text.contains("XYZZY")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_error_quotes_credentials() {
        let secret = "S3CRET";
        for raw in [
            "http://user:S3CRET@example.com",
            "ftp://user:S3CRET@example.com/x",
            "https://user:S3CRET@example.com",
            "https://user:S3CRET@example.com/?q=1",
            "http://user:S3CRET@[::1",
            "user:S3CRET@host without scheme",
            "https://S3CRET@example.com",
        ] {
            for insecure in [false, true] {
                let error = check_base_url("api_url", raw, insecure).unwrap_err();
                let shown = format!("{error} {error:?}");
                assert!(!shown.contains(secret), "{raw}: {shown}");
            }
        }
        assert_eq!(redacted_url("https://u:p@h/p@x"), "https://***@x");
        assert_eq!(redacted_url("https://h/p"), "https://h/p");
    }

    #[test]
    fn no_malformed_url_echoes_its_password() {
        use super::malformed::{MALFORMED_WITH_SECRETS, shows_secret};
        for raw in MALFORMED_WITH_SECRETS {
            assert!(
                !shows_secret(&redacted_url(raw)),
                "{raw}: {}",
                redacted_url(raw)
            );
            for insecure in [false, true] {
                if let Err(error) = check_base_url("api_url", raw, insecure) {
                    let shown = format!("{error} {error:?}");
                    assert!(!shows_secret(&shown), "{raw}: {shown}");
                }
            }
        }
    }

    fn reason(result: Result<Url, Error>) -> (String, &'static str) {
        match result {
            Err(Error::InvalidConfig { field, reason }) => (reason, field),
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn https_is_always_fine() {
        let url = check_base_url("api_url", "https://app.amberflo.io/", false).unwrap();
        assert_eq!(url.as_str(), "https://app.amberflo.io/");
        let url = check_base_url("api_url", "https://proxy.example/amberflo/", false).unwrap();
        assert_eq!(url.as_str(), "https://proxy.example/amberflo");
    }

    #[test]
    fn plain_http_to_loopback_is_fine() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.3.2.1",
            "http://localhost:1234/",
            "http://LOCALHOST.",
            "http://[::1]:9000",
            "http://[::ffff:127.0.0.1]",
        ] {
            assert!(check_base_url("ingest_url", ok, false).is_ok(), "{ok}");
        }
    }

    #[test]
    fn plain_http_elsewhere_is_refused_naming_the_field() {
        for bad in [
            "http://ingest.amberflo.io",
            "http://10.0.0.1",
            "http://128.0.0.1",
            "http://[::2]",
            "http://localhost.evil.example",
            "http://0.0.0.0",
        ] {
            let (reason, field) = reason(check_base_url("ingest_url", bad, false));
            assert_eq!(field, "ingest_url");
            assert!(reason.contains("allow_insecure_http"), "{reason}");
        }
    }

    #[test]
    fn explicit_opt_in_allows_plain_http() {
        let url = check_base_url("api_url", "http://emulator.internal:8080", true).unwrap();
        assert_eq!(url.scheme(), "http");
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "ftp://app.amberflo.io",
            "not a url",
            "https://user:pw@app.amberflo.io",
            "https://app.amberflo.io/?x=1",
            "https://app.amberflo.io/#frag",
            "unix:/tmp/sock",
        ] {
            let (_, field) = reason(check_base_url("api_url", bad, true));
            assert_eq!(field, "api_url", "{bad}");
        }
    }
}

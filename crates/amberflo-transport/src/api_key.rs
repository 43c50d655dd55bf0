//! [`ApiKey`]: the Amberflo API key, which never shows up in `Debug` output or logs.

use std::fmt;

use http::HeaderValue;

use crate::Error;

/// An Amberflo API key, sent as the `X-API-KEY` header.
///
/// Its `Debug` output is always `ApiKey(***)`, and it has no `Display`, so the key does not
/// leak through logs or error messages; read it with [`expose_secret`](Self::expose_secret).
///
/// ```
/// use amberflo_transport::ApiKey;
///
/// let key = ApiKey::new("sk-123")?;
/// assert_eq!(format!("{key:?}"), "ApiKey(***)");
/// assert_eq!(key.expose_secret(), "sk-123");
/// assert!(ApiKey::new("   ").is_err());
/// # Ok::<(), amberflo_transport::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    key: String,
    header: HeaderValue,
}

impl ApiKey {
    /// Wraps `key`, trimmed of surrounding whitespace.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming `api_key` when the key is blank or holds anything but
    /// visible ASCII (no inner spaces, control characters or non-ASCII text).
    pub fn new(key: impl Into<String>) -> Result<Self, Error> {
        let key = key.into();
        let key = key.trim();
        if key.is_empty() {
            return Err(Error::invalid_config("api_key", "must not be blank"));
        }
        let invalid =
            || Error::invalid_config("api_key", "must hold only visible ASCII characters");
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid());
        }
        let mut header = HeaderValue::from_str(key).map_err(|_| invalid())?;
        header.set_sensitive(true);
        Ok(Self {
            key: key.to_owned(),
            header,
        })
    }

    /// The key itself. Avoid logging it.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.key
    }

    /// The key as a header value, marked sensitive.
    pub(crate) fn header_value(&self) -> &HeaderValue {
        &self.header
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl std::str::FromStr for ApiKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_blank_and_control_characters() {
        for bad in ["", "  ", "\t\n"] {
            let err = ApiKey::new(bad).err().map(|e| e.to_string());
            assert_eq!(
                err.as_deref(),
                Some("invalid configuration for `api_key`: must not be blank")
            );
        }
        assert!(ApiKey::new("abc\u{1}def").is_err());
        assert!(ApiKey::new("clé").is_err());
        assert!(ApiKey::new("two words").is_err());
    }

    #[test]
    fn trims_and_marks_header_sensitive() -> Result<(), Error> {
        let key = ApiKey::new("  k-1  ")?;
        assert_eq!(key.expose_secret(), "k-1");
        assert!(key.header_value().is_sensitive());
        assert_eq!(key.header_value(), "k-1");
        Ok(())
    }

    proptest! {
        #[test]
        fn debug_never_shows_the_key(key in "[a-zA-Z0-9_-]{4,40}") {
            let api_key = ApiKey::new(key.clone()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let shown = format!("{api_key:?} {api_key:#?}");
            prop_assert!(!shown.contains(&key));
            prop_assert_eq!(format!("{api_key:?}"), "ApiKey(***)");
        }
    }
}

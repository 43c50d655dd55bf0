//! Customer portal sessions: the [`CustomerPortalSessionRequest`] (`POST /session`) and the
//! [`CustomerPortalSession`] it returns.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::{time, validate};

/// Asks for a customer portal session.
///
/// ```
/// use amberflo_types::{CustomerPortalSessionRequest, Rule};
/// use std::time::{Duration, SystemTime};
///
/// let request = CustomerPortalSessionRequest::builder("customer-1")
///     .expiration_time(SystemTime::now() + Duration::from_secs(3600))
///     .return_url("https://app.example.test/billing")
///     .build()?;
/// let json = serde_json::to_value(&request).unwrap();
/// assert_eq!(json["returnUrl"], "https://app.example.test/billing");
/// assert!(json["expirationEpochMilliSeconds"].is_i64());
///
/// let error = CustomerPortalSessionRequest::builder("customer-1")
///     .return_url("")
///     .build()
///     .unwrap_err();
/// assert_eq!((error.field(), error.rule()), ("return_url", &Rule::Blank));
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CustomerPortalSessionRequest {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_id: String,
    #[serde(
        default,
        rename = "expirationEpochMilliSeconds",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "i64", range(min = crate::MIN_EPOCH_MILLIS, max = crate::MAX_EPOCH_MILLIS))
    )]
    expiration_epoch_milliseconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    return_url: Option<String>,
}

impl CustomerPortalSessionRequest {
    /// Starts a request for `customer_id`'s portal.
    pub fn builder(customer_id: impl Into<String>) -> CustomerPortalSessionRequestBuilder {
        CustomerPortalSessionRequestBuilder {
            request: CustomerPortalSessionRequest {
                customer_id: customer_id.into(),
                expiration_epoch_milliseconds: None,
                return_url: None,
            },
        }
    }

    /// Checks that the customer id and return URL are not blank and the expiry is positive.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("customer_id", &self.customer_id)?;
        if let Some(expiration) = self.expiration_epoch_milliseconds {
            validate::epoch_millis("expiration_epoch_milliseconds", expiration)?;
        }
        validate::optional_non_blank("return_url", self.return_url.as_deref())
    }

    /// The customer whose portal is opened.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }

    /// When the session expires, in Unix milliseconds (the API defaults to 24 hours).
    pub fn expiration_epoch_milliseconds(&self) -> Option<i64> {
        self.expiration_epoch_milliseconds
    }

    /// When the session expires, if set.
    pub fn expiration_time(&self) -> Option<SystemTime> {
        self.expiration_epoch_milliseconds
            .map(time::from_epoch_millis)
    }

    /// Where the portal sends the customer back to.
    pub fn return_url(&self) -> Option<&str> {
        self.return_url.as_deref()
    }
}

/// Builds a validated [`CustomerPortalSessionRequest`]; see
/// [`CustomerPortalSessionRequest::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct CustomerPortalSessionRequestBuilder {
    request: CustomerPortalSessionRequest,
}

impl CustomerPortalSessionRequestBuilder {
    /// Sets when the session expires, in Unix milliseconds.
    pub fn expiration_epoch_milliseconds(mut self, millis: i64) -> Self {
        self.request.expiration_epoch_milliseconds = Some(millis);
        self
    }

    /// Sets when the session expires (kept to the millisecond; the API defaults to 24
    /// hours). A time before 1970 fails `build` on `expiration_epoch_milliseconds`.
    pub fn expiration_time(mut self, time: SystemTime) -> Self {
        self.request.expiration_epoch_milliseconds = Some(time::to_epoch_millis(time));
        self
    }

    /// Sets where the portal sends the customer back to.
    pub fn return_url(mut self, url: impl Into<String>) -> Self {
        self.request.return_url = Some(url.into());
        self
    }

    /// Validates and returns the request.
    pub fn build(self) -> Result<CustomerPortalSessionRequest, ValidationError> {
        self.request.validate()?;
        Ok(self.request)
    }
}

/// A customer portal session: the URL to open and its token (both required). (A server making one starts
/// from `CustomerPortalSession::default()` and sets the fields by name.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CustomerPortalSession {
    /// The portal URL.
    pub url: String,
    /// The session token.
    pub session_token: String,
}

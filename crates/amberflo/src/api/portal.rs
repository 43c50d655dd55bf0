//! [`PortalSessionsApi`]: `POST /session`.

use amberflo_types::{CustomerPortalSession, CustomerPortalSessionRequest};

use crate::client::Client;
use crate::error::Error;
use http::Method;

const SESSION: &str = "/session";

/// Opens customer portal sessions; from [`Client::portal_sessions`].
///
/// ```no_run
/// use amberflo::types::CustomerPortalSessionRequest;
///
/// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
/// let request = CustomerPortalSessionRequest::builder("customer-1").build()?;
/// let session = client.portal_sessions().create(&request).await?;
/// println!("open {}", session.url);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct PortalSessionsApi<'a> {
    client: &'a Client,
}

impl<'a> PortalSessionsApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        PortalSessionsApi { client }
    }

    /// A portal URL and session token for the customer.
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid request, else as any API call.
    #[doc(alias = "get")]
    pub async fn create(
        self,
        request: &CustomerPortalSessionRequest,
    ) -> Result<CustomerPortalSession, Error> {
        request.validate()?;
        self.client
            .call_json(Method::POST, SESSION, &(), request)
            .await
    }
}

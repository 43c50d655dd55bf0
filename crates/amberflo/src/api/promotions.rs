//! [`PromotionsApi`]: the account's promotions, and promotions applied to customers.

use amberflo_types::{
    ApplyPromotionPayload, CustomerId, CustomerProductQuery, CustomerPromotion, Promotion,
    PromotionId, PromotionQuery, RemovePromotionQuery,
};
use http::Method;

use crate::api::found;
use crate::client::Client;
use crate::error::Error;

const PROMOTIONS: &str = "/payments/pricing/amberflo/account-pricing/promotions";
const PROMOTIONS_LIST: &str = "/payments/pricing/amberflo/account-pricing/promotions/list";
const CUSTOMER_PROMOTIONS: &str = "/payments/pricing/amberflo/customer-promotions";
const CUSTOMER_PROMOTIONS_LIST: &str = "/payments/pricing/amberflo/customer-promotions/list";

/// Lists promotions and applies them to customers; from [`Client::promotions`].
///
/// ```no_run
/// use amberflo::types::{ApplyPromotionPayload, CustomerProductQuery};
///
/// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
/// let promotions = client.promotions().list().await?;
/// let payload = ApplyPromotionPayload::builder("customer-1")
///     .promotion_id(&promotions[0].id)
///     .build()?;
/// client.promotions().apply(&payload).await?;
/// let applied = client
///     .promotions()
///     .list_applied(&CustomerProductQuery::builder("customer-1").build()?)
///     .await?;
/// client.promotions().remove("customer-1", &promotions[0].id).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct PromotionsApi<'a> {
    client: &'a Client,
}

impl<'a> PromotionsApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        PromotionsApi { client }
    }

    /// Every promotion of the account.
    ///
    /// # Errors
    /// As any API call.
    pub async fn list(self) -> Result<Vec<Promotion>, Error> {
        self.client.call(Method::GET, PROMOTIONS_LIST, &()).await
    }

    /// One promotion of the account, or `None` when there is none.
    ///
    /// ```no_run
    /// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
    /// if let Some(promotion) = client.promotions().get("promotion-1").await? {
    ///     println!("{}: {:?}", promotion.id, promotion.promotion_name);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Validation`] for a blank id, else as any API call.
    pub async fn get(self, id: impl Into<PromotionId>) -> Result<Option<Promotion>, Error> {
        let query = PromotionQuery::new(id.into().into_string())?;
        found::get(self.client, PROMOTIONS, &query).await
    }

    /// Applies a promotion to a customer (`POST`, not retried).
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid payload, else as any API call.
    pub async fn apply(self, payload: &ApplyPromotionPayload) -> Result<CustomerPromotion, Error> {
        payload.validate()?;
        self.client
            .call_json(Method::POST, CUSTOMER_PROMOTIONS, &(), payload)
            .await
    }

    /// The promotions applied to a customer.
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid query, else as any API call.
    pub async fn list_applied(
        self,
        query: &CustomerProductQuery,
    ) -> Result<Vec<CustomerPromotion>, Error> {
        query.validate()?;
        self.client
            .call(Method::GET, CUSTOMER_PROMOTIONS_LIST, query)
            .await
    }

    /// Removes a promotion from a customer. What the server answers beside a 2xx is not read
    /// (the Go SDK discards it too).
    ///
    /// # Errors
    /// [`Error::Validation`] for a blank id, else as any API call.
    pub async fn remove(
        self,
        customer_id: impl Into<CustomerId>,
        promotion_id: impl Into<PromotionId>,
    ) -> Result<(), Error> {
        let query = RemovePromotionQuery::new(
            customer_id.into().into_string(),
            promotion_id.into().into_string(),
        )?;
        self.client
            .call_ignoring_body(Method::DELETE, CUSTOMER_PROMOTIONS, &query)
            .await
    }
}

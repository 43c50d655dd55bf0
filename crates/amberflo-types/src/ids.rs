//! Ids of the API's resources as newtypes ([`CustomerId`], [`MeterId`] vs [`MeterApiName`],
//! ...), so a call that takes one id cannot be handed another. Each converts from `&str`,
//! `String` and `&String`, so `client.customers().get("customer-1")` reads as before.

/// Declares a `String` newtype for one kind of id.
macro_rules! ids {
    ($( $(#[$meta:meta])* $name:ident; )+) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&String> for $name {
            fn from(id: &String) -> Self {
                $name(id.clone())
            }
        }

        impl From<&$name> for $name {
            fn from(id: &$name) -> Self {
                id.clone()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    )+};
}

ids! {
    /// A customer's id (`customerId`), chosen by you when you create the customer.
    ///
    /// ```
    /// use amberflo_types::CustomerId;
    ///
    /// let id = CustomerId::from("customer-1");
    /// assert_eq!(id, "customer-1");
    /// assert_eq!(id.to_string(), "customer-1");
    /// ```
    CustomerId;
    /// A meter's API name (`meterApiName`): what meter records and usage queries name.
    ///
    /// ```
    /// use amberflo_types::MeterApiName;
    ///
    /// assert_eq!(MeterApiName::from("ApiCalls").as_str(), "ApiCalls");
    /// ```
    MeterApiName;
    /// The server's id of a meter definition (`id`), which updates and deletes take; not its
    /// [`MeterApiName`].
    ///
    /// ```
    /// use amberflo_types::MeterId;
    ///
    /// assert_eq!(MeterId::from(String::from("m-1")).into_string(), "m-1");
    /// ```
    MeterId;
    /// The server's id of a signal (notification).
    ///
    /// ```
    /// use amberflo_types::SignalId;
    ///
    /// assert_eq!(SignalId::from("s-1"), "s-1");
    /// ```
    SignalId;
    /// The id of a promotion.
    ///
    /// ```
    /// use amberflo_types::PromotionId;
    ///
    /// assert_eq!(PromotionId::from("launch"), "launch");
    /// ```
    PromotionId;
    /// The id of a customer's prepaid order.
    ///
    /// ```
    /// use amberflo_types::PrepaidOrderId;
    ///
    /// assert_eq!(PrepaidOrderId::from("order-1"), "order-1");
    /// ```
    PrepaidOrderId;
}

//! Meter definitions (`/meters`): the [`MeterDefinitionPayload`] sent to create or update one,
//! the lenient [`MeterDefinition`] the API returns, and [`MeterDefinitionQuery`].
//!
//! The API's rules: an update (`PUT`) must carry the server's `id` (without it the API answers
//! 400 "Meter already exists"), and a meter is deleted by id only, after its `lockingStatus`
//! was set to `deprecated`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Rule, ValidationError};
use crate::open_enum::open_enum;
use crate::validate;

open_enum! {
    /// Whether a meter (or product plan) may change (`lockingStatus`); only a `Deprecated`
    /// meter may be deleted.
    ///
    /// ```
    /// use amberflo_types::LockingStatus;
    ///
    /// assert_eq!(LockingStatus::CloseToChanges.as_str(), "close_to_changes");
    /// assert_eq!(LockingStatus::from("deprecated"), LockingStatus::Deprecated);
    /// ```
    LockingStatus {
        /// Open to changes (`open`, the default).
        Open => "open",
        /// Closed to changes (`close_to_changes`).
        CloseToChanges => "close_to_changes",
        /// Deprecated (`deprecated`): the one status that allows deleting.
        Deprecated => "deprecated",
    }
}

open_enum! {
    /// How a meter aggregates its records (`meterType`).
    ///
    /// ```
    /// use amberflo_types::MeterType;
    ///
    /// assert_eq!(MeterType::SumOfAllUsage.as_str(), "sum_of_all_usage");
    /// assert_eq!(MeterType::from("unique_count"), MeterType::Other("unique_count".into()));
    /// ```
    MeterType {
        /// The sum of every value (`sum_of_all_usage`).
        SumOfAllUsage => "sum_of_all_usage",
        /// Distinct active users (`active_users`).
        ActiveUsers => "active_users",
        /// The duration of events (`event_duration`).
        EventDuration => "event_duration",
    }
}

/// A meter definition to create (`POST /meters`, without an id) or update (`PUT /meters`,
/// with the server's id).
///
/// ```
/// use amberflo_types::{MeterDefinitionPayload, MeterType, Rule};
///
/// let meter = MeterDefinitionPayload::builder("ApiCalls")
///     .label("API calls")
///     .meter_type(MeterType::SumOfAllUsage)
///     .dimensions(["region"])
///     .used_in_billing()
///     .build()?;
/// let json = serde_json::to_value(&meter).unwrap();
/// assert_eq!(json["meterType"], "sum_of_all_usage");
/// assert_eq!(json["useInBilling"], true);
/// assert!(json.get("id").is_none());
///
/// let error = MeterDefinitionPayload::builder("ApiCalls")
///     .label("API calls")
///     .build()
///     .unwrap_err();
/// assert_eq!(
///     (error.field(), error.rule()),
///     ("meter_type", &Rule::Missing)
/// );
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MeterDefinitionPayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    id: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    label: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    meter_api_name: String,
    meter_type: MeterType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "Vec<crate::schema::NonBlank>"))]
    aggregation_dimensions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "Vec<crate::schema::NonBlank>"))]
    dimensions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "bool"))]
    use_in_billing: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "LockingStatus"))]
    locking_status: Option<LockingStatus>,
}

impl MeterDefinitionPayload {
    /// Starts a meter named `meter_api_name`; set its label and type.
    pub fn builder(meter_api_name: impl Into<String>) -> MeterDefinitionPayloadBuilder {
        MeterDefinitionPayloadBuilder {
            id: None,
            label: None,
            meter_api_name: meter_api_name.into(),
            meter_type: None,
            aggregation_dimensions: None,
            unit: None,
            dimensions: None,
            use_in_billing: None,
            locking_status: None,
        }
    }

    /// A builder holding this payload's fields, to change some (for an update:
    /// `meter.to_builder().id(server_id)`).
    pub fn to_builder(&self) -> MeterDefinitionPayloadBuilder {
        MeterDefinitionPayloadBuilder {
            id: self.id.clone(),
            label: Some(self.label.clone()),
            meter_api_name: self.meter_api_name.clone(),
            meter_type: Some(self.meter_type.clone()),
            aggregation_dimensions: self.aggregation_dimensions.clone(),
            unit: self.unit.clone(),
            dimensions: self.dimensions.clone(),
            use_in_billing: self.use_in_billing,
            locking_status: self.locking_status.clone(),
        }
    }

    /// Checks every text is not blank (dimension names included) and the type is not blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::optional_non_blank("id", self.id.as_deref())?;
        validate::non_blank("label", &self.label)?;
        validate::non_blank("meter_api_name", &self.meter_api_name)?;
        self.meter_type.check("meter_type")?;
        validate::optional_non_blank("unit", self.unit.as_deref())?;
        if let Some(status) = &self.locking_status {
            status.check("locking_status")?;
        }
        for (field, list) in [
            ("aggregation_dimensions", &self.aggregation_dimensions),
            ("dimensions", &self.dimensions),
        ] {
            validate::each_non_blank(field, list.as_deref().unwrap_or_default())?;
        }
        Ok(())
    }

    /// The server's id (updates only).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The label shown in the UI.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The meter's API name.
    pub fn meter_api_name(&self) -> &str {
        &self.meter_api_name
    }

    /// How the meter aggregates.
    pub fn meter_type(&self) -> &MeterType {
        &self.meter_type
    }

    /// The dimension names, if set.
    pub fn dimensions(&self) -> Option<&[String]> {
        self.dimensions.as_deref()
    }

    /// The dimensions aggregated over, if set.
    pub fn aggregation_dimensions(&self) -> Option<&[String]> {
        self.aggregation_dimensions.as_deref()
    }

    /// The unit, if set.
    pub fn unit(&self) -> Option<&str> {
        self.unit.as_deref()
    }

    /// Whether the meter is used in billing, if set.
    pub fn use_in_billing(&self) -> Option<bool> {
        self.use_in_billing
    }

    /// The locking status, if set.
    pub fn locking_status(&self) -> Option<&LockingStatus> {
        self.locking_status.as_ref()
    }
}

/// Builds a validated [`MeterDefinitionPayload`]; see [`MeterDefinitionPayload::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct MeterDefinitionPayloadBuilder {
    id: Option<String>,
    label: Option<String>,
    meter_api_name: String,
    meter_type: Option<MeterType>,
    aggregation_dimensions: Option<Vec<String>>,
    unit: Option<String>,
    dimensions: Option<Vec<String>>,
    use_in_billing: Option<bool>,
    locking_status: Option<LockingStatus>,
}

impl MeterDefinitionPayloadBuilder {
    /// Sets the server's id (required by an update, refused by a create).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the label (required, not blank).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets how the meter aggregates (required).
    pub fn meter_type(mut self, meter_type: MeterType) -> Self {
        self.meter_type = Some(meter_type);
        self
    }

    /// Adds dimension names.
    pub fn dimensions<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.dimensions
            .get_or_insert_with(Vec::new)
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// Adds dimensions to aggregate over.
    pub fn aggregation_dimensions<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Self {
        self.aggregation_dimensions
            .get_or_insert_with(Vec::new)
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// Sets the unit.
    pub fn unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = Some(unit.into());
        self
    }

    /// Uses the meter in billing (`"useInBilling": true`).
    pub fn used_in_billing(mut self) -> Self {
        self.use_in_billing = Some(true);
        self
    }

    /// Keeps the meter out of billing (`"useInBilling": false`).
    pub fn not_used_in_billing(mut self) -> Self {
        self.use_in_billing = Some(false);
        self
    }

    /// Sets the locking status.
    pub fn locking_status(mut self, status: LockingStatus) -> Self {
        self.locking_status = Some(status);
        self
    }

    /// Marks the meter deprecated (`"lockingStatus": "deprecated"`), which allows deleting it.
    pub fn deprecated(self) -> Self {
        self.locking_status(LockingStatus::Deprecated)
    }

    /// Validates and returns the payload (`label` and `meter_type` are [`Rule::Missing`]
    /// when never set).
    pub fn build(self) -> Result<MeterDefinitionPayload, ValidationError> {
        validate::non_blank("meter_api_name", &self.meter_api_name)?;
        let label = self
            .label
            .ok_or_else(|| ValidationError::new("label", Rule::Missing))?;
        let meter_type = self
            .meter_type
            .ok_or_else(|| ValidationError::new("meter_type", Rule::Missing))?;
        let payload = MeterDefinitionPayload {
            id: self.id,
            label,
            meter_api_name: self.meter_api_name,
            meter_type,
            aggregation_dimensions: self.aggregation_dimensions,
            unit: self.unit,
            dimensions: self.dimensions,
            use_in_billing: self.use_in_billing,
            locking_status: self.locking_status,
        };
        payload.validate()?;
        Ok(payload)
    }
}

/// A meter definition as the API returns it (lenient; other fields in `extra`). `id` is
/// required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MeterDefinition {
    /// The server's id.
    pub id: String,
    /// The label.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<String>"))]
    pub label: String,
    /// The API name.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<String>"))]
    pub meter_api_name: String,
    /// How it aggregates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_type: Option<MeterType>,
    /// Dimensions aggregated over.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<Vec<String>>"))]
    pub aggregation_dimensions: Vec<String>,
    /// The unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Dimension names.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<Vec<String>>"))]
    pub dimensions: Vec<String>,
    /// Whether it is used in billing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_in_billing: Option<bool>,
    /// The locking status (`deprecated` before deletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locking_status: Option<LockingStatus>,
    /// Every other field the server sent.
    #[serde(flatten, deserialize_with = "crate::extra::bounded")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl MeterDefinition {
    /// The definition a payload describes, with the given server id (for servers such as the
    /// emulator, and tests).
    pub fn from_payload(payload: &MeterDefinitionPayload, id: impl Into<String>) -> Self {
        MeterDefinition {
            id: id.into(),
            label: payload.label.clone(),
            meter_api_name: payload.meter_api_name.clone(),
            meter_type: Some(payload.meter_type.clone()),
            aggregation_dimensions: payload.aggregation_dimensions.clone().unwrap_or_default(),
            unit: payload.unit.clone(),
            dimensions: payload.dimensions.clone().unwrap_or_default(),
            use_in_billing: payload.use_in_billing,
            locking_status: payload.locking_status.clone(),
            extra: BTreeMap::new(),
        }
    }

    /// Whether the meter may be deleted (`lockingStatus` is `deprecated`).
    pub fn is_deprecated(&self) -> bool {
        self.locking_status == Some(LockingStatus::Deprecated)
    }
}

/// Query parameters `?meterApiName=` of one meter definition.
///
/// ```
/// use amberflo_types::MeterDefinitionQuery;
///
/// let query = MeterDefinitionQuery::new("ApiCalls")?;
/// assert_eq!(
///     serde_urlencoded::to_string(&query).unwrap(),
///     "meterApiName=ApiCalls"
/// );
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MeterDefinitionQuery {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    meter_api_name: String,
}

impl MeterDefinitionQuery {
    /// The query for one meter; the name must not be blank.
    pub fn new(meter_api_name: impl Into<String>) -> Result<Self, ValidationError> {
        let query = MeterDefinitionQuery {
            meter_api_name: meter_api_name.into(),
        };
        query.validate()?;
        Ok(query)
    }

    /// Checks that the name is not blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("meter_api_name", &self.meter_api_name)
    }

    /// The meter asked for.
    pub fn meter_api_name(&self) -> &str {
        &self.meter_api_name
    }
}

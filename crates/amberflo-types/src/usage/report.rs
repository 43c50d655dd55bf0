//! [`UsageReport`]: the answer to a usage query.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::time::EpochSeconds;

/// A usage report: the bucket start times and, per group, a value per bucket.
///
/// Parsed leniently where it can be: unknown fields are ignored and optional ones default,
/// but the fields a report cannot do without are required (`clientMeters`; per meter
/// `groupValue` and `values`; per value `value` and `secondsSinceEpochUtc`), so an answer
/// of the wrong shape is a decode error naming the missing field, never an empty report.
///
/// ```
/// use amberflo_types::UsageReport;
///
/// let error = serde_json::from_str::<UsageReport>(r#"{"unexpected": 1}"#).unwrap_err();
/// assert!(error.to_string().contains("missing field `clientMeters`"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UsageReport {
    /// Report metadata as the server sent it (meter, aggregation, time range, ...).
    #[serde(default)]
    pub metadata: serde_json::Value,
    /// The start of each bucket, in Unix seconds.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<Vec<EpochSeconds>>"))]
    pub seconds_since_epoch_intervals: Vec<EpochSeconds>,
    /// One entry per group (one in all when the query had no group-by).
    pub client_meters: Vec<ClientMeter>,
}

/// The usage of one group in a [`UsageReport`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ClientMeter {
    /// The group's key, absent when the query had no group-by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<MeterGroup>,
    /// The group's aggregate over the whole range.
    pub group_value: f64,
    /// The group's change from the previous period, in percent, when the server sends it
    /// (the TypeScript SDK's `ClientMeter` has it; the docs' sample does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage_from_previous: Option<f64>,
    /// One value per bucket.
    pub values: Vec<UsageValue>,
}

/// The key of a group: dimension (or `customerId`) name to value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MeterGroup {
    /// The grouped-by names and this group's values for them.
    pub group_info: BTreeMap<String, String>,
}

/// One bucket's value in a [`ClientMeter`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UsageValue {
    /// The aggregate of the bucket.
    pub value: f64,
    /// The bucket's start, in Unix seconds.
    pub seconds_since_epoch_utc: EpochSeconds,
    /// Change from the previous bucket, in percent.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub percentage_from_previous: f64,
}

impl UsageReport {
    /// A report from its parts (for servers, such as the emulator, and tests).
    pub fn new(
        metadata: serde_json::Value,
        seconds_since_epoch_intervals: Vec<EpochSeconds>,
        client_meters: Vec<ClientMeter>,
    ) -> Self {
        UsageReport {
            metadata,
            seconds_since_epoch_intervals,
            client_meters,
        }
    }
}

impl ClientMeter {
    /// A group's usage from its parts.
    pub fn new(group: Option<MeterGroup>, group_value: f64, values: Vec<UsageValue>) -> Self {
        ClientMeter {
            group,
            group_value,
            percentage_from_previous: None,
            values,
        }
    }
}

impl MeterGroup {
    /// A group key from name/value pairs.
    pub fn new(group_info: BTreeMap<String, String>) -> Self {
        MeterGroup { group_info }
    }
}

impl UsageValue {
    /// One bucket's value.
    pub fn new(
        value: f64,
        seconds_since_epoch_utc: EpochSeconds,
        percentage_from_previous: f64,
    ) -> Self {
        UsageValue {
            value,
            seconds_since_epoch_utc,
            percentage_from_previous,
        }
    }
}

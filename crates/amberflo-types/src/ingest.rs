//! Ingest payloads: [`MeterRecord`] (one meter event), its [`UniqueId`] and [`Dimensions`].
//!
//! The ingest endpoint takes a JSON array of records. Custom-schema ingest takes arbitrary JSON
//! objects, which are plain [`serde_json::Value`]s and need no type here.

use std::fmt;
use std::time::SystemTime;

use compact_str::CompactString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::dimensions::Dimensions;
use crate::error::{Rule, ValidationError};
use crate::limits::RecordLimits;
use crate::{number, time, validate};

/// A record's unique id: a UUID v4 made when the record is built, or an id of the caller's.
///
/// Amberflo deduplicates records with the same id, so a retried batch is counted once. The
/// generated UUID is kept binary and only formatted when serialised.
///
/// ```
/// use amberflo_types::UniqueId;
///
/// let id = UniqueId::from("order-42");
/// assert_eq!(id.to_string(), "order-42");
/// assert_ne!(UniqueId::new_v4(), UniqueId::new_v4());
/// ```
///
/// Ids are ordered (UUIDs before custom ids, each kind by its bytes): an arbitrary but stable
/// order, for picking one id out of a set the same way every time.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UniqueId(IdRepr);

/// How a [`UniqueId`] is held: a binary UUID, or a custom id as given.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum IdRepr {
    Uuid(Uuid),
    Custom(String),
}

impl UniqueId {
    /// A fresh random UUID v4 (thread-local fast RNG, no system call per id).
    pub fn new_v4() -> Self {
        UniqueId(IdRepr::Uuid(Uuid::new_v4()))
    }

    /// The id of the record read at `position` (a line, an element's index) of the source
    /// named by `source` (for example a UUID of a file's first bytes): a UUID v5 of the
    /// source, the position and the record's content (its own unique id aside). Reading the
    /// same record from the same place again gives the same id, so Amberflo drops the copy
    /// when a backfill is rerun; any other record, or the same one elsewhere, gets another.
    ///
    /// ```
    /// use amberflo_types::{EpochMillis, MeterRecord, UniqueId, Uuid};
    ///
    /// let file = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"file:///exports/2024-06.ndjson");
    /// let record = MeterRecord::builder("ApiCalls", 1.0, "customer-1")
    ///     .meter_time(EpochMillis::new(1_700_000_000_000))
    ///     .build()?;
    /// assert_eq!(UniqueId::derived(file, 7, &record), UniqueId::derived(file, 7, &record));
    /// assert_ne!(UniqueId::derived(file, 7, &record), UniqueId::derived(file, 8, &record));
    /// # Ok::<(), amberflo_types::ValidationError>(())
    /// ```
    pub fn derived(source: Uuid, position: u64, record: &MeterRecord) -> Self {
        let mut name = Vec::with_capacity(128);
        name.extend_from_slice(&position.to_le_bytes());
        for text in [&*record.meter_api_name, &*record.customer_id] {
            name.extend_from_slice(text.as_bytes());
            name.push(0);
        }
        name.extend_from_slice(&record.meter_value.to_bits().to_le_bytes());
        name.extend_from_slice(&record.meter_time_in_millis.to_le_bytes());
        for (key, value) in record.dimensions.iter().flat_map(Dimensions::iter) {
            for text in [key, value] {
                name.extend_from_slice(text.as_bytes());
                name.push(0);
            }
        }
        UniqueId(IdRepr::Uuid(Uuid::new_v5(&source, &name)))
    }

    /// A custom id kept as given (no UUID parsing): the compact form's exact round trip.
    pub(crate) fn custom(id: String) -> Self {
        UniqueId(IdRepr::Custom(id))
    }

    /// How the id is held (the compact form writes each kind its own way).
    pub(crate) fn repr(&self) -> &IdRepr {
        &self.0
    }

    /// The id as given, if it is not a binary UUID.
    pub(crate) fn as_custom(&self) -> Option<&str> {
        match &self.0 {
            IdRepr::Custom(id) => Some(id),
            IdRepr::Uuid(_) => None,
        }
    }
}

impl From<Uuid> for UniqueId {
    fn from(uuid: Uuid) -> Self {
        UniqueId(IdRepr::Uuid(uuid))
    }
}

impl From<String> for UniqueId {
    fn from(id: String) -> Self {
        // Keep canonical UUID strings binary so that a parse/serialise round trip is exact.
        // The comparison formats into a stack buffer: this runs for every ingested record.
        match Uuid::try_parse(&id) {
            Ok(uuid) if *uuid.hyphenated().encode_lower(&mut Uuid::encode_buffer()) == *id => {
                UniqueId(IdRepr::Uuid(uuid))
            }
            _ => UniqueId(IdRepr::Custom(id)),
        }
    }
}

impl From<&str> for UniqueId {
    fn from(id: &str) -> Self {
        UniqueId::from(id.to_owned())
    }
}

impl fmt::Display for UniqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            IdRepr::Uuid(uuid) => fmt::Display::fmt(&uuid.hyphenated(), f),
            IdRepr::Custom(id) => f.write_str(id),
        }
    }
}

impl fmt::Debug for UniqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UniqueId({self})")
    }
}

impl UniqueId {
    /// Appends the id as a JSON string (a UUID needs no escaping).
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        match &self.0 {
            IdRepr::Uuid(uuid) => {
                out.push(b'"');
                out.extend_from_slice(
                    uuid.hyphenated()
                        .encode_lower(&mut Uuid::encode_buffer())
                        .as_bytes(),
                );
                out.push(b'"');
                Ok(())
            }
            IdRepr::Custom(id) => crate::records_json::write_str(id, out),
        }
    }
}

impl Serialize for UniqueId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            IdRepr::Uuid(uuid) => {
                serializer.serialize_str(uuid.hyphenated().encode_lower(&mut Uuid::encode_buffer()))
            }
            IdRepr::Custom(id) => serializer.serialize_str(id),
        }
    }
}

impl<'de> Deserialize<'de> for UniqueId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(UniqueId::from)
    }
}

/// One meter event, as the ingest API takes it.
///
/// Build it with [`MeterRecord::builder`], which validates every field: the meter API name and
/// customer id must not be blank, the value must be finite, the time positive, and dimension
/// keys and values non-blank. The time defaults to now and the unique id to a fresh UUID v4.
///
/// A record is compact, as a full queue holds many of them: strings of up to 24 bytes (the
/// meter API name, customer id, dimension keys and values) are stored inline, and the
/// dimensions are one sorted list (see [`Dimensions`]).
///
/// ```
/// use amberflo_types::{MeterRecord, Rule};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let record = MeterRecord::builder("ApiCalls", 1.0, "customer-1")
///     .dimension("region", "us-east-1")
///     .meter_time(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
///     .build()?;
/// let json = serde_json::to_value(&record).unwrap();
/// assert_eq!(json["meterApiName"], "ApiCalls");
/// assert_eq!(json["meterValue"], 1);
/// assert_eq!(json["meterTimeInMillis"], 1_700_000_000_000_i64);
/// assert_eq!(json["dimensions"]["region"], "us-east-1");
///
/// let error = MeterRecord::builder("ApiCalls", f64::NAN, "customer-1")
///     .build()
///     .unwrap_err();
/// assert_eq!(error.field(), "meter_value");
/// assert_eq!(error.rule(), &Rule::NotFinite);
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MeterRecord {
    unique_id: UniqueId,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::RecordName"))]
    meter_api_name: CompactString,
    #[serde(serialize_with = "number::serialize")]
    #[cfg_attr(feature = "schemars", schemars(with = "f64"))]
    meter_value: f64,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::RecordName"))]
    customer_id: CompactString,
    #[cfg_attr(
        feature = "schemars",
        schemars(range(min = crate::MIN_EPOCH_MILLIS, max = crate::MAX_EPOCH_MILLIS))
    )]
    meter_time_in_millis: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "Dimensions"))]
    dimensions: Option<Dimensions>,
}

impl MeterRecord {
    /// A record of these fields, as they are (the compact form's decoder; not validated).
    pub(crate) fn from_parts(
        unique_id: UniqueId,
        meter_api_name: CompactString,
        meter_value: f64,
        customer_id: CompactString,
        meter_time_in_millis: i64,
        dimensions: Option<Dimensions>,
    ) -> Self {
        MeterRecord {
            unique_id,
            meter_api_name,
            meter_value,
            customer_id,
            meter_time_in_millis,
            dimensions,
        }
    }

    /// Starts a record for `meter_api_name` with `meter_value` for `customer_id`.
    pub fn builder(
        meter_api_name: impl AsRef<str>,
        meter_value: f64,
        customer_id: impl AsRef<str>,
    ) -> MeterRecordBuilder {
        MeterRecordBuilder {
            meter_api_name: CompactString::new(meter_api_name.as_ref()),
            meter_value,
            customer_id: CompactString::new(customer_id.as_ref()),
            meter_time_in_millis: None,
            unique_id: None,
            derived_from: None,
            dimensions: None,
        }
    }

    /// Replaces the unique id (a file's derived id, once the record is read).
    pub(crate) fn set_unique_id(&mut self, id: UniqueId) {
        self.unique_id = id;
    }

    /// Checks every field against the ingest rules and the default [`RecordLimits`]. Records
    /// made by the builder always pass; use this on records that came from elsewhere (for
    /// example deserialised ones).
    ///
    /// The time must lie between 2000 and 2099 in milliseconds
    /// ([`MIN_EPOCH_MILLIS`](crate::MIN_EPOCH_MILLIS)`..=`[`MAX_EPOCH_MILLIS`](crate::MAX_EPOCH_MILLIS)):
    /// a value outside is almost always seconds given as milliseconds (or a sentinel such as
    /// `i64::MAX`).
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.validate_with(&RecordLimits::DEFAULT)
    }

    /// Like [`validate`](Self::validate), with other size limits.
    pub fn validate_with(&self, limits: &RecordLimits) -> Result<(), ValidationError> {
        let name = limits.max_name_bytes;
        validate::non_blank("meter_api_name", &self.meter_api_name)?;
        validate::max_len("meter_api_name", &self.meter_api_name, name)?;
        validate::finite("meter_value", self.meter_value)?;
        validate::time_in(
            "meter_time_in_millis",
            self.meter_time_in_millis,
            limits.min_meter_time_millis,
            limits.max_meter_time_millis,
        )?;
        if let Some(ahead) = limits.max_future {
            let ahead_millis = i64::try_from(ahead.as_millis()).unwrap_or(i64::MAX);
            if self.meter_time_in_millis > time::now_millis().saturating_add(ahead_millis) {
                let rule = Rule::TooFarInFuture {
                    max_seconds: ahead.as_secs(),
                };
                return Err(ValidationError::new("meter_time_in_millis", rule));
            }
        }
        validate::non_blank("customer_id", &self.customer_id)?;
        validate::max_len("customer_id", &self.customer_id, name)?;
        let mut bytes = self.meter_api_name.len() + self.customer_id.len();
        if let Some(custom) = self.unique_id.as_custom() {
            validate::non_blank("unique_id", custom)?;
            validate::max_len("unique_id", custom, name)?;
            bytes += custom.len();
        }
        if let Some(dimensions) = &self.dimensions {
            if dimensions.len() > limits.max_dimensions {
                let rule = Rule::TooMany {
                    max: limits.max_dimensions,
                };
                return Err(ValidationError::new("dimensions", rule));
            }
            for (key, value) in dimensions.iter() {
                // A bad key is named `dimensions.<key>`: the key itself may be huge.
                validate::non_blank("dimensions.<key>", key)?;
                validate::max_len("dimensions.<key>", key, name)?;
                // Formatted only on failure: this runs for every record.
                let broken = if validate::is_blank(value) {
                    Some(Rule::Blank)
                } else if value.len() > limits.max_value_bytes {
                    Some(Rule::TooLong {
                        max_bytes: limits.max_value_bytes,
                    })
                } else {
                    None
                };
                if let Some(rule) = broken {
                    return Err(ValidationError::new(format!("dimensions.{key}"), rule));
                }
                bytes += key.len() + value.len();
            }
        }
        if bytes > limits.max_record_bytes {
            let rule = Rule::TooLong {
                max_bytes: limits.max_record_bytes,
            };
            return Err(ValidationError::new("record", rule));
        }
        Ok(())
    }

    /// The id Amberflo deduplicates on.
    pub fn unique_id(&self) -> &UniqueId {
        &self.unique_id
    }

    /// The meter's API name.
    pub fn meter_api_name(&self) -> &str {
        &self.meter_api_name
    }

    /// The metered value.
    pub fn meter_value(&self) -> f64 {
        self.meter_value
    }

    /// The customer the value is metered for.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }

    /// When the event happened, in milliseconds since the Unix epoch.
    pub fn meter_time_in_millis(&self) -> i64 {
        self.meter_time_in_millis
    }

    /// When the event happened (a negative epoch number, only possible in a record that was
    /// deserialised and not validated, reads as the epoch).
    pub fn meter_time(&self) -> SystemTime {
        time::from_epoch_millis(self.meter_time_in_millis)
    }

    /// The record's dimensions, if they were set (`Some` but empty for an empty `dimensions`
    /// object).
    pub fn dimensions(&self) -> Option<&Dimensions> {
        self.dimensions.as_ref()
    }
}

/// The dimension that makes a record cancel the previous event of its resource (the Go SDK's
/// `CancelMeter`): `aflo.cancel_previous_resource_event: "true"`; see
/// [`MeterRecordBuilder::cancel_previous`].
pub const CANCEL_PREVIOUS_DIMENSION: &str = "aflo.cancel_previous_resource_event";

impl MeterRecord {
    /// Whether this record cancels a previous event (it has
    /// [`CANCEL_PREVIOUS_DIMENSION`] set to `"true"`).
    pub fn cancels_previous(&self) -> bool {
        self.dimensions
            .as_ref()
            .and_then(|dimensions| dimensions.get(CANCEL_PREVIOUS_DIMENSION))
            == Some("true")
    }
}

/// Builds a validated [`MeterRecord`]; see [`MeterRecord::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct MeterRecordBuilder {
    meter_api_name: CompactString,
    meter_value: f64,
    customer_id: CompactString,
    meter_time_in_millis: Option<i64>,
    unique_id: Option<UniqueId>,
    derived_from: Option<(Uuid, u64)>,
    dimensions: Option<Dimensions>,
}

impl MeterRecordBuilder {
    /// Sets when the event happened (default: now), kept to the millisecond. Takes a
    /// [`SystemTime`], or an [`EpochMillis`](crate::EpochMillis) for a number you have. A
    /// time before 1970 fails `build` with an error on `meter_time_in_millis`.
    pub fn meter_time(mut self, time: impl Into<SystemTime>) -> Self {
        self.meter_time_in_millis = Some(time::to_epoch_millis(time.into()));
        self
    }

    /// Sets the id Amberflo deduplicates on (default: a fresh UUID v4).
    pub fn unique_id(mut self, id: impl Into<UniqueId>) -> Self {
        self.unique_id = Some(id.into());
        self
    }

    /// Unless [`unique_id`](Self::unique_id) is set, gives the record the id
    /// [`UniqueId::derived`] makes from `source`, `position` and the record's content, so
    /// that reading it again from the same place makes the same record. Set the
    /// [`meter_time`](Self::meter_time) too: a record left to "now" differs on every read,
    /// and so does its id.
    pub fn derived_unique_id(mut self, source: Uuid, position: u64) -> Self {
        self.derived_from = Some((source, position));
        self
    }

    /// Adds one dimension; setting a key again replaces its value.
    pub fn dimension(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        self.dimensions
            .get_or_insert_with(|| Dimensions::with_capacity(1))
            .insert(key.as_ref(), value.as_ref());
        self
    }

    /// Makes this record cancel the previous event of the same resource: re-send the record
    /// you want cancelled (same meter, customer, value, time and dimensions) with this set.
    /// Adds the dimension [`CANCEL_PREVIOUS_DIMENSION`] with the value `"true"`.
    ///
    /// ```
    /// use amberflo_types::{CANCEL_PREVIOUS_DIMENSION, EpochMillis, MeterRecord};
    ///
    /// let cancel = MeterRecord::builder("ApiCalls", 5.0, "customer-1")
    ///     .meter_time(EpochMillis::new(1_700_000_000_000))
    ///     .cancel_previous()
    ///     .build()?;
    /// assert!(cancel.cancels_previous());
    /// let json = serde_json::to_value(&cancel).unwrap();
    /// assert_eq!(json["dimensions"][CANCEL_PREVIOUS_DIMENSION], "true");
    /// # Ok::<(), amberflo_types::ValidationError>(())
    /// ```
    pub fn cancel_previous(self) -> Self {
        self.dimension(CANCEL_PREVIOUS_DIMENSION, "true")
    }

    /// Adds several dimensions, in order: a key given again (here or before) keeps its last
    /// value. Even an empty iterator gives the record an (empty) `dimensions` object.
    pub fn dimensions<K, V>(mut self, dimensions: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.dimensions
            .get_or_insert_with(Dimensions::default)
            .extend(dimensions);
        self
    }

    /// Validates and returns the record, or the first rule broken (with the default
    /// [`RecordLimits`]).
    pub fn build(self) -> Result<MeterRecord, ValidationError> {
        self.build_with(&RecordLimits::DEFAULT)
    }

    /// Like [`build`](Self::build), with other size limits.
    pub fn build_with(mut self, limits: &RecordLimits) -> Result<MeterRecord, ValidationError> {
        if let Some(dimensions) = &mut self.dimensions {
            dimensions.shrink_to_fit();
        }
        let derived = self
            .unique_id
            .is_none()
            .then_some(self.derived_from)
            .flatten();
        let mut record = MeterRecord {
            unique_id: self.unique_id.unwrap_or_else(UniqueId::new_v4),
            meter_api_name: self.meter_api_name,
            meter_value: self.meter_value,
            customer_id: self.customer_id,
            meter_time_in_millis: self.meter_time_in_millis.unwrap_or_else(time::now_millis),
            dimensions: self.dimensions,
        };
        if let Some((source, position)) = derived {
            record.unique_id = UniqueId::derived(source, position, &record);
        }
        record.validate_with(limits)?;
        Ok(record)
    }
}

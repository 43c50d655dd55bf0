//! Property tests of every payload model: for arbitrary strings and numbers (blank, unicode,
//! NaN, ±infinity, zero, negatives, `i64::MIN`/`MAX`, empty lists and maps) each builder,
//! constructor and `UsagePayloadFactory::create(..).build()` returns `Ok` exactly when the API's rules
//! hold, and otherwise a `ValidationError` naming a field (and rule) that really is broken;
//! a single blank field is always the one named; accepted values satisfy the rules and
//! round-trip through JSON text (and query strings for GET parameter types); the lenient
//! response types round-trip too; `UniqueId` round-trips for any string, and generated ids
//! are unique. Rules are checked against an independent statement of `DESIGN.md` section 1.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Debug;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use amberflo_types::{
    AggregationType, AllInvoicesQuery, AllUsageGroupBy, AllUsageQuery, BillingCustomerQuery,
    BillingPeriod, BillingPeriodUnit, CalendarDate, ClientMeter, CreateCustomerQuery, Customer,
    CustomerPayload, CustomerPortalSession, CustomerPortalSessionRequest, CustomerProductPlan,
    CustomerProductPlanPayload, CustomerProductQuery, CustomerQuery, DEFAULT_PREPAID_OFFER_VERSION,
    DEFAULT_PRODUCT_ID, Dimensions, EpochMillis, EpochSeconds, Invoice, InvoiceQuery,
    MAX_EPOCH_MILLIS, MAX_EPOCH_SECONDS, MIN_EPOCH_MILLIS, MIN_PRODUCT_PLAN_SECONDS, MeterGroup,
    MeterRecord, Month, PaymentStatus, PrepaidOrder, PrepaidOrderPayload, Rule, Take,
    TimeGroupingInterval, TimeRange, UniqueId, UsagePayloadFactory, UsageReport, UsageValue,
    ValidationError,
};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Input strategies.

/// Empty strings, or strings of whitespace (including non-ASCII), control characters and
/// invisible format characters (zero-width space and joiners, BOM, soft hyphen).
fn blank() -> impl Strategy<Value = String> {
    "[ \t\n\r\u{0b}\u{0c}\u{85}\u{a0}\u{2003}\u{2028}\u{3000}\u{0}\u{1}\u{7f}\u{ad}\u{200b}\u{200d}\u{2060}\u{feff}]{0,4}"
}

/// Strings with at least one visible character (ASCII, accents, CJK, emoji), possibly
/// padded with whitespace or invisible characters.
fn non_blank() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_.-]{1,12}",
        "[ \u{a0}\u{200b}]{0,2}[a-z\u{e9}\u{4e2d}\u{1f600}]{1,4}[ \u{3000}\u{feff}]{0,2}",
        "\\PC{0,6}[a-zA-Z\u{e9}]\\PC{0,6}",
    ]
}

/// Any string: blank, non-blank or fully arbitrary.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![2 => blank(), 5 => non_blank(), 1 => any::<String>()]
}

/// Integers around every boundary the rules care about.
fn int() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(0),
        Just(-1),
        Just(1),
        any::<i64>(),
        1..4_000_000_000_000_i64,
        (i64::MAX - 200_000)..=i64::MAX,
        i64::MIN..=(i64::MIN + 200_000),
    ]
}

/// Numbers including NaN, infinities, signed zeros, extremes and integral values.
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::sample::select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            9_007_199_254_740_992.0,
            -9_007_199_254_740_991.0,
            9.223_372_036_854_776e18,
            -9.223_372_036_854_776e18,
        ]),
        (-1_000_000_i32..1_000_000).prop_map(f64::from),
        -1e9..1e9_f64,
        any::<f64>(),
    ]
}

/// Finite numbers only, as a JSON server sends them.
fn finite() -> impl Strategy<Value = f64> {
    number().prop_filter("finite", |n| n.is_finite())
}

fn string_map() -> impl Strategy<Value = BTreeMap<String, String>> {
    btree_map(text(), text(), 0..4)
}

fn aggregation() -> impl Strategy<Value = AggregationType> {
    prop_oneof![
        Just(AggregationType::Sum),
        Just(AggregationType::Count),
        Just(AggregationType::Min),
        Just(AggregationType::Max),
    ]
}

fn interval() -> impl Strategy<Value = TimeGroupingInterval> {
    prop_oneof![
        Just(TimeGroupingInterval::Hour),
        Just(TimeGroupingInterval::Day),
        Just(TimeGroupingInterval::Week),
        Just(TimeGroupingInterval::Month),
    ]
}

/// Unsigned counts, edges included.
fn unsigned() -> impl Strategy<Value = u32> {
    prop_oneof![Just(0), Just(1), Just(u32::MAX), any::<u32>()]
}

fn period_unit() -> impl Strategy<Value = BillingPeriodUnit> {
    prop_oneof![
        Just(BillingPeriodUnit::Day),
        Just(BillingPeriodUnit::Month),
        Just(BillingPeriodUnit::Year),
        Just(BillingPeriodUnit::from("FORTNIGHT")),
    ]
}

/// Arbitrary JSON values with finite numbers (what a server can send).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        finite().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(text(), inner, 0..4).prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Unknown fields a server may add: any names except the ones the type models.
fn extra_fields(known: &'static [&'static str]) -> impl Strategy<Value = BTreeMap<String, Value>> {
    btree_map(text(), json_value(), 0..4).prop_map(move |mut map| {
        map.retain(|key, _| !known.contains(&key.as_str()));
        map
    })
}

// ---------------------------------------------------------------------------------------------
// The rules, stated independently of the crate, and the checks shared by every property.

type Broken = Vec<(String, Rule)>;

/// Blank: nothing but whitespace, control characters and the invisible format characters
/// (Unicode category Cf).
fn is_blank(text: &str) -> bool {
    const INVISIBLE: &[(char, char)] = &[
        ('\u{00AD}', '\u{00AD}'),
        ('\u{061C}', '\u{061C}'),
        ('\u{180E}', '\u{180E}'),
        ('\u{200B}', '\u{200F}'),
        ('\u{202A}', '\u{202E}'),
        ('\u{2060}', '\u{2064}'),
        ('\u{2066}', '\u{206F}'),
        ('\u{FEFF}', '\u{FEFF}'),
        ('\u{FFF9}', '\u{FFFB}'),
    ];
    text.chars().all(|c| {
        c.is_whitespace()
            || c.is_control()
            || INVISIBLE
                .iter()
                .any(|&(low, high)| (low..=high).contains(&c))
    })
}

fn require_non_blank(broken: &mut Broken, field: &str, value: &str) {
    if is_blank(value) {
        broken.push((field.to_owned(), Rule::Blank));
    }
}

/// A time in epoch milliseconds must lie in 2000..=2099 (seconds given as milliseconds, or
/// a sentinel, fall outside).
fn require_epoch_millis(broken: &mut Broken, field: &str, value: i64) {
    if value < 1 {
        broken.push((field.to_owned(), Rule::NotPositive));
    } else if !(MIN_EPOCH_MILLIS..=MAX_EPOCH_MILLIS).contains(&value) {
        let rule = Rule::OutOfRange {
            min: MIN_EPOCH_MILLIS,
            max: MAX_EPOCH_MILLIS,
        };
        broken.push((field.to_owned(), rule));
    }
}

/// A time in epoch seconds must be positive and before 2100 (milliseconds given as seconds
/// fall outside).
fn require_epoch_seconds(broken: &mut Broken, field: &str, value: i64) {
    if value < 1 {
        broken.push((field.to_owned(), Rule::NotPositive));
    } else if value > MAX_EPOCH_SECONDS {
        let rule = Rule::OutOfRange {
            min: 1,
            max: MAX_EPOCH_SECONDS,
        };
        broken.push((field.to_owned(), rule));
    }
}

fn require_positive(broken: &mut Broken, field: &str, value: impl Into<i64>) {
    if value.into() < 1 {
        broken.push((field.to_owned(), Rule::NotPositive));
    }
}

fn require_positive_number(broken: &mut Broken, field: &str, value: f64) {
    if value.is_nan() || value.is_infinite() {
        broken.push((field.to_owned(), Rule::NotFinite));
    } else if value <= 0.0 {
        broken.push((field.to_owned(), Rule::NotPositive));
    }
}

fn require_string_map(broken: &mut Broken, field: &str, map: &BTreeMap<String, String>) {
    for (key, value) in map {
        require_non_blank(broken, &format!("{field}.<key>"), key);
        require_non_blank(broken, &format!("{field}.{key}"), value);
    }
}

fn require_string_list(broken: &mut Broken, field: &str, list: &[String]) {
    if list.is_empty() {
        broken.push((field.to_owned(), Rule::EmptyList));
    }
    for (index, item) in list.iter().enumerate() {
        require_non_blank(broken, &format!("{field}.{index}"), item);
    }
}

/// `Ok` exactly when nothing is broken; otherwise the error names one of the broken
/// (field, rule) pairs. Returns the accepted value.
fn check<T: Debug>(result: Result<T, ValidationError>, broken: &Broken) -> Option<T> {
    match result {
        Ok(value) => {
            assert!(broken.is_empty(), "accepted {value:?} although {broken:?}");
            Some(value)
        }
        Err(error) => {
            assert!(!broken.is_empty(), "rejected valid input: {error}");
            let named = (error.field().to_owned(), error.rule().clone());
            assert!(
                broken.contains(&named),
                "{error} names {named:?}, but the broken rules are {broken:?}"
            );
            assert_eq!(error.to_string(), format!("{} {}", named.0, named.1));
            None
        }
    }
}

/// Through JSON text and back gives an equal value, and through `Value` the same JSON.
fn assert_json_round_trip<T>(value: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let text = serde_json::to_string(value).expect("serialises");
    let parsed: T = serde_json::from_str(&text).expect("own JSON parses");
    assert_eq!(&parsed, value, "JSON text: {text}");
    let tree = serde_json::to_value(value).expect("serialises to a value");
    assert_eq!(serde_json::from_str::<Value>(&text).expect("JSON"), tree);
    let parsed: T = serde_json::from_value(tree).expect("own JSON value parses");
    assert_eq!(&parsed, value);
}

/// Through a URL query string and back gives an equal value.
fn assert_query_round_trip<T>(value: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let query = serde_urlencoded::to_string(value).expect("serialises as a query");
    let parsed: T = serde_urlencoded::from_str(&query).expect("own query parses");
    assert_eq!(&parsed, value, "query: {query}");
}

/// A `TimeRange` exactly as given, bypassing its constructors (as deserialised data would).
fn raw_range(start: i64, end: Option<i64>) -> TimeRange {
    serde_json::from_value(json!({"startTimeInSeconds": start, "endTimeInSeconds": end}))
        .expect("any integers parse")
}

/// `UNIX_EPOCH + seconds`, when `seconds` is not negative and the platform can represent it.
fn epoch_seconds(seconds: i64) -> Option<SystemTime> {
    u64::try_from(seconds)
        .ok()
        .and_then(|seconds| UNIX_EPOCH.checked_add(Duration::from_secs(seconds)))
}

/// `UNIX_EPOCH + millis` milliseconds, likewise.
fn epoch_millis(millis: i64) -> Option<SystemTime> {
    u64::try_from(millis)
        .ok()
        .and_then(|millis| UNIX_EPOCH.checked_add(Duration::from_millis(millis)))
}

fn raw_take(limit: u32, is_ascending: bool) -> Take {
    serde_json::from_value(json!({"limit": limit, "isAscending": is_ascending}))
        .expect("any integers parse")
}

fn raw_period(count: u32) -> BillingPeriod {
    serde_json::from_value(json!({"interval": "DAY", "intervalsCount": count}))
        .expect("any integers parse")
}

fn range_rules(broken: &mut Broken, prefix: &str, start: i64, end: Option<i64>) {
    require_epoch_seconds(broken, &format!("{prefix}start_time_in_seconds"), start);
    if let Some(end) = end {
        if end <= start {
            broken.push((
                format!("{prefix}end_time_in_seconds"),
                Rule::EndNotAfterStart,
            ));
        }
        require_epoch_seconds(broken, &format!("{prefix}end_time_in_seconds"), end);
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    days_from_civil(next_year, next_month, 1) - days_from_civil(year, month, 1)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    // -----------------------------------------------------------------------------------------
    // Ingest.

    #[test]
    fn meter_record_builder_accepts_exactly_valid_records(
        name in text(),
        value in number(),
        customer in text(),
        time in option::of(int()),
        id in option::of(text()),
        dimensions in option::of(string_map()),
    ) {
        let mut broken = Broken::new();
        require_non_blank(&mut broken, "meter_api_name", &name);
        if !value.is_finite() {
            broken.push(("meter_value".to_owned(), Rule::NotFinite));
        }
        if let Some(time) = time {
            require_epoch_millis(&mut broken, "meter_time_in_millis", time);
        }
        require_non_blank(&mut broken, "customer_id", &customer);
        if let Some(id) = &id {
            require_non_blank(&mut broken, "unique_id", id);
        }
        if let Some(dimensions) = &dimensions {
            require_string_map(&mut broken, "dimensions", dimensions);
        }

        let mut builder = MeterRecord::builder(name.clone(), value, customer.clone());
        if let Some(time) = time {
            builder = match epoch_millis(time) {
                Some(at) if time % 2 == 0 => builder.meter_time(at),
                _ => builder.meter_time(EpochMillis::new(time)),
            };
        }
        if let Some(id) = &id {
            builder = builder.unique_id(id.as_str());
        }
        if let Some(dimensions) = &dimensions {
            builder = builder.dimensions(dimensions.clone());
        }
        if let Some(record) = check(builder.build(), &broken) {
            prop_assert!(!is_blank(record.meter_api_name()) && !is_blank(record.customer_id()));
            prop_assert!(record.meter_value().is_finite());
            prop_assert!(record.meter_time_in_millis() > 0);
            prop_assert_eq!(record.dimensions().map(Dimensions::to_map), dimensions);
            if let Some(id) = &id {
                prop_assert_eq!(&record.unique_id().to_string(), id);
            }
            prop_assert!(record.validate().is_ok());
            assert_json_round_trip(&record);
            // The wire value is the number given, and integral values are JSON integers.
            let json = serde_json::to_value(&record).expect("serialises");
            prop_assert_eq!(json["meterValue"].as_f64(), Some(value));
            if value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 {
                prop_assert!(json["meterValue"].is_i64(), "{}", json["meterValue"]);
            }
            prop_assert_eq!(json["meterApiName"].as_str(), Some(name.as_str()));
            prop_assert_eq!(json["customerId"].as_str(), Some(customer.as_str()));
        }
    }

    #[test]
    fn dimensions_behave_like_a_map(
        first in vec((text(), text()), 0..4),
        more in vec((text(), text()), 0..6),
        single in option::of((text(), text())),
    ) {
        // The map the dimensions must equal: later pairs win, as with `BTreeMap::insert`.
        let mut expected: BTreeMap<String, String> = first.iter().cloned().collect();
        let mut builder = MeterRecord::builder("m", 1.0, "c").dimensions(first);
        if let Some((key, value)) = &single {
            expected.insert(key.clone(), value.clone());
            builder = builder.dimension(key, value);
        }
        expected.extend(more.iter().cloned());
        let builder = builder.dimensions(more.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let broken = expected.iter().any(|(k, v)| is_blank(k) || is_blank(v));
        match builder.build() {
            Ok(record) => {
                prop_assert!(!broken);
                let dimensions = record.dimensions().expect("dimensions were set");
                prop_assert_eq!(&dimensions.to_map(), &expected);
                prop_assert_eq!(dimensions.len(), expected.len());
                prop_assert_eq!(dimensions.is_empty(), expected.is_empty());
                prop_assert!(
                    dimensions.iter().eq(expected.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                );
                for (key, value) in &expected {
                    prop_assert_eq!(dimensions.get(key), Some(value.as_str()));
                    prop_assert_eq!(&dimensions[key.as_str()], value.as_str());
                    prop_assert!(dimensions.contains_key(key));
                }
                prop_assert_eq!(format!("{dimensions:?}"), format!("{expected:?}"));
                // Same JSON as the map, and back.
                let json = serde_json::to_string(dimensions).expect("serialises");
                prop_assert_eq!(&json, &serde_json::to_string(&expected).expect("serialises"));
                assert_json_round_trip(dimensions);
                assert_json_round_trip(&record);
            }
            Err(error) => {
                prop_assert!(broken, "{error}");
                prop_assert!(error.field().starts_with("dimensions."), "{error}");
            }
        }
    }

    #[test]
    fn dimensions_parse_repeated_keys_like_a_map(
        pairs in vec((text(), text()), 0..8),
        missing in text(),
    ) {
        // A JSON object written by hand, keys in the order given and possibly repeated.
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{}:{}", json!(k), json!(v)))
            .collect::<Vec<_>>()
            .join(",");
        let text = format!("{{{body}}}");
        let dimensions: Dimensions = serde_json::from_str(&text).expect("an object parses");
        let expected: BTreeMap<String, String> =
            serde_json::from_str(&text).expect("an object parses");
        prop_assert_eq!(&dimensions.to_map(), &expected);
        prop_assert_eq!(dimensions.contains_key(&missing), expected.contains_key(&missing));
        prop_assert_eq!(dimensions.get(&missing), expected.get(&missing).map(String::as_str));
    }

    #[test]
    fn meter_record_names_the_single_blank_field(
        which in 0..5_usize,
        blank in blank(),
        key in non_blank(),
    ) {
        let (name, customer, id, dim_key, dim_value) = match which {
            0 => (blank.as_str(), "c", "id", key.as_str(), "v"),
            1 => ("m", blank.as_str(), "id", key.as_str(), "v"),
            2 => ("m", "c", blank.as_str(), key.as_str(), "v"),
            3 => ("m", "c", "id", blank.as_str(), "v"),
            _ => ("m", "c", "id", key.as_str(), blank.as_str()),
        };
        let error = MeterRecord::builder(name, 1.0, customer)
            .unique_id(id)
            .dimension(dim_key, dim_value)
            .meter_time(EpochMillis::new(1_700_000_000_000))
            .build()
            .expect_err("one field is blank");
        let expected = match which {
            0 => "meter_api_name".to_owned(),
            1 => "customer_id".to_owned(),
            2 => "unique_id".to_owned(),
            3 => "dimensions.<key>".to_owned(),
            _ => format!("dimensions.{key}"),
        };
        prop_assert_eq!(error.field(), expected.as_str());
        prop_assert_eq!(error.rule(), &Rule::Blank);
    }

    #[test]
    fn deserialised_meter_records_validate_like_built_ones(
        name in text(),
        value in finite(),
        customer in text(),
        time in int(),
        id in text(),
    ) {
        let record: MeterRecord = serde_json::from_value(json!({
            "uniqueId": id, "meterApiName": name, "meterValue": value,
            "customerId": customer, "meterTimeInMillis": time,
        }))
        .expect("well-typed JSON parses");
        let rebuilt = MeterRecord::builder(name, value, customer)
            .meter_time(EpochMillis::new(time))
            .unique_id(id)
            .build();
        prop_assert_eq!(record.validate().err(), rebuilt.as_ref().err().cloned());
        if let Ok(rebuilt) = rebuilt {
            prop_assert_eq!(rebuilt, record);
        }
    }

    #[test]
    fn unique_id_round_trips_any_string_verbatim(
        id in prop_oneof![
            any::<String>(),
            text(),
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
            "[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}",
            "[0-9a-f]{32}",
            "\\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\}",
            "urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            " [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        ],
    ) {
        let unique = UniqueId::from(id.as_str());
        prop_assert_eq!(&unique.to_string(), &id);
        prop_assert_eq!(&unique, &UniqueId::from(id.clone()));
        let json = serde_json::to_string(&unique).expect("serialises");
        prop_assert_eq!(&json, &serde_json::to_string(&id).expect("serialises"));
        let parsed: UniqueId = serde_json::from_str(&json).expect("parses");
        prop_assert_eq!(&parsed, &unique);
        prop_assert_eq!(&parsed.to_string(), &id);
        if !is_blank(&id) {
            let record = MeterRecord::builder("m", 1.0, "c")
                .unique_id(unique)
                .build()
                .expect("valid record");
            let wire = serde_json::to_value(&record).expect("serialises");
            prop_assert_eq!(wire["uniqueId"].as_str(), Some(id.as_str()));
            assert_json_round_trip(&record);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Usage.

    #[test]
    fn time_range_and_take_accept_exactly_valid_values(
        start in int(),
        end in option::of(int()),
        limit in unsigned(),
        is_ascending in any::<bool>(),
    ) {
        let mut broken = Broken::new();
        range_rules(&mut broken, "", start, end);
        let made = match end {
            None => TimeRange::since(EpochSeconds::new(start)),
            Some(end) => TimeRange::between(EpochSeconds::new(start), EpochSeconds::new(end)),
        };
        // The `SystemTime` twins agree wherever the epoch numbers are representable.
        let time = epoch_seconds;
        match (time(start), end.map(time)) {
            (Some(start_time), None) => {
                prop_assert_eq!(&TimeRange::since(start_time), &made);
            }
            (Some(start_time), Some(Some(end_time))) => {
                prop_assert_eq!(&TimeRange::between(start_time, end_time), &made);
            }
            _ => {}
        }
        if let Some(range) = check(made, &broken) {
            prop_assert_eq!(range.start_time_in_seconds(), start);
            prop_assert_eq!(range.end_time_in_seconds(), end);
            prop_assert_eq!(Some(range.start_time()), time(start));
            prop_assert!(range.validate().is_ok());
            assert_json_round_trip(&range);
        }

        let mut broken = Broken::new();
        require_positive(&mut broken, "limit", limit);
        let take = if is_ascending { Take::smallest(limit) } else { Take::largest(limit) };
        if let Some(take) = check(take, &broken) {
            prop_assert_eq!((take.limit(), take.is_ascending()), (limit, is_ascending));
            assert_json_round_trip(&take);
        }
    }

    #[test]
    fn usage_factory_and_builder_accept_exactly_valid_queries(
        name in text(),
        aggregation in aggregation(),
        interval in interval(),
        start in int(),
        end in option::of(int()),
        group_by in option::of(vec(text(), 0..4)),
        filter in option::of(btree_map(text(), vec(text(), 0..3), 0..3)),
        take in option::of((unsigned(), any::<bool>())),
    ) {
        let mut broken = Broken::new();
        require_non_blank(&mut broken, "meter_api_name", &name);
        range_rules(&mut broken, "time_range.", start, end);
        if let Some(group_by) = &group_by {
            require_string_list(&mut broken, "group_by", group_by);
        }
        if let Some(filter) = &filter {
            for (key, values) in filter {
                require_non_blank(&mut broken, "filter.<key>", key);
                require_string_list(&mut broken, &format!("filter.{key}"), values);
            }
        }
        if let Some((limit, _)) = take {
            require_positive(&mut broken, "take.limit", limit);
        }

        // The factory re-checks a range and take that bypassed their constructors.
        let range = raw_range(start, end);
        let take = take.map(|(limit, ascending)| raw_take(limit, ascending));
        let mut builder = UsagePayloadFactory::create(
            name.clone(),
            aggregation.clone(),
            interval.clone(),
            range,
        );
        if let Some(group_by) = &group_by {
            builder = builder.group_by(group_by.clone());
        }
        if let Some(filter) = &filter {
            for (key, values) in filter {
                builder = builder.filter(key.clone(), values.clone());
            }
        }
        if let Some(take) = take {
            builder = builder.take(take);
        }
        let made = builder.build();

        if let Some(query) = check(made, &broken) {
            prop_assert_eq!(query.meter_api_name(), name.as_str());
            prop_assert_eq!(query.aggregation(), &aggregation);
            prop_assert_eq!(query.time_grouping_interval(), &interval);
            prop_assert_eq!(query.time_range(), &range);
            prop_assert_eq!(query.group_by(), group_by.as_deref());
            // An empty filter map is dropped, as Python's `if usage_filter:` does.
            prop_assert_eq!(query.filter(), filter.as_ref().filter(|f| !f.is_empty()));
            prop_assert_eq!(query.take(), take.as_ref());
            prop_assert!(query.validate().is_ok());
            assert_json_round_trip(&query);
            let json = serde_json::to_value(&query).expect("serialises");
            prop_assert!(json.get("filter").is_none_or(|f| f.as_object().is_some_and(|f| !f.is_empty())));
        }
    }

    #[test]
    fn all_usage_query_validates_and_round_trips(
        interval in interval(),
        start in 1..=(MAX_EPOCH_SECONDS - 1_000_000),
        length in option::of(1..1_000_000_i64),
        group in any::<bool>(),
        customer in option::of(text()),
    ) {
        let end = length.map(|length| start.saturating_add(length));
        let range = match end.filter(|&end| end > start) {
            None => TimeRange::since(EpochSeconds::new(start)),
            Some(end) => TimeRange::between(EpochSeconds::new(start), EpochSeconds::new(end)),
        }
        .expect("valid range");
        let mut builder = AllUsageQuery::builder(interval.clone(), range);
        if group {
            builder = builder.group_by(AllUsageGroupBy::CustomerId);
        }
        if let Some(customer) = &customer {
            builder = builder.customer_id(customer.clone());
        }
        let mut broken = Broken::new();
        if let Some(customer) = &customer {
            require_non_blank(&mut broken, "customer_id", customer);
        }
        if let Some(query) = check(builder.build(), &broken) {
            prop_assert!(query.validate().is_ok());
            prop_assert_eq!(query.time_range(), range);
            prop_assert_eq!(query.time_grouping_interval(), &interval);
            prop_assert_eq!(query.group_by(), group.then_some(AllUsageGroupBy::CustomerId));
            prop_assert_eq!(query.customer_id(), customer.as_deref());
            assert_json_round_trip(&query);
            assert_query_round_trip(&query);
        }
    }

    #[test]
    fn usage_reports_round_trip(
        metadata in json_value(),
        intervals in vec(any::<i64>(), 0..4),
        meters in vec(
            (
                option::of(btree_map(text(), text(), 0..3)),
                finite(),
                vec((finite(), any::<i64>(), finite()), 0..3),
            ),
            0..3,
        ),
    ) {
        let client_meters = meters
            .into_iter()
            .map(|(group, group_value, values)| {
                let values = values
                    .into_iter()
                    .map(|(value, at, change)| UsageValue::new(value, EpochSeconds::new(at), change))
                    .collect();
                ClientMeter::new(group.map(MeterGroup::new), group_value, values)
            })
            .collect();
        let report = UsageReport::new(
            metadata,
            intervals.into_iter().map(EpochSeconds::new).collect(),
            client_meters,
        );
        assert_json_round_trip(&report);
        assert_json_round_trip(&vec![report, UsageReport::default()]);
    }

    // -----------------------------------------------------------------------------------------
    // Customers and portal sessions.

    #[test]
    fn customer_payload_accepts_exactly_valid_payloads(
        id in text(),
        name in option::of(text()),
        email in option::of(text()),
        enabled in option::of(any::<bool>()),
        traits in option::of(string_map()),
    ) {
        let mut broken = Broken::new();
        require_non_blank(&mut broken, "customer_id", &id);
        match &name {
            Some(name) => require_non_blank(&mut broken, "customer_name", name),
            None => broken.push(("customer_name".to_owned(), Rule::Missing)),
        }
        if let Some(email) = &email {
            require_non_blank(&mut broken, "customer_email", email);
        }
        if let Some(traits) = &traits {
            require_string_map(&mut broken, "traits", traits);
        }
        let mut builder = CustomerPayload::builder(id.clone());
        if let Some(name) = &name {
            builder = builder.customer_name(name.clone());
        }
        if let Some(email) = &email {
            builder = builder.customer_email(email.clone());
        }
        builder = match enabled {
            Some(true) => builder.enabled(),
            Some(false) => builder.disabled(),
            None => builder,
        };
        if let Some(traits) = &traits {
            builder = builder.traits(traits.clone());
        }
        if let Some(payload) = check(builder.build(), &broken) {
            prop_assert_eq!(payload.customer_id(), id.as_str());
            prop_assert_eq!(Some(payload.customer_name()), name.as_deref());
            prop_assert_eq!(payload.customer_email(), email.as_deref());
            prop_assert_eq!(payload.enabled(), enabled);
            prop_assert_eq!(payload.traits(), traits.as_ref());
            prop_assert!(payload.validate().is_ok());
            assert_json_round_trip(&payload);
            // The lenient response type reads a payload back unchanged.
            let json = serde_json::to_value(&payload).expect("serialises");
            let customer: Customer = serde_json::from_value(json).expect("parses");
            prop_assert_eq!(&customer, &Customer::from(payload));
            prop_assert!(customer.extra.is_empty());
        }
    }

    #[test]
    fn customer_queries_validate_and_round_trip(id in text(), stripe in any::<bool>()) {
        let mut broken = Broken::new();
        require_non_blank(&mut broken, "customer_id", &id);
        if let Some(query) = check(CustomerQuery::new(id.clone()), &broken) {
            prop_assert_eq!(query.customer_id(), id.as_str());
            prop_assert!(query.validate().is_ok());
            assert_json_round_trip(&query);
            assert_query_round_trip(&query);
        }
        if let Some(query) = check(BillingCustomerQuery::new(id.clone()), &broken) {
            prop_assert_eq!(query.customer_id(), id.as_str());
            prop_assert!(query.validate().is_ok());
            assert_json_round_trip(&query);
            assert_query_round_trip(&query);
        }
        let builder = CustomerPayload::builder("c").customer_name("n");
        let builder = if stripe { builder.create_in_stripe() } else { builder };
        let payload = builder.build().expect("valid");
        prop_assert_eq!(payload.create_in_stripe(), stripe);
        let create = CreateCustomerQuery::for_payload(&payload);
        prop_assert_eq!(create.create_in_stripe(), stripe);
        prop_assert_eq!(CreateCustomerQuery::from(&payload), create);
        prop_assert!(create.validate().is_ok());
        assert_json_round_trip(&create);
        assert_query_round_trip(&create);
    }

    #[test]
    fn customers_round_trip_with_unknown_fields(
        id in text(),
        name in text(),
        email in option::of(text()),
        enabled in option::of(any::<bool>()),
        traits in string_map(),
        created in option::of(any::<i64>()),
        updated in option::of(any::<i64>()),
        extra in extra_fields(&[
            "customerId", "customerName", "customerEmail", "enabled", "traits",
            "createTime", "updateTime",
        ]),
    ) {
        let mut customer = Customer::default();
        customer.customer_id = id;
        customer.customer_name = name;
        customer.customer_email = email;
        customer.enabled = enabled;
        customer.traits = traits;
        customer.create_time = created.map(EpochMillis::new);
        customer.update_time = updated.map(EpochMillis::new);
        customer.extra = extra;
        assert_json_round_trip(&customer);
    }

    #[test]
    fn portal_session_request_accepts_exactly_valid_requests(
        id in text(),
        expiration in option::of(int()),
        return_url in option::of(text()),
        url in text(),
        token in text(),
    ) {
        let mut broken = Broken::new();
        require_non_blank(&mut broken, "customer_id", &id);
        if let Some(expiration) = expiration {
            require_epoch_millis(&mut broken, "expiration_epoch_milliseconds", expiration);
        }
        if let Some(return_url) = &return_url {
            require_non_blank(&mut broken, "return_url", return_url);
        }
        let mut builder = CustomerPortalSessionRequest::builder(id.clone());
        if let Some(expiration) = expiration {
            // The `SystemTime` twin gives the same request, where the time is representable.
            builder = match epoch_millis(expiration) {
                Some(time) if expiration % 2 == 0 => builder.expiration_time(time),
                _ => builder.expiration_epoch_milliseconds(expiration),
            };
        }
        if let Some(return_url) = &return_url {
            builder = builder.return_url(return_url.clone());
        }
        if let Some(request) = check(builder.build(), &broken) {
            prop_assert_eq!(request.customer_id(), id.as_str());
            prop_assert_eq!(request.expiration_epoch_milliseconds(), expiration);
            prop_assert_eq!(request.return_url(), return_url.as_deref());
            prop_assert!(request.validate().is_ok());
            assert_json_round_trip(&request);
        }
        let mut session = CustomerPortalSession::default();
        session.url.clone_from(&url);
        session.session_token.clone_from(&token);
        prop_assert_eq!((session.url.as_str(), session.session_token.as_str()), (url.as_str(), token.as_str()));
        assert_json_round_trip(&session);
    }

    // -----------------------------------------------------------------------------------------
    // Product plans.

    #[test]
    fn product_plan_accepts_exactly_valid_payloads(
        customer in text(),
        plan in text(),
        product in option::of(text()),
        start in option::of(int()),
        end in option::of(int()),
    ) {
        product_plan_property(&customer, &plan, product.as_deref(), start, end)?;
    }

    #[test]
    fn product_plan_minimum_length_holds_at_the_i64_extremes(
        start in prop_oneof![
            (i64::MAX - 100_000)..=i64::MAX,
            (MAX_EPOCH_SECONDS - 100_000)..=MAX_EPOCH_SECONDS,
            1..200_000_i64,
        ],
        end in prop_oneof![
            Just(i64::MAX),
            (MAX_EPOCH_SECONDS - 100_000)..=(MAX_EPOCH_SECONDS + 10),
            1..300_000_i64,
        ],
    ) {
        product_plan_property("c", "p", None, Some(start), Some(end))?;
    }

    #[test]
    fn product_plans_round_trip_with_unknown_fields(
        customer in text(),
        plan in text(),
        product in text(),
        start in option::of(any::<i64>()),
        end in option::of(any::<i64>()),
        extra in extra_fields(&[
            "customerId", "productPlanId", "productId", "startTimeInSeconds", "endTimeInSeconds",
        ]),
    ) {
        let mut value = CustomerProductPlan::default();
        value.customer_id = customer;
        value.product_plan_id = plan;
        value.product_id = product;
        value.start_time_in_seconds = start.map(EpochSeconds::new);
        value.end_time_in_seconds = end.map(EpochSeconds::new);
        value.extra = extra;
        assert_json_round_trip(&value);
    }

    // -----------------------------------------------------------------------------------------
    // Prepaid orders.

    #[test]
    fn prepaid_order_accepts_exactly_valid_payloads(
        id in text(),
        customer in text(),
        start in option::of(int()),
        price in option::of(number()),
        product in option::of(text()),
        version in option::of(int()),
        external in option::of(any::<bool>()),
        count in option::of(unsigned()),
        unit in period_unit(),
        worth in option::of(number()),
    ) {
        let mut broken = Broken::new();
        require_non_blank(&mut broken, "id", &id);
        require_non_blank(&mut broken, "customer_id", &customer);
        if let Some(product) = &product {
            require_non_blank(&mut broken, "product_id", product);
        }
        match start {
            Some(start) => require_epoch_seconds(&mut broken, "start_time_in_seconds", start),
            None => broken.push(("start_time_in_seconds".to_owned(), Rule::Missing)),
        }
        if let Some(version) = version
            && version != -1
        {
            require_positive(&mut broken, "prepaid_offer_version", version);
        }
        match price {
            Some(price) => require_positive_number(&mut broken, "prepaid_price", price),
            None => broken.push(("prepaid_price".to_owned(), Rule::Missing)),
        }
        if let Some(worth) = worth {
            require_positive_number(&mut broken, "original_worth", worth);
        }
        if let Some(count) = count {
            require_positive(&mut broken, "recurrence_frequency.count", count);
        }

        let mut builder = PrepaidOrderPayload::builder(customer.clone()).id(id.clone());
        if let Some(start) = start {
            builder = match epoch_seconds(start) {
                Some(time) if start % 2 == 0 => builder.start_time(time),
                _ => builder.start_time(EpochSeconds::new(start)),
            };
        }
        if let Some(price) = price {
            builder = builder.prepaid_price(price);
        }
        if let Some(product) = &product {
            builder = builder.product_id(product.clone());
        }
        if let Some(version) = version {
            builder = builder.prepaid_offer_version(version);
        }
        if external == Some(true) {
            builder = builder.external_payment();
        }
        // A period that bypassed `BillingPeriod::new` is re-checked by `build`.
        let period = count.map(|count| {
            BillingPeriod::new(count, unit).unwrap_or_else(|_| raw_period(count))
        });
        if let Some(period) = &period {
            builder = builder.recurrence_frequency(period.clone());
        }
        if let Some(worth) = worth {
            builder = builder.original_worth(worth);
        }
        if let Some(order) = check(builder.build(), &broken) {
            prop_assert_eq!(order.id(), id.as_str());
            prop_assert_eq!(order.customer_id(), customer.as_str());
            prop_assert_eq!(order.product_id(), product.as_deref().unwrap_or(DEFAULT_PRODUCT_ID));
            prop_assert_eq!(Some(order.start_time_in_seconds()), start);
            prop_assert_eq!(
                order.prepaid_offer_version(),
                version.unwrap_or(DEFAULT_PREPAID_OFFER_VERSION)
            );
            prop_assert!(order.prepaid_offer_version() == -1 || order.prepaid_offer_version() > 0);
            prop_assert!(order.prepaid_price().is_finite() && order.prepaid_price() > 0.0);
            prop_assert_eq!(order.external_payment(), external.unwrap_or(false));
            prop_assert_eq!(order.recurrence_frequency(), period.as_ref());
            prop_assert_eq!(order.original_worth(), worth);
            prop_assert!(order.validate().is_ok());
            assert_json_round_trip(&order);
        }
    }

    #[test]
    fn billing_period_accepts_positive_counts(count in unsigned(), unit in period_unit()) {
        let mut broken = Broken::new();
        require_positive(&mut broken, "count", count);
        if let Some(period) = check(BillingPeriod::new(count, unit.clone()), &broken) {
            prop_assert_eq!((period.count(), period.unit()), (count, &unit));
            prop_assert!(period.validate().is_ok());
            assert_json_round_trip(&period);
        }
    }

    #[test]
    fn prepaid_order_list_query_validates_and_round_trips(
        customer in text(),
        product in option::of(text()),
    ) {
        let mut broken = Broken::new();
        require_non_blank(&mut broken, "customer_id", &customer);
        if let Some(product) = &product {
            require_non_blank(&mut broken, "product_id", product);
        }
        let mut builder = CustomerProductQuery::builder(customer.clone());
        if let Some(product) = &product {
            builder = builder.product_id(product.clone());
        }
        if let Some(query) = check(builder.build(), &broken) {
            prop_assert!(query.validate().is_ok());
            prop_assert_eq!(query.customer_id(), customer.as_str());
            prop_assert_eq!(query.product_id(), product.as_deref().unwrap_or(DEFAULT_PRODUCT_ID));
            assert_json_round_trip(&query);
            assert_query_round_trip(&query);
        }
    }

    #[test]
    fn prepaid_orders_round_trip_with_unknown_fields(
        id in text(),
        customer in text(),
        product in text(),
        start in option::of(any::<i64>()),
        price in option::of(finite()),
        extra in extra_fields(&[
            "id", "customerId", "productId", "startTimeInSeconds", "prepaidPrice",
        ]),
    ) {
        let mut order = PrepaidOrder::default();
        order.id = id;
        order.customer_id = customer;
        order.product_id = product;
        order.start_time_in_seconds = start.map(EpochSeconds::new);
        order.prepaid_price = price;
        order.extra = extra;
        assert_json_round_trip(&order);
    }

    // -----------------------------------------------------------------------------------------
    // Invoices.

    #[test]
    fn invoice_queries_accept_exactly_valid_queries(
        customer in text(),
        plan in text(),
        product in option::of(text()),
        skip_cache in any::<bool>(),
        skip_payment_status in any::<bool>(),
        year in prop_oneof![any::<i32>(), 1..=9999_i32, Just(0), Just(10_000), Just(1900), Just(2000)],
        month in prop_oneof![any::<u8>(), 0..=13_u8],
        day in prop_oneof![any::<u8>(), 0..=32_u8, 28..=31_u8],
    ) {
        let mut broken = Broken::new();
        require_non_blank(&mut broken, "customer_id", &customer);
        // A blank product is an error, never silently replaced by the default.
        if let Some(product) = &product {
            require_non_blank(&mut broken, "product_id", product);
        }
        let expected_product = product.as_deref().unwrap_or(DEFAULT_PRODUCT_ID);

        let mut all = AllInvoicesQuery::builder(customer.clone());
        let mut one = InvoiceQuery::builder(customer.clone());
        if let Some(product) = &product {
            all = all.product_id(product.clone());
            one = one.product_id(product.clone());
        }
        if skip_cache {
            all = all.skip_cache();
            one = one.skip_cache();
        }
        if skip_payment_status {
            all = all.skip_payment_status();
            one = one.skip_payment_status();
        }
        if let Some(query) = check(all.build(), &broken) {
            prop_assert_eq!(query.customer_id(), customer.as_str());
            prop_assert_eq!(query.product_id(), expected_product);
            prop_assert_eq!(query.skip_cache(), skip_cache);
            prop_assert_eq!(query.skip_payment_status(), skip_payment_status);
            prop_assert!(query.validate().is_ok());
            assert_json_round_trip(&query);
            assert_query_round_trip(&query);
            let json = serde_json::to_value(&query).expect("serialises");
            prop_assert_eq!(&json["fromCache"], &json!(!skip_cache));
            prop_assert_eq!(&json["withPaymentStatus"], &json!(!skip_payment_status));
        }
        if let Some(query) = check(one.clone().build(), &broken) {
            prop_assert!(query.is_latest());
            prop_assert_eq!(query.start_date(), None);
            prop_assert_eq!(query.product_plan_id(), None);
            prop_assert_eq!(query.product_id(), expected_product);
            prop_assert_eq!(query.skip_cache(), skip_cache);
            prop_assert_eq!(query.skip_payment_status(), skip_payment_status);
            prop_assert!(query.validate().is_ok());
            assert_json_round_trip(&query);
            assert_query_round_trip(&query);
        }

        // The start date: a month number, then a calendar date.
        let mut date_broken = Broken::new();
        if !(1..=12).contains(&month) {
            date_broken.push(("month".to_owned(), Rule::OutOfRange { min: 1, max: 12 }));
        }
        let Some(month) = check(Month::try_from(month), &date_broken) else {
            return Ok(());
        };
        prop_assert_eq!(Month::try_from(month.number()), Ok(month));
        let mut date_broken = Broken::new();
        if !(1..=9999).contains(&year) {
            date_broken.push(("date.year".to_owned(), Rule::OutOfRange { min: 1, max: 9999 }));
        } else if day < 1
            || i64::from(day) > days_in_month(i64::from(year), i64::from(month.number()))
        {
            date_broken.push(("date".to_owned(), Rule::NotADate));
        }
        let Some(date) = check(CalendarDate::new(year, month, day), &date_broken) else {
            return Ok(());
        };
        prop_assert_eq!((date.year(), date.month(), date.day()), (year, month, day));
        prop_assert_eq!(date.to_string(), format!("{year:04}-{:02}-{day:02}", month.number()));

        require_non_blank(&mut broken, "product_plan_id", &plan);
        let dated = one.product_plan_id(plan.clone()).start_date(date).build();
        if let Some(query) = check(dated, &broken) {
            prop_assert!(!query.is_latest());
            prop_assert_eq!(query.customer_id(), customer.as_str());
            prop_assert_eq!(query.product_plan_id(), Some(plan.as_str()));
            prop_assert_eq!(query.start_date(), Some(date));
            prop_assert!(query.validate().is_ok());
            assert_json_round_trip(&query);
            assert_query_round_trip(&query);
        }
    }

    #[test]
    fn deserialised_invoice_queries_validate_their_start_date(
        year in prop_oneof![any::<i32>(), 1..=9999_i32, Just(0), Just(10_000)],
        month in prop_oneof![any::<u32>(), 0..=13_u32],
        day in prop_oneof![any::<u32>(), 0..=32_u32, 28..=31_u32],
    ) {
        let query: InvoiceQuery = serde_json::from_value(json!({
            "customerId": "c", "productId": "1", "fromCache": true, "withPaymentStatus": true,
            "productPlanId": "p", "year": year, "month": month, "day": day,
        }))
        .expect("well-typed JSON parses");
        let mut broken = Broken::new();
        if !(1..=9999).contains(&year) {
            broken.push(("start_date.year".to_owned(), Rule::OutOfRange { min: 1, max: 9999 }));
        } else if !(1..=12).contains(&month) {
            broken.push(("start_date.month".to_owned(), Rule::OutOfRange { min: 1, max: 12 }));
        } else if day < 1 || i64::from(day) > days_in_month(i64::from(year), i64::from(month)) {
            broken.push(("start_date".to_owned(), Rule::NotADate));
        }
        if check(query.validate(), &broken).is_some() {
            let date = query.start_date().expect("a valid date");
            prop_assert_eq!(
                (date.year(), u32::from(date.month().number()), u32::from(date.day())),
                (year, month, day)
            );
        } else {
            prop_assert_eq!(query.start_date(), None);
        }
    }

    #[test]
    fn invoices_round_trip_with_unknown_fields(
        start in option::of(any::<i64>()),
        end in option::of(any::<i64>()),
        status in option::of(text()),
        extra in extra_fields(&[
            "invoiceStartTimeInSeconds", "invoiceEndTimeInSeconds", "paymentStatus",
        ]),
    ) {
        let mut invoice = Invoice::default();
        invoice.invoice_start_time_in_seconds = start.map(EpochSeconds::new);
        invoice.invoice_end_time_in_seconds = end.map(EpochSeconds::new);
        invoice.payment_status = status.map(PaymentStatus::from);
        invoice.extra = extra;
        assert_json_round_trip(&invoice);
    }
}

fn product_plan_property(
    customer: &str,
    plan: &str,
    product: Option<&str>,
    start: Option<i64>,
    end: Option<i64>,
) -> Result<(), TestCaseError> {
    let mut broken = Broken::new();
    require_non_blank(&mut broken, "customer_id", customer);
    require_non_blank(&mut broken, "product_plan_id", plan);
    if let Some(product) = product {
        require_non_blank(&mut broken, "product_id", product);
    }
    if let Some(start) = start {
        require_epoch_seconds(&mut broken, "start_time_in_seconds", start);
    }
    if let Some(end) = end {
        require_epoch_seconds(&mut broken, "end_time_in_seconds", end);
    }
    if let (Some(start), Some(end)) = (start, end)
        && i128::from(end) < i128::from(start) + i128::from(MIN_PRODUCT_PLAN_SECONDS)
    {
        broken.push((
            "end_time_in_seconds".to_owned(),
            Rule::TooCloseToStart {
                min_seconds: MIN_PRODUCT_PLAN_SECONDS,
            },
        ));
    }
    let mut builder = CustomerProductPlanPayload::builder(customer).product_plan_id(plan);
    if let Some(product) = product {
        builder = builder.product_id(product);
    }
    // Half of the representable times go through the `SystemTime` twins: same payload.
    if let Some(start) = start {
        builder = match epoch_seconds(start) {
            Some(time) if start % 2 == 0 => builder.start_time(time),
            _ => builder.start_time(EpochSeconds::new(start)),
        };
    }
    if let Some(end) = end {
        builder = match epoch_seconds(end) {
            Some(time) if end % 2 == 0 => builder.end_time(time),
            _ => builder.end_time(EpochSeconds::new(end)),
        };
    }
    if let Some(payload) = check(builder.build(), &broken) {
        prop_assert_eq!(payload.customer_id(), customer);
        prop_assert_eq!(payload.product_plan_id(), plan);
        prop_assert_eq!(payload.product_id(), product.unwrap_or(DEFAULT_PRODUCT_ID));
        prop_assert_eq!(payload.start_time_in_seconds(), start);
        prop_assert_eq!(payload.end_time_in_seconds(), end);
        if let (Some(start), Some(end)) = (start, end) {
            prop_assert!(i128::from(end) - i128::from(start) >= 86_400);
        }
        prop_assert!(payload.validate().is_ok());
        assert_json_round_trip(&payload);
        let json = serde_json::to_value(&payload).expect("serialises");
        let lenient: CustomerProductPlan = serde_json::from_value(json).expect("parses");
        prop_assert_eq!(lenient, CustomerProductPlan::from(payload));
    }
    Ok(())
}

/// Regression: the one-day minimum used `start.saturating_add(86_400)`, which saturated near
/// `i64::MAX`; times that large are now refused outright, and the minimum holds at the top
/// of the accepted window.
#[test]
fn product_plan_shorter_than_a_day_is_rejected_at_the_end_of_the_window() {
    let error = CustomerProductPlanPayload::builder("c")
        .product_plan_id("p")
        .start_time(EpochSeconds::new(i64::MAX - 10))
        .end_time(EpochSeconds::new(i64::MAX))
        .build()
        .expect_err("i64::MAX is no time");
    assert_eq!(error.field(), "start_time_in_seconds");
    let error = CustomerProductPlanPayload::builder("c")
        .product_plan_id("p")
        .start_time(EpochSeconds::new(MAX_EPOCH_SECONDS - 10))
        .end_time(EpochSeconds::new(MAX_EPOCH_SECONDS))
        .build()
        .expect_err("ten seconds is not a day");
    assert_eq!(error.field(), "end_time_in_seconds");
    let ok = CustomerProductPlanPayload::builder("c")
        .product_plan_id("p")
        .start_time(EpochSeconds::new(
            MAX_EPOCH_SECONDS - MIN_PRODUCT_PLAN_SECONDS,
        ))
        .end_time(EpochSeconds::new(MAX_EPOCH_SECONDS))
        .build();
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn generated_unique_ids_are_unique_across_builds_and_threads() {
    const PER_THREAD: usize = 5_000;
    let handles: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                (0..PER_THREAD)
                    .map(|_| {
                        MeterRecord::builder("m", 1.0, "c")
                            .build()
                            .expect("valid record")
                            .unique_id()
                            .to_string()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for handle in handles {
        for id in handle.join().expect("builder thread") {
            assert_eq!(id.len(), 36, "{id}");
            assert!(ids.insert(id.clone()), "duplicate id {id}");
        }
    }
    assert_eq!(ids.len(), 4 * PER_THREAD);
    // A generated id survives JSON exactly like a caller's canonical UUID string.
    for id in ids.iter().take(100) {
        let unique = UniqueId::from(id.as_str());
        let parsed: UniqueId =
            serde_json::from_str(&serde_json::to_string(&unique).expect("serialises"))
                .expect("parses");
        assert_eq!(parsed, unique);
        assert_eq!(&parsed.to_string(), id);
    }
}

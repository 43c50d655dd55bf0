//! Usage aggregation checked against a naive reference computation over random records,
//! ranges, intervals, groupings, filters and takes (calling the aggregation directly, so it
//! is fast). Values are halves of small integers, so every sum is exact and order-free.

use amberflo_types::EpochMillis;
use amberflo_types::EpochSeconds;
use std::collections::BTreeMap;

use amberflo_emulator::Store;
use amberflo_emulator::usage::aggregate;
use amberflo_types::{
    AggregationType, MeterRecord, Take, TimeGroupingInterval, TimeRange, UsagePayloadFactory,
    UsageReport,
};
use proptest::prelude::*;

/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200;
const DAY: i64 = 86_400;
/// "Now" for open ranges.
const NOW: i64 = T0 + 100 * DAY;

const METERS: &[&str] = &["calls", "storage"];
const CUSTOMERS: &[&str] = &["c1", "c2", "c3"];
const REGIONS: &[&str] = &["eu", "us"];
const PLANS: &[&str] = &["free", "pro"];

fn records() -> impl Strategy<Value = Vec<MeterRecord>> {
    let one = (
        proptest::sample::select(METERS),
        -100i32..100,
        proptest::sample::select(CUSTOMERS),
        prop_oneof![
            (T0 - 10 * DAY) * 1000..(T0 + 80 * DAY) * 1000,
            // On a 6-hour grid shared with the query bounds, to hit range and bucket edges.
            (-8i64..48).prop_map(|steps| (T0 + steps * 6 * 3_600) * 1000),
        ],
        proptest::option::of(proptest::sample::select(REGIONS)),
        proptest::option::of(proptest::sample::select(PLANS)),
    )
        .prop_map(|(meter, halves, customer, millis, region, plan)| {
            let mut builder = MeterRecord::builder(meter, f64::from(halves) / 2.0, customer)
                .meter_time(EpochMillis::new(millis));
            if let Some(region) = region {
                builder = builder.dimension("region", region);
            }
            if let Some(plan) = plan {
                builder = builder.dimension("plan", plan);
            }
            builder.build().expect("valid record")
        });
    proptest::collection::vec(one, 0..60)
}

#[derive(Debug, Clone)]
struct Query {
    meter: &'static str,
    aggregation: AggregationType,
    interval: TimeGroupingInterval,
    start: i64,
    end: Option<i64>,
    group_by: Option<Vec<String>>,
    filter: Option<BTreeMap<String, Vec<String>>>,
    take: Option<(u32, bool)>,
}

fn queries() -> impl Strategy<Value = Query> {
    let names = ["customerId", "region", "plan"];
    (
        proptest::sample::select(METERS),
        proptest::sample::select(vec![
            AggregationType::Sum,
            AggregationType::Count,
            AggregationType::Min,
            AggregationType::Max,
        ]),
        proptest::sample::select(vec![
            TimeGroupingInterval::Hour,
            TimeGroupingInterval::Day,
            TimeGroupingInterval::Week,
            TimeGroupingInterval::Month,
        ]),
        prop_oneof![
            T0 - 5 * DAY..T0 + 5 * DAY,
            (-4i64..8).prop_map(|steps| T0 + steps * 6 * 3_600),
        ],
        proptest::option::of(prop_oneof![
            1..70 * DAY,
            (1i64..40).prop_map(|steps| steps * 6 * 3_600),
        ]),
        proptest::option::of(proptest::sample::subsequence(names.to_vec(), 1..=3)),
        proptest::option::of((
            proptest::sample::select(names.to_vec()),
            proptest::sample::subsequence(vec!["c1", "c2", "eu", "us", "pro"], 1..=3),
        )),
        proptest::option::of((1u32..5, any::<bool>())),
    )
        .prop_map(
            |(meter, aggregation, interval, start, length, group_by, filter, take)| Query {
                meter,
                aggregation,
                interval,
                start,
                end: length.map(|length| start + length),
                group_by: group_by.map(|names| names.into_iter().map(str::to_owned).collect()),
                filter: filter.map(|(name, values)| {
                    BTreeMap::from([(
                        name.to_owned(),
                        values.into_iter().map(str::to_owned).collect(),
                    )])
                }),
                take,
            },
        )
}

// ----- The naive reference -----

fn days_in_month(year: i64, month: u32) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Month starts from 1970 on, walked one month at a time.
fn month_starts_until(limit: i64) -> Vec<i64> {
    let mut starts = Vec::new();
    let (mut year, mut month, mut at) = (1970, 1, 0);
    while at <= limit {
        starts.push(at);
        at += days_in_month(year, month) * DAY;
        month += 1;
        if month == 13 {
            month = 1;
            year += 1;
        }
    }
    starts
}

/// Every bucket start from the one holding `start` until `end`.
fn reference_buckets(interval: &TimeGroupingInterval, start: i64, end: i64) -> Vec<i64> {
    let (first, step) = match interval {
        TimeGroupingInterval::Hour => (start - start.rem_euclid(3_600), 3_600),
        TimeGroupingInterval::Day => (start - start.rem_euclid(DAY), DAY),
        TimeGroupingInterval::Week => {
            // 1970-01-05 was a Monday.
            let monday = 4 * DAY;
            (
                monday + (start - monday).div_euclid(7 * DAY) * 7 * DAY,
                7 * DAY,
            )
        }
        _ => {
            let months = month_starts_until(end + 40 * DAY);
            let first = months.iter().rposition(|m| *m <= start).unwrap_or(0);
            return months[first..]
                .iter()
                .copied()
                .take_while(|m| *m < end)
                .collect();
        }
    };
    (0..)
        .map(|i| first + i * step)
        .take_while(|bucket| *bucket < end)
        .collect()
}

fn attribute<'r>(record: &'r MeterRecord, name: &str) -> Option<&'r str> {
    if name == "customerId" {
        Some(record.customer_id())
    } else {
        record.dimensions()?.get(name)
    }
}

fn combine(aggregation: &AggregationType, values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    match aggregation {
        AggregationType::Count => values.len() as f64,
        AggregationType::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        AggregationType::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        _ => values.iter().sum(),
    }
}

/// (group info, group value, bucket values) per client meter, as the reference sees it.
type Meters = Vec<(Option<BTreeMap<String, String>>, f64, Vec<(f64, f64)>)>;

fn reference(records: &[MeterRecord], query: &Query) -> (Vec<i64>, Meters) {
    // An open range ends now, the current second included.
    let end = query.end.unwrap_or(NOW.max(query.start) + 1);
    let buckets = reference_buckets(&query.interval, query.start, end);
    let group_by = query.group_by.clone().unwrap_or_default();
    let mut groups: BTreeMap<Vec<String>, Vec<&MeterRecord>> = BTreeMap::new();
    for record in records {
        let millis = record.meter_time_in_millis();
        if record.meter_api_name() != query.meter
            || millis < query.start * 1000
            || millis >= end * 1000
        {
            continue;
        }
        let kept = query.filter.iter().flatten().all(|(name, allowed)| {
            attribute(record, name).is_some_and(|value| allowed.iter().any(|a| a == value))
        });
        if !kept {
            continue;
        }
        let key = group_by
            .iter()
            .map(|name| attribute(record, name).unwrap_or("").to_owned())
            .collect();
        groups.entry(key).or_default().push(record);
    }
    if group_by.is_empty() && groups.is_empty() {
        groups.insert(Vec::new(), Vec::new());
    }
    let mut meters: Meters = groups
        .into_iter()
        .map(|(key, members)| {
            let info = (!group_by.is_empty()).then(|| {
                group_by
                    .iter()
                    .cloned()
                    .zip(key)
                    .collect::<BTreeMap<_, _>>()
            });
            let all: Vec<f64> = members.iter().map(|r| r.meter_value()).collect();
            let mut previous: Option<f64> = None;
            let values = buckets
                .iter()
                .enumerate()
                .map(|(i, bucket)| {
                    let next = buckets.get(i + 1).copied().unwrap_or(i64::MAX / 1000);
                    let inside: Vec<f64> = members
                        .iter()
                        .filter(|r| {
                            let millis = r.meter_time_in_millis();
                            millis >= bucket * 1000 && millis < next * 1000
                        })
                        .map(|r| r.meter_value())
                        .collect();
                    let value = combine(&query.aggregation, &inside);
                    let percentage = match previous {
                        Some(p) if p != 0.0 => (value - p) / p.abs() * 100.0,
                        _ => 0.0,
                    };
                    previous = Some(value);
                    (value, percentage)
                })
                .collect();
            (info, combine(&query.aggregation, &all), values)
        })
        .collect();
    if let Some((limit, ascending)) = query.take {
        if ascending {
            meters.sort_by(|a, b| a.1.total_cmp(&b.1));
        } else {
            meters.sort_by(|a, b| b.1.total_cmp(&a.1));
        }
        meters.truncate(limit as usize);
    }
    (buckets, meters)
}

/// The report's bucket starts, as numbers.
fn starts(report: &UsageReport) -> Vec<i64> {
    report
        .seconds_since_epoch_intervals
        .iter()
        .map(|start| start.get())
        .collect()
}

fn observed(report: &UsageReport) -> Meters {
    report
        .client_meters
        .iter()
        .map(|meter| {
            (
                meter.group.as_ref().map(|group| group.group_info.clone()),
                meter.group_value,
                meter
                    .values
                    .iter()
                    .map(|value| (value.value, value.percentage_from_previous))
                    .collect(),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn aggregation_matches_the_naive_reference(records in records(), query in queries()) {
        let range = match query.end {
            None => TimeRange::since(EpochSeconds::new(query.start)),
            Some(end) => TimeRange::between(EpochSeconds::new(query.start), EpochSeconds::new(end)),
        }
        .expect("valid range");
        let take = query.take.map(|(limit, ascending)| {
            if ascending { Take::smallest(limit) } else { Take::largest(limit) }.expect("valid take")
        });
        let mut usage_query =
            UsagePayloadFactory::create(query.meter, query.aggregation.clone(), query.interval.clone(), range);
        if let Some(group_by) = &query.group_by {
            usage_query = usage_query.group_by(group_by.iter());
        }
        for (key, values) in query.filter.iter().flatten() {
            usage_query = usage_query.filter(key, values.iter());
        }
        if let Some(take) = take {
            usage_query = usage_query.take(take);
        }
        let usage_query = usage_query.build().expect("valid query");
        let report = aggregate(&records, &usage_query, NOW).expect("report");
        let (buckets, meters) = reference(&records, &query);
        prop_assert_eq!(&starts(&report), &buckets);
        prop_assert_eq!(observed(&report), meters);
        for (value, bucket) in report.client_meters.iter().flat_map(|m| &m.values).zip(buckets.iter().cycle()) {
            prop_assert_eq!(value.seconds_since_epoch_utc.get(), *bucket);
        }
        // The store answers from its compact records exactly as from `MeterRecord`s (a
        // closed range, so its own clock does not matter).
        if query.end.is_some() {
            let store = Store::new();
            store.insert_records(&records).expect("valid records");
            prop_assert_eq!(store.usage(&usage_query).expect("report"), report);
        }
    }
}

#[test]
fn month_buckets_cross_year_and_leap_day() {
    // 2024-01-31 .. 2024-03-02: January, February (29 days) and March.
    let records = vec![
        MeterRecord::builder("m", 1.0, "c")
            .meter_time(EpochMillis::new((T0 + 59 * DAY) * 1000)) // 2024-02-29
            .build()
            .expect("valid record"),
    ];
    let query = UsagePayloadFactory::create(
        "m",
        AggregationType::Sum,
        TimeGroupingInterval::Month,
        TimeRange::between(
            EpochSeconds::new(T0 + 30 * DAY),
            EpochSeconds::new(T0 + 61 * DAY),
        )
        .expect("valid range"),
    )
    .build()
    .expect("valid query");
    let report = aggregate(&records, &query, NOW).expect("report");
    assert_eq!(starts(&report), vec![T0, T0 + 31 * DAY, T0 + 60 * DAY]);
    let values: Vec<f64> = report.client_meters[0]
        .values
        .iter()
        .map(|v| v.value)
        .collect();
    assert_eq!(values, vec![0.0, 1.0, 0.0]);
}

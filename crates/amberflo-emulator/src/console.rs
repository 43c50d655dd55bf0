//! The console behind the page at `/`, answered by `GET /_emulator/console`: usage over time
//! per meter (in minute, hour or day buckets, grouped by customer or by one dimension,
//! filtered by meter, customer and time range), per-customer totals with their cost where a
//! price is set, the last records received with what became of each, and the lists the
//! page's filters offer.
//!
//! Charts are drawn here, in Rust, as inline SVG: the page needs no charting library (nothing
//! to vendor, nothing fetched, so it works offline), and every plotted point carries its
//! group, bucket and value as `data-` attributes, which is what the browser test checks.
//! Usage is counted as the usage API counts it: cancelled records and their cancellations
//! are left out (see [`crate::cancel`]).
//!
//! Every request scans the stored records once: a development server's page, not an
//! analytics engine (about 50 ms per million records).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use amberflo_types::CANCEL_PREVIOUS_DIMENSION;
use serde_json::{Value, json};

use crate::cancel::{Live, is_cancellation};
use crate::store::records::{RecordLog, StoredView};
use crate::view::RecordView;

/// The most buckets a chart spans.
pub(crate) const MAX_BUCKETS: i64 = 2_000;

/// The most groups a chart draws; the rest are summed as `(other)`.
pub(crate) const MAX_GROUPS: usize = 8;

/// Line colours, one per group.
const COLOURS: [&str; MAX_GROUPS + 1] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f",
];

/// What the console shows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConsoleQuery {
    /// Only this meter.
    pub(crate) meter: Option<String>,
    /// Only this customer.
    pub(crate) customer: Option<String>,
    /// How far back from now, in milliseconds (`None`: every record).
    pub(crate) range_millis: Option<i64>,
    /// The bucket width, in milliseconds.
    pub(crate) interval_millis: i64,
    /// Group by this dimension (`None`: by customer).
    pub(crate) dimension: Option<String>,
}

impl ConsoleQuery {
    /// The query of the parameters `param` gives: `meter`, `customer`, `range` (`1h`, `24h`,
    /// `7d`, `30d` or `all`; default `24h`), `interval` (`minute`, `hour` or `day`; default
    /// `hour`) and `group` (`customer`, the default, or `dimension:<name>`).
    pub(crate) fn parse(param: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let non_empty = |name| param(name).filter(|value| !value.is_empty());
        let range_millis = match non_empty("range").as_deref().unwrap_or("24h") {
            "1h" => Some(3_600_000),
            "24h" => Some(86_400_000),
            "7d" => Some(7 * 86_400_000),
            "30d" => Some(30 * 86_400_000),
            "all" => None,
            other => {
                return Err(format!(
                    "range must be 1h, 24h, 7d, 30d or all, not {other:?}"
                ));
            }
        };
        let interval_millis = match non_empty("interval").as_deref().unwrap_or("hour") {
            "minute" => 60_000,
            "hour" => 3_600_000,
            "day" => 86_400_000,
            other => {
                return Err(format!(
                    "interval must be minute, hour or day, not {other:?}"
                ));
            }
        };
        let dimension = match non_empty("group").as_deref().unwrap_or("customer") {
            "customer" => None,
            other => match other.strip_prefix("dimension:") {
                Some(name) if !name.is_empty() => Some(name.to_owned()),
                _ => {
                    return Err(format!(
                        "group must be customer or dimension:<name>, not {other:?}"
                    ));
                }
            },
        };
        Ok(ConsoleQuery {
            meter: non_empty("meter"),
            customer: non_empty("customer"),
            range_millis,
            interval_millis,
            dimension,
        })
    }
}

/// Usage of one meter: per group, per bucket start.
type Series = BTreeMap<String, BTreeMap<i64, f64>>;

/// The console's view of `log`: charts, totals, latest records and the filter lists.
/// `prices` are the meters' prices, `api_customers` the customers created through the API.
pub(crate) fn view(
    log: &mut RecordLog,
    query: &ConsoleQuery,
    prices: &BTreeMap<String, f64>,
    api_customers: &[String],
    now_millis: i64,
) -> Result<Value, String> {
    let width = query.interval_millis;
    let from = query.range_millis.map(|range| now_millis - range);
    if let Some(range) = query.range_millis
        && range / width > MAX_BUCKETS
    {
        return Err(format!(
            "{} buckets: choose a longer interval or a shorter range (at most {MAX_BUCKETS})",
            range / width
        ));
    }
    let in_range = |time: i64| from.is_none_or(|from| time >= from && time <= now_millis);
    let selected = log.iter().filter(|record| {
        query
            .meter
            .as_deref()
            .is_none_or(|meter| record.meter_api_name() == meter)
            && query
                .customer
                .as_deref()
                .is_none_or(|customer| record.customer_id() == customer)
            && in_range(record.meter_time_in_millis())
    });
    let mut charts: BTreeMap<&str, Series> = BTreeMap::new();
    let mut totals: BTreeMap<(&str, &str), (u64, f64)> = BTreeMap::new();
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for record in crate::cancel::live(selected) {
        let bucket = record.meter_time_in_millis().div_euclid(width) * width;
        first = first.min(bucket);
        last = last.max(bucket);
        let group = match &query.dimension {
            None => record.customer_id(),
            Some(name) => record.dimension(name).unwrap_or("(none)"),
        };
        *charts
            .entry(record.meter_api_name())
            .or_default()
            .entry(group.to_owned())
            .or_default()
            .entry(bucket)
            .or_default() += record.meter_value();
        let total = totals
            .entry((record.customer_id(), record.meter_api_name()))
            .or_default();
        total.0 += 1;
        total.1 += record.meter_value();
    }
    let (start, end) = match from {
        Some(from) => (
            from.div_euclid(width) * width,
            now_millis.div_euclid(width) * width,
        ),
        None if first <= last => (first, last),
        None => (
            now_millis.div_euclid(width) * width,
            now_millis.div_euclid(width) * width,
        ),
    };
    if (end - start) / width > MAX_BUCKETS {
        return Err(format!(
            "the records span {} buckets: choose a longer interval or a shorter range (at most {MAX_BUCKETS})",
            (end - start) / width
        ));
    }
    let charts: Vec<Value> = charts
        .into_iter()
        .map(|(meter, series)| chart(meter, series, start, end, width))
        .collect();
    let totals: Vec<Value> = totals
        .into_iter()
        .map(|((customer, meter), (records, total))| {
            let price = prices.get(meter).copied();
            json!({
                "customerId": customer,
                "meterApiName": meter,
                "records": records,
                "total": total,
                "price": price,
                "cost": price.map(|price| price * total),
            })
        })
        .collect();
    let latest = latest(log);
    let mut meters = BTreeSet::new();
    let mut customers: BTreeSet<String> = api_customers.iter().cloned().collect();
    for (customer, meter, _) in log.summary() {
        meters.insert(meter.to_owned());
        customers.insert(customer.to_owned());
    }
    let dimensions: BTreeSet<&str> = log
        .iter()
        .rev()
        .take(10_000)
        .flat_map(|record| record.dimensions().map(|(key, _)| key))
        .filter(|key| *key != CANCEL_PREVIOUS_DIMENSION)
        .collect();
    Ok(json!({
        "charts": charts,
        "totals": totals,
        "latest": latest,
        "meters": meters,
        "customers": customers,
        "dimensions": dimensions,
        "bucketMillis": width,
        "from": start,
        "to": end,
    }))
}

/// One meter's chart: its groups (the largest [`MAX_GROUPS`], the rest as `(other)`) with
/// their points, and the SVG drawing them.
fn chart(meter: &str, series: Series, start: i64, end: i64, width: i64) -> Value {
    let mut groups: Vec<(String, BTreeMap<i64, f64>)> = series.into_iter().collect();
    groups.sort_by(|a, b| total(&b.1).total_cmp(&total(&a.1)).then(a.0.cmp(&b.0)));
    if groups.len() > MAX_GROUPS {
        let mut other = BTreeMap::new();
        for (_, points) in groups.drain(MAX_GROUPS..) {
            for (bucket, value) in points {
                *other.entry(bucket).or_default() += value;
            }
        }
        groups.push(("(other)".to_owned(), other));
    }
    let svg = svg(&groups, start, end, width);
    let groups: Vec<Value> = groups
        .iter()
        .map(|(name, points)| {
            json!({
                "name": name,
                "total": total(points),
                "points": points.iter().map(|(t, v)| json!([t, v])).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "meter": meter, "groups": groups, "svg": svg })
}

fn total(points: &BTreeMap<i64, f64>) -> f64 {
    points.values().sum()
}

/// A line chart of `groups` over the buckets from `start` to `end` (inclusive), each point a
/// circle with `data-group`, `data-t` (bucket start, Unix ms) and `data-v`.
fn svg(groups: &[(String, BTreeMap<i64, f64>)], start: i64, end: i64, width: i64) -> String {
    const W: f64 = 760.0;
    const LEFT: f64 = 64.0;
    const RIGHT: f64 = 12.0;
    const TOP: f64 = 12.0;
    const PLOT: f64 = 190.0;
    /// Legend rows of four groups, under the time labels.
    const ROW: f64 = 16.0;
    let rows = groups.len().div_ceil(4).max(1) as f64;
    let bottom = 30.0 + ROW * rows;
    let h = TOP + PLOT + bottom;
    let max = groups
        .iter()
        .flat_map(|(_, points)| points.values().copied())
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let span = (end - start).max(1) as f64;
    let x = |t: i64| LEFT + (t - start) as f64 / span * (W - LEFT - RIGHT);
    let y = |v: f64| (h - bottom) - v / max * PLOT;
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {h}" width="{W}" height="{h}" role="img">"##
    );
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" y1="{b}" x2="{r}" y2="{b}" stroke="#999"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{b}" stroke="#999"/>"##,
        b = (h - bottom),
        r = W - RIGHT
    );
    let _ = write!(
        out,
        r##"<text x="{tx}" y="{ty}" text-anchor="end" font-size="11">{max}</text><text x="{tx}" y="{b}" text-anchor="end" font-size="11">0</text>"##,
        tx = LEFT - 4.0,
        ty = TOP + 8.0,
        max = escape(&format_number(max)),
        b = (h - bottom)
    );
    let _ = write!(
        out,
        r##"<text x="{LEFT}" y="{ly}" font-size="11">{from}</text><text x="{r}" y="{ly}" text-anchor="end" font-size="11">{to}</text>"##,
        ly = (h - bottom) + 16.0,
        r = W - RIGHT,
        from = utc_minutes(start),
        to = utc_minutes(end)
    );
    let buckets = (end - start) / width.max(1);
    for (index, (name, points)) in groups.iter().enumerate() {
        let colour = COLOURS[index.min(COLOURS.len() - 1)];
        let mut line = String::new();
        for step in 0..=buckets {
            let t = start + step * width;
            let v = points.get(&t).copied().unwrap_or(0.0);
            let _ = write!(line, "{:.1},{:.1} ", x(t), y(v));
        }
        let _ = write!(
            out,
            r##"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"##,
            line.trim_end()
        );
        let group = escape(name);
        for (&t, &v) in points {
            let _ = write!(
                out,
                r##"<circle class="point" cx="{:.1}" cy="{:.1}" r="3" fill="{colour}" data-group="{group}" data-t="{t}" data-v="{v}"><title>{group} {}: {}</title></circle>"##,
                x(t),
                y(v),
                utc_minutes(t),
                escape(&format_number(v))
            );
        }
        let _ = write!(
            out,
            r##"<rect x="{lx}" y="{ly}" width="10" height="10" fill="{colour}"/><text x="{tx}" y="{ty}" font-size="11">{group}</text>"##,
            lx = LEFT + 170.0 * (index % 4) as f64,
            ly = TOP + PLOT + 26.0 + ROW * (index / 4) as f64,
            tx = LEFT + 170.0 * (index % 4) as f64 + 14.0,
            ty = TOP + PLOT + 35.0 + ROW * (index / 4) as f64,
        );
    }
    out.push_str("</svg>");
    out
}

/// The last records received, newest first, each with what became of it: `stored`,
/// `duplicate` (same id and content as a stored one: dropped), `cancels` (a cancellation of
/// an earlier record) or `cancelled` (by a later cancellation).
fn latest(log: &RecordLog) -> Vec<Value> {
    let recent: Vec<(StoredView<'_>, bool)> = log.recent().collect();
    // Which of them still count: all, unless something was cancelled.
    let mut live = vec![true; recent.len()];
    if let Live::Kept(kept) = crate::cancel::live(log.iter()) {
        live.fill(false);
        for record in kept {
            for (at, (candidate, _)) in recent.iter().enumerate() {
                if RecordLog::same_record(record, *candidate) {
                    live[at] = true;
                }
            }
        }
    }
    recent
        .iter()
        .zip(live)
        .map(|((record, duplicate), live)| {
            let status = if *duplicate {
                "duplicate"
            } else if is_cancellation(*record) {
                "cancels"
            } else if !live {
                "cancelled"
            } else {
                "stored"
            };
            json!({
                "uniqueId": record.unique_id().to_string(),
                "customerId": record.customer_id(),
                "meterApiName": record.meter_api_name(),
                "meterValue": record.meter_value(),
                "meterTimeInMillis": record.meter_time_in_millis(),
                "dimensions": record.dimensions().collect::<BTreeMap<_, _>>(),
                "status": status,
            })
        })
        .collect()
}

/// A number as the page shows it: integers without a fraction.
fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM` (UTC).
fn utc_minutes(millis: i64) -> String {
    let (year, month, day) = crate::calendar::civil_from_days(millis.div_euclid(86_400_000));
    let of_day = millis.rem_euclid(86_400_000) / 60_000;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        of_day / 60,
        of_day % 60
    )
}

/// Escapes text for SVG/HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        }
    }

    #[test]
    fn queries_default_and_refuse_what_they_do_not_know() {
        let query = ConsoleQuery::parse(params(&[])).unwrap();
        assert_eq!(query.range_millis, Some(86_400_000));
        assert_eq!(query.interval_millis, 3_600_000);
        assert_eq!(query.dimension, None);
        let query = ConsoleQuery::parse(params(&[
            ("group", "dimension:region"),
            ("interval", "minute"),
            ("range", "all"),
            ("meter", "ApiCalls"),
        ]))
        .unwrap();
        assert_eq!(query.dimension.as_deref(), Some("region"));
        assert_eq!(query.meter.as_deref(), Some("ApiCalls"));
        for bad in [
            ("range", "2y"),
            ("interval", "week"),
            ("group", "dimension:"),
        ] {
            let error = ConsoleQuery::parse(params(&[bad])).unwrap_err();
            assert!(error.contains(bad.0), "{error}");
        }
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn every_point_is_in_the_svg_with_its_data() {
        let mut points = BTreeMap::new();
        points.insert(0, 2.0);
        points.insert(120_000, 5.5);
        let svg = svg(&[("a<b".to_owned(), points)], 0, 180_000, 60_000);
        assert_eq!(svg.matches("class=\"point\"").count(), 2);
        assert!(
            svg.contains(r#"data-group="a&lt;b" data-t="120000" data-v="5.5""#),
            "{svg}"
        );
        assert!(!svg.contains("a<b"));
    }
}

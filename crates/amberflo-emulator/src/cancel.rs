//! Event cancellation: a record with the dimension `aflo.cancel_previous_resource_event:
//! "true"` (what the Go SDK's `CancelMeter` sends, [`CANCEL_PREVIOUS_DIMENSION`]) cancels the
//! record it repeats. [`live`] drops both, so usage, usage cost and invoices count neither,
//! whatever the aggregation (a cancelled value is gone from `MIN` and `MAX` too).
//!
//! "The record it repeats" is the latest record stored before the cancellation, not yet
//! cancelled, with the same meter, customer, time and value (dimensions are not compared). A
//! cancellation that matches no earlier record is dropped and cancels nothing.

use std::collections::HashMap;

use amberflo_types::CANCEL_PREVIOUS_DIMENSION;

use crate::view::RecordView;

/// What a cancellation and the record it cancels have in common.
type Fingerprint<'a> = (&'a str, &'a str, i64, u64);

fn fingerprint<'a, V: RecordView<'a>>(record: V) -> Fingerprint<'a> {
    (
        record.meter_api_name(),
        record.customer_id(),
        record.meter_time_in_millis(),
        record.meter_value().to_bits(),
    )
}

/// Whether `record` cancels an earlier one.
pub(crate) fn is_cancellation<'a, V: RecordView<'a>>(record: V) -> bool {
    record.dimension(CANCEL_PREVIOUS_DIMENSION) == Some("true")
}

/// The records that still count, in storage order: `records` without cancellations and the
/// records they cancel. Without a cancellation it only scans once more.
pub(crate) fn live<'a, V: RecordView<'a>, I: Iterator<Item = V> + Clone>(records: I) -> Live<I, V> {
    if !records.clone().any(is_cancellation) {
        return Live::All(records);
    }
    let mut kept: Vec<Option<V>> = Vec::new();
    let mut open: HashMap<Fingerprint<'a>, Vec<usize>> = HashMap::new();
    for record in records {
        let key = fingerprint(record);
        if is_cancellation(record) {
            if let Some(index) = open.get_mut(&key).and_then(Vec::pop) {
                kept[index] = None;
            }
        } else {
            open.entry(key).or_default().push(kept.len());
            kept.push(Some(record));
        }
    }
    Live::Kept(kept.into_iter().flatten().collect::<Vec<V>>().into_iter())
}

/// The iterator [`live`] returns: every record, or those left after cancellations.
pub(crate) enum Live<I, V> {
    All(I),
    Kept(std::vec::IntoIter<V>),
}

impl<I: Iterator<Item = V>, V> Iterator for Live<I, V> {
    type Item = V;

    fn next(&mut self) -> Option<V> {
        match self {
            Live::All(records) => records.next(),
            Live::Kept(records) => records.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use amberflo_types::MeterRecord;

    use super::*;
    use amberflo_types::EpochMillis;

    fn record(value: f64, cancel: bool) -> MeterRecord {
        let mut builder = MeterRecord::builder("ApiCalls", value, "c1")
            .meter_time(EpochMillis::new(1_700_000_000_000));
        if cancel {
            builder = builder.dimension(CANCEL_PREVIOUS_DIMENSION, "true");
        }
        builder.build().unwrap()
    }

    fn live_values(records: &[MeterRecord]) -> Vec<f64> {
        live(records.iter()).map(MeterRecord::meter_value).collect()
    }

    #[test]
    fn a_cancellation_removes_itself_and_one_repeat() {
        let records = [
            record(3.0, false),
            record(2.5, false),
            record(2.5, false),
            record(4.0, false),
            record(2.5, true),
        ];
        assert_eq!(live_values(&records), vec![3.0, 2.5, 4.0]);
    }

    #[test]
    fn a_cancellation_cancels_only_an_earlier_record() {
        // Stored before its record, and one matching nothing: both cancel nothing.
        let records = [record(2.5, true), record(2.5, false), record(9.0, true)];
        assert_eq!(live_values(&records), vec![2.5]);
        let after = [record(2.5, false), record(1.0, false), record(2.5, true)];
        assert_eq!(live_values(&after), vec![1.0]);
        let plain = [record(1.0, false), record(2.0, false)];
        assert_eq!(live_values(&plain), vec![1.0, 2.0]);
    }
}

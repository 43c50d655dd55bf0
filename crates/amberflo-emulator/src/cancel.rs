//! Event cancellation: a record with the dimension `aflo.cancel_previous_resource_event:
//! "true"` (what the Go SDK's `CancelMeter` sends, [`CANCEL_PREVIOUS_DIMENSION`]) cancels the
//! record it repeats. [`live`] drops both, so usage, usage cost and invoices count neither,
//! whatever the aggregation (a cancelled value is gone from `MIN` and `MAX` too).
//!
//! "The record it repeats" is the first not yet cancelled record with the same meter,
//! customer, time and value (dimensions are not compared). A cancellation that matches no
//! record is dropped and cancels nothing.

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

fn is_cancellation<'a, V: RecordView<'a>>(record: V) -> bool {
    record.dimension(CANCEL_PREVIOUS_DIMENSION) == Some("true")
}

/// The records that still count: `records` without cancellations and the records they cancel.
/// Reads `records` twice; without a cancellation it costs one scan.
pub(crate) fn live<'a, V: RecordView<'a>>(
    records: impl Iterator<Item = V> + Clone,
) -> impl Iterator<Item = V> {
    let mut pending: HashMap<Fingerprint<'a>, usize> = HashMap::new();
    for record in records.clone().filter(|record| is_cancellation(*record)) {
        *pending.entry(fingerprint(record)).or_default() += 1;
    }
    let any = !pending.is_empty();
    records.filter(move |record| {
        if !any {
            return true;
        }
        if is_cancellation(*record) {
            return false;
        }
        let key = fingerprint(*record);
        match pending.get_mut(&key) {
            Some(count) => {
                *count -= 1;
                if *count == 0 {
                    pending.remove(&key);
                }
                false
            }
            None => true,
        }
    })
}

#[cfg(test)]
mod tests {
    use amberflo_types::MeterRecord;

    use super::*;

    fn record(value: f64, cancel: bool) -> MeterRecord {
        let mut builder =
            MeterRecord::builder("ApiCalls", value, "c1").meter_time_in_millis(1_700_000_000_000);
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
    fn a_cancellation_before_its_record_and_one_matching_nothing() {
        let records = [record(2.5, true), record(2.5, false), record(9.0, true)];
        assert_eq!(live_values(&records), Vec::<f64>::new());
        let after = [record(2.5, false), record(1.0, false), record(2.5, true)];
        assert_eq!(live_values(&after), vec![1.0]);
        let plain = [record(1.0, false), record(2.0, false)];
        assert_eq!(live_values(&plain), vec![1.0, 2.0]);
    }
}

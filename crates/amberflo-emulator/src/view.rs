//! [`RecordView`]: read access to a meter record's fields, whether it is a [`MeterRecord`] or
//! one of the store's compact records, so usage and invoices are computed by one code path.

use amberflo_types::MeterRecord;

/// The fields usage reports and invoices read from a record.
pub(crate) trait RecordView<'a>: Copy {
    /// The meter's API name.
    fn meter_api_name(self) -> &'a str;
    /// The customer.
    fn customer_id(self) -> &'a str;
    /// The metered value.
    fn meter_value(self) -> f64;
    /// When it happened, in Unix milliseconds.
    fn meter_time_in_millis(self) -> i64;
    /// The value of one dimension, if the record has it.
    fn dimension(self, name: &str) -> Option<&'a str>;

    /// The value of `name` for grouping and filtering: the customer for `customerId`, else
    /// the dimension.
    fn attribute(self, name: &str) -> Option<&'a str> {
        if name == "customerId" {
            Some(self.customer_id())
        } else {
            self.dimension(name)
        }
    }
}

impl<'a> RecordView<'a> for &'a MeterRecord {
    fn meter_api_name(self) -> &'a str {
        MeterRecord::meter_api_name(self)
    }

    fn customer_id(self) -> &'a str {
        MeterRecord::customer_id(self)
    }

    fn meter_value(self) -> f64 {
        MeterRecord::meter_value(self)
    }

    fn meter_time_in_millis(self) -> i64 {
        MeterRecord::meter_time_in_millis(self)
    }

    fn dimension(self, name: &str) -> Option<&'a str> {
        self.dimensions()
            .and_then(|dimensions| dimensions.get(name))
    }
}

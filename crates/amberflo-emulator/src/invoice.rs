//! Emulated invoices, derived from a customer's product plans and stored usage.
//!
//! The model is deliberately simple (the emulator knows no prices):
//! - A customer has invoices only once it has a product plan for the product asked about.
//! - Billing periods start at the earliest plan's start, then follow calendar months (UTC):
//!   the first period runs from the plan start to the next first-of-month, and the last one
//!   is the month holding "now" (the open invoice; older ones are closed). At most
//!   [`MAX_INVOICES`] of the most recent periods are listed.
//! - Each period is billed under the latest plan that had started by the period's start and
//!   had not ended; periods with no such plan have no invoice.
//! - An invoice carries `invoiceStartTimeInSeconds`, `invoiceEndTimeInSeconds`, `customerId`,
//!   `productId`, `productPlanId`, `invoiceKey` (those ids plus the start `year`, `month`,
//!   `day`), `invoiceStatus` (`OPEN` or `CLOSED`), `meterUsage` (per meter: `meterApiName`,
//!   the `sum` and `count` of the customer's records in the period, cancelled records left
//!   out as in [`crate::usage`]), `totalRecords`,
//!   `emulated: true`, and, when payment status is asked for, `paymentStatus` (`PENDING` for
//!   the open invoice, `SETTLED` for closed ones).

use std::collections::BTreeMap;

use amberflo_types::{CustomerProductPlan, Invoice};
use serde_json::{Value, json};

use crate::calendar;
use crate::view::RecordView;

/// The most invoices listed per customer and product (100 years of months).
pub const MAX_INVOICES: usize = 1_200;

/// One billing period and the plan it is billed under.
struct Period<'p> {
    start: i64,
    end: i64,
    plan: &'p CustomerProductPlan,
}

fn plan_in_force(plans: &[&CustomerProductPlan], at: i64) -> Option<usize> {
    plans.iter().rposition(|plan| {
        plan.start_time_in_seconds.unwrap_or(0) <= at
            && plan.end_time_in_seconds.is_none_or(|end| end > at)
    })
}

/// What [`invoices`] needs to know about the request.
pub(crate) struct InvoiceRequest<'a> {
    pub(crate) customer_id: &'a str,
    pub(crate) product_id: &'a str,
    pub(crate) with_payment_status: bool,
    pub(crate) now_seconds: i64,
}

/// Every invoice of a customer for a product, oldest first.
pub(crate) fn invoices<'a, V: RecordView<'a>>(
    records: impl Iterator<Item = V> + Clone,
    plans: &[CustomerProductPlan],
    request: &InvoiceRequest<'_>,
) -> Vec<Invoice> {
    let mut plans: Vec<&CustomerProductPlan> = plans
        .iter()
        .filter(|plan| plan.product_id == request.product_id)
        .collect();
    plans.sort_by_key(|plan| plan.start_time_in_seconds.unwrap_or(0));
    let Some(first) = plans.first() else {
        return Vec::new();
    };
    let now = request.now_seconds;
    let mut start = first.start_time_in_seconds.unwrap_or(0);
    if start > now {
        return Vec::new();
    }
    // Skip ahead so that at most MAX_INVOICES periods are built.
    let months = calendar::month_index(now) - calendar::month_index(start);
    if months >= MAX_INVOICES as i64 {
        start = calendar::month_start(calendar::month_index(now) - (MAX_INVOICES as i64 - 1));
    }
    let mut periods = Vec::new();
    while start <= now {
        let end = calendar::month_start(calendar::month_index(start) + 1);
        if let Some(index) = plan_in_force(&plans, start)
            && let Some(plan) = plans.get(index)
        {
            periods.push(Period { start, end, plan });
        }
        start = end;
    }

    let mut usage: Vec<BTreeMap<&'a str, (f64, u64)>> = vec![BTreeMap::new(); periods.len()];
    let customer = request.customer_id;
    let records = records.filter(|record| record.customer_id() == customer);
    for record in crate::cancel::live(records) {
        let seconds = record.meter_time_in_millis().div_euclid(1000);
        let after = periods.partition_point(|period| period.start <= seconds);
        let Some(index) = after.checked_sub(1) else {
            continue;
        };
        if periods
            .get(index)
            .is_some_and(|period| seconds < period.end)
            && let Some(meters) = usage.get_mut(index)
        {
            let totals = meters.entry(record.meter_api_name()).or_default();
            totals.0 += record.meter_value();
            totals.1 += 1;
        }
    }

    periods
        .iter()
        .zip(usage)
        .map(|(period, meters)| to_invoice(period, &meters, request))
        .collect()
}

fn to_invoice(
    period: &Period<'_>,
    meters: &BTreeMap<&str, (f64, u64)>,
    request: &InvoiceRequest<'_>,
) -> Invoice {
    let open = period.end > request.now_seconds;
    let (year, month, day) = calendar::date_of(period.start);
    let plan = period.plan;
    let meter_usage: Vec<Value> = meters
        .iter()
        .map(|(meter, (sum, count))| json!({"meterApiName": meter, "sum": sum, "count": count}))
        .collect();
    let total_records: u64 = meters.values().map(|(_, count)| count).sum();
    let mut invoice = Invoice::default();
    invoice.invoice_start_time_in_seconds = Some(period.start);
    invoice.invoice_end_time_in_seconds = Some(period.end);
    if request.with_payment_status {
        let status = if open { "PENDING" } else { "SETTLED" };
        invoice.payment_status = Some(status.to_owned());
    }
    let extra = [
        ("customerId", json!(request.customer_id)),
        ("productId", json!(plan.product_id)),
        ("productPlanId", json!(plan.product_plan_id)),
        (
            "invoiceKey",
            json!({
                "customerId": request.customer_id,
                "productId": plan.product_id,
                "productPlanId": plan.product_plan_id,
                "year": year,
                "month": month,
                "day": day,
            }),
        ),
        ("invoiceStatus", json!(if open { "OPEN" } else { "CLOSED" })),
        ("meterUsage", Value::Array(meter_usage)),
        ("totalRecords", json!(total_records)),
        ("emulated", json!(true)),
    ];
    invoice.extra.extend(
        extra
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value)),
    );
    invoice
}

/// The start date `(year, month, day)` and plan of an invoice made by [`invoices`].
pub(crate) fn invoice_key(invoice: &Invoice) -> Option<((i64, u32, u32), &str)> {
    let start = invoice.invoice_start_time_in_seconds?;
    let plan = invoice.extra.get("productPlanId")?.as_str()?;
    Some((calendar::date_of(start), plan))
}

#[cfg(test)]
mod tests {
    use amberflo_types::{CustomerProductPlanPayload, MeterRecord};

    use super::*;

    #[test]
    fn monthly_periods_from_plan_start_with_usage() {
        // Plan from 2023-10-15, "now" is 2023-12-10: three periods.
        let plan = CustomerProductPlanPayload::builder("c1")
            .product_plan_id("plan-a")
            .start_time_in_seconds(1_697_328_000)
            .build()
            .expect("valid plan");
        let plans = [CustomerProductPlan::from(plan)];
        let records = [
            MeterRecord::builder("calls", 2.0, "c1")
                .meter_time_in_millis(1_699_000_000_000) // 2023-11-03
                .build()
                .expect("valid record"),
            MeterRecord::builder("calls", 3.0, "c1")
                .meter_time_in_millis(1_699_100_000_000) // 2023-11-04
                .build()
                .expect("valid record"),
            MeterRecord::builder("calls", 9.0, "c2")
                .meter_time_in_millis(1_699_100_000_000)
                .build()
                .expect("valid record"),
        ];
        let request = InvoiceRequest {
            customer_id: "c1",
            product_id: "1",
            with_payment_status: true,
            now_seconds: 1_702_166_400,
        };
        let invoices = invoices(records.iter(), &plans, &request);
        assert_eq!(invoices.len(), 3);
        assert_eq!(
            invoices[0].invoice_start_time_in_seconds,
            Some(1_697_328_000)
        );
        assert_eq!(invoices[0].invoice_end_time_in_seconds, Some(1_698_796_800));
        assert_eq!(invoices[1].extra["meterUsage"][0]["sum"], 5.0);
        assert_eq!(invoices[1].payment_status.as_deref(), Some("SETTLED"));
        assert_eq!(invoices[2].payment_status.as_deref(), Some("PENDING"));
        assert_eq!(invoice_key(&invoices[0]), Some(((2023, 10, 15), "plan-a")));
    }
}

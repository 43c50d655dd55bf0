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
//! - An invoice has the shape of the Go SDK's `CustomerProductInvoice` (see the upstream
//!   fixtures `invoices_*.go.json`): `invoiceUri` (`customer/product/plan/year/month/day`),
//!   `invoiceKey` (customer, product, plan and the start `year`, `month`, `day`),
//!   `planBillingPeriod` (one month), `planName` (the plan id: the emulator knows no names),
//!   the start and end, `gracePeriodInHours` (0), one `productItemInvoices` entry per meter with
//!   records in the period (`totalBill.meterUnits` is their sum, cancelled records left out as
//!   in [`crate::usage`], and `totalBill.price` the units times the meter's price, see
//!   [`crate::cost`]), no `appliedPromotions` or `productPlanFees`, a `totalBill` whose
//!   `itemPrice` and `totalPrice` are the items' sum (no fees, prepaid or discounts),
//!   `invoicePriceStatus` (`open` for the period holding now, `closed` before) and
//!   `paymentStatus`: `PENDING` for the open invoice, `SETTLED` for closed ones, or `UNKNOWN`
//!   when the request says `withPaymentStatus=false`.

use std::collections::BTreeMap;

use amberflo_types::{CustomerProductPlan, EpochSeconds, Invoice};
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

/// When the plan starts, in Unix seconds (0 when the plan does not say).
fn plan_start(plan: &CustomerProductPlan) -> i64 {
    plan.start_time_in_seconds.map_or(0, EpochSeconds::get)
}

fn plan_in_force(plans: &[&CustomerProductPlan], at: i64) -> Option<usize> {
    plans.iter().rposition(|plan| {
        plan_start(plan) <= at && plan.end_time_in_seconds.is_none_or(|end| end.get() > at)
    })
}

/// What [`invoices`] needs to know about the request.
pub(crate) struct InvoiceRequest<'a> {
    pub(crate) customer_id: &'a str,
    pub(crate) product_id: &'a str,
    pub(crate) with_payment_status: bool,
    /// The price of one unit of each priced meter.
    pub(crate) prices: &'a BTreeMap<String, f64>,
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
    plans.sort_by_key(|plan| plan_start(plan));
    let Some(first) = plans.first() else {
        return Vec::new();
    };
    let now = request.now_seconds;
    let mut start = plan_start(first);
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

    let mut usage: Vec<BTreeMap<&'a str, f64>> = vec![BTreeMap::new(); periods.len()];
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
            *meters.entry(record.meter_api_name()).or_default() += record.meter_value();
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
    meters: &BTreeMap<&str, f64>,
    request: &InvoiceRequest<'_>,
) -> Invoice {
    let open = period.end > request.now_seconds;
    let (year, month, day) = calendar::date_of(period.start);
    let plan = period.plan;
    let key = json!({
        "customerId": request.customer_id,
        "productId": plan.product_id,
        "productPlanId": plan.product_plan_id,
        "year": year,
        "month": month,
        "day": day,
    });
    let bill = |units: f64, price: f64| {
        json!({
            "startTimeInSeconds": period.start,
            "endTimeInSeconds": period.end,
            "meterUnits": units,
            "price": price,
        })
    };
    let mut item_price = 0.0;
    let items: Vec<Value> = meters
        .iter()
        .map(|(meter, units)| {
            let price = units * request.prices.get(*meter).copied().unwrap_or(0.0);
            item_price += price;
            let mut item_key = key.clone();
            item_key["productItemKey"] = json!(meter);
            json!({
                "key": item_key,
                "productItemId": meter,
                "productItemName": meter,
                "meterApiName": meter,
                "productPlanName": plan.product_plan_id,
                "productItemVariants": [],
                "totalBill": bill(*units, price),
            })
        })
        .collect();
    let payment_status = match (request.with_payment_status, open) {
        (false, _) => "UNKNOWN",
        (true, true) => "PENDING",
        (true, false) => "SETTLED",
    };
    let invoice = json!({
        "invoiceUri": format!(
            "{}/{}/{}/{year}/{month}/{day}",
            request.customer_id, plan.product_id, plan.product_plan_id
        ),
        "invoiceKey": key,
        "planBillingPeriod": {"interval": "MONTH", "intervalsCount": 1},
        "planName": plan.product_plan_id,
        "invoiceStartTimeInSeconds": period.start,
        "invoiceEndTimeInSeconds": period.end,
        "gracePeriodInHours": 0,
        "productItemInvoices": items,
        "appliedPromotions": [],
        "productPlanFees": [],
        "totalBill": {
            "startTimeInSeconds": period.start,
            "endTimeInSeconds": period.end,
            "itemPrice": item_price,
            "fixPrice": 0.0,
            "prepaid": 0.0,
            "totalDiscount": 0.0,
            "totalPriceBeforeDiscount": item_price,
            "totalPriceBeforePrepaid": item_price,
            "totalPrice": item_price,
        },
        "invoicePriceStatus": if open { "open" } else { "closed" },
        "paymentStatus": payment_status,
    });
    // Every field is one an `Invoice` reads (the rest land in `extra`).
    serde_json::from_value(invoice).unwrap_or_default()
}

/// The start date `(year, month, day)` and plan of an invoice made by [`invoices`].
pub(crate) fn invoice_key(invoice: &Invoice) -> Option<((i64, u32, u32), &str)> {
    let start = invoice.invoice_start_time_in_seconds?.get();
    let plan = invoice
        .extra
        .get("invoiceKey")?
        .get("productPlanId")?
        .as_str()?;
    Some((calendar::date_of(start), plan))
}

#[cfg(test)]
mod tests {
    use amberflo_types::{CustomerProductPlanPayload, MeterRecord, PaymentStatus};

    use super::*;
    use amberflo_types::EpochMillis;

    #[test]
    fn monthly_periods_from_plan_start_with_usage() {
        // Plan from 2023-10-15, "now" is 2023-12-10: three periods.
        let plan = CustomerProductPlanPayload::builder("c1")
            .product_plan_id("plan-a")
            .start_time(EpochSeconds::new(1_697_328_000))
            .build()
            .expect("valid plan");
        let plans = [CustomerProductPlan::from(plan)];
        let records = [
            MeterRecord::builder("calls", 2.0, "c1")
                .meter_time(EpochMillis::new(1_699_000_000_000)) // 2023-11-03
                .build()
                .expect("valid record"),
            MeterRecord::builder("calls", 3.0, "c1")
                .meter_time(EpochMillis::new(1_699_100_000_000)) // 2023-11-04
                .build()
                .expect("valid record"),
            MeterRecord::builder("calls", 9.0, "c2")
                .meter_time(EpochMillis::new(1_699_100_000_000))
                .build()
                .expect("valid record"),
        ];
        let prices = BTreeMap::from([("calls".to_owned(), 0.5)]);
        let request = InvoiceRequest {
            customer_id: "c1",
            product_id: "1",
            with_payment_status: true,
            prices: &prices,
            now_seconds: 1_702_166_400,
        };
        let invoices = invoices(records.iter(), &plans, &request);
        assert_eq!(invoices.len(), 3);
        assert_eq!(
            invoices[0].invoice_start_time_in_seconds,
            Some(EpochSeconds::new(1_697_328_000))
        );
        assert_eq!(
            invoices[0].invoice_end_time_in_seconds,
            Some(EpochSeconds::new(1_698_796_800))
        );
        let november = &invoices[1].extra;
        let item = &november["productItemInvoices"][0];
        assert_eq!(item["meterApiName"], "calls");
        assert_eq!(item["totalBill"]["meterUnits"], 5.0);
        assert_eq!(item["totalBill"]["price"], 2.5);
        assert_eq!(november["totalBill"]["totalPrice"], 2.5);
        assert_eq!(november["invoiceUri"], "c1/1/plan-a/2023/11/1");
        assert_eq!(november["invoicePriceStatus"], "closed");
        assert_eq!(
            invoices[1].payment_status,
            Some(PaymentStatus::from("SETTLED"))
        );
        assert_eq!(
            invoices[2].payment_status,
            Some(PaymentStatus::from("PENDING"))
        );
        assert_eq!(invoice_key(&invoices[0]), Some(((2023, 10, 15), "plan-a")));
    }
}

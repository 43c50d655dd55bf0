//! Lenient responses: an explicit `null` in a field that is not an `Option` decodes as the
//! field's default (as if it were absent), a `null` value in a cost group's `groupInfos` as an
//! empty string, and an [`Address`] keeps the fields it does not name. With the `schemars`
//! feature, each of these answers also validates against its response schema.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use amberflo_types::{
    Address, Customer, CustomerProductPlan, CustomerPromotion, MeterDefinition, PrepaidOrder,
    Signal, UsageCostReport, UsageReport,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Decodes `value` from its JSON text (the path a reply takes) and, with the `schemars`
/// feature, checks that the response schema `schema_file` accepts it.
fn decode<T: DeserializeOwned>(value: &Value, schema_file: &str) -> T {
    #[cfg(feature = "schemars")]
    {
        let file = amberflo_types::schema::all()
            .into_iter()
            .find(|file| file.file_name == schema_file)
            .unwrap_or_else(|| panic!("no schema {schema_file}"));
        let validator = jsonschema::validator_for(file.schema.as_value()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|error| error.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{schema_file} rejects {value}: {errors:?}"
        );
    }
    #[cfg(not(feature = "schemars"))]
    let _ = schema_file;
    serde_json::from_str(&value.to_string()).unwrap()
}

#[test]
fn signal_nulls_default() {
    let signal: Signal = decode(
        &json!({"id": "s1", "name": null, "email": null}),
        "signal.json",
    );
    assert_eq!(signal.id, "s1");
    assert_eq!(signal.name, "");
    assert!(signal.email.is_empty());
}

#[test]
fn customer_promotion_nulls_default() {
    let applied: CustomerPromotion = decode(
        &json!({"id": "a1", "customerId": null, "promotionId": null, "productId": null}),
        "customer_promotion.json",
    );
    assert_eq!(
        (
            applied.id.as_deref(),
            applied.customer_id.as_str(),
            applied.promotion_id.as_str(),
            applied.product_id.as_str()
        ),
        (Some("a1"), "", "", "")
    );
}

#[test]
fn meter_definition_nulls_default() {
    let meter: MeterDefinition = decode(
        &json!({
            "id": "m1",
            "label": null,
            "meterApiName": null,
            "aggregationDimensions": null,
            "dimensions": null
        }),
        "meter_definition.json",
    );
    assert_eq!(meter.id, "m1");
    assert_eq!(
        (meter.label.as_str(), meter.meter_api_name.as_str()),
        ("", "")
    );
    assert!(meter.aggregation_dimensions.is_empty());
    assert!(meter.dimensions.is_empty());
}

#[test]
fn usage_cost_report_nulls_default() {
    let report: UsageCostReport = decode(
        &json!({
            "secondsSinceEpochIntervals": null,
            "costList": [
                {
                    "groupInfos": {"customerId": "c1", "region": null},
                    "meteredUnits": null,
                    "price": null,
                    "priceBeforeDiscounts": null,
                    "prepaidUsed": null,
                    "priceMinusPrepaid": null,
                    "payAsYouGoPromotionUsed": null,
                    "nonPayAsYouGoPromotionUsed": null,
                    "priceAfterPayAsYouGoPromotion": null,
                    "priceAfterNonPayAsYouGoPromotion": null,
                    "costs": [{
                        "startTimeInSeconds": 1_700_000_000,
                        "meteredUnits": null,
                        "price": null,
                        "pricePercentageDiff": null,
                        "meterUnitsPercentageDiff": null,
                        "priceBeforeDiscounts": null,
                        "prepaidUsed": null,
                        "payAsYouGoPromotionUsed": null
                    }]
                },
                {"groupInfos": null, "costs": null}
            ]
        }),
        "usage_cost_report.json",
    );
    assert!(report.seconds_since_epoch_intervals.is_empty());
    let group = &report.cost_list[0];
    assert_eq!(group.group_infos["customerId"], "c1");
    assert_eq!(
        group.group_infos["region"], "",
        "a null value is kept, as \"\""
    );
    let prices = [
        group.metered_units,
        group.price,
        group.price_before_discounts,
        group.prepaid_used,
        group.price_minus_prepaid,
        group.pay_as_you_go_promotion_used,
        group.non_pay_as_you_go_promotion_used,
        group.price_after_pay_as_you_go_promotion,
        group.price_after_non_pay_as_you_go_promotion,
    ];
    assert_eq!(prices, [0.0; 9]);
    let bucket = &group.costs[0];
    assert_eq!(bucket.start_time_in_seconds.get(), 1_700_000_000);
    let bucket_prices = [
        bucket.metered_units,
        bucket.price,
        bucket.price_percentage_diff,
        bucket.meter_units_percentage_diff,
        bucket.price_before_discounts,
        bucket.prepaid_used,
        bucket.pay_as_you_go_promotion_used,
    ];
    assert_eq!(bucket_prices, [0.0; 7]);
    assert!(report.cost_list[1].group_infos.is_empty());
    assert!(report.cost_list[1].costs.is_empty());
}

#[test]
fn customer_nulls_default_and_its_address_keeps_unknown_fields() {
    let customer: Customer = decode(
        &json!({
            "customerId": "c1",
            "customerName": null,
            "traits": null,
            "address": {"city": "Springfield", "line2": "Unit 4", "geo": {"lat": 1.5}}
        }),
        "customer.json",
    );
    assert_eq!(customer.customer_name, "");
    assert!(customer.traits.is_empty());
    let address = customer.address.as_ref().unwrap();
    assert_eq!(address.city.as_deref(), Some("Springfield"));
    assert_eq!(address.extra["line2"], "Unit 4");
    assert_eq!(address.extra["geo"], json!({"lat": 1.5}));
    // Sent back as they came.
    assert_eq!(
        serde_json::to_value(address).unwrap(),
        json!({"city": "Springfield", "line2": "Unit 4", "geo": {"lat": 1.5}})
    );
    // A built address has none.
    let built = Address::builder().city("Springfield").build().unwrap();
    assert!(built.extra.is_empty());
}

#[test]
fn billing_nulls_default() {
    let plan: CustomerProductPlan = decode(
        &json!({"customerId": "c1", "productPlanId": "p1", "productId": null}),
        "customer_product_plan.json",
    );
    assert_eq!(plan.product_id, "");
    let order: PrepaidOrder = decode(
        &json!({"id": "o1", "customerId": null, "productId": null}),
        "prepaid_order.json",
    );
    assert_eq!(
        (order.customer_id.as_str(), order.product_id.as_str()),
        ("", "")
    );
}

#[test]
fn usage_report_nulls_default() {
    let report: UsageReport = decode(
        &json!({
            "secondsSinceEpochIntervals": null,
            "clientMeters": [{
                "groupValue": 2.0,
                "values": [{"value": 2.0, "secondsSinceEpochUtc": 1_700_000_000, "percentageFromPrevious": null}]
            }]
        }),
        "usage_report.json",
    );
    assert!(report.seconds_since_epoch_intervals.is_empty());
    assert_eq!(
        report.client_meters[0].values[0].percentage_from_previous,
        0.0
    );
}

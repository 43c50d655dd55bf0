//! The rest of the API end to end over loopback HTTP, once per transport: usage cost (priced
//! by the emulator, followed over several pages), signals, promotions, meter definitions,
//! customer delete and lifecycle stage (ids that try to change the path included), prepaid
//! delete and external payment status, event cancellation, and API retries with the
//! emulator's fault injection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use amberflo::types::EpochMillis;
use std::time::Duration;

use amberflo::types::{
    Address, ApplyPromotionPayload, CustomerFilterMode, CustomerLifecycleStagePayload,
    CustomerPayload, CustomerProductQuery, EpochSeconds, LifecycleStage, MeterDefinitionPayload,
    MeterType, NotificationType, PageRequest, PaymentStatus, PrepaidOrderPayload,
    PrepaidPaymentStatusPayload, Promotion, Rule, SignalPayload, ThresholdCondition,
    TimeGroupingInterval, TimeRange, UsageCostQuery,
};
use amberflo::{Client, ClientBuilder, MeterRecord, RetryPolicy, StatusCode};
use amberflo_batcher::block_on as run;
use amberflo_emulator::{Emulator, FailRequests};

const WAIT: Duration = Duration::from_secs(30);
/// 2024-01-01T00:00:00Z.
const DAY_START: i64 = 1_704_067_200;

fn builder(emulator: &Emulator) -> ClientBuilder {
    Client::builder()
        .api_key("test-key")
        .endpoint(emulator.url())
        .linger(Duration::from_millis(20))
        .retry_policy(RetryPolicy::new([Duration::from_millis(10); 3]))
        .api_retry_policy(
            RetryPolicy::new([Duration::from_millis(10); 3])
                .with_max_retry_after(Duration::from_millis(50)),
        )
        .request_timeout(Duration::from_secs(5))
}

/// `customers` customers, customer `i` with `i + 1` calls of value 2 at the day's start.
fn seed_calls(emulator: &Emulator, customers: usize) {
    let records: Vec<MeterRecord> = (0..customers)
        .flat_map(|i| {
            (0..=i).map(move |j| {
                MeterRecord::builder("ApiCalls", 2.0, format!("customer-{i}"))
                    .meter_time(EpochMillis::new((DAY_START + j as i64) * 1000))
                    .build()
                    .unwrap()
            })
        })
        .collect();
    emulator.store().insert_records(&records).unwrap();
}

fn cost_query(page_size: Option<u32>) -> UsageCostQuery {
    let range = TimeRange::between(
        EpochSeconds::new(DAY_START),
        EpochSeconds::new(DAY_START + 86_400),
    )
    .unwrap();
    let mut query =
        UsageCostQuery::builder(TimeGroupingInterval::Day, range).group_by(["customerId"]);
    if let Some(size) = page_size {
        query = query.page(PageRequest::builder().number(1).size(size).build().unwrap());
    }
    query.build().unwrap()
}

macro_rules! rest_suite {
    ($name:ident, $choose:ident) => {
        mod $name {
            use super::*;

            fn client(emulator: &Emulator) -> Client {
                builder(emulator).$choose().build().unwrap()
            }

            #[test]
            fn usage_cost_prices_the_records_and_the_pager_follows_every_page() {
                let emulator = Emulator::start().unwrap();
                let client = client(&emulator);
                seed_calls(&emulator, 5);
                emulator.store().set_meter_price("ApiCalls", 0.25).unwrap();

                let all = run(client.usage_cost().get(&cost_query(None))).unwrap();
                assert_eq!(all.seconds_since_epoch_intervals, [EpochSeconds::new(DAY_START)]);
                assert_eq!(all.cost_list.len(), 5);
                let third = &all.cost_list[2];
                assert_eq!(third.group_infos["customerId"], "customer-2");
                // 3 calls of 2 units at 0.25 each.
                assert_eq!((third.metered_units, third.price), (6.0, 1.5));
                assert_eq!(third.costs[0].price, 1.5);

                let pages = run(client.usage_cost().pages(&cost_query(Some(2))).collect_all())
                    .unwrap();
                assert_eq!(pages.len(), 3, "5 groups in pages of 2");
                let sizes: Vec<usize> = pages.iter().map(|page| page.cost_list.len()).collect();
                assert_eq!(sizes, [2, 2, 1]);
                let customers: Vec<String> = pages
                    .iter()
                    .flat_map(|page| &page.cost_list)
                    .map(|group| group.group_infos["customerId"].clone())
                    .collect();
                assert_eq!(
                    customers,
                    (0..5).map(|i| format!("customer-{i}")).collect::<Vec<_>>()
                );
                let total: f64 = pages
                    .iter()
                    .flat_map(|page| &page.cost_list)
                    .map(|group| group.price)
                    .sum();
                assert_eq!(total, (1 + 2 + 3 + 4 + 5) as f64 * 2.0 * 0.25);
                let last = pages[2].page_info.as_ref().unwrap();
                assert_eq!((last.page_number, last.total_pages), (Some(3), Some(3)));
                assert_eq!(last.total_results, Some(5));

                #[cfg(feature = "blocking")]
                {
                    let blocking: Vec<_> = client
                        .blocking()
                        .usage_cost()
                        .pages(&cost_query(Some(2)))
                        .collect::<Result<_, _>>()
                        .unwrap();
                    assert_eq!(blocking, pages);
                }

                let bad = run(client.usage_cost().get(
                    &cost_query(None).with_page(PageRequest::builder().token("nope").build().unwrap()),
                ))
                .unwrap_err();
                assert_eq!(bad.status(), Some(StatusCode::BAD_REQUEST));
                assert!(bad.to_string().contains("page.token"), "{bad}");
            }

            #[test]
            fn a_cancelling_record_takes_its_event_out_of_the_cost() {
                let emulator = Emulator::start().unwrap();
                let client = client(&emulator);
                emulator.store().set_meter_price("ApiCalls", 1.0).unwrap();
                let event = MeterRecord::builder("ApiCalls", 7.0, "customer-0")
                    .meter_time(EpochMillis::new(DAY_START * 1000))
                    .build()
                    .unwrap();
                let kept = MeterRecord::builder("ApiCalls", 3.0, "customer-0")
                    .meter_time(EpochMillis::new(DAY_START * 1000 + 5))
                    .build()
                    .unwrap();
                let cancel = MeterRecord::builder("ApiCalls", 7.0, "customer-0")
                    .meter_time(EpochMillis::new(DAY_START * 1000))
                    .cancel_previous()
                    .build()
                    .unwrap();
                // The event is delivered before the cancellation that cancels it.
                for record in [event, kept] {
                    client.meter_record(record).unwrap();
                }
                client.flush(WAIT).unwrap();
                client.meter_record(cancel).unwrap();
                client.flush(WAIT).unwrap();
                assert_eq!(emulator.records().iter().filter(|r| r.cancels_previous()).count(), 1);
                let report = run(client.usage_cost().get(&cost_query(None))).unwrap();
                assert_eq!(report.cost_list[0].price, 3.0);
            }

            #[test]
            fn signals_round_trip() {
                let emulator = Emulator::start().unwrap();
                let client = client(&emulator);
                let signals = client.signals();
                let payload = SignalPayload::builder("High usage", NotificationType::Usage)
                    .meter_id("meter-1")
                    .threshold(ThresholdCondition::GreaterThan, 100.0)
                    .email("ops@acme.test")
                    .customer_filter_mode(CustomerFilterMode::PerCustomer)
                    .enabled()
                    .build()
                    .unwrap();
                let created = run(signals.create(&payload)).unwrap();
                assert!(!created.id.is_empty());
                assert_eq!(created.threshold_condition, Some(ThresholdCondition::GreaterThan));
                assert_eq!(created.email, ["ops@acme.test"]);
                assert_eq!(run(signals.get(&created.id)).unwrap().unwrap(), created);

                let unknown_type = SignalPayload::builder("Later", NotificationType::from("carbon"))
                    .build()
                    .unwrap();
                let later = run(signals.create(&unknown_type)).unwrap();
                assert_eq!(
                    later.notification_type,
                    Some(NotificationType::Other("carbon".to_owned()))
                );
                assert_eq!(run(signals.list()).unwrap().len(), 2);

                let disabled = payload.to_builder().id(&created.id).disabled().build().unwrap();
                let updated = run(signals.update(&disabled)).unwrap();
                assert_eq!((updated.id.as_str(), updated.enabled), (created.id.as_str(), Some(false)));
                assert_eq!(updated.create_time, created.create_time);

                let with_id = run(signals.create(&disabled)).unwrap_err();
                assert_eq!(with_id.validation().unwrap().rule(), &Rule::NotAllowed);
                let without_id = run(signals.update(&payload)).unwrap_err();
                assert_eq!(without_id.validation().unwrap().rule(), &Rule::Missing);
                let stranger = payload.to_builder().id("no-such-signal").build().unwrap();
                assert_eq!(
                    run(signals.update(&stranger)).unwrap_err().status(),
                    Some(StatusCode::NOT_FOUND)
                );

                run(signals.delete(&created.id)).unwrap();
                assert_eq!(run(signals.get(&created.id)).unwrap(), None);
                assert_eq!(
                    run(signals.delete(&created.id)).unwrap_err().status(),
                    Some(StatusCode::NOT_FOUND)
                );
                #[cfg(feature = "blocking")]
                assert_eq!(client.blocking().signals().list().unwrap().len(), 1);
            }

            #[test]
            fn promotions_are_applied_listed_and_removed_per_customer() {
                let emulator = Emulator::start().unwrap();
                let client = client(&emulator);
                let promotion: Promotion =
                    serde_json::from_value(serde_json::json!({"id": "launch", "promotionName": "Launch", "discount": 10}))
                        .unwrap();
                emulator.store().add_promotion(promotion);
                let promotions = client.promotions();
                let listed = run(promotions.list()).unwrap();
                assert_eq!(listed.len(), 1);
                assert_eq!(listed[0].extra["discount"], 10);
                assert_eq!(run(promotions.get("launch")).unwrap().unwrap().id, "launch");
                assert_eq!(run(promotions.get("nope")).unwrap(), None);

                let apply = ApplyPromotionPayload::builder("customer-1")
                    .promotion_id("launch")
                    .applied_time_range(TimeRange::since(EpochSeconds::new(DAY_START)).unwrap())
                    .build()
                    .unwrap();
                let applied = run(promotions.apply(&apply)).unwrap();
                assert_eq!((applied.customer_id.as_str(), applied.promotion_id.as_str()), ("customer-1", "launch"));
                assert_eq!(run(promotions.apply(&apply)).unwrap_err().status(), Some(StatusCode::BAD_REQUEST));
                let unknown = ApplyPromotionPayload::builder("customer-1").promotion_id("nope").build().unwrap();
                assert_eq!(run(promotions.apply(&unknown)).unwrap_err().status(), Some(StatusCode::NOT_FOUND));

                let query = CustomerProductQuery::builder("customer-1").build().unwrap();
                assert_eq!(run(promotions.list_applied(&query)).unwrap(), vec![applied.clone()]);
                let other = CustomerProductQuery::builder("customer-2").build().unwrap();
                assert!(run(promotions.list_applied(&other)).unwrap().is_empty());

                run(promotions.remove("customer-1", "launch")).unwrap();
                assert!(run(promotions.list_applied(&query)).unwrap().is_empty());
                assert_eq!(run(promotions.remove("customer-1", "launch")).unwrap_err().status(), Some(StatusCode::NOT_FOUND));
            }

            #[test]
            fn meter_definitions_follow_the_api_rules() {
                let emulator = Emulator::start().unwrap();
                let client = client(&emulator);
                let meters = client.meters();
                let payload = MeterDefinitionPayload::builder("ApiCalls")
                    .label("API calls")
                    .meter_type(MeterType::SumOfAllUsage)
                    .dimensions(["region"])
                    .used_in_billing()
                    .build()
                    .unwrap();
                let created = run(meters.create(&payload)).unwrap();
                assert_eq!(created.meter_type, Some(MeterType::SumOfAllUsage));
                assert_eq!(run(meters.get("ApiCalls")).unwrap().unwrap(), created);
                assert_eq!(run(meters.get("Nope")).unwrap(), None);
                assert_eq!(run(meters.list()).unwrap().len(), 1);

                let again = run(meters.create(&payload)).unwrap_err();
                assert_eq!(again.status(), Some(StatusCode::BAD_REQUEST));
                assert!(again.to_string().contains("Meter already exists"), "{again}");

                let relabelled = payload.to_builder().id(&created.id).label("Calls").build().unwrap();
                assert_eq!(run(meters.update(&relabelled)).unwrap().label, "Calls");
                assert_eq!(run(meters.update(&payload)).unwrap_err().validation().unwrap().rule(), &Rule::Missing);

                let refused = run(meters.delete(&created.id)).unwrap_err();
                assert_eq!(refused.status(), Some(StatusCode::BAD_REQUEST));
                assert!(refused.to_string().contains("deprecated"), "{refused}");
                let deprecated = relabelled.to_builder().deprecated().build().unwrap();
                run(meters.update(&deprecated)).unwrap();
                run(meters.delete(&created.id)).unwrap();
                assert!(run(meters.list()).unwrap().is_empty());
                assert_eq!(run(meters.delete(&created.id)).unwrap_err().status(), Some(StatusCode::NOT_FOUND));
                #[cfg(feature = "blocking")]
                assert!(client.blocking().meters().get("ApiCalls").unwrap().is_none());
            }

            #[test]
            fn customers_are_deleted_by_id_without_path_injection_and_move_through_stages() {
                let emulator = Emulator::start().unwrap();
                let client = client(&emulator);
                let customers = client.customers();
                let address = Address::builder().line1("1 Main St").city("Springfield").country("US").build().unwrap();
                for id in ["a/../b", "customer-1", "..%2Fcustomer-1", "x?y#z"] {
                    let payload = CustomerPayload::builder(id)
                        .customer_name("Acme")
                        .address(address.clone())
                        .lifecycle_stage(LifecycleStage::Onboarding)
                        .build()
                        .unwrap();
                    let added = run(customers.create(&payload)).unwrap();
                    assert_eq!(added.address.as_ref(), Some(&address));
                }
                let stage = CustomerLifecycleStagePayload::new("customer-1", LifecycleStage::Active).unwrap();
                let staged = run(customers.set_lifecycle_stage(&stage)).unwrap();
                assert_eq!(staged.lifecycle_stage, Some(LifecycleStage::Active));
                assert_eq!(
                    run(customers.get("customer-1")).unwrap().unwrap().lifecycle_stage,
                    Some(LifecycleStage::Active)
                );

                // Each id deletes exactly its own customer.
                for id in ["a/../b", "..%2Fcustomer-1", "x?y#z"] {
                    run(customers.delete(id)).unwrap();
                }
                let left: Vec<String> = run(customers.list()).unwrap().into_iter().map(|c| c.customer_id).collect();
                assert_eq!(left, ["customer-1"]);
                for dots in [".", ".."] {
                    let error = run(customers.delete(dots)).unwrap_err();
                    assert_eq!(error.validation().unwrap().rule(), &Rule::DotSegment);
                }
                assert_eq!(run(customers.delete("ghost")).unwrap_err().status(), Some(StatusCode::NOT_FOUND));
                let ghost = CustomerLifecycleStagePayload::new("ghost", LifecycleStage::Trial).unwrap();
                assert_eq!(run(customers.set_lifecycle_stage(&ghost)).unwrap_err().status(), Some(StatusCode::NOT_FOUND));
                #[cfg(feature = "blocking")]
                client.blocking().customers().delete("customer-1").unwrap();
            }

            #[test]
            fn prepaid_orders_are_deleted_and_take_external_payment_statuses() {
                let emulator = Emulator::start().unwrap();
                let client = client(&emulator);
                let orders = client.prepaid_orders();
                for id in ["order-1", "order-2"] {
                    let order = PrepaidOrderPayload::builder("customer-1")
                        .id(id)
                        .start_time(EpochSeconds::new(DAY_START))
                        .prepaid_price(100.0)
                        .external_payment()
                        .label("Starter pack")
                        .build()
                        .unwrap();
                    run(orders.create(&order)).unwrap();
                }
                let report = PrepaidPaymentStatusPayload::builder("order-1")
                    .payment_status(PaymentStatus::Settled)
                    .system_name("stripe")
                    .payment_id("pi_1")
                    .payment_time(EpochSeconds::new(DAY_START + 60))
                    .build()
                    .unwrap();
                let status = run(orders.report_external_payment(&report)).unwrap();
                assert_eq!(status.payment_status, Some(PaymentStatus::Settled));
                let list = CustomerProductQuery::builder("customer-1").build().unwrap();
                let active = run(orders.list(&list)).unwrap();
                assert_eq!(active[0].extra["paymentStatus"], "SETTLED");
                assert_eq!(active[0].label.as_deref(), Some("Starter pack"));

                run(orders.delete("customer-1", "order-2")).unwrap();
                let ids: Vec<String> = run(orders.list(&list)).unwrap().into_iter().map(|o| o.id).collect();
                assert_eq!(ids, ["order-1"]);
                assert_eq!(run(orders.delete("customer-1", "order-2")).unwrap_err().status(), Some(StatusCode::NOT_FOUND));
                let stranger = PrepaidPaymentStatusPayload::builder("order-9")
                    .payment_status(PaymentStatus::Failed)
                    .build()
                    .unwrap();
                assert_eq!(
                    run(orders.report_external_payment(&stranger)).unwrap_err().status(),
                    Some(StatusCode::NOT_FOUND)
                );
            }

            #[test]
            fn idempotent_calls_are_retried_and_creating_posts_are_not() {
                let emulator = Emulator::start().unwrap();
                let client = client(&emulator);
                let customers = client.customers();

                // A 503 first: the GET is retried and succeeds.
                emulator.faults().fail_next(FailRequests::new(1, 503).path_prefix("/customers")).unwrap();
                assert!(run(customers.list()).unwrap().is_empty());
                assert_eq!(emulator.stats().requests_failed_by_faults, 1);

                // A 429 with Retry-After (capped by the policy) twice, then success.
                emulator.faults().fail_next(FailRequests::new(2, 429).retry_after_secs(1).path_prefix("/meters")).unwrap();
                assert!(run(client.meters().list()).unwrap().is_empty());
                assert_eq!(emulator.stats().requests_failed_by_faults, 3);

                // A 503 on a creating POST is handed back at once: nothing was created.
                emulator.faults().fail_next(FailRequests::new(1, 503).path_prefix("/customers")).unwrap();
                let payload = CustomerPayload::builder("customer-1").customer_name("Acme").build().unwrap();
                let error = run(customers.create(&payload)).unwrap_err();
                assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
                assert_eq!(emulator.stats().requests_failed_by_faults, 4);
                assert!(run(customers.list()).unwrap().is_empty());

                // The retry budget is bounded: more failures than retries surface the error.
                emulator.faults().fail_next(FailRequests::new(10, 502).path_prefix("/notification")).unwrap();
                let error = run(client.signals().list()).unwrap_err();
                assert_eq!(error.status(), Some(StatusCode::BAD_GATEWAY));
                assert_eq!(emulator.stats().requests_failed_by_faults, 4 + 4, "1 try + 3 retries");
                emulator.faults().clear();

                // Read-only POSTs (usage cost) are retried like GETs.
                emulator.faults().fail_next(FailRequests::new(1, 500).path_prefix("/payments/cost")).unwrap();
                run(client.usage_cost().get(&cost_query(None))).unwrap();
            }
        }
    };
}

#[cfg(feature = "reqwest")]
rest_suite!(reqwest, use_reqwest);
#[cfg(feature = "hyper")]
rest_suite!(hyper, use_hyper);

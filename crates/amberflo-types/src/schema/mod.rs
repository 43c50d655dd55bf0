//! JSON Schemas of every request and response model (feature `schemars`).
//!
//! With the `schemars` feature every model implements [`schemars::JsonSchema`], and
//! [`all`] lists the schemas `cargo xtask schema` writes to the workspace's `schemas/`
//! directory (one file per payload, e.g. `meter_record.json`, `record_batch.json`).
//!
//! - **Requests** ([`request_schema`]) describe exactly the JSON this crate serialises: the
//!   `required` lists are the fields always sent, a field we omit when unset is optional and
//!   never `null`, and the validation rules are expressed where JSON Schema can express them:
//!   non-blank strings (`minLength: 1` plus [`NON_BLANK_PATTERN`], the exact rule of
//!   [`crate::is_blank`]), non-empty lists, positive limits (`minimum: 1`), time windows
//!   (a meter time between [`MIN_EPOCH_MILLIS`](crate::MIN_EPOCH_MILLIS) and
//!   [`MAX_EPOCH_MILLIS`](crate::MAX_EPOCH_MILLIS), times in seconds up to
//!   [`MAX_EPOCH_SECONDS`](crate::MAX_EPOCH_SECONDS)), the default
//!   [`RecordLimits`](crate::RecordLimits) of a meter record (name and id lengths, dimension
//!   count and value lengths), positive prices (`exclusiveMinimum: 0`), enum values, calendar
//!   ranges (month 1–12, day 1–31, year 1–9999), and an invoice query's "latest, or plan and
//!   date" choice.
//! - **Responses** ([`response_schema`]) describe what this crate accepts when it parses a
//!   reply: lenient, with only the fields a reply cannot do without required (a report's
//!   `clientMeters`, a customer's `customerId`, ...), `null` accepted for optional fields, and
//!   unknown fields allowed.
//!
//! # Rules the schemas cannot express
//!
//! These are checked by `validate()` / `build()` in Rust only:
//!
//! - an end time after its start ([`TimeRange`](crate::TimeRange),
//!   [`AllUsageQuery`]), and a product plan's end at least
//!   [`MIN_PRODUCT_PLAN_SECONDS`](crate::MIN_PRODUCT_PLAN_SECONDS) after its start
//!   (cross-field comparisons of numbers);
//! - an invoice query's day existing in its month and year (30 April, 29 February in a
//!   non-leap year);
//! - a finite `meterValue`: JSON itself has no NaN or infinity, so every JSON number passes;
//! - lengths in bytes: [`RecordLimits`](crate::RecordLimits) counts bytes, JSON Schema's
//!   `maxLength` counts characters, so multi-byte text up to the limit in characters passes
//!   the schema and may still be too long in Rust; and a record's total size
//!   (`max_record_bytes`) has no schema form at all.
//!
//! Query-parameter types ([`CustomerQuery`] and the like) are described
//! by the JSON of their parameters, with booleans as JSON booleans (on the wire they are the
//! text `true` / `false`).
//!
//! ```
//! use amberflo_types::schema;
//!
//! let files = schema::all();
//! let record = files
//!     .iter()
//!     .find(|file| file.file_name == "meter_record.json")
//!     .unwrap();
//! let json = record.to_json();
//! assert!(json.contains("\"meterApiName\""));
//! assert_eq!(
//!     record.schema.get("title").and_then(|t| t.as_str()),
//!     Some("MeterRecord")
//! );
//! ```

mod parts;

pub(crate) use parts::{
    FilterMap, NonBlank, NonBlankList, NonBlankMap, OfferVersion, PositiveNumber, RecordName,
    WorthNumber,
};

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::Value;

use crate::{
    AllInvoicesQuery, AllUsageQuery, ApplyPromotionPayload, BillingCustomerQuery,
    CreateCustomerQuery, Customer, CustomerLifecycleStagePayload, CustomerPayload,
    CustomerPortalSession, CustomerPortalSessionRequest, CustomerProductPlan,
    CustomerProductPlanPayload, CustomerProductQuery, CustomerPromotion, CustomerQuery,
    DeletePrepaidOrderQuery, Invoice, InvoiceQuery, MeterDefinition, MeterDefinitionPayload,
    MeterDefinitionQuery, MeterRecord, PrepaidOrder, PrepaidOrderPayload, PrepaidPaymentStatus,
    PrepaidPaymentStatusPayload, Promotion, PromotionQuery, RemovePromotionQuery, Signal,
    SignalPayload, UsageCostQuery, UsageCostReport, UsageQuery, UsageReport,
};

/// The regular expression (ECMA-262, as JSON Schema's `pattern`) a non-blank string must
/// match: at least one character that [`crate::is_blank`] does not count as blank.
///
/// It lists the blank characters exactly: whitespace (Unicode `White_Space`), control
/// characters (`Cc`), and the invisible format characters U+00AD, U+061C, U+180E,
/// U+200B–U+200F, U+202A–U+202E, U+2060–U+2064, U+2066–U+206F, U+FEFF and U+FFF9–U+FFFB. All
/// of them are in the Basic Multilingual Plane, so the class needs no `u` flag: a character
/// outside it (two UTF-16 units) is visible, as it is for `is_blank`. A test checks the
/// pattern against `is_blank` on every Unicode scalar value.
///
/// ```
/// assert!(amberflo_types::schema::NON_BLANK_PATTERN.starts_with("[^"));
/// ```
pub const NON_BLANK_PATTERN: &str = concat!(
    "[^",
    r"\u0000-\u0020",              // C0 controls and space
    r"\u007F-\u00A0",              // DEL, C1 controls (NEL), no-break space
    r"\u00AD\u061C\u1680\u180E",   // soft hyphen, Arabic letter mark, Ogham space, MVS
    r"\u2000-\u200F",              // spaces, zero-width space and joiners, LRM/RLM
    r"\u2028-\u202F",              // line/paragraph separators, bidi embeddings, NNBSP
    r"\u205F-\u2064\u2066-\u206F", // math space, word joiner, invisible operators, bidi
    r"\u3000\uFEFF\uFFF9-\uFFFB",  // ideographic space, BOM, interlinear annotations
    "]",
);

/// One schema file: its name under `schemas/` and its schema.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SchemaFile {
    /// The file name, e.g. `meter_record.json`.
    pub file_name: &'static str,
    /// The JSON Schema (draft 2020-12).
    pub schema: Schema,
}

impl SchemaFile {
    /// The file's text: the schema as pretty JSON with sorted keys and a final newline (the
    /// exact bytes `cargo xtask schema` writes, so the output does not depend on serde_json's
    /// `preserve_order` feature).
    ///
    /// ```
    /// let file = &amberflo_types::schema::all()[0];
    /// assert!(file.to_json().ends_with("}\n"));
    /// ```
    pub fn to_json(&self) -> String {
        let value = sorted(self.schema.as_value().clone());
        let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// The schema of a request type `T`: what this crate serialises (see the module docs).
///
/// ```
/// use amberflo_types::{MeterRecord, schema};
///
/// let schema = schema::request_schema::<MeterRecord>();
/// let required = schema.get("required").unwrap();
/// assert!(
///     required
///         .as_array()
///         .unwrap()
///         .iter()
///         .any(|name| name == "meterTimeInMillis")
/// );
/// ```
pub fn request_schema<T: JsonSchema + ?Sized>() -> Schema {
    finish(
        SchemaSettings::draft2020_12()
            .for_serialize()
            .into_generator()
            .into_root_schema_for::<T>(),
    )
}

/// The schema of a response type `T`: what this crate accepts when parsing (see the module
/// docs).
///
/// ```
/// use amberflo_types::{Customer, schema};
///
/// let schema = schema::response_schema::<Customer>();
/// // Lenient, but a customer without its id is not a customer.
/// assert_eq!(
///     schema.get("required"),
///     Some(&serde_json::json!(["customerId"]))
/// );
/// ```
pub fn response_schema<T: JsonSchema + ?Sized>() -> Schema {
    finish(
        SchemaSettings::draft2020_12()
            .for_deserialize()
            .into_generator()
            .into_root_schema_for::<T>(),
    )
}

/// Every schema file `cargo xtask schema` writes, in a fixed order.
///
/// ```
/// let names: Vec<_> = amberflo_types::schema::all()
///     .iter()
///     .map(|f| f.file_name)
///     .collect();
/// assert!(names.contains(&"record_batch.json"));
/// assert!(names.contains(&"usage_report.json"));
/// ```
pub fn all() -> Vec<SchemaFile> {
    let file = |file_name, schema| SchemaFile { file_name, schema };
    vec![
        // Ingest.
        file("meter_record.json", request_schema::<MeterRecord>()),
        file(
            "record_batch.json",
            titled(request_schema::<[MeterRecord]>(), "MeterRecordBatch"),
        ),
        // Usage.
        file("usage_query.json", request_schema::<UsageQuery>()),
        file(
            "usage_query_batch.json",
            titled(request_schema::<[UsageQuery]>(), "UsageQueryBatch"),
        ),
        file("all_usage_query.json", request_schema::<AllUsageQuery>()),
        file("usage_report.json", response_schema::<UsageReport>()),
        file(
            "usage_report_list.json",
            titled(response_schema::<[UsageReport]>(), "UsageReportList"),
        ),
        // Customers.
        file("customer_payload.json", request_schema::<CustomerPayload>()),
        file("customer_query.json", request_schema::<CustomerQuery>()),
        file(
            "create_customer_query.json",
            request_schema::<CreateCustomerQuery>(),
        ),
        file("customer.json", response_schema::<Customer>()),
        file(
            "customer_list.json",
            titled(response_schema::<[Customer]>(), "CustomerList"),
        ),
        // Portal sessions.
        file(
            "customer_portal_session_request.json",
            request_schema::<CustomerPortalSessionRequest>(),
        ),
        file(
            "customer_portal_session.json",
            response_schema::<CustomerPortalSession>(),
        ),
        // Product plans.
        file(
            "customer_product_plan_payload.json",
            request_schema::<CustomerProductPlanPayload>(),
        ),
        file(
            "billing_customer_query.json",
            request_schema::<BillingCustomerQuery>(),
        ),
        file(
            "customer_product_plan.json",
            response_schema::<CustomerProductPlan>(),
        ),
        file(
            "customer_product_plan_list.json",
            titled(
                response_schema::<[CustomerProductPlan]>(),
                "CustomerProductPlanList",
            ),
        ),
        // Prepaid orders.
        file(
            "prepaid_order_payload.json",
            request_schema::<PrepaidOrderPayload>(),
        ),
        file("prepaid_order.json", response_schema::<PrepaidOrder>()),
        file(
            "prepaid_order_list.json",
            titled(response_schema::<[PrepaidOrder]>(), "PrepaidOrderList"),
        ),
        // Invoices.
        file(
            "all_invoices_query.json",
            request_schema::<AllInvoicesQuery>(),
        ),
        file("invoice_query.json", request_schema::<InvoiceQuery>()),
        file("invoice.json", response_schema::<Invoice>()),
        file(
            "invoice_list.json",
            titled(response_schema::<[Invoice]>(), "InvoiceList"),
        ),
        // Customer lifecycle.
        file(
            "customer_lifecycle_stage_payload.json",
            request_schema::<CustomerLifecycleStagePayload>(),
        ),
        // Prepaid lifecycle.
        file(
            "delete_prepaid_order_query.json",
            request_schema::<DeletePrepaidOrderQuery>(),
        ),
        file(
            "prepaid_payment_status_payload.json",
            request_schema::<PrepaidPaymentStatusPayload>(),
        ),
        file(
            "prepaid_payment_status.json",
            response_schema::<PrepaidPaymentStatus>(),
        ),
        // Usage cost.
        file("usage_cost_query.json", request_schema::<UsageCostQuery>()),
        file(
            "usage_cost_report.json",
            response_schema::<UsageCostReport>(),
        ),
        // Signals.
        file("signal_payload.json", request_schema::<SignalPayload>()),
        file("signal.json", response_schema::<Signal>()),
        file(
            "signal_list.json",
            titled(response_schema::<[Signal]>(), "SignalList"),
        ),
        // Promotions.
        file("promotion_query.json", request_schema::<PromotionQuery>()),
        file("promotion.json", response_schema::<Promotion>()),
        file(
            "promotion_list.json",
            titled(response_schema::<[Promotion]>(), "PromotionList"),
        ),
        file(
            "apply_promotion_payload.json",
            request_schema::<ApplyPromotionPayload>(),
        ),
        file(
            "customer_product_query.json",
            request_schema::<CustomerProductQuery>(),
        ),
        file(
            "remove_promotion_query.json",
            request_schema::<RemovePromotionQuery>(),
        ),
        file(
            "customer_promotion.json",
            response_schema::<CustomerPromotion>(),
        ),
        file(
            "customer_promotion_list.json",
            titled(
                response_schema::<[CustomerPromotion]>(),
                "CustomerPromotionList",
            ),
        ),
        // Meter definitions.
        file(
            "meter_definition_payload.json",
            request_schema::<MeterDefinitionPayload>(),
        ),
        file(
            "meter_definition_query.json",
            request_schema::<MeterDefinitionQuery>(),
        ),
        file(
            "meter_definition.json",
            response_schema::<MeterDefinition>(),
        ),
        file(
            "meter_definition_list.json",
            titled(
                response_schema::<[MeterDefinition]>(),
                "MeterDefinitionList",
            ),
        ),
    ]
}

fn titled(mut schema: Schema, title: &str) -> Schema {
    schema.insert("title".into(), title.into());
    schema
}

/// Trims the Rust-only parts of descriptions taken from doc comments.
fn finish(schema: Schema) -> Schema {
    let mut value = schema.to_value();
    tidy_descriptions(&mut value);
    Schema::try_from(value).unwrap_or_default()
}

fn tidy_descriptions(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(text)) = object.get_mut("description") {
                *text = tidy_doc(text);
            }
            object.values_mut().for_each(tidy_descriptions);
        }
        Value::Array(items) => items.iter_mut().for_each(tidy_descriptions),
        _ => {}
    }
}

/// Drops code examples and rustdoc link brackets: "[`X`](path)" and "[`X`]" become "`X`".
fn tidy_doc(text: &str) -> String {
    let prose = text.split("```").next().unwrap_or_default().trim();
    let mut out = String::with_capacity(prose.len());
    let mut rest = prose;
    while let Some(start) = rest.find("[`") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find("`]") else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        out.push_str(&after[..end + 1]);
        rest = &after[end + 2..];
        if rest.starts_with('(') {
            rest = rest.find(')').map_or("", |close| &rest[close + 1..]);
        }
    }
    out.push_str(rest);
    out
}

/// The value with every object's keys in sorted order.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut entries: Vec<(String, Value)> = object.into_iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.cmp(b));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key, sorted(value)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::tidy_doc;

    #[test]
    fn docs_lose_examples_and_link_brackets() {
        assert_eq!(
            tidy_doc(
                "Made by [`MeterRecord::builder`], see [`Rule`](crate::Rule).\n\n```\ncode\n```"
            ),
            "Made by `MeterRecord::builder`, see `Rule`."
        );
        assert_eq!(tidy_doc("plain [`unclosed"), "plain [`unclosed");
    }
}

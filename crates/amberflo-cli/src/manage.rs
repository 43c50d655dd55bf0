//! `amberflo customers`, `amberflo meters` and `amberflo invoices`.

use std::io::Write;

use amberflo::Client;
use amberflo::types::{
    Customer, CustomerPayload, InvoiceQuery, MeterDefinition, MeterDefinitionPayload, MeterType,
};

use crate::cli::{CustomersCommand, InvoicesCommand, MetersCommand, OutputFormat};
use crate::error::{CliError, Exit};
use crate::output::{Table, utc};

const CUSTOMER_HEADERS: &[&str] = &["id", "name", "email", "enabled", "created"];

fn customer_row(customer: &Customer) -> Vec<String> {
    vec![
        customer.customer_id.clone(),
        customer.customer_name.clone(),
        customer.customer_email.clone().unwrap_or_default(),
        customer.enabled.map(|e| e.to_string()).unwrap_or_default(),
        customer
            .create_time
            .map(|t| utc(t.get().div_euclid(1000)))
            .unwrap_or_default(),
    ]
}

pub(crate) fn customers(
    client: &Client,
    command: &CustomersCommand,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let api = client.blocking();
    let failed = |error: amberflo::Error| CliError::sdk("customers", &error);
    let one = |customer: &Customer, out: &mut dyn Write| {
        Table {
            headers: CUSTOMER_HEADERS,
            rows: vec![customer_row(customer)],
            json: customer,
        }
        .print(format, out)
    };
    match command {
        CustomersCommand::List => {
            let customers = api.customers().list().map_err(failed)?;
            Table {
                headers: CUSTOMER_HEADERS,
                rows: customers.iter().map(customer_row).collect(),
                json: &customers,
            }
            .print(format, out)
        }
        CustomersCommand::Get { id } => match api.customers().get(id).map_err(failed)? {
            Some(customer) => one(&customer, out),
            None => Err(CliError::new(Exit::Api, format!("no customer {id:?}"))),
        },
        CustomersCommand::Create {
            id,
            name,
            email,
            traits,
        } => {
            let mut builder =
                CustomerPayload::builder(id).customer_name(name.as_deref().unwrap_or(id));
            if let Some(email) = email {
                builder = builder.customer_email(email);
            }
            let mut pairs = Vec::new();
            for text in traits {
                let (key, value) = text.split_once('=').ok_or_else(|| {
                    CliError::config(format!("--trait {text:?}: expected KEY=VALUE"))
                })?;
                pairs.push((key, value));
            }
            if !pairs.is_empty() {
                builder = builder.traits(pairs);
            }
            let payload = builder
                .build()
                .map_err(|error| CliError::config(format!("customer: {error}")))?;
            let customer = api.customers().create(&payload).map_err(failed)?;
            one(&customer, out)
        }
        CustomersCommand::Delete { id } => {
            api.customers().delete(id).map_err(failed)?;
            writeln!(out, "deleted customer {id}").or_else(crate::output::output_failed)
        }
    }
}

const METER_HEADERS: &[&str] = &["name", "label", "type", "dimensions", "id"];

fn meter_row(meter: &MeterDefinition) -> Vec<String> {
    vec![
        meter.meter_api_name.clone(),
        meter.label.clone(),
        meter
            .meter_type
            .as_ref()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        meter.dimensions.join(";"),
        meter.id.clone(),
    ]
}

pub(crate) fn meters(
    client: &Client,
    command: &MetersCommand,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let api = client.blocking();
    let failed = |error: amberflo::Error| CliError::sdk("meters", &error);
    let meters = match command {
        MetersCommand::List => api.meters().list().map_err(failed)?,
        MetersCommand::Get { name } => match api.meters().get(name).map_err(failed)? {
            Some(meter) => vec![meter],
            None => return Err(CliError::new(Exit::Api, format!("no meter {name:?}"))),
        },
        MetersCommand::Create {
            name,
            label,
            meter_type,
            dimensions,
        } => {
            let payload = MeterDefinitionPayload::builder(name)
                .label(label.as_deref().unwrap_or(name))
                .meter_type(MeterType::from(meter_type.as_str()))
                .dimensions(dimensions.iter().cloned())
                .build()
                .map_err(|error| CliError::config(format!("meter: {error}")))?;
            vec![api.meters().create(&payload).map_err(failed)?]
        }
    };
    // A list for `list`, the meter itself otherwise, as the API answered.
    let json = match command {
        MetersCommand::List => serde_json::to_value(&meters),
        _ => serde_json::to_value(&meters[0]),
    }
    .map_err(|error| CliError::new(Exit::Api, format!("meters: {error}")))?;
    Table {
        headers: METER_HEADERS,
        rows: meters.iter().map(meter_row).collect(),
        json: &json,
    }
    .print(format, out)
}

pub(crate) fn invoices(
    client: &Client,
    command: &InvoicesCommand,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let InvoicesCommand::Latest { customer } = command;
    let query = InvoiceQuery::builder(customer)
        .build()
        .map_err(|error| CliError::config(format!("invoice query: {error}")))?;
    let invoice = client
        .blocking()
        .invoices()
        .get(&query)
        .map_err(|error| CliError::sdk("invoices", &error))?
        .ok_or_else(|| CliError::new(Exit::Api, format!("no invoice for customer {customer:?}")))?;
    let total = invoice
        .extra
        .get("totalBill")
        .and_then(|bill| bill.get("totalPrice"))
        .map(ToString::to_string)
        .unwrap_or_default();
    let time =
        |t: Option<amberflo::types::EpochSeconds>| t.map(|t| utc(t.get())).unwrap_or_default();
    Table {
        headers: &["customer", "start", "end", "total", "payment status"],
        rows: vec![vec![
            customer.clone(),
            time(invoice.invoice_start_time_in_seconds),
            time(invoice.invoice_end_time_in_seconds),
            total,
            invoice
                .payment_status
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        ]],
        json: &invoice,
    }
    .print(format, out)
}

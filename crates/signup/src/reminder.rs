//! signup-reminder: one day after registering, remind the customer who has not confirmed.

use common::WorkflowError;
use common::ports::{EmailSender, ItemStore};
use common::telemetry::{mask, redact_email};
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::customer::{Customer, Status, key};
use crate::masked_error;
use crate::rules::{confirmation_link, reminder_email};

pub struct ReminderConfig {
    pub customers_table: String,
    pub public_base_url: String,
    pub sender_email: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReminderInput {
    pub customer_id: String,
    pub trace_id: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReminderOutput {
    pub reminded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

impl ReminderOutput {
    fn sent() -> Self {
        Self { reminded: true, reason: None }
    }

    fn skipped(reason: &'static str) -> Self {
        Self { reminded: false, reason: Some(reason) }
    }
}

/// Still PENDING: the reminder with the same link, `{"reminded":true}`. CONFIRMED:
/// nothing, `{"reminded":false,"reason":"confirmed"}`. A record written by a later
/// registration of the address (another trace id) has its own reminder:
/// `{"reminded":false,"reason":"superseded"}`. No record: `CustomerNotFound`.
pub async fn remind<D: ItemStore, E: EmailSender>(
    db: &D,
    mail: &E,
    config: &ReminderConfig,
    input: ReminderInput,
) -> Result<ReminderOutput, WorkflowError> {
    let span = tracing::info_span!("remind", traceId = %input.trace_id);
    let trace_id = input.trace_id.clone();
    // lambda_runtime logs a returned error itself, outside this span: the message carries
    // the trace id so that line has it too.
    remind_in_span(db, mail, config, input).instrument(span).await.map_err(|mut err| {
        err.message = format!("{} (traceId {trace_id})", err.message);
        err
    })
}

async fn remind_in_span<D: ItemStore, E: EmailSender>(
    db: &D,
    mail: &E,
    config: &ReminderConfig,
    input: ReminderInput,
) -> Result<ReminderOutput, WorkflowError> {
    let masked = mask(&input.customer_id);
    let item = db
        .get(&config.customers_table, key(&input.customer_id))
        .await
        .map_err(|e| WorkflowError::from_port(e, "StorageError"))?
        .ok_or_else(|| {
            tracing::warn!(customer = %masked, "no such customer");
            WorkflowError::named("CustomerNotFound", format!("no customer {masked}"))
        })?;
    let customer = Customer::from_item(&item).map_err(|e| WorkflowError::invalid_input(e.to_string()))?;
    if customer.trace_id != input.trace_id {
        tracing::info!(customer = %masked, "a later registration replaced this one: no reminder from here");
        return Ok(ReminderOutput::skipped("superseded"));
    }
    if customer.status == Status::Confirmed {
        tracing::info!(customer = %masked, "already confirmed: no reminder");
        return Ok(ReminderOutput::skipped("confirmed"));
    }
    let link = confirmation_link(&config.public_base_url, &customer.customer_id, &customer.token);
    let message = reminder_email(&config.sender_email, &customer.email, &customer.name, &link);
    if let Err(e) = mail.send(&message).await {
        let err = masked_error(WorkflowError::from_port(e, "EmailRejected"), &customer);
        tracing::warn!(customer = %masked, error = %err.name, cause = %err.message, "the reminder was not sent");
        return Err(err);
    }
    tracing::info!(customer = %masked, email = %redact_email(&customer.email), "reminder sent");
    Ok(ReminderOutput::sent())
}

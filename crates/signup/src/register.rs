//! signup-register: `POST /register` `{"email","name"}` (API Gateway HTTP API, payload 2.0).
//!
//! Claims the address with a conditional put, e-mails the confirmation link, starts
//! `confirmation-reminder`, records the execution. When the e-mail or the start fails
//! the record is marked abandoned and the answer is 503, so a retry takes it over
//! instead of meeting a 409.

use aws_lambda_events::event::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use chrono::{DateTime, Utc};
use common::http::{error, respond};
use common::ports::{AttrValue, Condition, EmailSender, ItemStore, WorkflowStarter, WriteOp};
use common::telemetry::{mask, redact_email, redact_token};
use common::{PortError, WorkflowError};
use serde_json::json;
use tracing::Instrument;

/// Tries at noting the execution on the customer record (transient failures only).
const RECORD_ATTEMPTS: u32 = 3;

use crate::customer::{Customer, Status, holds_token, key, no_execution_yet, rfc3339};
use crate::masked_error;
use crate::rules::{
    Registration, RegistrationError, Secrets, body_text, confirmation_email, confirmation_link, customer_id,
    execution_name, parse_registration, within_limit,
};

pub struct RegisterConfig {
    pub customers_table: String,
    pub public_base_url: String,
    pub sender_email: String,
    pub state_machine_arn: String,
}

/// Answers one request: 201 `{"customerId"}`, 400, 409 or 503, each JSON.
pub async fn handle<D: ItemStore, E: EmailSender, W: WorkflowStarter>(
    db: &D,
    mail: &E,
    starter: &W,
    config: &RegisterConfig,
    request: &ApiGatewayV2httpRequest,
    now: DateTime<Utc>,
) -> ApiGatewayV2httpResponse {
    let secrets = match Secrets::generate() {
        Ok(secrets) => secrets,
        Err(e) => {
            tracing::error!(error = %e, "no trace id or token could be drawn");
            return error(503, "the service cannot register anyone right now; try again");
        }
    };
    let span = tracing::info_span!("register", traceId = %secrets.trace_id);
    let registration = match request_body(request).and_then(|body| parse_registration(&body)) {
        Ok(registration) => registration,
        Err(e) => {
            span.in_scope(|| tracing::info!(reason = %e, "registration refused"));
            return error(e.status(), e.to_string());
        }
    };
    let customer = pending_customer(&registration, secrets, now);
    Registering { db, mail, starter, config, customer: &customer, now }.run().instrument(span).await
}

/// The body as text, checked in the order that costs least: present, within the size limit
/// (a 9 MB form post is refused for its size), declared as JSON in UTF-8 (API Gateway checks
/// no content type), then decoded.
fn request_body(request: &ApiGatewayV2httpRequest) -> Result<String, RegistrationError> {
    let body = request.body.as_deref().unwrap_or_default();
    within_limit(body, request.is_base64_encoded)?;
    common::http::require_json(&request.headers)?;
    body_text(body, request.is_base64_encoded)
}

fn pending_customer(registration: &Registration, secrets: Secrets, now: DateTime<Utc>) -> Customer {
    Customer {
        customer_id: customer_id(&registration.email),
        email: registration.email.to_string(),
        name: registration.name.clone(),
        status: Status::Pending,
        token: secrets.token,
        trace_id: secrets.trace_id,
        registered_at: rfc3339(now),
        execution_arn: None,
        abandoned_at: None,
    }
}

enum ClaimError {
    AlreadyRegistered,
    Store(PortError),
}

/// One registration in progress: everything its steps share.
struct Registering<'a, D, E, W> {
    db: &'a D,
    mail: &'a E,
    starter: &'a W,
    config: &'a RegisterConfig,
    customer: &'a Customer,
    now: DateTime<Utc>,
}

impl<D: ItemStore, E: EmailSender, W: WorkflowStarter> Registering<'_, D, E, W> {
    async fn run(self) -> ApiGatewayV2httpResponse {
        let customer = self.customer;
        tracing::info!(customer = %mask(&customer.customer_id), email = %redact_email(&customer.email), "registering");
        match self.claim().await {
            Ok(()) => {}
            Err(ClaimError::AlreadyRegistered) => {
                tracing::info!("the address is already registered");
                return error(409, "this e-mail address is already registered");
            }
            Err(ClaimError::Store(e)) => {
                self.log_failure(WorkflowError::from_port(e, "StorageError"), "storing the customer failed");
                return error(503, "the customer could not be stored; try again");
            }
        }
        let link = confirmation_link(&self.config.public_base_url, &customer.customer_id, &customer.token);
        let message = confirmation_email(&self.config.sender_email, &customer.email, &customer.name, &link);
        if let Err(e) = self.mail.send(&message).await {
            self.log_failure(WorkflowError::from_port(e, "EmailRejected"), "sending the confirmation failed");
            self.abandon().await;
            return error(503, "the confirmation e-mail could not be sent; try again");
        }
        let input = json!({"customerId": customer.customer_id, "traceId": customer.trace_id});
        let name = execution_name(&customer.customer_id, &customer.trace_id);
        let started = match self.starter.start(&self.config.state_machine_arn, &name, &input).await {
            Ok(outcome) => outcome,
            Err(e) => {
                self.log_failure(WorkflowError::from_port(e, "StartFailed"), "starting the reminder failed");
                self.abandon().await;
                return error(503, "the reminder could not be scheduled; try again");
            }
        };
        self.record_execution(started.execution_arn()).await;
        tracing::info!(token = %redact_token(&customer.token), "registered: confirmation sent, reminder scheduled");
        respond(201, json!({"customerId": customer.customer_id}))
    }

    /// Writes the record unless the address is taken; a PENDING record whose
    /// registration gave up (see [`Customer::may_take_over`]) is replaced, under a
    /// condition on its token so two retries cannot both take it.
    async fn claim(&self) -> Result<(), ClaimError> {
        let table = &self.config.customers_table;
        let put = |conditions| WriteOp::Put { table: table.clone(), item: self.customer.to_item(), conditions };
        match self.db.write(put(vec![Condition::NotExists { attr: "customerId".into() }])).await {
            Ok(()) => return Ok(()),
            Err(PortError::ConditionFailed { .. }) => {}
            Err(e) => return Err(ClaimError::Store(e)),
        }
        let existing = match self.db.get(table, key(&self.customer.customer_id)).await {
            Ok(Some(item)) => Customer::from_item(&item),
            Ok(None) => return Err(ClaimError::AlreadyRegistered),
            Err(e) => return Err(ClaimError::Store(e)),
        };
        let existing = match existing {
            Ok(existing) if existing.may_take_over(self.now) => existing,
            Ok(_) => return Err(ClaimError::AlreadyRegistered),
            Err(e) => {
                tracing::warn!(error = %e, "an unreadable record holds the address");
                return Err(ClaimError::AlreadyRegistered);
            }
        };
        let still_stalled = vec![
            holds_token(&existing.token),
            Condition::Equals { attr: "status".into(), value: AttrValue::string(Status::Pending.as_str()) },
            no_execution_yet(),
        ];
        match self.db.write(put(still_stalled)).await {
            Ok(()) => {
                tracing::info!(previous = %existing.trace_id, "took over a registration that had given up");
                Ok(())
            }
            Err(PortError::ConditionFailed { .. }) => Err(ClaimError::AlreadyRegistered),
            Err(e) => Err(ClaimError::Store(e)),
        }
    }

    /// Marks the record so a retry takes it over at once. Should the mark fail too, the
    /// lease still frees the address a little later.
    async fn abandon(&self) {
        let update =
            self.update("abandonedAt", rfc3339(self.now), vec![holds_token(&self.customer.token), no_execution_yet()]);
        if let Err(e) = self.db.write(update).await {
            self.log_failure(WorkflowError::from_port(e, "StorageError"), "marking the registration abandoned failed");
        }
    }

    /// Notes the execution on the record, with a few tries: a record left without it could
    /// be taken over by a new registration once the lease has passed. If every try fails the
    /// registration still stands (the e-mail is out, the reminder scheduled): the answer
    /// stays 201 and the failure is logged.
    async fn record_execution(&self, execution_arn: &str) {
        for attempt in 1..=RECORD_ATTEMPTS {
            let update = self.update("executionArn", execution_arn.to_owned(), vec![holds_token(&self.customer.token)]);
            match self.db.write(update).await {
                Ok(()) => return,
                Err(e) if e.is_transient() && attempt < RECORD_ATTEMPTS => {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
                Err(e) => {
                    self.log_failure(WorkflowError::from_port(e, "StorageError"), "recording the execution failed");
                    return;
                }
            }
        }
    }

    fn update(&self, attr: &str, value: String, conditions: Vec<Condition>) -> WriteOp {
        WriteOp::Update {
            table: self.config.customers_table.clone(),
            key: key(&self.customer.customer_id),
            set: [(attr.to_owned(), AttrValue::S(value))].into(),
            add: Default::default(),
            conditions,
        }
    }

    /// Logs a failure by its DESIGN.md name; a service's message may quote the address,
    /// the id or the token, so they are masked first.
    fn log_failure(&self, err: WorkflowError, what: &str) {
        let err = masked_error(err, self.customer);
        tracing::warn!(error = %err.name, cause = %err.message, "{what}");
    }
}

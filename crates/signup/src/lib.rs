//! confirmation-reminder: a customer registers, gets a confirmation link by e-mail, and
//! is reminded one day later if they have not confirmed.
//!
//! [`rules`] holds the pure rules (validation, identity, tokens, links, messages);
//! [`customer`] the stored record; [`register`], [`confirm`] and [`reminder`] are the
//! handlers, generic over the ports of `common::ports`.

pub mod confirm;
pub mod customer;
pub mod register;
pub mod reminder;
pub mod rules;

use common::WorkflowError;
use common::telemetry::{mask, redact_email, redact_token};

use crate::customer::Customer;

/// A port's error with the customer's address, id and token masked: services quote them
/// in messages, and the message reaches log lines and (as a Cause) the execution's data.
pub(crate) fn masked_error(err: WorkflowError, customer: &Customer) -> WorkflowError {
    let message = rules::scrub(&err.message, &customer.email, &redact_email(&customer.email));
    let message = rules::scrub(&message, &customer.customer_id, &mask(&customer.customer_id));
    let message = rules::scrub(&message, &customer.token, &redact_token(&customer.token));
    WorkflowError { name: err.name, message }
}

//! signup-confirm: `GET /confirm?customerId=...&token=...`, the link of the e-mails.
//! A person opens it in a browser, so every answer is a small JSON body with a sentence.

use aws_lambda_events::event::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use chrono::{DateTime, Utc};
use common::PortError;
use common::WorkflowError;
use common::http::{error, has_body, respond, single_query_parameter};
use common::ports::{AttrValue, ItemStore, WriteOp};
use common::telemetry::mask;
use serde_json::json;

use crate::customer::{Customer, Status, holds_token, key, rfc3339};
use crate::rules::{is_customer_id, token_matches};

const NOT_VALID: &str = "this confirmation link is not valid; use the link of the latest e-mail";

fn confirmed(message: &str) -> ApiGatewayV2httpResponse {
    respond(200, json!({"message": message, "status": Status::Confirmed.as_str()}))
}

/// 200 CONFIRMED when the token matches (again 200 when already confirmed), 403 when it
/// does not, 404 for an unknown customer, 400 for a missing or malformed parameter,
/// 503 when the store fails.
pub async fn handle<D: ItemStore>(
    db: &D,
    customers_table: &str,
    request: &ApiGatewayV2httpRequest,
    now: DateTime<Utc>,
) -> ApiGatewayV2httpResponse {
    let (customer_id, token) = match link_parameters(request) {
        Ok(parameters) => parameters,
        Err(refusal) => return error(400, refusal),
    };
    let (customer_id, token) = (customer_id.as_str(), token.as_str());
    let masked = mask(customer_id);
    let customer = match db.get(customers_table, key(customer_id)).await {
        Ok(Some(item)) => Customer::from_item(&item),
        Ok(None) => return error(404, "no such customer: the link may be incomplete, or the sign-up was never made"),
        Err(e) => return unavailable(&masked, WorkflowError::from_port(e, "StorageError")),
    };
    let customer = match customer {
        Ok(customer) => customer,
        Err(e) => return unavailable(&masked, WorkflowError::named("StorageError", e.to_string())),
    };
    if !token_matches(&customer.token, token) {
        tracing::info!(customer = %masked, traceId = %customer.trace_id, "confirmation refused: wrong token");
        return error(403, NOT_VALID);
    }
    if customer.status == Status::Confirmed {
        return confirmed("your e-mail address was already confirmed; nothing more to do");
    }
    let update = WriteOp::Update {
        table: customers_table.to_owned(),
        key: key(customer_id),
        set: [
            ("status".to_owned(), AttrValue::string(Status::Confirmed.as_str())),
            ("confirmedAt".to_owned(), AttrValue::string(rfc3339(now))),
        ]
        .into(),
        add: Default::default(),
        // A new registration of the address may have replaced the token since the read.
        conditions: vec![holds_token(&customer.token)],
    };
    match db.write(update).await {
        Ok(()) => {
            tracing::info!(customer = %masked, traceId = %customer.trace_id, "confirmed");
            confirmed("thank you: your e-mail address is confirmed")
        }
        Err(PortError::ConditionFailed { .. }) => error(403, NOT_VALID),
        Err(e) => unavailable(&masked, WorkflowError::from_port(e, "StorageError")),
    }
}

/// `customerId` (of the right shape) and `token`, each given once, or why the link is refused
/// (a 400). A repeated parameter is refused rather than one of its values picked: API Gateway
/// hands both over joined with a comma.
fn link_parameters(request: &ApiGatewayV2httpRequest) -> Result<(String, String), String> {
    if has_body(request) {
        return Err("GET /confirm takes no body; use the link of the e-mail".into());
    }
    let parameter = |name: &str| match single_query_parameter(request, name) {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(format!("the query parameter {name} is required; use the link of the e-mail")),
        Err(repeated) => Err(repeated.to_string()),
    };
    let (customer_id, token) = (parameter("customerId")?, parameter("token")?);
    if !is_customer_id(&customer_id) {
        return Err("customerId is not a customer id; use the link of the e-mail".into());
    }
    Ok((customer_id, token))
}

fn unavailable(masked: &str, err: WorkflowError) -> ApiGatewayV2httpResponse {
    tracing::error!(customer = %masked, error = %err.name, cause = %err.message, "confirmation failed");
    error(503, "the confirmation could not be recorded right now; open the link again in a moment")
}

use std::collections::HashMap;

use crate::error::{PortError, classify_sdk_error};
use crate::ports::{
    Email, EmailSender, PortResult, PushChannel, PushDelivery, PushMessage, PushSender, PushTarget, StartOutcome,
    WorkflowStarter, execution_arn,
};

// ---------------------------------------------------------------- SES v2

pub struct SesEmailSender {
    client: aws_sdk_sesv2::Client,
}

impl SesEmailSender {
    pub fn new(client: aws_sdk_sesv2::Client) -> Self {
        Self { client }
    }
}

impl EmailSender for SesEmailSender {
    async fn send(&self, email: &Email) -> PortResult<String> {
        use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
        let invalid = |e: aws_sdk_sesv2::error::BuildError| PortError::Rejected {
            service: "sesv2",
            code: "BadRequestException".into(),
            message: e.to_string(),
        };
        let text = |data: &str| Content::builder().data(data).charset("UTF-8").build().map_err(invalid);
        let message = Message::builder()
            .subject(text(&email.subject)?)
            .body(Body::builder().text(text(&email.text)?).build())
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&email.from)
            .destination(Destination::builder().set_to_addresses(Some(email.to.clone())).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| classify_sdk_error("sesv2", &e))?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }
}

// ---------------------------------------------------------------- Step Functions

pub struct SfnWorkflowStarter {
    client: aws_sdk_sfn::Client,
}

impl SfnWorkflowStarter {
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        Self { client }
    }
}

impl WorkflowStarter for SfnWorkflowStarter {
    async fn start(&self, state_machine_arn: &str, name: &str, input: &serde_json::Value) -> PortResult<StartOutcome> {
        let result = self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match result {
            Ok(out) => Ok(StartOutcome::Started { execution_arn: out.execution_arn().to_owned() }),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(aws_sdk_sfn::operation::start_execution::StartExecutionError::ExecutionAlreadyExists(_))
                ) =>
            {
                Ok(StartOutcome::AlreadyStarted { execution_arn: execution_arn(state_machine_arn, name) })
            }
            Err(err) => Err(classify_sdk_error("sfn", &err)),
        }
    }
}

// ---------------------------------------------------------------- Pinpoint

pub struct PinpointPushSender {
    client: aws_sdk_pinpoint::Client,
}

impl PinpointPushSender {
    pub fn new(client: aws_sdk_pinpoint::Client) -> Self {
        Self { client }
    }
}

impl PushSender for PinpointPushSender {
    async fn send(&self, app_id: &str, targets: &[PushTarget], message: &PushMessage) -> PortResult<Vec<PushDelivery>> {
        use aws_sdk_pinpoint::types::{
            Action, AddressConfiguration, ApnsMessage, ChannelType, DirectMessageConfiguration, GcmMessage,
            MessageRequest,
        };
        let addresses = targets
            .iter()
            .map(|t| {
                let channel = match t.channel {
                    PushChannel::Apns => ChannelType::Apns,
                    PushChannel::Gcm => ChannelType::Gcm,
                };
                (t.token.clone(), AddressConfiguration::builder().channel_type(channel).build())
            })
            .collect::<HashMap<_, _>>();
        let config = DirectMessageConfiguration::builder()
            .apns_message(
                ApnsMessage::builder().title(&message.title).body(&message.body).action(Action::OpenApp).build(),
            )
            .gcm_message(
                GcmMessage::builder().title(&message.title).body(&message.body).action(Action::OpenApp).build(),
            )
            .build();
        let request = MessageRequest::builder().set_addresses(Some(addresses)).message_configuration(config).build();
        let out = self
            .client
            .send_messages()
            .application_id(app_id)
            .message_request(request)
            .send()
            .await
            .map_err(|e| classify_sdk_error("pinpoint", &e))?;
        let results = out.message_response().and_then(|r| r.result());
        Ok(targets
            .iter()
            .map(|t| match results.and_then(|r| r.get(&t.token)) {
                Some(result) => {
                    let status = result.delivery_status().map(|s| s.as_str()).unwrap_or("UNKNOWN").to_owned();
                    PushDelivery {
                        token: t.token.clone(),
                        delivered: status == "SUCCESSFUL",
                        status,
                        message: result.status_message().map(str::to_owned),
                    }
                }
                None => PushDelivery {
                    token: t.token.clone(),
                    delivered: false,
                    status: "NO_RESULT".into(),
                    message: Some("Pinpoint returned no result for this address".into()),
                },
            })
            .collect())
    }
}

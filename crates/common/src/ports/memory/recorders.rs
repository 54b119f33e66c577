use std::sync::Mutex;

use super::{Failures, lock};
use crate::ports::{
    Email, EmailSender, PortResult, PushDelivery, PushMessage, PushSender, PushTarget, StartOutcome, WorkflowStarter,
    execution_arn,
};

// ---------------------------------------------------------------- e-mail

#[derive(Default)]
pub struct RecordingEmailSender {
    sent: Mutex<Vec<Email>>,
    pub failures: Failures,
}

impl RecordingEmailSender {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn sent(&self) -> Vec<Email> {
        lock(&self.sent).clone()
    }
}

impl EmailSender for RecordingEmailSender {
    async fn send(&self, email: &Email) -> PortResult<String> {
        self.failures.take()?;
        let mut sent = lock(&self.sent);
        sent.push(email.clone());
        Ok(format!("local-message-{}", sent.len()))
    }
}

// ---------------------------------------------------------------- executions

#[derive(Debug, Clone, PartialEq)]
pub struct StartedExecution {
    pub state_machine_arn: String,
    pub name: String,
    pub input: serde_json::Value,
}

/// Starts nothing; records starts and answers a repeated name as Step Functions does.
#[derive(Default)]
pub struct MemoryWorkflowStarter {
    started: Mutex<Vec<StartedExecution>>,
    pub failures: Failures,
}

impl MemoryWorkflowStarter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn started(&self) -> Vec<StartedExecution> {
        lock(&self.started).clone()
    }
}

impl WorkflowStarter for MemoryWorkflowStarter {
    async fn start(&self, state_machine_arn: &str, name: &str, input: &serde_json::Value) -> PortResult<StartOutcome> {
        self.failures.take()?;
        let execution_arn = execution_arn(state_machine_arn, name);
        let mut started = lock(&self.started);
        if started.iter().any(|s| s.state_machine_arn == state_machine_arn && s.name == name) {
            return Ok(StartOutcome::AlreadyStarted { execution_arn });
        }
        started.push(StartedExecution {
            state_machine_arn: state_machine_arn.to_owned(),
            name: name.to_owned(),
            input: input.clone(),
        });
        Ok(StartOutcome::Started { execution_arn })
    }
}

// ---------------------------------------------------------------- push

#[derive(Debug, Clone, PartialEq)]
pub struct SentPush {
    pub app_id: String,
    pub targets: Vec<PushTarget>,
    pub message: PushMessage,
}

/// Records pushes; a token starting with `invalid` is refused as Pinpoint refuses a
/// dead token (`PERMANENT_FAILURE`).
#[derive(Default)]
pub struct RecordingPushSender {
    sent: Mutex<Vec<SentPush>>,
    pub failures: Failures,
}

impl RecordingPushSender {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn sent(&self) -> Vec<SentPush> {
        lock(&self.sent).clone()
    }
}

impl PushSender for RecordingPushSender {
    async fn send(&self, app_id: &str, targets: &[PushTarget], message: &PushMessage) -> PortResult<Vec<PushDelivery>> {
        self.failures.take()?;
        lock(&self.sent).push(SentPush {
            app_id: app_id.to_owned(),
            targets: targets.to_vec(),
            message: message.clone(),
        });
        Ok(targets
            .iter()
            .map(|t| {
                let delivered = !t.token.starts_with("invalid");
                PushDelivery {
                    token: t.token.clone(),
                    delivered,
                    status: if delivered { "SUCCESSFUL" } else { "PERMANENT_FAILURE" }.into(),
                    message: None,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::PushChannel;

    #[tokio::test]
    async fn repeated_start_is_recognised() {
        let sfn = MemoryWorkflowStarter::new();
        let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:m";
        let first = sfn.start(arn, "n", &serde_json::json!({})).await.unwrap();
        let second = sfn.start(arn, "n", &serde_json::json!({})).await.unwrap();
        assert!(matches!(first, StartOutcome::Started { .. }));
        assert!(matches!(second, StartOutcome::AlreadyStarted { .. }));
        assert_eq!(first.execution_arn(), second.execution_arn());
        assert_eq!(sfn.started().len(), 1);
    }

    #[tokio::test]
    async fn push_results_per_token() {
        let push = RecordingPushSender::new();
        let targets = [
            PushTarget { token: "good".into(), channel: PushChannel::Apns },
            PushTarget { token: "invalid-1".into(), channel: PushChannel::Gcm },
        ];
        let msg = PushMessage { title: "t".into(), body: "b".into() };
        let results = push.send("app", &targets, &msg).await.unwrap();
        assert_eq!(results.iter().map(|r| r.delivered).collect::<Vec<_>>(), vec![true, false]);
        assert_eq!(push.sent().len(), 1);
    }
}

//! sfn-local's definition parser and validator over any text: a definition is accepted or
//! refused with named errors, and one it accepts can be created and started (then runs a few
//! steps on the virtual clock, with no Lambda).
#![no_main]

use std::sync::Arc;

use fuzz_support::run;
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use sfn_local::asl::parse_definition;
use sfn_local::clock::{Clock, ClockMode};
use sfn_local::engine::Engine;
use sfn_local::lambda::NoLambda;
use sfn_local::service::Service;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let machine = match parse_definition(text) {
        Ok(machine) => machine,
        Err(errors) => {
            assert!(!errors.to_string().is_empty(), "a refusal says why");
            return;
        }
    };
    let _ = sfn_local::graph::mermaid(&machine);
    run(async {
        let engine = Engine::new(Clock::new(ClockMode::Virtual), Arc::new(NoLambda), "us-east-1");
        let service = Service::new(engine, "us-east-1", "123456789012");
        let created = service
            .create_state_machine(
                &json!({"name": "m", "definition": text, "roleArn": "arn:aws:iam::123456789012:role/r"}),
            )
            .expect("a definition the validator accepts is created");
        let arn = created["stateMachineArn"].clone();
        let started = service
            .start_execution(&json!({"stateMachineArn": arn, "input": "{\"key\": \"incoming/a.csv\", \"size\": 10}"}))
            .expect("a created machine starts");
        for _ in 0..64 {
            tokio::task::yield_now().await;
        }
        let described = service
            .describe_execution(&json!({"executionArn": started["executionArn"]}))
            .expect("a started execution is described");
        assert!(described["status"].is_string());
    });
});

//! The friday-reminder state machine itself (`statemachines/friday-reminder.asl.json`),
//! run in-process on sfn-local's engine with a manual clock, its Lambda tasks calling
//! the real handlers on in-memory ports. Each test moves the clock by hand and looks at
//! when the push comes.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, Duration as Span, NaiveTime, Utc, Weekday};
use common::WorkflowError;
use common::ports::memory::{MemoryItemStore, RecordingPushSender};
use common::ports::{AttrValue, Item};
use friday::checker::check_user;
use friday::notifier::notify;
use serde_json::{Value, json};
use sfn_local::clock::{Clock, ClockMode};
use sfn_local::engine::{Engine, Execution, Status};
use sfn_local::error::StatesError;
use sfn_local::lambda::FnInvoker;
use sfn_local::service::Service;

struct Workflow {
    service: Arc<Service>,
    db: Arc<MemoryItemStore>,
    push: Arc<RecordingPushSender>,
    machine_arn: String,
}

fn as_task_error(err: WorkflowError) -> StatesError {
    let payload = json!({"errorType": err.name, "errorMessage": err.message});
    StatesError::new(err.name, payload.to_string())
}

fn workflow() -> Workflow {
    let db = Arc::new(MemoryItemStore::new().with_table("users", &["userId"]));
    let push = Arc::new(RecordingPushSender::new());
    let (task_db, task_push) = (Arc::clone(&db), Arc::clone(&push));
    let invoker = FnInvoker(move |function: String, payload: Value| {
        let (db, push) = (Arc::clone(&task_db), Arc::clone(&task_push));
        async move {
            // The functions' own clock is never the state machine's: it must not be used.
            let wrong_clock = DateTime::<Utc>::MIN_UTC;
            let result = match function.as_str() {
                "friday-checker" => {
                    let input = common::parse_input(payload).map_err(as_task_error)?;
                    check_user(&*db, "users", input, wrong_clock).await.map(|c| json!(c))
                }
                "friday-notifier" => {
                    let input = common::parse_input(payload).map_err(as_task_error)?;
                    notify(&*db, &*push, "users", "local-app", input, wrong_clock).await.map(|n| json!(n))
                }
                other => return Err(StatesError::new("Lambda.ResourceNotFoundException", other.to_owned())),
            };
            result.map_err(as_task_error)
        }
    });
    let engine = Engine::new(Clock::new(ClockMode::Manual), Arc::new(invoker), "us-east-1");
    let service = Service::new(engine, "us-east-1", "123456789012");
    let path = format!("{}/../../statemachines/friday-reminder.asl.json", env!("CARGO_MANIFEST_DIR"));
    let definition = std::fs::read_to_string(path)
        .expect("definition")
        .replace("${FridayCheckerFunctionArn}", "arn:aws:lambda:us-east-1:123456789012:function:friday-checker")
        .replace("${FridayNotifierFunctionArn}", "arn:aws:lambda:us-east-1:123456789012:function:friday-notifier");
    let created = service
        .create_state_machine(&json!({"name": "friday-reminder", "definition": definition,
            "roleArn": "arn:aws:iam::123456789012:role/r"}))
        .expect("the definition is valid");
    let machine_arn = created["stateMachineArn"].as_str().expect("arn").to_owned();
    Workflow { service, db, push, machine_arn }
}

impl Workflow {
    fn now(&self) -> DateTime<Utc> {
        self.service.engine().clock.now()
    }

    fn advance_to(&self, instant: DateTime<Utc>) {
        let gap = (instant - self.now()).to_std().expect("time only moves forward");
        self.service.engine().clock.advance(gap).expect("a manual clock");
    }

    fn put_user(&self, user: &str, zone: &str, hour: i64) {
        let device = AttrValue::M(
            [
                ("token".to_owned(), AttrValue::string(format!("apns-{user}"))),
                ("platform".to_owned(), AttrValue::string("APNS")),
            ]
            .into(),
        );
        let item = Item::from([
            ("userId".to_owned(), AttrValue::string(user)),
            ("timezone".to_owned(), AttrValue::string(zone)),
            ("notifyHour".to_owned(), AttrValue::number(hour)),
            ("devices".to_owned(), AttrValue::L(vec![device])),
        ]);
        self.db.insert("users", item).expect("insert");
    }

    fn start(&self, user: &str) -> Arc<Execution> {
        let started = self
            .service
            .start_execution(
                &json!({"stateMachineArn": self.machine_arn, "input": json!({"userId": user}).to_string()}),
            )
            .expect("started");
        self.service.execution(started["executionArn"].as_str().unwrap_or_default()).expect("execution exists")
    }

    /// Lets the execution run until it sits in its `count`-th Wait, or has finished.
    async fn until_waiting(&self, execution: &Execution, count: usize) {
        for _ in 0..2000 {
            let waits = execution.history().iter().filter(|e| e.event_type == "WaitStateEntered").count();
            if waits >= count || execution.outcome().status != Status::Running {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the execution never reached wait {count}: {:?}", execution.history());
    }

    async fn finish(&self, execution: &Execution) -> Value {
        let outcome = tokio::time::timeout(Duration::from_secs(10), execution.wait()).await.expect("finished");
        assert_eq!(outcome.status, Status::Succeeded, "{:?}: {:?}", outcome.error, outcome.cause);
        serde_json::from_str(outcome.output.as_deref().unwrap_or("null")).expect("JSON output")
    }
}

/// The next `weekday` at `hh:mm` UTC strictly after `after`.
fn next(after: DateTime<Utc>, weekday: Weekday, hh: u32, mm: u32) -> DateTime<Utc> {
    let time = NaiveTime::from_hms_opt(hh, mm, 0).expect("a time");
    (0..=7)
        .map(|days| (after.date_naive() + Span::days(days)).and_time(time).and_utc())
        .find(|t| t.weekday() == weekday && *t > after)
        .expect("within a week")
}

fn wait_exits(execution: &Execution) -> Vec<DateTime<Utc>> {
    execution.history().iter().filter(|e| e.event_type == "WaitStateExited").map(|e| e.timestamp).collect()
}

#[tokio::test]
async fn a_reminder_started_early_on_friday_pushes_at_the_notify_hour_not_at_once() {
    let w = workflow();
    let friday_early = next(w.now(), Weekday::Fri, 0, 5);
    w.advance_to(friday_early);
    w.put_user("early", "UTC", 9);
    let execution = w.start("early");
    w.until_waiting(&execution, 1).await;
    assert!(w.push.sent().is_empty(), "Friday 00:05: nothing is pushed before 09:00");
    assert_eq!(execution.outcome().status, Status::Running);
    let nine = friday_early.date_naive().and_hms_opt(9, 0, 0).expect("09:00").and_utc();
    w.advance_to(nine);
    let output = w.finish(&execution).await;
    assert_eq!(output["notification"]["status"], "SENT");
    assert_eq!(w.push.sent().len(), 1);
    assert_eq!(wait_exits(&execution), [nine]);
}

#[tokio::test]
async fn a_reminder_checked_on_friday_after_the_hour_pushes_at_once() {
    let w = workflow();
    w.advance_to(next(w.now(), Weekday::Fri, 15, 0));
    w.put_user("late", "UTC", 9);
    let output = w.finish(&w.start("late")).await;
    assert_eq!(
        (output["check"]["status"].as_str(), output["notification"]["delivered"].as_u64()),
        (Some("FRIDAY"), Some(1))
    );
}

#[tokio::test]
async fn a_later_hour_set_after_scheduling_moves_the_push_to_the_new_hour() {
    let w = workflow();
    let wednesday = next(w.now(), Weekday::Wed, 12, 0);
    w.advance_to(wednesday);
    w.put_user("mover", "UTC", 9);
    let execution = w.start("mover");
    w.until_waiting(&execution, 1).await;
    w.put_user("mover", "UTC", 11);
    let friday = wednesday.date_naive() + Span::days(2);
    w.advance_to(friday.and_hms_opt(9, 0, 0).expect("09:00").and_utc());
    w.until_waiting(&execution, 2).await;
    assert!(w.push.sent().is_empty(), "09:00, the old hour: nothing pushed");
    assert_eq!(execution.outcome().status, Status::Running);
    let eleven = friday.and_hms_opt(11, 0, 0).expect("11:00").and_utc();
    w.advance_to(eleven);
    let output = w.finish(&execution).await;
    assert_eq!(output["notification"]["remindAt"], json!(format!("{friday}T11:00:00Z")));
    assert_eq!(w.push.sent().len(), 1);
    assert_eq!(wait_exits(&execution).last(), Some(&eleven));
}

#[tokio::test]
async fn an_earlier_hour_set_after_scheduling_pushes_when_the_reminder_wakes() {
    let w = workflow();
    let wednesday = next(w.now(), Weekday::Wed, 12, 0);
    w.advance_to(wednesday);
    w.put_user("early-bird", "UTC", 9);
    let execution = w.start("early-bird");
    w.until_waiting(&execution, 1).await;
    w.put_user("early-bird", "UTC", 7);
    let nine = (wednesday.date_naive() + Span::days(2)).and_hms_opt(9, 0, 0).expect("09:00").and_utc();
    w.advance_to(nine);
    let output = w.finish(&execution).await;
    assert_eq!(output["notification"]["status"], "SENT");
    assert_eq!(wait_exits(&execution), [nine], "one wait: the old instant, then the push at once");
}

#[tokio::test]
async fn the_execution_output_holds_no_full_user_id_or_token() {
    let w = workflow();
    w.advance_to(next(w.now(), Weekday::Fri, 15, 0));
    w.put_user("jane.doe@example.com", "UTC", 9);
    let output = w.finish(&w.start("jane.doe@example.com")).await;
    let whole = output.to_string();
    assert!(!whole.contains("jane.doe") && !whole.contains("apns-jane"), "{whole}");
    assert_eq!(output["notification"]["status"], "SENT");
}

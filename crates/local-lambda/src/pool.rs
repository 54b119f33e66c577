//! Each function's execution environments: processes of its binary, started on demand, one
//! invocation at a time each, reused while warm, as Lambda runs them. A process that dies
//! or outlives the function's timeout answers its invocation as Lambda does.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use crate::answers::{self, ServiceError};
use crate::config::Function;

/// Lambda gives a runtime 10 s to start before it gives up on it.
const INIT_LIMIT: Duration = Duration::from_secs(10);

/// What an invocation comes to.
#[derive(Debug)]
pub enum Outcome {
    Response(Bytes),
    FunctionError(Bytes),
}

/// An invocation handed to a runtime's `next` call.
#[derive(Debug)]
pub struct Assigned {
    pub request_id: String,
    pub payload: Bytes,
    pub deadline: SystemTime,
    pub function_arn: String,
}

pub struct Settings {
    pub functions: HashMap<String, Function>,
    pub shared_env: Vec<(String, String)>,
    /// `host:port` of this server, the prefix of every instance's Runtime API.
    pub runtime_api: String,
    pub region: String,
    pub account: String,
    /// Concurrent executions per function before invocations are throttled.
    pub max_instances: usize,
    /// How long an environment may sit idle before it is shut down, as Lambda reclaims them.
    pub idle_limit: Duration,
}

pub struct Pool {
    settings: Settings,
    state: Mutex<State>,
    next_instance: AtomicU64,
}

#[derive(Default)]
struct State {
    instances: HashMap<u64, Instance>,
    queues: HashMap<String, Queue>,
    /// The service is shutting down: nothing new is started.
    stopping: bool,
}

#[derive(Default)]
struct Queue {
    /// Invocations waiting for an instance that is starting.
    pending: VecDeque<Invocation>,
    /// Instances parked in `next`, newest last, with when they parked.
    idle: Vec<(u64, Instant, oneshot::Sender<Assigned>)>,
    starting: usize,
}

struct Instance {
    function: String,
    binary_modified: Option<SystemTime>,
    started: bool,
    /// Being stopped (timed out, rebuilt, shutting down): it takes no more work.
    retiring: bool,
    current: Option<Current>,
    kill: Option<oneshot::Sender<()>>,
    init_error: Option<Bytes>,
}

struct Current {
    request_id: String,
    responder: oneshot::Sender<Outcome>,
    /// The timeout's timer, stopped when the invocation ends first.
    timer: AbortHandle,
}

impl Current {
    fn answer(self, outcome: Outcome) {
        self.timer.abort();
        let _ = self.responder.send(outcome);
    }
}

struct Invocation {
    request_id: String,
    payload: Bytes,
    responder: oneshot::Sender<Outcome>,
}

/// What a runtime call about an invocation may find.
#[derive(Debug, PartialEq)]
pub enum RuntimeCallError {
    UnknownInstance,
    NotCurrent,
}

impl Pool {
    pub fn new(settings: Settings) -> Arc<Self> {
        Arc::new(Self { settings, state: Mutex::new(State::default()), next_instance: AtomicU64::new(1) })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn function_arn(&self, name: &str) -> String {
        format!("arn:aws:lambda:{}:{}:function:{name}", self.settings.region, self.settings.account)
    }

    pub fn function(&self, name: &str) -> Option<&Function> {
        self.settings.functions.get(name)
    }

    /// Runs one invocation to its outcome.
    pub async fn invoke(self: &Arc<Self>, name: &str, payload: Bytes) -> Result<(String, Outcome), ServiceError> {
        let Some(function) = self.settings.functions.get(name) else {
            return Err(ServiceError::function_not_found(&self.function_arn(name)));
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let (responder, outcome) = oneshot::channel();
        self.dispatch(function, Invocation { request_id: request_id.clone(), payload, responder })?;
        match outcome.await {
            Ok(outcome) => Ok((request_id, outcome)),
            // Every path that drops an invocation answers it first; this is a bug's safety net.
            Err(_) => {
                Ok((request_id.clone(), Outcome::FunctionError(answers::runtime_exit(&request_id, "lost").into())))
            }
        }
    }

    fn dispatch(self: &Arc<Self>, function: &Function, invocation: Invocation) -> Result<(), ServiceError> {
        let mut state = self.lock();
        while let Some((id, _, waiter)) = state.queues.entry(function.name.clone()).or_default().idle.pop() {
            if state.instances.get(&id).is_none_or(|i| i.retiring) {
                continue;
            }
            if self.binary_changed(&state, id, function) {
                retire(&mut state, id);
                continue;
            }
            let assigned = self.assigned(function, &invocation);
            if waiter.send(assigned).is_err() {
                // The instance's `next` call is gone: it is exiting; its monitor cleans up.
                continue;
            }
            self.make_current(&mut state, id, function, invocation);
            return Ok(());
        }
        let live = live_instances(&state, &function.name);
        let queue = state.queues.entry(function.name.clone()).or_default();
        if live >= self.settings.max_instances && queue.starting <= queue.pending.len() {
            return Err(ServiceError::too_many_requests());
        }
        queue.pending.push_back(invocation);
        self.start_for_pending(&mut state, function);
        Ok(())
    }

    /// Starts environments for invocations no starting environment will take, within the
    /// concurrency limit (past it, a busy environment takes them when it asks for more work).
    fn start_for_pending(self: &Arc<Self>, state: &mut State, function: &Function) {
        loop {
            let live = live_instances(state, &function.name);
            let queue = state.queues.entry(function.name.clone()).or_default();
            if state.stopping || queue.starting >= queue.pending.len() || live >= self.settings.max_instances {
                return;
            }
            if let Err(error) = self.start_instance(state, function) {
                let queue = state.queues.entry(function.name.clone()).or_default();
                let Some(failed) = queue.pending.pop_back() else { return };
                let body =
                    answers::invalid_entrypoint(&failed.request_id, &function.binary.display().to_string(), &error);
                eprintln!("local-lambda: cannot start {}: {error} (run `cargo build`?)", function.binary.display());
                let _ = failed.responder.send(Outcome::FunctionError(body.into()));
            }
        }
    }

    fn binary_changed(&self, state: &State, id: u64, function: &Function) -> bool {
        let started_with = state.instances.get(&id).and_then(|i| i.binary_modified);
        let now = std::fs::metadata(&function.binary).and_then(|m| m.modified()).ok();
        started_with.is_some() && now.is_some() && started_with != now
    }

    fn assigned(&self, function: &Function, invocation: &Invocation) -> Assigned {
        Assigned {
            request_id: invocation.request_id.clone(),
            payload: invocation.payload.clone(),
            deadline: SystemTime::now() + function.timeout,
            function_arn: self.function_arn(&function.name),
        }
    }

    /// Records the invocation as the instance's own and arms its timeout.
    fn make_current(self: &Arc<Self>, state: &mut State, id: u64, function: &Function, invocation: Invocation) {
        let Some(instance) = state.instances.get_mut(&id) else {
            let _ = invocation.responder.send(Outcome::FunctionError(
                answers::runtime_exit(&invocation.request_id, "exit status unknown").into(),
            ));
            return;
        };
        let request_id = invocation.request_id.clone();
        let pool = Arc::clone(self);
        let timeout = function.timeout;
        let timer = tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            pool.time_out(id, &request_id, timeout);
        })
        .abort_handle();
        instance.current = Some(Current { request_id: invocation.request_id, responder: invocation.responder, timer });
    }

    fn time_out(&self, id: u64, request_id: &str, timeout: Duration) {
        let mut state = self.lock();
        let Some(instance) = state.instances.get_mut(&id) else { return };
        if instance.current.as_ref().is_none_or(|c| c.request_id != request_id) {
            return;
        }
        if let Some(current) = instance.current.take() {
            eprintln!(
                "local-lambda: {} timed out after {} s: stopping its process",
                instance.function,
                timeout.as_secs()
            );
            current.answer(Outcome::FunctionError(answers::timed_out(request_id, timeout).into()));
        }
        retire(&mut state, id);
    }

    fn start_instance(self: &Arc<Self>, state: &mut State, function: &Function) -> std::io::Result<()> {
        let id = self.next_instance.fetch_add(1, Ordering::Relaxed);
        let mut command = Command::new(&function.binary);
        command
            .env_clear()
            .envs(self.settings.shared_env.iter().map(|(k, v)| (k, v)))
            .envs(&function.environment)
            .env("AWS_LAMBDA_FUNCTION_NAME", &function.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", function.memory_mb.to_string())
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", function.name))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("local/[$LATEST]{id:032x}"))
            // With a path, lambda_runtime needs the scheme too (Lambda itself gives host:port).
            .env("AWS_LAMBDA_RUNTIME_API", format!("http://{}/instances/{id}", self.settings.runtime_api))
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
            .env("TZ", ":UTC")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        let binary_modified = std::fs::metadata(&function.binary).and_then(|m| m.modified()).ok();
        let child = command.spawn()?;
        let (kill, killed) = oneshot::channel();
        state.instances.insert(
            id,
            Instance {
                function: function.name.clone(),
                binary_modified,
                started: false,
                retiring: false,
                current: None,
                kill: Some(kill),
                init_error: None,
            },
        );
        state.queues.entry(function.name.clone()).or_default().starting += 1;
        let pool = Arc::clone(self);
        tokio::spawn(async move { pool.watch(id, child, killed).await });
        let pool = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(INIT_LIMIT).await;
            let mut state = pool.lock();
            if state.instances.get(&id).is_some_and(|i| !i.started) {
                eprintln!(
                    "local-lambda: instance {id} did not ask for an invocation within {INIT_LIMIT:?}: stopping it"
                );
                retire(&mut state, id);
            }
        });
        Ok(())
    }

    /// Waits for the process to end, then answers what it left unanswered.
    async fn watch(self: Arc<Self>, id: u64, mut child: Child, killed: oneshot::Receiver<()>) {
        let status = tokio::select! {
            status = child.wait() => status,
            _ = killed => {
                let _ = child.start_kill();
                child.wait().await
            }
        };
        let how = match &status {
            Ok(status) => answers::describe_exit(status),
            Err(error) => format!("wait failed: {error}"),
        };
        let mut state = self.lock();
        let Some(instance) = state.instances.remove(&id) else { return };
        let queue = state.queues.entry(instance.function.clone()).or_default();
        queue.idle.retain(|(idle, _, _)| *idle != id);
        if !instance.started {
            queue.starting = queue.starting.saturating_sub(1);
        }
        if let Some(current) = instance.current {
            eprintln!("local-lambda: {} exited during request {} ({how})", instance.function, current.request_id);
            let body = answers::runtime_exit(&current.request_id, &how);
            current.answer(Outcome::FunctionError(body.into()));
        } else if !instance.started && queue.pending.len() > queue.starting {
            // It died before taking an invocation; the one it was started for fails as on Lambda.
            if let Some(failed) = queue.pending.pop_front() {
                eprintln!("local-lambda: {} exited while starting ({how})", instance.function);
                let body = match instance.init_error {
                    Some(body) => body,
                    None => answers::runtime_exit(&failed.request_id, &how).into(),
                };
                let _ = failed.responder.send(Outcome::FunctionError(body));
            }
        }
        if let Some(function) = self.settings.functions.get(&instance.function) {
            self.start_for_pending(&mut state, function);
        }
    }

    /// A runtime's `next` call: the oldest waiting invocation, or wait for one.
    pub async fn next(self: &Arc<Self>, id: u64) -> Result<Assigned, RuntimeCallError> {
        let parked = {
            let mut state = self.lock();
            let Some(instance) = state.instances.get_mut(&id).filter(|i| !i.retiring) else {
                return Err(RuntimeCallError::UnknownInstance);
            };
            let name = instance.function.clone();
            let first_call = !instance.started;
            instance.started = true;
            let Some(function) = self.settings.functions.get(&name) else {
                return Err(RuntimeCallError::UnknownInstance);
            };
            let queue = state.queues.entry(name).or_default();
            if first_call {
                queue.starting = queue.starting.saturating_sub(1);
            }
            if !queue.pending.is_empty() && self.binary_changed(&state, id, function) {
                // Its exit (`watch`) starts an environment of the new build for what waits.
                retire(&mut state, id);
                return Err(RuntimeCallError::UnknownInstance);
            }
            let queue = state.queues.entry(function.name.clone()).or_default();
            if let Some(invocation) = queue.pending.pop_front() {
                let assigned = self.assigned(function, &invocation);
                self.make_current(&mut state, id, function, invocation);
                return Ok(assigned);
            }
            let (waiter, parked) = oneshot::channel();
            queue.idle.push((id, Instant::now(), waiter));
            parked
        };
        parked.await.map_err(|_| RuntimeCallError::UnknownInstance)
    }

    /// A runtime's answer for its current invocation.
    pub fn complete(&self, id: u64, request_id: &str, outcome: Outcome) -> Result<(), RuntimeCallError> {
        let mut state = self.lock();
        let instance = state.instances.get_mut(&id).ok_or(RuntimeCallError::UnknownInstance)?;
        if instance.current.as_ref().is_none_or(|c| c.request_id != request_id) {
            return Err(RuntimeCallError::NotCurrent);
        }
        if let Some(current) = instance.current.take() {
            current.answer(outcome);
        }
        Ok(())
    }

    /// A runtime that failed to initialise says why before it exits.
    pub fn init_failed(&self, id: u64, body: Bytes) -> Result<(), RuntimeCallError> {
        let mut state = self.lock();
        let instance = state.instances.get_mut(&id).ok_or(RuntimeCallError::UnknownInstance)?;
        instance.init_error = Some(body);
        Ok(())
    }

    /// Stops every process (on shutdown: a parked `next` call would otherwise hold its
    /// connection open for ever).
    pub fn stop_all(&self) {
        let mut state = self.lock();
        state.stopping = true;
        let ids: Vec<u64> = state.instances.keys().copied().collect();
        for id in ids {
            retire(&mut state, id);
        }
    }

    /// Shuts down the environments idle for longer than the idle limit.
    pub fn reap_idle(&self) {
        let limit = self.settings.idle_limit;
        let mut state = self.lock();
        let mut expired = Vec::new();
        for queue in state.queues.values_mut() {
            queue.idle.retain(|(id, parked, _)| {
                let keep = parked.elapsed() < limit;
                if !keep {
                    expired.push(*id);
                }
                keep
            });
        }
        for id in expired {
            retire(&mut state, id);
        }
    }

    /// Runs `reap_idle` for as long as the service runs.
    pub fn spawn_reaper(self: &Arc<Self>) {
        let pool = Arc::clone(self);
        let every = (self.settings.idle_limit / 2).clamp(Duration::from_millis(100), Duration::from_secs(10));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            loop {
                ticks.tick().await;
                pool.reap_idle();
            }
        });
    }

    /// How many processes each function has, for the health answer.
    pub fn instance_counts(&self) -> HashMap<String, usize> {
        let state = self.lock();
        let mut counts = HashMap::new();
        for instance in state.instances.values() {
            *counts.entry(instance.function.clone()).or_default() += 1;
        }
        counts
    }
}

/// Environments of a function that take work (not those being stopped).
fn live_instances(state: &State, function: &str) -> usize {
    state.instances.values().filter(|i| i.function == function && !i.retiring).count()
}

fn retire(state: &mut State, id: u64) {
    if let Some(instance) = state.instances.get_mut(&id) {
        instance.retiring = true;
        if let Some(kill) = instance.kill.take() {
            let _ = kill.send(());
        }
    }
}

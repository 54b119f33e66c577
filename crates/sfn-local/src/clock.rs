//! Time for executions: virtual (Waits and retry intervals complete at once, history
//! shows the simulated time), manual (time stands still until advanced), or real.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;

use crate::limits::{MAX_CLOCK_ADVANCE_SECONDS, later, latest_instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClockMode {
    Virtual,
    Manual,
    Real,
}

impl std::fmt::Display for ClockMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClockMode::Virtual => "virtual",
            ClockMode::Manual => "manual",
            ClockMode::Real => "real",
        })
    }
}

/// Why a clock would not move.
#[derive(Debug, Clone, PartialEq)]
pub enum ClockError {
    /// Only a manual clock can be advanced.
    NotManual(ClockMode),
    /// The amount is not a number of seconds sfn-local accepts.
    Refused(String),
}

impl std::fmt::Display for ClockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClockError::NotManual(mode) => write!(f, "the clock is {mode}; only a manual clock can be advanced"),
            ClockError::Refused(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ClockError {}

/// The process-wide clock.
#[derive(Debug)]
pub struct Clock {
    mode: ClockMode,
    manual: watch::Sender<DateTime<Utc>>,
}

impl Clock {
    pub fn new(mode: ClockMode) -> Arc<Self> {
        Arc::new(Self { mode, manual: watch::Sender::new(Utc::now()) })
    }

    pub fn mode(&self) -> ClockMode {
        self.mode
    }

    /// The server's "now": the manual time in manual mode, the wall clock otherwise.
    pub fn now(&self) -> DateTime<Utc> {
        match self.mode {
            ClockMode::Manual => *self.manual.borrow(),
            _ => Utc::now(),
        }
    }

    /// Moves manual time forward by a number of seconds as a request carries it:
    /// finite, not negative, at most [`MAX_CLOCK_ADVANCE_SECONDS`].
    pub fn advance_seconds(&self, seconds: f64) -> Result<DateTime<Utc>, ClockError> {
        if !(0.0..=MAX_CLOCK_ADVANCE_SECONDS).contains(&seconds) {
            return Err(ClockError::Refused(format!(
                "advanceSeconds must be a number from 0 to {MAX_CLOCK_ADVANCE_SECONDS} (ten years), got {seconds}"
            )));
        }
        self.advance(Duration::from_secs_f64(seconds))
    }

    /// Moves manual time forward, waking the Waits whose time has come. Time stops
    /// at the end of year 9999: later instants have no RFC 3339 form.
    pub fn advance(&self, by: Duration) -> Result<DateTime<Utc>, ClockError> {
        if self.mode != ClockMode::Manual {
            return Err(ClockError::NotManual(self.mode));
        }
        let by = TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
        let mut refused = None;
        self.manual.send_if_modified(|now| match now.checked_add_signed(by).filter(|t| *t <= latest_instant()) {
            Some(t) => {
                *now = t;
                true
            }
            None => {
                refused = Some(ClockError::Refused(format!(
                    "advancing {} by {} s would pass {}, the latest time sfn-local can show",
                    now.to_rfc3339(),
                    by.num_seconds(),
                    latest_instant().to_rfc3339()
                )));
                false
            }
        });
        match refused {
            Some(e) => Err(e),
            None => Ok(self.now()),
        }
    }

    /// A timeline starting now.
    pub fn timeline(self: &Arc<Self>) -> Timeline {
        Timeline { clock: Arc::clone(self), origin_utc: self.now(), origin: Instant::now(), offset: Duration::ZERO }
    }
}

/// One line of time inside an execution. A Parallel branch or Map iteration forks its
/// own, so virtual Waits in concurrent branches overlap instead of adding up.
#[derive(Debug, Clone)]
pub struct Timeline {
    clock: Arc<Clock>,
    origin_utc: DateTime<Utc>,
    origin: Instant,
    /// Virtual time skipped by Waits and retry intervals.
    offset: Duration,
}

impl Timeline {
    pub fn now(&self) -> DateTime<Utc> {
        match self.clock.mode {
            ClockMode::Virtual => {
                let elapsed = self.origin.elapsed().saturating_add(self.offset);
                later(self.origin_utc, TimeDelta::from_std(elapsed).unwrap_or(TimeDelta::MAX))
            }
            _ => self.clock.now(),
        }
    }

    /// Waits until `deadline` by this timeline's rules.
    pub async fn sleep_until(&mut self, deadline: DateTime<Utc>) {
        match self.clock.mode {
            ClockMode::Virtual => {
                if let Ok(gap) = (deadline - self.now()).to_std() {
                    self.offset = self.offset.saturating_add(gap);
                }
            }
            ClockMode::Real => {
                if let Ok(gap) = (deadline - Utc::now()).to_std() {
                    tokio::time::sleep(gap).await;
                }
            }
            ClockMode::Manual => {
                let mut rx = self.clock.manual.subscribe();
                // The sender lives in the clock we hold, so this ends only when time comes.
                let _ = rx.wait_for(|now| *now >= deadline).await;
            }
        }
    }

    pub async fn sleep(&mut self, duration: Duration) {
        let deadline = later(self.now(), TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX));
        self.sleep_until(deadline).await;
    }

    /// After concurrent forks finish, time has moved as far as the slowest one.
    pub fn join<'a>(&mut self, forks: impl IntoIterator<Item = &'a Timeline>) {
        for fork in forks {
            if fork.origin == self.origin && fork.offset > self.offset {
                self.offset = fork.offset;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn virtual_waits_take_no_wall_time_but_move_the_timeline() {
        let clock = Clock::new(ClockMode::Virtual);
        let mut t = clock.timeline();
        let before = t.now();
        let started = Instant::now();
        t.sleep(Duration::from_secs(86_400)).await;
        assert!(started.elapsed() < Duration::from_millis(50));
        assert!(t.now() - before >= chrono::Duration::seconds(86_400));
        assert!(clock.advance(Duration::from_secs(1)).is_err());
    }

    #[tokio::test]
    async fn forks_join_at_the_slowest() {
        let clock = Clock::new(ClockMode::Virtual);
        let mut t = clock.timeline();
        let (mut a, mut b) = (t.clone(), t.clone());
        a.sleep(Duration::from_secs(10)).await;
        b.sleep(Duration::from_secs(30)).await;
        let start = t.now();
        t.join([&a, &b]);
        let moved = t.now() - start;
        assert!(moved >= chrono::Duration::seconds(30) && moved < chrono::Duration::seconds(31));
    }

    #[test]
    fn advancing_refuses_absurd_amounts_and_never_passes_year_9999() {
        let clock = Clock::new(ClockMode::Manual);
        let before = clock.now();
        for bad in [f64::NAN, f64::INFINITY, -1.0, 1e20, MAX_CLOCK_ADVANCE_SECONDS + 1.0] {
            assert!(matches!(clock.advance_seconds(bad), Err(ClockError::Refused(_))), "{bad}");
        }
        assert_eq!(clock.now(), before, "a refused advance leaves the time alone");
        assert!(clock.advance_seconds(MAX_CLOCK_ADVANCE_SECONDS).is_ok());
        // Repeated ten-year steps reach the end of year 9999 and stop there, refused.
        let mut refused = None;
        for _ in 0..1_000 {
            if let Err(e) = clock.advance_seconds(MAX_CLOCK_ADVANCE_SECONDS) {
                refused = Some(e);
                break;
            }
        }
        assert!(matches!(refused, Some(ClockError::Refused(_))));
        assert!(clock.now() <= latest_instant());
        assert!(clock.advance(Duration::MAX).is_err());
        let virtual_clock = Clock::new(ClockMode::Virtual);
        assert_eq!(virtual_clock.advance_seconds(1.0), Err(ClockError::NotManual(ClockMode::Virtual)));
    }

    #[tokio::test]
    async fn manual_waits_until_advanced() {
        let clock = Clock::new(ClockMode::Manual);
        let mut t = clock.timeline();
        let waiter = tokio::spawn(async move {
            t.sleep(Duration::from_secs(3600)).await;
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        clock.advance(Duration::from_secs(1800)).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        clock.advance(Duration::from_secs(1800)).unwrap();
        tokio::time::timeout(Duration::from_secs(2), waiter).await.unwrap().unwrap();
    }
}

//! Time for executions: virtual (Waits and retry intervals complete at once, history
//! shows the simulated time), manual (time stands still until advanced), or real.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

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

    /// Moves manual time forward, waking the Waits whose time has come.
    pub fn advance(&self, by: Duration) -> Result<DateTime<Utc>, String> {
        if self.mode != ClockMode::Manual {
            return Err(format!("the clock is {}; only a manual clock can be advanced", self.mode));
        }
        let by = chrono::Duration::from_std(by).map_err(|e| e.to_string())?;
        self.manual.send_modify(|now| *now += by);
        Ok(self.now())
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
                let elapsed = self.origin.elapsed() + self.offset;
                self.origin_utc + chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::MAX)
            }
            _ => self.clock.now(),
        }
    }

    /// Waits until `deadline` by this timeline's rules.
    pub async fn sleep_until(&mut self, deadline: DateTime<Utc>) {
        match self.clock.mode {
            ClockMode::Virtual => {
                if let Ok(gap) = (deadline - self.now()).to_std() {
                    self.offset += gap;
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
        let deadline = self.now() + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
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

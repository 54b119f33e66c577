//! friday-reminder: "Is it Friday yet?" in the user's own time zone, and, when it is
//! not, a push notification on Friday at the user's hour.
//!
//! [`schedule`] holds the time rules (pure, "now" as a parameter); [`users`] reads
//! profiles; [`api`], [`checker`] and [`notifier`] are the handlers, generic over ports.

pub mod api;
pub mod checker;
pub mod notifier;
pub mod schedule;
pub mod users;

//! friday-reminder: "Is it Friday yet?" in the user's own time zone, and, when it is
//! not, a push notification on Friday at the user's hour.
//!
//! [`schedule`] holds the time rules (pure, "now" as a parameter); [`users`] reads
//! profiles; [`api`], [`checker`] and [`notifier`] are the handlers, generic over ports;
//! [`redact`] keeps user ids and device tokens out of what leaves a function.
//!
//! "Now" is never read inside a handler: the API takes the instant API Gateway stamped
//! on the request, the checker and notifier the state's entered time from the state
//! machine (`$$.State.EnteredTime`), each falling back to the system clock in the binary.

pub mod api;
pub mod checker;
pub mod notifier;
pub mod redact;
pub mod schedule;
pub mod users;

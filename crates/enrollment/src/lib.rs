//! course-enrollment: name, e-mail and payment checked in parallel, the results validated
//! against the records, the seat taken in one conditional DynamoDB transaction.
//!
//! [`rules`] holds the rules (pure; each answers a sentence a person understands) and
//! [`amount`] exact money comparison; [`records`] reads the tables; [`checks`],
//! [`validate`] and [`enroll`] are the handlers, generic over [`common::ports::ItemStore`].

pub mod amount;
pub mod checks;
pub mod enroll;
pub mod records;
pub mod request;
pub mod rules;
pub mod validate;

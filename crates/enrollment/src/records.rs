//! The records the workflow reads and writes (DESIGN.md, "Resource names"): students by
//! e-mail, courses, payments, enrollments by course and e-mail.

use common::Resources;
use common::email::EmailAddress;
use common::ports::{AttrValue, Item, ItemStore, PortResult};

use crate::amount::Amount;

/// The four tables' names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub students: String,
    pub courses: String,
    pub payments: String,
    pub enrollments: String,
}

impl Tables {
    pub fn from_resources(resources: &Resources) -> Self {
        Self {
            students: resources.students_table.clone(),
            courses: resources.courses_table.clone(),
            payments: resources.payments_table.clone(),
            enrollments: resources.enrollments_table.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Student {
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Course {
    pub course_id: String,
    /// `None` when the record holds no readable number.
    pub price: Option<Amount>,
    pub seats_available: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub payment_id: String,
    pub email: Option<String>,
    pub course_id: Option<String>,
    pub amount: Option<Amount>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    pub enrollment_id: Option<String>,
}

fn text(item: &Item, attr: &str) -> Option<String> {
    item.get(attr).and_then(AttrValue::as_str).map(str::to_owned)
}

fn number(item: &Item, attr: &str) -> Option<Amount> {
    item.get(attr).and_then(AttrValue::as_number).and_then(Amount::parse)
}

pub fn course_key(course_id: &str) -> Item {
    Item::from([("courseId".to_owned(), AttrValue::string(course_id))])
}

pub fn enrollment_key(course_id: &str, email: &EmailAddress) -> Item {
    Item::from([
        ("courseId".to_owned(), AttrValue::string(course_id)),
        ("email".to_owned(), AttrValue::string(email.to_string())),
    ])
}

pub async fn load_student<D: ItemStore>(db: &D, table: &str, email: &EmailAddress) -> PortResult<Option<Student>> {
    let key = Item::from([("email".to_owned(), AttrValue::string(email.to_string()))]);
    Ok(db.get(table, key).await?.map(|item| Student { name: text(&item, "name") }))
}

pub async fn load_course<D: ItemStore>(db: &D, table: &str, course_id: &str) -> PortResult<Option<Course>> {
    Ok(db.get(table, course_key(course_id)).await?.map(|item| Course {
        course_id: course_id.to_owned(),
        price: number(&item, "price"),
        seats_available: item.get("seatsAvailable").and_then(AttrValue::as_number).and_then(|n| n.parse().ok()),
    }))
}

pub async fn load_payment<D: ItemStore>(db: &D, table: &str, payment_id: &str) -> PortResult<Option<Payment>> {
    let key = Item::from([("paymentId".to_owned(), AttrValue::string(payment_id))]);
    Ok(db.get(table, key).await?.map(|item| Payment {
        payment_id: payment_id.to_owned(),
        email: text(&item, "email"),
        course_id: text(&item, "courseId"),
        amount: number(&item, "amount"),
        status: text(&item, "status"),
    }))
}

pub async fn load_enrollment<D: ItemStore>(
    db: &D,
    table: &str,
    course_id: &str,
    email: &EmailAddress,
) -> PortResult<Option<Enrollment>> {
    Ok(db
        .get(table, enrollment_key(course_id, email))
        .await?
        .map(|item| Enrollment { enrollment_id: text(&item, "enrollmentId") }))
}

//! The time rules: is it Friday in the user's zone, and when is the next Friday at the
//! user's hour. "Now" is a parameter, so every instant can be tested.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::Serialize;

pub const DEFAULT_NOTIFY_HOUR: u32 = 9;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Friday,
    NotFriday,
}

/// The checker's answer (field names keep the original article's shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FridayCheck {
    pub status: Status,
    /// The user's local weekday, e.g. `Thursday`.
    pub today: String,
    /// The user's local date.
    pub local_date: NaiveDate,
    pub days_until_friday: u32,
    /// When to remind: the next Friday at the notify hour (now, when it is Friday already
    /// and the hour has passed), in UTC, RFC 3339 with `Z`.
    #[serde(serialize_with = "serialize_utc")]
    pub wait: DateTime<Utc>,
    pub timezone: String,
}

fn serialize_utc<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

/// UTC RFC 3339, upper-case `T` and `Z`, whole seconds.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("timezone {0:?} is not an IANA time zone name")]
    Timezone(String),
    #[error("notifyHour {0} is not an hour from 0 to 23")]
    Hour(String),
}

pub fn parse_timezone(raw: &str) -> Result<Tz, ProfileError> {
    raw.parse::<Tz>().map_err(|_| ProfileError::Timezone(raw.to_owned()))
}

pub fn parse_hour(raw: Option<&str>) -> Result<u32, ProfileError> {
    match raw {
        None => Ok(DEFAULT_NOTIFY_HOUR),
        Some(text) => match text.trim().parse::<u32>() {
            Ok(h) if h <= 23 => Ok(h),
            _ => Err(ProfileError::Hour(text.to_owned())),
        },
    }
}

/// The instant a local date and hour name in `tz`. A time that does not exist (a DST
/// gap) moves forward by the gap; an ambiguous one (an overlap) takes the earlier instant.
pub fn local_instant(tz: Tz, date: NaiveDate, hour: u32) -> DateTime<Utc> {
    let naive = NaiveDateTime::new(date, NaiveTime::from_hms_opt(hour.min(23), 0, 0).unwrap_or(NaiveTime::MIN));
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
        LocalResult::None => {
            // Read the wall time with the offset in force before the gap: 02:30 in a
            // 02:00 -> 03:00 gap becomes the instant the clocks show 03:30.
            let before = tz.offset_from_utc_datetime(&(naive - Duration::hours(24))).fix();
            (naive - Duration::seconds(i64::from(before.local_minus_utc()))).and_utc()
        }
    }
}

/// An instant the rules can compute with: years 1 to 9999 (RFC 3339's range). Outside it,
/// a week's arithmetic could leave chrono's range, which would abort the function.
pub fn supported_instant(name: &str, instant: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if (1..=9999).contains(&instant.year()) {
        Ok(instant)
    } else {
        Err(format!("{name} {instant} is outside the years 1 to 9999"))
    }
}

pub fn check(now: DateTime<Utc>, tz: Tz, notify_hour: u32) -> FridayCheck {
    let local = now.with_timezone(&tz);
    let today = local.date_naive();
    let weekday = local.weekday();
    let days_until_friday = (Weekday::Fri.num_days_from_monday() + 7 - weekday.num_days_from_monday()) % 7;
    let friday = today + Duration::days(i64::from(days_until_friday));
    let at_hour = local_instant(tz, friday, notify_hour);
    let wait = if days_until_friday == 0 && at_hour < now { now } else { at_hour };
    FridayCheck {
        status: if days_until_friday == 0 { Status::Friday } else { Status::NotFriday },
        today: weekday_name(weekday).to_owned(),
        local_date: today,
        days_until_friday,
        wait: wait.with_timezone(&Utc),
        timezone: tz.name().to_owned(),
    }
}

/// What a woken reminder does, judged against the profile as it is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recheck {
    /// The reminder's Friday at the user's hour has come (or passed): push now.
    Due(DateTime<Utc>),
    /// The profile changed to a later instant for the same Friday: wait until it.
    Later(DateTime<Utc>),
}

/// Re-judges a reminder scheduled for `remind_at` (computed in `scheduled_zone`) when it
/// wakes at `now`, against the profile's current zone and hour. The reminder keeps its
/// Friday (the local date it was scheduled for), so a new zone or hour moves it within
/// that day and never to another week: an instant still ahead is waited for, one already
/// past is pushed at once.
pub fn recheck(
    remind_at: DateTime<Utc>,
    scheduled_zone: Tz,
    now: DateTime<Utc>,
    zone: Tz,
    notify_hour: u32,
) -> Recheck {
    let friday = remind_at.with_timezone(&scheduled_zone).date_naive();
    let due = local_instant(zone, friday, notify_hour);
    if due > now { Recheck::Later(due) } else { Recheck::Due(due) }
}

pub fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// The tz database compiled into this build (chrono-tz).
pub fn tzdb_version() -> &'static str {
    chrono_tz::IANA_TZDB_VERSION
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap()
    }

    fn tz(name: &str) -> Tz {
        parse_timezone(name).unwrap()
    }

    #[test]
    fn instants_beyond_year_9999_are_refused_rather_than_computed() {
        let far = DateTime::parse_from_rfc3339("+100000-01-01T00:00:00Z").map(|d| d.with_timezone(&Utc));
        if let Ok(far) = far {
            assert!(supported_instant("now", far).is_err());
        }
        let year_10000 = Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).single().expect("representable");
        assert!(supported_instant("now", year_10000).unwrap_err().contains("now"));
        assert!(supported_instant("now", Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).single().expect("ok")).is_ok());
    }

    #[test]
    fn thursday_2359_and_friday_0000_east_of_utc() {
        // Tokyo is UTC+9: Thursday 2026-11-19 23:59 local is 14:59Z.
        let before = check(utc("2026-11-19T14:59:00Z"), tz("Asia/Tokyo"), 9);
        assert_eq!(
            (before.status.clone(), before.today.as_str(), before.days_until_friday),
            (Status::NotFriday, "Thursday", 1)
        );
        assert_eq!(rfc3339(before.wait), "2026-11-20T00:00:00Z", "Friday 09:00 Tokyo");
        let after = check(utc("2026-11-19T15:00:00Z"), tz("Asia/Tokyo"), 9);
        assert_eq!((after.status, after.today.as_str(), after.days_until_friday), (Status::Friday, "Friday", 0));
    }

    #[test]
    fn thursday_2359_and_friday_0000_west_of_utc() {
        // Los Angeles is UTC-8 in November: Thursday 23:59 local is Friday 07:59Z.
        let before = check(utc("2026-11-20T07:59:00Z"), tz("America/Los_Angeles"), 9);
        assert_eq!((before.status, before.today.as_str()), (Status::NotFriday, "Thursday"));
        assert_eq!(rfc3339(before.wait), "2026-11-20T17:00:00Z");
        let after = check(utc("2026-11-20T08:00:00Z"), tz("America/Los_Angeles"), 9);
        assert_eq!((after.status, after.today.as_str()), (Status::Friday, "Friday"));
        assert_eq!(rfc3339(after.wait), "2026-11-20T17:00:00Z", "the hour is still ahead today");
    }

    #[test]
    fn utc_and_local_weekdays_differ() {
        // Saturday 2026-11-21 03:00Z is still Friday evening in New York...
        let ny = check(utc("2026-11-21T03:00:00Z"), tz("America/New_York"), 9);
        assert_eq!((ny.status, ny.today.as_str()), (Status::Friday, "Friday"));
        assert_eq!(ny.wait, utc("2026-11-21T03:00:00Z"), "past the hour on Friday: remind now");
        // ...and Thursday 2026-11-19 20:00Z is already Friday in Kiritimati (UTC+14).
        let kiritimati = check(utc("2026-11-19T20:00:00Z"), tz("Pacific/Kiritimati"), 9);
        assert_eq!((kiritimati.status, kiritimati.today.as_str()), (Status::Friday, "Friday"));
        // While Saturday in UTC is Saturday in London: six days to go.
        let london = check(utc("2026-11-21T03:00:00Z"), tz("Europe/London"), 9);
        assert_eq!((london.today.as_str(), london.days_until_friday), ("Saturday", 6));
        assert_eq!(rfc3339(london.wait), "2026-11-27T09:00:00Z");
    }

    #[test]
    fn dst_starts_on_a_friday_in_jerusalem() {
        // Israel springs forward on Friday 2026-03-27 at 02:00 (02:00 -> 03:00).
        let thursday = utc("2026-03-26T12:00:00Z");
        let nine = check(thursday, tz("Asia/Jerusalem"), 9);
        assert_eq!(rfc3339(nine.wait), "2026-03-27T06:00:00Z", "09:00 IDT is UTC+3");
        let midnight = check(thursday, tz("Asia/Jerusalem"), 0);
        assert_eq!(rfc3339(midnight.wait), "2026-03-26T22:00:00Z", "00:00 IST is still UTC+2");
        // 02:00 does not exist that day: it moves forward by the gap, to 03:00 IDT.
        let in_gap = check(thursday, tz("Asia/Jerusalem"), 2);
        assert_eq!(rfc3339(in_gap.wait), "2026-03-27T00:00:00Z");
        assert_eq!(in_gap.wait.with_timezone(&tz("Asia/Jerusalem")).format("%H:%M").to_string(), "03:00");
    }

    #[test]
    fn notify_hour_zero_inside_a_gap_on_a_friday() {
        // Cairo springs forward on Friday 2026-04-24 at 00:00 (00:00 -> 01:00).
        let c = check(utc("2026-04-23T12:00:00Z"), tz("Africa/Cairo"), 0);
        assert_eq!(c.wait.with_timezone(&tz("Africa/Cairo")).format("%a %H:%M").to_string(), "Fri 01:00");
        assert_eq!(rfc3339(c.wait), "2026-04-23T22:00:00Z");
    }

    #[test]
    fn an_ambiguous_hour_takes_the_earlier_instant() {
        // New York falls back on 2026-11-01: 01:00 happens twice (EDT, then EST).
        let t = local_instant(tz("America/New_York"), NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(), 1);
        assert_eq!(rfc3339(t), "2026-11-01T05:00:00Z");
        // Cairo falls back on Thursday 2026-10-29 at 24:00: Thursday 23:00 repeats.
        let cairo = local_instant(tz("Africa/Cairo"), NaiveDate::from_ymd_opt(2026, 10, 29).unwrap(), 23);
        assert_eq!(rfc3339(cairo), "2026-10-29T20:00:00Z");
    }

    #[test]
    fn notify_hours_0_and_23() {
        let now = utc("2026-11-18T12:00:00Z"); // Wednesday
        assert_eq!(rfc3339(check(now, tz("UTC"), 0).wait), "2026-11-20T00:00:00Z");
        assert_eq!(rfc3339(check(now, tz("UTC"), 23).wait), "2026-11-20T23:00:00Z");
        assert_eq!(rfc3339(check(now, tz("Asia/Kolkata"), 23).wait), "2026-11-20T17:30:00Z");
    }

    #[test]
    fn leap_day_and_year_end() {
        // Thursday 2024-02-29 (leap day): Friday is 2024-03-01.
        let leap = check(utc("2024-02-29T10:00:00Z"), tz("Europe/Berlin"), 9);
        assert_eq!((leap.today.as_str(), leap.days_until_friday), ("Thursday", 1));
        assert_eq!(rfc3339(leap.wait), "2024-03-01T08:00:00Z");
        // Wednesday 2025-12-31: Friday is 2026-01-02.
        let year_end = check(utc("2025-12-31T23:30:00Z"), tz("America/Sao_Paulo"), 9);
        assert_eq!(year_end.local_date, NaiveDate::from_ymd_opt(2025, 12, 31).unwrap());
        assert_eq!(rfc3339(year_end.wait), "2026-01-02T12:00:00Z");
        // Saturday 2026-12-26 in Auckland (already 2026-12-27 Sunday there): Friday 2027-01-01.
        let nz = check(utc("2026-12-26T12:00:00Z"), tz("Pacific/Auckland"), 9);
        assert_eq!((nz.today.as_str(), nz.days_until_friday), ("Sunday", 5));
        assert_eq!(
            nz.wait.with_timezone(&tz("Pacific/Auckland")).date_naive(),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
    }

    #[test]
    fn profile_values_are_checked() {
        assert_eq!(parse_timezone("Mars/Olympus"), Err(ProfileError::Timezone("Mars/Olympus".into())));
        assert_eq!(parse_hour(None), Ok(9));
        assert_eq!(parse_hour(Some("23")), Ok(23));
        assert_eq!(parse_hour(Some("24")), Err(ProfileError::Hour("24".into())));
        assert_eq!(parse_hour(Some("-1")), Err(ProfileError::Hour("-1".into())));
        assert_eq!(parse_hour(Some("9.5")), Err(ProfileError::Hour("9.5".into())));
        assert!(!tzdb_version().is_empty());
    }

    #[test]
    fn a_check_early_on_friday_waits_for_the_notify_hour() {
        // Friday 00:05 in Tokyo with notifyHour 9: the reminder is today at 09:00, not now.
        let early = check(utc("2026-11-19T15:05:00Z"), tz("Asia/Tokyo"), 9);
        assert_eq!(early.status, Status::Friday);
        assert_eq!(rfc3339(early.wait), "2026-11-20T00:00:00Z");
    }

    #[test]
    fn a_later_hour_set_during_the_week_is_waited_for() {
        // Scheduled for Friday 09:00 UTC; the user moved the hour to 11 in the meantime.
        let scheduled = utc("2026-11-20T09:00:00Z");
        assert_eq!(
            recheck(scheduled, tz("UTC"), scheduled, tz("UTC"), 11),
            Recheck::Later(utc("2026-11-20T11:00:00Z"))
        );
        assert_eq!(
            recheck(scheduled, tz("UTC"), utc("2026-11-20T11:00:00Z"), tz("UTC"), 11),
            Recheck::Due(utc("2026-11-20T11:00:00Z"))
        );
    }

    #[test]
    fn an_earlier_hour_or_an_unchanged_profile_pushes_at_once() {
        let scheduled = utc("2026-11-20T09:00:00Z");
        assert_eq!(recheck(scheduled, tz("UTC"), scheduled, tz("UTC"), 9), Recheck::Due(scheduled));
        assert_eq!(recheck(scheduled, tz("UTC"), scheduled, tz("UTC"), 7), Recheck::Due(utc("2026-11-20T07:00:00Z")));
    }

    #[test]
    fn a_new_zone_keeps_the_reminders_friday() {
        // Scheduled for Friday 09:00 in Tokyo (00:00Z); the user moved to Los Angeles,
        // where it is still Thursday 16:00: the push waits for Friday 09:00 there.
        let scheduled = utc("2026-11-20T00:00:00Z");
        let west = recheck(scheduled, tz("Asia/Tokyo"), scheduled, tz("America/Los_Angeles"), 9);
        assert_eq!(west, Recheck::Later(utc("2026-11-20T17:00:00Z")));
        // Scheduled for Friday 09:00 in Honolulu (19:00Z); moved to Kiritimati, where it is
        // already Saturday 09:00: that Friday is over, so push now rather than next week.
        let scheduled = utc("2026-11-20T19:00:00Z");
        let east = recheck(scheduled, tz("Pacific/Honolulu"), scheduled, tz("Pacific/Kiritimati"), 9);
        assert_eq!(east, Recheck::Due(utc("2026-11-19T19:00:00Z")));
    }

    #[test]
    fn serialises_with_the_contract_names() {
        let c = check(utc("2026-11-19T12:00:00Z"), tz("UTC"), 9);
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["status"], "NOT_FRIDAY");
        assert_eq!(v["today"], "Thursday");
        assert_eq!(v["daysUntilFriday"], 1);
        assert_eq!(v["wait"], "2026-11-20T09:00:00Z");
        assert_eq!(v["timezone"], "UTC");
    }
}

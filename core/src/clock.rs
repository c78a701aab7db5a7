//! Time, injectable so tests can move it.

use time::OffsetDateTime;

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until told to move (tests of expiry and lockouts).
pub struct ManualClock(std::sync::Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn starting_now() -> Self {
        Self(std::sync::Mutex::new(OffsetDateTime::now_utc()))
    }

    pub fn advance(&self, by: time::Duration) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `YYYY-MM-DD`, the API's calendar date.
pub const DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// Whether `name` is a time zone of the IANA database as it spells it (`Europe/Paris`):
/// a cinema keeps one, so its showtimes are said in the time it keeps.
pub fn is_time_zone(name: &str) -> bool {
    jiff::tz::db()
        .get(name)
        .is_ok_and(|zone| zone.iana_name() == Some(name))
}

/// The time zone of what was stored before places kept one (serde's default).
pub fn utc_zone() -> String {
    "UTC".into()
}

/// garde's `custom` rule for a time zone's name.
pub fn time_zone(name: &str, _: &()) -> garde::Result {
    if is_time_zone(name) {
        Ok(())
    } else {
        Err(garde::Error::new(
            "must be a time zone of the IANA database, such as Europe/Paris",
        ))
    }
}

/// The zone of that name, or UTC for a name the database lacks (none is stored:
/// [`time_zone`] checks them).
fn zone_or_utc(name: &str) -> jiff::tz::TimeZone {
    jiff::tz::db().get(name).unwrap_or(jiff::tz::TimeZone::UTC)
}

/// An instant as a wall clock in `zone` shows it, with the zone's abbreviation: "Tue 8 Dec
/// 2026, 15:00 CET"; an unknown zone says UTC.
pub fn local_time(instant: OffsetDateTime, zone: &str) -> String {
    let zone = zone_or_utc(zone);
    jiff::Timestamp::from_second(instant.unix_timestamp())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(zone)
        .strftime("%a %-d %b %Y, %H:%M %Z")
        .to_string()
}

/// The instant a wall clock in `zone` shows `date` at `time` (the earlier of two in the
/// hour clocks go back; past the gap when they go forward). An unknown zone is UTC.
pub fn from_local(date: time::Date, time: time::Time, zone: &str) -> OffsetDateTime {
    let zone = zone_or_utc(zone);
    let (hour, minute, second) = time.as_hms();
    let wall = jiff::civil::DateTime::new(
        date.year() as i16,
        u8::from(date.month()) as i8,
        date.day() as i8,
        hour as i8,
        minute as i8,
        second as i8,
        0,
    );
    let seconds = wall
        .and_then(|wall| wall.to_zoned_datetime(zone))
        .map(|zoned| zoned.timestamp().as_second());
    seconds
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or_else(|| date.with_time(time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_are_the_databases_names() {
        assert!(is_time_zone("Europe/Paris"));
        assert!(is_time_zone("America/Argentina/Buenos_Aires"));
        assert!(is_time_zone("UTC"));
        assert!(
            !is_time_zone("europe/paris"),
            "spelt as the database spells it"
        );
        assert!(!is_time_zone("Mars/Olympus_Mons"));
        assert!(!is_time_zone(""));
        assert!(!is_time_zone("+01:00"));
    }

    #[test]
    fn local_time_is_the_zones_wall_clock() {
        let winter = time::macros::datetime!(2026-12-08 14:00 UTC);
        let summer = time::macros::datetime!(2026-07-08 14:00 UTC);
        assert_eq!(
            local_time(winter, "Europe/Paris"),
            "Tue 8 Dec 2026, 15:00 CET"
        );
        assert_eq!(
            local_time(summer, "Europe/Paris"),
            "Wed 8 Jul 2026, 16:00 CEST"
        );
        assert_eq!(local_time(winter, "UTC"), "Tue 8 Dec 2026, 14:00 UTC");
        assert_eq!(
            local_time(winter, "America/Los_Angeles"),
            "Tue 8 Dec 2026, 06:00 PST"
        );
    }

    #[test]
    fn from_local_reads_the_zones_wall_clock() {
        use time::macros::{date, datetime, time};
        assert_eq!(
            from_local(date!(2026 - 12 - 08), time!(15:00), "Europe/Paris"),
            datetime!(2026-12-08 14:00 UTC)
        );
        assert_eq!(
            from_local(date!(2026 - 07 - 08), time!(16:00), "Europe/Paris"),
            datetime!(2026-07-08 14:00 UTC)
        );
        assert_eq!(
            from_local(date!(2026 - 12 - 08), time!(15:00), "UTC"),
            datetime!(2026-12-08 15:00 UTC)
        );
        // 02:30 comes twice when the clocks go back: the first; it never comes when they go
        // forward: read past the gap.
        assert_eq!(
            from_local(date!(2026 - 10 - 25), time!(02:30), "Europe/Paris"),
            datetime!(2026-10-25 00:30 UTC)
        );
        assert_eq!(
            from_local(date!(2026 - 03 - 29), time!(02:30), "Europe/Paris"),
            datetime!(2026-03-29 01:30 UTC)
        );
    }
}

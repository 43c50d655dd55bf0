//! Parsing the `Retry-After` header: delay-seconds or an HTTP date.

use std::time::{Duration, SystemTime};

/// Parses a `Retry-After` value (RFC 9110 §10.2.3) relative to `now`.
///
/// - `"7"` (delay-seconds) gives 7 s;
/// - an HTTP date (`"Wed, 21 Oct 2015 07:28:00 GMT"`, or the obsolete RFC 850 and asctime
///   forms) gives the time from `now` until then, and zero when the date is already past;
/// - anything else (negative, fractional, garbage) gives `None`.
///
/// The wait is what the server asked for, not capped here: the one cap is the retry policy's
/// (`RetryPolicy::max_retry_after` in `amberflo-batcher`), for ingest and API calls alike.
#[must_use]
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Longer than u64 seconds is "forever"; saturate rather than reject.
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait)
}

/// Reads `Retry-After` from `headers`, relative to `now`.
pub(crate) fn from_headers(headers: &http::HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn seconds() {
        let now = at(1_700_000_000);
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        // Longer than u64 seconds saturates instead of failing.
        let forever = Some(Duration::from_secs(u64::MAX));
        assert_eq!(parse_retry_after("99999999999999999999999", now), forever);
        assert_eq!(parse_retry_after(&u64::MAX.to_string(), now), forever);
    }

    #[test]
    fn far_future_dates_are_reported_as_asked() {
        let now = at(1_700_000_000);
        // 2099-01-01T00:00:00Z.
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2099 00:00:00 GMT", now),
            Some(Duration::from_secs(4_070_908_800 - 1_700_000_000))
        );
    }

    #[test]
    fn rejects_garbage() {
        let now = at(1_700_000_000);
        for bad in ["", " ", "-1", "1.5", "+3", "soon", "7 seconds", "0x10"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn http_dates_in_all_three_forms() {
        // 2015-10-21T07:28:00Z
        let date = at(1_445_412_480);
        let now = date - Duration::from_secs(90);
        for form in [
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Wednesday, 21-Oct-15 07:28:00 GMT",
            "Wed Oct 21 07:28:00 2015",
        ] {
            assert_eq!(
                parse_retry_after(form, now),
                Some(Duration::from_secs(90)),
                "{form}"
            );
        }
    }

    #[test]
    fn past_dates_give_zero() {
        let now = at(1_445_412_480 + 3600);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn reads_the_header() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(from_headers(&headers, at(0)), None);
        headers.insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static("3"),
        );
        assert_eq!(from_headers(&headers, at(0)), Some(Duration::from_secs(3)));
    }
}

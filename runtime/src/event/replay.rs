//! Times in Feishu's requests, and the replay window they must fall in.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::WebhookError;

/// Below this a Unix time is in seconds, below [`MICROS_FROM`] in milliseconds, and in
/// microseconds above. Feishu uses all three: `X-Lark-Request-Timestamp` and the 1.0 `ts`
/// are seconds (`ts` with a fraction), an event's `create_time` is milliseconds and a card
/// callback's microseconds. 10^11 s is the year 5138; 10^11 ms is 1973.
const MILLIS_FROM: u64 = 100_000_000_000;
const MICROS_FROM: u64 = 100_000_000_000_000;

/// A Unix time in seconds (with an optional decimal fraction), milliseconds or
/// microseconds, told apart by magnitude. `None` if `text` is not such a number.
pub(crate) fn parse_epoch(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    let value: u64 = whole.parse().ok()?;
    let since_epoch = if value < MILLIS_FROM {
        Duration::from_secs(value) + fraction_nanos(fraction)
    } else if value < MICROS_FROM {
        Duration::from_millis(value)
    } else {
        Duration::from_micros(value)
    };
    UNIX_EPOCH.checked_add(since_epoch)
}

/// The nanoseconds of a decimal fraction of a second (`7171419` in `1502199207.7171419`).
fn fraction_nanos(fraction: &str) -> Duration {
    let nanos = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |acc, digit| acc * 10 + u32::from(digit - b'0'));
    Duration::from_nanos(u64::from(nanos))
}

/// Refuses a request sent at `sent` when it is further than `window` from `now`, either
/// way: older is a replay (or a very late retry), newer a forged or badly clocked sender.
pub(crate) fn check(
    now: SystemTime,
    sent: SystemTime,
    window: Duration,
) -> Result<(), WebhookError> {
    let (offset, ahead) = match now.duration_since(sent) {
        Ok(age) => (age, false),
        Err(ahead) => (ahead.duration(), true),
    };
    if offset > window {
        return Err(WebhookError::Stale {
            offset,
            ahead,
            window,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn reads_seconds_milliseconds_and_microseconds() {
        assert_eq!(parse_epoch("1700000000"), Some(at(1_700_000_000, 0)));
        assert_eq!(parse_epoch("1603977298000"), Some(at(1_603_977_298, 0)));
        assert_eq!(
            parse_epoch("1603977298123456"),
            Some(at(1_603_977_298, 123_456_000))
        );
        // The 1.0 envelope's `ts`: seconds with a fraction.
        assert_eq!(
            parse_epoch("1502199207.7171419"),
            Some(at(1_502_199_207, 717_141_900))
        );
        assert_eq!(parse_epoch(" 1700000000 "), Some(at(1_700_000_000, 0)));
        for bad in [
            "",
            "-1",
            "17e8",
            "abc",
            "1.2.3",
            ".5",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_epoch(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn refuses_times_outside_the_window_either_way() {
        let now = at(1_700_000_000, 0);
        let window = Duration::from_secs(300);
        assert!(check(now, at(1_700_000_000 - 300, 0), window).is_ok());
        assert!(check(now, at(1_700_000_000 + 300, 0), window).is_ok());
        let old = check(now, at(1_700_000_000 - 301, 0), window).unwrap_err();
        assert!(
            matches!(old, WebhookError::Stale { ahead: false, .. }),
            "{old:?}"
        );
        assert_eq!(
            old.to_string(),
            "the request is 301s old, outside the replay window of 300s"
        );
        let ahead = check(now, at(1_700_000_000 + 301, 0), window).unwrap_err();
        assert!(
            matches!(ahead, WebhookError::Stale { ahead: true, .. }),
            "{ahead:?}"
        );
    }
}

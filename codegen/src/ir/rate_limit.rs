//! The rate limit a page states (`1000 次/分钟、50 次/秒`), read into quotas the client
//! can pace itself by.

/// At most `requests` calls in each `window_secs` seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub requests: u32,
    pub window_secs: u32,
}

/// The quotas of a rate limit as the docs write it: quotas of the form `N 次/秒`
/// (`分钟`, `小时`, `天`) joined by `、`, `,` or `，`. None for anything else, such as
/// `特殊频控` (a limit the page does not state): no quota is better than a wrong one.
pub fn parse(text: &str) -> Option<Vec<Quota>> {
    text.split(['、', ',', '，'])
        .map(|part| quota(part.trim()))
        .collect::<Option<Vec<_>>>()
        .filter(|quotas| !quotas.is_empty())
}

fn quota(text: &str) -> Option<Quota> {
    let (count, unit) = text.split_once("次/")?;
    let requests = count.trim().parse().ok().filter(|n| *n > 0)?;
    let window_secs = match unit.trim() {
        "秒" => 1,
        "分钟" => 60,
        "小时" => 3_600,
        "天" => 86_400,
        _ => return None,
    };
    Some(Quota {
        requests,
        window_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(requests: u32, window_secs: u32) -> Quota {
        Quota {
            requests,
            window_secs,
        }
    }

    #[test]
    fn the_forms_the_docs_use_are_read() {
        assert_eq!(parse("100 次/分钟"), Some(vec![q(100, 60)]));
        assert_eq!(parse("50 次/秒"), Some(vec![q(50, 1)]));
        assert_eq!(
            parse("1000 次/分钟、50 次/秒"),
            Some(vec![q(1000, 60), q(50, 1)])
        );
        assert_eq!(
            parse("5次/小时，100 次/天"),
            Some(vec![q(5, 3_600), q(100, 86_400)])
        );
    }

    #[test]
    fn anything_else_is_no_quota() {
        for text in [
            "特殊频控",
            "",
            "100 次",
            "0 次/秒",
            "100 次/周",
            "1000 次/分钟、特殊频控",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}

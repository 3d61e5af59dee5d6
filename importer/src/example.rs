//! The JSON examples: parsed as written, or repaired where the page breaks JSON in one of
//! the ways Feishu's pages are known to, with a warning saying what was changed.

use serde_json::Value;

/// A parsed example and the text the spec keeps.
#[derive(Debug)]
pub struct Example {
    pub text: String,
    pub value: Value,
    /// What was repaired, if anything.
    pub repairs: Vec<String>,
}

/// Parses an example block; `Err` has the JSON error (line and column within the block).
pub fn parse(text: &str) -> Result<Example, String> {
    let text = text.replace('\t', "    ");
    let text = text.trim_end().to_owned();
    let first_error = match serde_json::from_str::<Value>(&text) {
        Ok(value) => {
            return Ok(Example {
                text,
                value,
                repairs: Vec::new(),
            });
        }
        Err(err) => err,
    };
    let mut repairs = Vec::new();
    // Quotes first: a bare quote would confuse the comment scan's idea of strings.
    let mut repaired = escape_inner_quotes(&text);
    if repaired != text {
        repairs.push("escaped the quotes inside string values".to_owned());
    }
    let without_comments = strip_line_comments(&repaired);
    if without_comments != repaired {
        repairs.push("removed `//` comments".to_owned());
        repaired = without_comments;
    }
    match serde_json::from_str::<Value>(&repaired) {
        Ok(value) if !repairs.is_empty() => Ok(Example {
            text: repaired,
            value,
            repairs,
        }),
        _ => Err(format!(
            "line {} column {}: {first_error}",
            first_error.line(),
            first_error.column()
        )),
    }
}

/// Drops `// …` to the end of the line, outside strings.
fn strip_line_comments(text: &str) -> String {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut in_string = false;
        let mut escaped = false;
        let mut cut = line.len();
        let bytes = line.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' if in_string => escaped = true,
                b'"' => in_string = !in_string,
                b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => {
                    cut = i;
                    break;
                }
                _ => {}
            }
        }
        out.push(line[..cut].trim_end());
    }
    out.join("\n")
}

/// On a line `"key": "value",` whose value holds bare quotes (`"{"a":"b"}"`), escapes them.
fn escape_inner_quotes(text: &str) -> String {
    let mut out = Vec::new();
    for line in text.lines() {
        out.push(escape_line(line).unwrap_or_else(|| line.to_owned()));
    }
    out.join("\n")
}

fn escape_line(line: &str) -> Option<String> {
    let trimmed = line.trim_end();
    let (body, tail) = match trimmed.strip_suffix(',') {
        Some(body) => (body, ","),
        None => (trimmed, ""),
    };
    // The value starts after `"key": "` and ends at the line's last quote.
    let key_end = body.find("\":")?;
    let after_colon = &body[key_end + 2..];
    let value_start = key_end + 2 + after_colon.find('"')?;
    if !after_colon[..after_colon.find('"')?].trim().is_empty() || !body.ends_with('"') {
        return None;
    }
    // `"key":"` ends at the value's opening quote: there is no value to escape.
    let inner = body.get(value_start + 1..body.len() - 1)?;
    if !inner.contains('"') {
        return None;
    }
    let mut escaped = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                escaped.push(c);
                if let Some(next) = chars.next() {
                    escaped.push(next);
                }
            }
            '"' => escaped.push_str("\\\""),
            _ => escaped.push(c),
        }
    }
    Some(format!("{}\"{escaped}\"{tail}", &body[..value_start]))
}

/// A cell's `**示例值**` as a JSON value, for a field of spec type `ty`.
pub fn cell_value(raw: &str, ty: &str) -> Value {
    let raw = raw.trim();
    let plain = raw.trim_matches('`');
    let parsed = serde_json::from_str::<Value>(plain).ok();
    let is_string = ty == "string";
    match parsed {
        Some(Value::String(s)) => Value::String(s),
        Some(value) if !is_string => value,
        Some(_) | None => {
            let unquoted = plain
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .or_else(|| plain.strip_prefix('“').and_then(|s| s.strip_suffix('”')))
                .unwrap_or(plain);
            Value::String(unquoted.replace("\\_", "_"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs_comments_and_bare_quotes_and_reports_the_rest() {
        let commented = parse("{\n  \"a\": 1, // note\n  \"b\": \"http://x\"\n}").unwrap();
        assert_eq!(commented.value["b"], "http://x");
        assert_eq!(commented.repairs, ["removed `//` comments"]);

        let quoted = parse("{\n  \"data\": \"{\"k\":\"v\"}\",\n  \"n\": 1\n}").unwrap();
        assert_eq!(quoted.value["data"], "{\"k\":\"v\"}");

        let err = parse("{\n  \"a\": 1,\n").unwrap_err();
        assert!(err.starts_with("line "), "{err}");
    }

    #[test]
    fn cell_values_follow_the_field_type() {
        assert_eq!(
            cell_value("\"7041857032248410131\"", "string"),
            "7041857032248410131"
        );
        assert_eq!(cell_value("1", "int"), 1);
        assert_eq!(cell_value("open_id", "string"), "open_id");
        assert_eq!(
            cell_value("\"{\"data\":\"x\"}\"", "string"),
            "{\"data\":\"x\"}"
        );
        assert_eq!(
            cell_value("[\"ou_1\"]", "string[]"),
            serde_json::json!(["ou_1"])
        );
        assert_eq!(cell_value("{}", "string"), "{}");
    }
}

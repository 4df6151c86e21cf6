//! JSON string quoting, byte for byte as JavaScript's `JSON.stringify(string)` writes it: the
//! TypeScript reference peer quotes raw commands and environment values that way in its log
//! lines, and this peer's lines must be identical.

/// `value` as a JSON string literal: `"` and `\` escaped, `\b \f \n \r \t` as such, other
/// control characters as `\u00XX`, everything else (non-ASCII included) as is.
pub fn quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\u{8}' => quoted.push_str("\\b"),
            '\u{c}' => quoted.push_str("\\f"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            c if c < ' ' => quoted.push_str(&format!("\\u{:04x}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quote_matches_json_stringify() {
        let table = [
            ("", r#""""#),
            ("push|", r#""push|""#),
            ("a\"b\\c", r#""a\"b\\c""#),
            ("line\nnext\ttab\r", r#""line\nnext\ttab\r""#),
            ("\u{1}\u{1f}\u{7f}", "\"\\u0001\\u001f\u{7f}\""),
            ("\u{8}\u{c}", r#""\b\f""#),
            ("héllo ✓ /", "\"héllo ✓ /\""),
        ];
        for (value, expected) in table {
            assert_eq!(quote(value), expected, "quote({value:?})");
        }
    }
}

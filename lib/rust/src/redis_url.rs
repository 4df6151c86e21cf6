//! Redis URLs as they may be shown to people: the password replaced by `***`.

/// `url` with its password (`redis://:pw@...`, `redis://user:pw@...`, or the `pass` query
/// parameter of a `redis+unix://` URL) replaced by `***`; everything else unchanged.
///
/// ```
/// assert_eq!(the_mule::mask_password("redis://:s3cret@10.0.0.5:6399/3"), "redis://:***@10.0.0.5:6399/3");
/// assert_eq!(the_mule::mask_password("redis://10.0.0.5:6399"), "redis://10.0.0.5:6399");
/// ```
pub fn mask_password(url: &str) -> String {
    let Some(mut parsed) = redis::parse_redis_url(url) else {
        return mask_unparsed(url);
    };
    if parsed.password().is_none() && !parsed.query_pairs().any(|(key, _)| key == "pass") {
        // Untouched, so that the text is exactly what the user wrote.
        return url.to_owned();
    }
    if parsed.password().is_some() && parsed.set_password(Some("***")).is_err() {
        return mask_unparsed(url);
    }
    let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    if pairs.iter().any(|(key, _)| key == "pass") {
        let mut query = parsed.query_pairs_mut();
        query.clear();
        for (key, value) in &pairs {
            query.append_pair(key, if key == "pass" { "***" } else { value });
        }
    }
    parsed.to_string()
}

/// Masking for text the URL parser rejects: everything between `://` and the last `@` of the
/// authority goes, user name included (better too much than a password in a log).
fn mask_unparsed(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[scheme_end..]
        .find('/')
        .map_or(url.len(), |i| scheme_end + i);
    match url[scheme_end..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end], &url[scheme_end + at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_password_hides_every_form_of_password() {
        let table = [
            ("redis://:pw@127.0.0.1:6379", "redis://:***@127.0.0.1:6379"),
            (
                "redis://user:pw@127.0.0.1:6379/2",
                "redis://user:***@127.0.0.1:6379/2",
            ),
            ("rediss://:p%40ss@host:1", "rediss://:***@host:1"),
            (
                "redis+unix:///run/redis.sock?db=2&pass=pw",
                "redis+unix:///run/redis.sock?db=2&pass=***",
            ),
            ("redis://127.0.0.1:6379/3", "redis://127.0.0.1:6379/3"),
            ("redis://user@127.0.0.1", "redis://user@127.0.0.1"),
        ];
        for (url, masked) in table {
            assert_eq!(mask_password(url), masked, "mask_password({url:?})");
        }
    }

    #[test]
    fn mask_password_hides_credentials_of_unparsable_urls() {
        assert_eq!(
            mask_password("redis://:pw@host:notaport/1"),
            "redis://***@host:notaport/1"
        );
        assert_eq!(mask_password("not a url"), "not a url");
    }
}

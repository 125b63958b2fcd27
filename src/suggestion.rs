//! "Did you mean …?": the nearest known name by edit distance.

/// The candidate closest to `name`, if it is close enough to be a likely typo.
pub fn nearest<'a, I>(name: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The known name that `key` is a slip of: the rule of the "did you mean" warning for env keys.
/// A key that is itself known, or shorter than 4 characters, is no slip.
pub fn near_miss<'a, I>(key: &str, known: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str> + Clone,
{
    if key.chars().count() < 4 || known.clone().into_iter().any(|n| n == key) {
        return None;
    }
    nearest(key, known)
}

/// A hint line for an unknown name, or a list of what is known.
pub fn hint<'a, I>(name: &str, candidates: I, what: &str) -> Option<String>
where
    I: IntoIterator<Item = &'a str> + Clone,
{
    if let Some(n) = nearest(name, candidates.clone()) {
        return Some(format!("did you mean `{n}`?"));
    }
    let all: Vec<&str> = candidates.into_iter().collect();
    (!all.is_empty()).then(|| format!("known {what}: {}", all.join(", ")))
}

/// Levenshtein distance over characters.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["production", "staging", "lxc"];
        assert_eq!(nearest("stagign", names), Some("staging"));
        assert_eq!(nearest("prod", names), None);
        assert_eq!(nearest("lx", names), Some("lxc"));
        assert_eq!(nearest("zzzzzzzz", names), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}

//! "Did you mean": the closest name by edit distance.
//!
//! Distance is the optimal-string-alignment variant of Damerau-Levenshtein
//! (insert, delete, substitute, swap two adjacent characters), computed on
//! ASCII-lowercased bytes and abandoned as soon as it exceeds the bound.

/// The candidate closest to `name`, if any is within the bound for its
/// length (1 edit for names up to 4 bytes, 2 up to 8, 3 beyond). A
/// candidate equal to `name` is skipped. Ties: the alphabetically first.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let bound = match name.len() {
        0 => return None,
        1..=4 => 1,
        5..=8 => 2,
        _ => 3,
    };
    let target = name.to_ascii_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let limit = best.map_or(bound, |(d, _)| d);
        let Some(d) = distance(
            target.as_bytes(),
            candidate.to_ascii_lowercase().as_bytes(),
            limit,
        ) else {
            continue;
        };
        let better = match best {
            None => true,
            Some((bd, bn)) => d < bd || (d == bd && candidate < bn),
        };
        if better {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, n)| n)
}

/// Optimal string alignment distance, or `None` when it exceeds `limit`.
pub(super) fn distance(a: &[u8], b: &[u8], limit: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let width = b.len() + 1;
    let mut prev2 = vec![0usize; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut cur = vec![0usize; width];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
            row_min = row_min.min(d);
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= limit).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance(b"abc", b"abc", 3), Some(0));
        assert_eq!(distance(b"abc", b"acb", 3), Some(1));
        assert_eq!(distance(b"abc", b"ab", 3), Some(1));
        assert_eq!(distance(b"kitten", b"sitting", 3), Some(3));
        assert_eq!(distance(b"kitten", b"sitting", 2), None);
        assert_eq!(distance(b"", b"abcd", 3), None);
    }

    #[test]
    fn closest_prefers_smaller_then_alphabetical() {
        let names = ["relay_host", "relayhost", "relayhosts"];
        assert_eq!(
            closest("relayhst", names.iter().copied()),
            Some("relayhost")
        );
        assert_eq!(closest("ab", ["ac", "aa"].iter().copied()), Some("aa"));
        assert_eq!(closest("", names.iter().copied()), None);
    }
}

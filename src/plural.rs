//! Counts with their nouns as people read them: `1 row`, `3 rows`, `1/1 batch`.

/// `n` with its noun: `1 row`, `0 rows`, `3 rows`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", noun(n, one, many))
}

/// A part of a whole, the noun agreeing with the whole: `0/1 batch`, `2/3 batches`.
pub fn part_of(part: u64, whole: u64, one: &str, many: &str) -> String {
    format!("{part}/{whole} {}", noun(whole, one, many))
}

/// `one` for 1, `many` otherwise.
pub fn noun<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_well() {
        assert_eq!(count(1, "row", "rows"), "1 row");
        assert_eq!(count(0, "batch", "batches"), "0 batches");
        assert_eq!(count(2, "attempt", "attempts"), "2 attempts");
        assert_eq!(part_of(1, 1, "batch", "batches"), "1/1 batch");
        assert_eq!(part_of(0, 1, "batch", "batches"), "0/1 batch");
        assert_eq!(part_of(1, 3, "batch", "batches"), "1/3 batches");
    }
}

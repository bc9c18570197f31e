//! A set of 128-bit fingerprints (hashes of unique-key values) with bounded memory, for
//! unique/primary-key checks and mirror mode on files of any size. The most recent
//! fingerprints live in memory; past a fixed count they spill into a temporary SQLite file,
//! with a Bloom filter in front so that most new ones never need a lookup there.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use rusqlite::{params, Connection};

/// Keys kept in memory before spilling: 7/8 of 2^18, the most that fits a table of 2^18 slots
/// at hashbrown's load factor (4.5 MB at 17 bytes a slot; one key more doubles it).
const MEMORY_KEYS: usize = (1 << 18) / 8 * 7;
/// Bloom filter over spilled keys: at least 2^25 bits (4 MiB), and about `BLOOM_BITS_PER_KEY`
/// bits per spilled key (grown as keys spill), so that false positives stay near 1-2% (each one
/// costs a lookup in the file) however many keys there are; 4 probes.
const BLOOM_MIN_BITS_LOG2: u32 = 25;
const BLOOM_BITS_PER_KEY: u64 = 10;
const BLOOM_PROBES: u32 = 4;

/// The keys are hashes already: fold them to 64 bits instead of hashing them again.
#[derive(Default)]
struct FoldHasher(u64);

impl Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u128(&mut self, key: u128) {
        self.0 = (key as u64) ^ ((key >> 64) as u64);
    }
}

type Keys = HashSet<u128, BuildHasherDefault<FoldHasher>>;

/// The top half of a key made by `int_fingerprint`: whole-number keys are exact, not hashed, so they
/// can be kept as intervals. A real hash has this top half with probability 2^-64.
const INT_TAG: u64 = 0x5075_6c73_6549_6e74;

/// The key of a whole number (see `INT_TAG`).
pub fn int_fingerprint(n: i64) -> u128 {
    (u128::from(INT_TAG) << 64) | u128::from(n as u64)
}

/// Most runs of whole numbers kept as intervals; past this, new numbers go to the hash set.
const MAX_INTERVALS: usize = 1 << 16;

/// Distinct key hashes seen so far.
#[derive(Default)]
pub struct FingerprintSet {
    /// Whole-number keys as inclusive intervals, start -> end: sequential ids take one entry.
    intervals: std::collections::BTreeMap<i64, i64>,
    recent: Keys,
    spilled: Option<Spilled>,
    /// Set when spilling failed (e.g. no temp space): keys then stay in memory.
    spill_failed: bool,
    /// Set when the spill file could not be read: an answer may be wrong, so the owner must
    /// stop (see `failure`).
    read_failure: Option<String>,
}

impl std::fmt::Debug for FingerprintSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FingerprintSet")
            .field("in_memory", &self.recent.len())
            .field("spilled", &self.spilled.as_ref().map(|s| s.count))
            .finish()
    }
}

struct Spilled {
    conn: Connection,
    bloom: Vec<u64>,
    /// log2 of the Bloom filter's bits.
    bloom_bits_log2: u32,
    count: u64,
    /// Removes the file when the set is dropped.
    _file: tempfile::TempPath,
}

impl FingerprintSet {
    pub fn new() -> FingerprintSet {
        FingerprintSet::default()
    }

    /// Why the set's answers can no longer be trusted (its spill file could not be read), if
    /// so: a duplicate may then have passed as new. Owners check it and stop with this error.
    pub fn failure(&self) -> Option<&str> {
        self.read_failure.as_deref()
    }

    /// Adds a key; false when it was there already. If the spill file cannot be read, the key
    /// counts as new and `failure` says so.
    pub fn insert(&mut self, key: u128) -> bool {
        if (key >> 64) as u64 == INT_TAG {
            let n = key as u64 as i64;
            if self.in_intervals(n) {
                return false;
            }
            if self.intervals.len() < MAX_INTERVALS {
                self.add_to_intervals(n);
                return true;
            }
        }
        self.insert_hashed(key)
    }

    /// Whether a key was added; an error only when the spill file cannot be read, where a
    /// wrong "no" would do harm (mirror deletes).
    pub fn contains(&self, key: u128) -> rusqlite::Result<bool> {
        if (key >> 64) as u64 == INT_TAG && self.in_intervals(key as u64 as i64) {
            return Ok(true);
        }
        if self.recent.contains(&key) {
            return Ok(true);
        }
        match &self.spilled {
            Some(spilled) if spilled.may_contain(key) => spilled.contains(key),
            _ => Ok(false),
        }
    }

    fn in_intervals(&self, n: i64) -> bool {
        self.intervals
            .range(..=n)
            .next_back()
            .is_some_and(|(_, &end)| n <= end)
    }

    /// Adds `n` (not yet present), joining the intervals it touches.
    fn add_to_intervals(&mut self, n: i64) {
        let left = n.checked_sub(1).and_then(|below| {
            self.intervals
                .range(..=below)
                .next_back()
                .filter(|&(_, &end)| end == below)
                .map(|(&start, _)| start)
        });
        let right = n
            .checked_add(1)
            .and_then(|above| self.intervals.get(&above).map(|&end| (above, end)));
        match (left, right) {
            (Some(start), Some((above, end))) => {
                self.intervals.remove(&above);
                self.intervals.insert(start, end);
            }
            (Some(start), None) => {
                self.intervals.insert(start, n);
            }
            (None, Some((above, end))) => {
                self.intervals.remove(&above);
                self.intervals.insert(n, end);
            }
            (None, None) => {
                self.intervals.insert(n, n);
            }
        }
    }

    fn insert_hashed(&mut self, key: u128) -> bool {
        if let Some(spilled) = &self.spilled
            && spilled.may_contain(key)
        {
            match spilled.contains(key) {
                Ok(true) => return false,
                Ok(false) => {}
                Err(err) => {
                    self.read_failure.get_or_insert_with(|| {
                        format!("cannot read the temporary file of key hashes ({err})")
                    });
                }
            }
        }
        if self.recent.len() >= MEMORY_KEYS && !self.spill_failed {
            // The key may be among those about to move to the file.
            if self.recent.contains(&key) {
                return false;
            }
            if let Err(err) = self.spill() {
                crate::output::errln!(
                    "pulse: warning: cannot spill key hashes to a temporary file ({err}); keeping them in memory"
                );
                self.spill_failed = true;
            }
        }
        if self.recent.capacity() == 0 {
            // Allocated once, at its final size: growing by rehashing cost more than the hashing.
            self.recent.reserve(MEMORY_KEYS);
        }
        // One probe: `insert` says whether the key was there.
        self.recent.insert(key)
    }

    /// Moves the in-memory keys into the spill file, sorted for B-tree locality.
    fn spill(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        if self.spilled.is_none() {
            self.spilled = Some(Spilled::create()?);
        }
        let spilled = self.spilled.as_mut().expect("just created");
        let mut keys: Vec<u128> = self.recent.drain().collect();
        keys.sort_unstable();
        let tx = spilled.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached("INSERT OR IGNORE INTO k (h) VALUES (?1)")?;
            for key in &keys {
                insert.execute(params![&key.to_be_bytes()[..]])?;
            }
        }
        tx.commit()?;
        spilled.count += keys.len() as u64;
        if spilled.bloom_is_too_small() {
            spilled.grow_bloom()?;
        } else {
            for key in keys {
                spilled.add_to_bloom(key);
            }
        }
        Ok(())
    }
}

impl Spilled {
    fn create() -> Result<Spilled, Box<dyn std::error::Error>> {
        let file = tempfile::Builder::new()
            .prefix("pulse-keys-")
            .suffix(".db")
            .tempfile()?
            .into_temp_path();
        crate::memory::limit_sqlite_memory();
        let conn = Connection::open(&file)?;
        // A scratch file: no journal, no fsync, a small page cache.
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -2048;
             CREATE TABLE k (h BLOB PRIMARY KEY) WITHOUT ROWID;",
        )?;
        Ok(Spilled {
            conn,
            bloom: vec![0; 1 << (BLOOM_MIN_BITS_LOG2 - 6)],
            bloom_bits_log2: BLOOM_MIN_BITS_LOG2,
            count: 0,
            _file: file,
        })
    }

    /// The Bloom filter's size for the keys spilled so far, as a power of two.
    fn bloom_bits_log2_for(count: u64) -> u32 {
        let wanted = count.saturating_mul(BLOOM_BITS_PER_KEY).max(1);
        // Probes take 32 bits of the key each: 2^32 bits (512 MiB) is the most they address.
        (64 - (wanted - 1).leading_zeros()).clamp(BLOOM_MIN_BITS_LOG2, 32)
    }

    fn bloom_is_too_small(&self) -> bool {
        Spilled::bloom_bits_log2_for(self.count) > self.bloom_bits_log2
    }

    /// Rebuilds the filter at the size the spilled keys want, from the file: amortized, each
    /// key is read again once per doubling.
    fn grow_bloom(&mut self) -> rusqlite::Result<()> {
        self.bloom_bits_log2 = Spilled::bloom_bits_log2_for(self.count);
        self.bloom = vec![0; 1 << (self.bloom_bits_log2 - 6)];
        let mut stmt = self.conn.prepare("SELECT h FROM k")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let bytes: [u8; 16] = row.get::<_, Vec<u8>>(0)?.try_into().unwrap_or([0; 16]);
            set_bits(
                &mut self.bloom,
                self.bloom_bits_log2,
                u128::from_be_bytes(bytes),
            );
        }
        Ok(())
    }

    fn add_to_bloom(&mut self, key: u128) {
        set_bits(&mut self.bloom, self.bloom_bits_log2, key);
    }

    fn may_contain(&self, key: u128) -> bool {
        probes(self.bloom_bits_log2, key).all(|bit| self.bloom[bit / 64] & (1 << (bit % 64)) != 0)
    }

    fn contains(&self, key: u128) -> rusqlite::Result<bool> {
        self.conn
            .prepare_cached("SELECT 1 FROM k WHERE h = ?1")?
            .exists(params![&key.to_be_bytes()[..]])
    }
}

/// The key is already a good hash: its bits give the probe positions in a filter of
/// 2^`bits_log2` bits.
fn probes(bits_log2: u32, key: u128) -> impl Iterator<Item = usize> {
    let mask = (1u128 << bits_log2) - 1;
    (0..BLOOM_PROBES).map(move |i| ((key >> (i * 32)) & mask) as usize)
}

fn set_bits(bloom: &mut [u64], bits_log2: u32, key: u128) {
    for bit in probes(bits_log2, key) {
        bloom[bit / 64] |= 1 << (bit % 64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u64) -> u128 {
        xxhash_rust::xxh3::xxh3_128(&i.to_le_bytes())
    }

    #[test]
    fn finds_duplicates_in_memory_and_after_spilling() {
        let mut set = FingerprintSet::new();
        let n = MEMORY_KEYS as u64 * 2 + 10;
        for i in 0..n {
            assert!(set.insert(key(i)), "{i} is new");
        }
        assert!(set.spilled.is_some(), "spilled past the memory limit");
        assert!(set.recent.len() <= MEMORY_KEYS);
        for i in [0, 1, MEMORY_KEYS as u64 + 3, n - 1] {
            assert!(!set.insert(key(i)), "{i} is a duplicate");
        }
        assert!(set.insert(key(n + 1)));
    }

    #[test]
    fn the_bloom_filter_grows_with_the_spilled_keys_and_keeps_them_all() {
        assert_eq!(Spilled::bloom_bits_log2_for(1_000_000), BLOOM_MIN_BITS_LOG2);
        assert_eq!(Spilled::bloom_bits_log2_for(10_000_000), 27);
        assert_eq!(Spilled::bloom_bits_log2_for(20_000_000), 28);
        assert_eq!(Spilled::bloom_bits_log2_for(u64::MAX), 32);
        let mut spilled = Spilled::create().unwrap();
        for i in 0..1000 {
            spilled
                .conn
                .execute(
                    "INSERT INTO k (h) VALUES (?1)",
                    params![&key(i).to_be_bytes()[..]],
                )
                .unwrap();
        }
        spilled.count = 10_000_000;
        assert!(spilled.bloom_is_too_small());
        spilled.grow_bloom().unwrap();
        assert_eq!(spilled.bloom.len() * 64, 1 << 27);
        assert!((0..1000).all(|i| spilled.may_contain(key(i))));
        let false_positives = (1000..101_000)
            .filter(|&i| spilled.may_contain(key(i)))
            .count();
        assert!(false_positives < 10, "{false_positives}");
    }

    #[test]
    fn an_unreadable_spill_file_is_a_failure_not_a_wrong_answer() {
        let mut set = FingerprintSet::new();
        for i in 0..MEMORY_KEYS as u64 + 1 {
            set.insert(key(i));
        }
        assert!(set.failure().is_none());
        let spilled = set.spilled.as_ref().unwrap();
        spilled.conn.execute_batch("DROP TABLE k").unwrap();
        // A spilled key: the filter says "maybe", and the file cannot answer.
        set.insert(key(0));
        let failure = set.failure().unwrap();
        assert!(failure.contains("cannot read"), "{failure}");
    }

    #[test]
    fn whole_numbers_are_kept_as_intervals() {
        let mut set = FingerprintSet::new();
        for n in (1..=100_000).chain([-5, i64::MIN, i64::MAX, 200_000]) {
            assert!(set.insert(int_fingerprint(n)), "{n}");
        }
        assert_eq!(set.intervals.len(), 5);
        for n in [1, 50_000, 100_000, -5, i64::MIN, i64::MAX, 200_000] {
            assert!(!set.insert(int_fingerprint(n)), "{n} is a duplicate");
        }
        // Filling a gap joins the intervals around it.
        assert!(set.insert(int_fingerprint(100_001)));
        assert!(set.insert(int_fingerprint(-4)));
        assert_eq!(set.intervals.len(), 5);
        assert!(set.recent.is_empty(), "no hash needed");
    }

    #[test]
    fn past_the_interval_limit_numbers_go_to_the_hash_set() {
        let mut set = FingerprintSet::new();
        for n in 0..(MAX_INTERVALS as i64 + 10) {
            assert!(set.insert(int_fingerprint(n * 2)));
        }
        assert_eq!(set.intervals.len(), MAX_INTERVALS);
        assert!(!set.insert(int_fingerprint(0)), "found among the intervals");
        assert!(
            !set.insert(int_fingerprint(MAX_INTERVALS as i64 * 2 + 4)),
            "found in the hash set"
        );
        assert!(set.insert(int_fingerprint(1)));
    }

    #[test]
    fn contains_finds_keys_in_memory_in_the_spill_and_in_intervals() {
        let mut set = FingerprintSet::new();
        let n = MEMORY_KEYS as u64 + 1000;
        for i in 0..n {
            set.insert(key(i));
        }
        set.insert(int_fingerprint(7));
        assert!(set.spilled.is_some());
        for i in [0, 1, MEMORY_KEYS as u64 - 1, MEMORY_KEYS as u64, n - 1] {
            assert!(set.contains(key(i)).unwrap(), "{i}");
        }
        assert!(set.contains(int_fingerprint(7)).unwrap());
        for i in [n, n + 1, n * 3] {
            assert!(!set.contains(key(i)).unwrap(), "{i}");
        }
        assert!(!set.contains(int_fingerprint(8)).unwrap());
    }

    #[test]
    fn a_duplicate_arriving_exactly_at_the_spill_is_caught() {
        let mut set = FingerprintSet::new();
        for i in 0..MEMORY_KEYS as u64 {
            assert!(set.insert(key(i)));
        }
        assert!(
            !set.insert(key(7)),
            "memory is full; the duplicate triggers no spill"
        );
        assert!(set.insert(key(u64::MAX)), "a new key spills and is kept");
        assert!(!set.insert(key(7)), "now found in the spill file");
    }
}

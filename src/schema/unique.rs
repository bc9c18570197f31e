//! Key bookkeeping for unique fields, the primary key and unique keys: each row's key is
//! reduced to one 128-bit hash, so memory grows with distinct keys, not with their text.

use xxhash_rust::xxh3::xxh3_128_with_seed;

/// What a column contributes to key checks (unique fields, primary key, unique keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyPart {
    /// A missing value, a missing cell or a cell that failed to cast: frictionless' `None`.
    Null,
    /// NaN never equals anything, so a key containing it is never a duplicate.
    NaN,
    Hash(u128),
}

/// The keys seen so far for one check, as 128-bit hashes: 16 bytes per distinct key whatever
/// the text length (collisions are beyond practical reach), in bounded memory (see `fingerprint_set`).
#[derive(Debug)]
pub(super) struct UniqueConstraint {
    pub columns: Vec<usize>,
    pub seen: crate::schema::fingerprint_set::FingerprintSet,
    /// A one-column primary key whose column is also `unique`: the unique check's set answers
    /// for both, and this one stays empty.
    pub shares_unique: bool,
}

/// How a (possibly composite) key reads for one row.
pub(super) enum KeyHash {
    /// Every part is null (frictionless reports this for a primary key).
    AllNull,
    /// The key can never be a duplicate: it holds NaN, or a null in a unique key (Table
    /// Schema treats nulls there as distinct).
    Skip,
    Hash(u128),
}

/// One hash for a composite key, from the per-column parts of the current row.
pub(super) fn key_hash(
    columns: &[usize],
    parts: &[KeyPart],
    seed: u64,
    scratch: &mut Vec<u8>,
    nulls_compare: bool,
) -> KeyHash {
    if columns.iter().all(|&i| parts[i] == KeyPart::Null) {
        return if nulls_compare {
            KeyHash::AllNull
        } else {
            KeyHash::Skip
        };
    }
    // One column: its part is a seeded hash of the value already.
    if let [only] = columns {
        return match parts[*only] {
            KeyPart::Hash(x) => KeyHash::Hash(x),
            _ => KeyHash::Skip,
        };
    }
    scratch.clear();
    for &i in columns {
        match parts[i] {
            KeyPart::NaN => return KeyHash::Skip,
            KeyPart::Null if !nulls_compare => return KeyHash::Skip,
            KeyPart::Null => scratch.push(0),
            KeyPart::Hash(x) => {
                scratch.push(1);
                scratch.extend_from_slice(&x.to_le_bytes());
            }
        }
    }
    KeyHash::Hash(xxh3_128_with_seed(scratch, seed))
}

//! Process-wide memory settings: the allocator's, and SQLite's page pool.

/// Big buffers straight from the kernel: batch and body buffers (a megabyte and more) are
/// reused through pools, so each is mapped once and grows with `mremap`, and a freed one goes
/// back to the system instead of leaving a hole in the heap. With glibc's sliding threshold they
/// came from the heap after the first was freed, and delivery's few bodies in flight left it
/// fragmented (bench/README.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1 << 20;

/// Free memory the heap keeps at its top. Fixing the mmap threshold also fixes this one at its
/// default of 128 KiB, and the few hundred KiB that a compressed payload takes, freed and taken
/// again for every batch, went back to the kernel each time and faulted in again; glibc's
/// sliding default had been twice the largest buffer freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 2 << 20;

/// One malloc arena for all threads, and big buffers mapped on their own. glibc gives each
/// thread that allocates its own arena and lets each keep megabytes of freed batch buffers;
/// with the parsing thread, the outbox writer, two body loaders and the HTTP client each holding some,
/// peak memory rose by a third. One arena costs no speed: threads here allocate per batch, not
/// per row, so they do not contend for it.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets tuning parameters of the allocator; no pointer is involved.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

/// SQLite's heap in this process, beyond which it recycles cached pages rather than grow.
const SQLITE_SOFT_HEAP_LIMIT: i64 = 12 << 20;

/// Bounds SQLite's page caches as a whole. The bundled SQLite shares one page pool among all
/// connections (SQLITE_ENABLE_MEMORY_MANAGEMENT), sized by the sum of their `cache_size` in
/// pages: the fingerprint spill file's many small pages let the log's 64 KiB pages take tens of
/// megabytes. A soft heap limit makes SQLite recycle pages instead.
pub(crate) fn limit_sqlite_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a plain setter of a process-wide limit; callable at any time from any thread.
        unsafe {
            rusqlite::ffi::sqlite3_soft_heap_limit64(SQLITE_SOFT_HEAP_LIMIT);
        }
    });
}

//! Process-wide allocator settings.

/// Big buffers straight from the kernel: batch and body buffers (a megabyte and more) are
/// reused through pools, so each is mapped once and grows with `mremap`, and a freed one goes
/// back to the system instead of leaving a hole in the heap. With glibc's sliding threshold they
/// came from the heap after the first was freed, and delivery's few bodies in flight left it
/// fragmented: 31 MiB peak for a push of 2M rows, 25 MiB with the threshold fixed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1 << 20;

/// Free memory the heap keeps at its top. Fixing the mmap threshold also fixes this one at its
/// default of 128 KiB, and the few hundred KiB that a compressed payload takes, freed and taken
/// again for every batch, went back to the kernel each time and faulted in again (80k page
/// faults a push); glibc's sliding default had been twice the largest buffer freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 2 << 20;

/// One malloc arena for all threads, and big buffers mapped on their own. glibc gives each
/// thread that allocates its own arena and lets each keep megabytes of freed batch buffers;
/// with the stager, the outbox writer, two body loaders and the HTTP client each holding some,
/// peak memory rose by a third (push of 2M rows: 27-31 MiB, 23-26 MiB with one arena, same
/// speed: threads here allocate per batch, not per row, so they do not contend for it).
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets tuning parameters of the allocator; no pointer is involved.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

//! Process-wide allocator settings.

/// One malloc arena for all threads. glibc gives each thread that allocates its own arena and
/// lets each keep megabytes of freed batch buffers; with the stager, the outbox writer, two body
/// loaders and the HTTP client each holding some, peak memory rose by a third (push of 2M rows:
/// 27-31 MiB, 23-26 MiB with one arena, same speed: threads here allocate per batch, not per
/// row, so they do not contend for it).
pub fn use_one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tuning parameter of the allocator; no pointer is involved.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

//! Keeping the resident memory of a loaded model close to its weight bytes.
//!
//! Building a model allocates each weight, then often a transformed copy (transposed, folded,
//! Winograd-transformed) and frees the original. With glibc's default dynamic mmap threshold
//! these multi-megabyte blocks come from the heap, and the freed originals leave holes that
//! raise the peak resident size by ~10 % at MuQ-large size. While a model is built we therefore
//! give every block of 1 MiB or more its own mapping (returned to the system when freed), and
//! afterwards set the threshold to 32 MiB (glibc's own upper bound), so the activations of a
//! forward pass are recycled from the heap instead of being page-faulted in anew.

/// Threshold while building: blocks of at least this size get their own mapping.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const BUILD_MMAP_THRESHOLD_BYTES: i32 = 1 << 20;
/// Threshold afterwards (glibc's `DEFAULT_MMAP_THRESHOLD_MAX` on 64-bit).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const RUN_MMAP_THRESHOLD_BYTES: i32 = 32 << 20;

/// Runs `build` with large allocations mapped individually (glibc only; elsewhere it simply
/// runs `build`). Process-wide and harmless for other threads: it only changes where large
/// blocks come from, not their contents.
pub fn with_mapped_weights<T>(build: impl FnOnce() -> T) -> T {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only adjusts allocator tuning parameters; it is thread-safe in glibc.
        unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, BUILD_MMAP_THRESHOLD_BYTES) };
        let out = build();
        // SAFETY: as above.
        unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, RUN_MMAP_THRESHOLD_BYTES) };
        out
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_builders_value() {
        let v = with_mapped_weights(|| vec![1u8; 4 << 20].len());
        assert_eq!(v, 4 << 20);
    }
}

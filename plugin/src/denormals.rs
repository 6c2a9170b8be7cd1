//! Subnormal numbers on the audio thread.
//!
//! - [`ScopedFlushDenormals`]: while `process()` runs, the CPU flushes subnormal results to
//!   zero and treats subnormal inputs as zero (x86: MXCSR FTZ and DAZ; aarch64: FPCR.FZ),
//!   so hostile input never slows our arithmetic down. The previous state is restored on drop,
//!   so the host's own code sees its own settings.
//! - [`flush_subnormals_to_zero`]: the output. MuQ Live passes audio through, so a subnormal
//!   input sample (|x| < 1.18e-38, ~760 dB below full scale: inaudible) would reach the next
//!   plugin, where it can be slow. Such samples are replaced by a zero of the same sign; every
//!   other sample leaves bit for bit as it came in.

/// FTZ (bit 15) and DAZ (bit 6) of the x86 MXCSR register.
#[cfg(target_arch = "x86_64")]
const MXCSR_FTZ_DAZ: u32 = (1 << 15) | (1 << 6);

/// FZ (bit 24) of the aarch64 FPCR register (flushes subnormal inputs and outputs).
#[cfg(target_arch = "aarch64")]
const FPCR_FZ: u64 = 1 << 24;

/// Sets flush-to-zero and denormals-are-zero for the current thread; restores the previous
/// control register on drop. Must be dropped on the thread that created it.
pub struct ScopedFlushDenormals {
    #[cfg(target_arch = "x86_64")]
    previous: u32,
    #[cfg(target_arch = "aarch64")]
    previous: u64,
    /// Not `Send`: the registers belong to this thread.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl ScopedFlushDenormals {
    /// Enables the flags (no-op on other architectures).
    #[inline]
    pub fn enable() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let mut previous: u32 = 0;
            // SAFETY: stmxcsr/ldmxcsr read and write this thread's SSE control register; setting
            // FTZ/DAZ only changes how subnormals are handled, and the old value is restored.
            unsafe {
                std::arch::asm!("stmxcsr [{}]", in(reg) &mut previous, options(nostack));
                if previous & MXCSR_FTZ_DAZ != MXCSR_FTZ_DAZ {
                    let wanted = previous | MXCSR_FTZ_DAZ;
                    std::arch::asm!("ldmxcsr [{}]", in(reg) &wanted, options(nostack));
                }
            }
            Self {
                previous,
                _not_send: std::marker::PhantomData,
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            let previous: u64;
            // SAFETY: as above for the aarch64 floating-point control register.
            unsafe {
                std::arch::asm!("mrs {}, fpcr", out(reg) previous, options(nomem, nostack));
                if previous & FPCR_FZ == 0 {
                    std::arch::asm!("msr fpcr, {}", in(reg) previous | FPCR_FZ, options(nomem, nostack));
                }
            }
            Self {
                previous,
                _not_send: std::marker::PhantomData,
            }
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            Self {
                _not_send: std::marker::PhantomData,
            }
        }
    }

    /// Whether flush-to-zero and denormals-are-zero are now set on this thread (for tests).
    #[cfg(test)]
    pub fn active() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            let mut mxcsr: u32 = 0;
            // SAFETY: reads this thread's SSE control register.
            unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut mxcsr, options(nostack)) };
            mxcsr & MXCSR_FTZ_DAZ == MXCSR_FTZ_DAZ
        }
        #[cfg(target_arch = "aarch64")]
        {
            let fpcr: u64;
            // SAFETY: reads this thread's floating-point control register.
            unsafe { std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack)) };
            fpcr & FPCR_FZ != 0
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            false
        }
    }
}

impl Drop for ScopedFlushDenormals {
    #[inline]
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: restores the value read in `enable` on the same thread.
        unsafe {
            std::arch::asm!("ldmxcsr [{}]", in(reg) &self.previous, options(nostack));
        }
        #[cfg(target_arch = "aarch64")]
        // SAFETY: as above.
        unsafe {
            std::arch::asm!("msr fpcr, {}", in(reg) self.previous, options(nomem, nostack));
        }
    }
}

/// Replaces subnormal samples by a zero of the same sign (integer tests on the bits, so it
/// works whatever the flags). Returns how many were replaced.
#[inline]
pub fn flush_subnormals_to_zero(samples: &mut [f32]) -> usize {
    const EXPONENT_MASK: u32 = 0x7f80_0000;
    const SIGN_MASK: u32 = 0x8000_0000;
    let mut num_flushed = 0;
    for x in samples.iter_mut() {
        let bits = x.to_bits();
        if bits & EXPONENT_MASK == 0 && bits & !SIGN_MASK != 0 {
            *x = f32::from_bits(bits & SIGN_MASK);
            num_flushed += 1;
        }
    }
    num_flushed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnormals_become_signed_zeros_and_everything_else_is_untouched() {
        let tiny = f32::from_bits(1);
        let mut samples = vec![
            1.0e-40,
            -4.38e-40,
            tiny,
            -tiny,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            0.0,
            -0.0,
            0.5,
            f32::NAN,
            f32::INFINITY,
            -1.5,
        ];
        let before: Vec<u32> = samples.iter().map(|x| x.to_bits()).collect();
        assert_eq!(flush_subnormals_to_zero(&mut samples), 4);
        let after: Vec<u32> = samples.iter().map(|x| x.to_bits()).collect();
        assert_eq!(after[0], 0.0f32.to_bits());
        assert_eq!(after[1], (-0.0f32).to_bits());
        assert_eq!(after[2], 0.0f32.to_bits());
        assert_eq!(after[3], (-0.0f32).to_bits());
        assert_eq!(
            after[4..],
            before[4..],
            "normal numbers, zeros, NaN and Inf are kept"
        );
    }

    #[test]
    fn the_guard_sets_the_flags_and_restores_them() {
        let before = ScopedFlushDenormals::active();
        {
            let _guard = ScopedFlushDenormals::enable();
            if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
                assert!(ScopedFlushDenormals::active());
                // DAZ: a subnormal operand counts as zero.
                let tiny = std::hint::black_box(f32::from_bits(1));
                assert_eq!(std::hint::black_box(tiny * 1.0), 0.0);
            }
        }
        assert_eq!(ScopedFlushDenormals::active(), before, "restored");
    }
}

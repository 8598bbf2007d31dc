//! The calling thread's CPU time, for the dispatcher's cost metric.
//!
//! Wall-clock time around a delivery also counts the time the thread was
//! preempted (on a small machine the writer, sled and request handlers share
//! the cores with the dispatcher), so it overstates what an event costs.
//! CPU time counts only the work. It is a system call (`clock_gettime` has no
//! vDSO fast path for thread clocks), taken twice per batch of events, never
//! per event.

/// Nanoseconds of CPU time the calling thread has used (0 if unavailable).
pub fn thread_nanos() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own; no other memory is touched.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn advances_with_work() {
        let a = super::thread_nanos();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let b = super::thread_nanos();
        assert!(b > a, "{a} -> {b}");
    }
}

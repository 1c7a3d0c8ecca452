//! Memory the process has freed but the C allocator still holds goes back to the OS.
//!
//! glibc's malloc returns freed memory to the OS only from the top of its heaps; pages freed
//! in the middle (SQLite's page cache, once the replica rests, is thousands of 4 KB pieces
//! among other allocations) stay counted against the app until `malloc_trim` hands them back.
//! After the replica has rested this gave back ~9 MB of the desktop app's ~100
//! (`scripts/bench-app`).

/// Hands the allocator's free pages back to the OS; true if any were. Does nothing (false)
/// where the C library is not glibc.
pub fn give_back_free_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim takes a plain integer (the padding to keep at the top of the
        // heap), touches no memory of ours, and is safe to call from any thread at any time:
        // it takes each arena's lock as malloc and free do.
        #[allow(unsafe_code)]
        let released = unsafe { libc::malloc_trim(0) };
        released == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_freed_in_the_middle_of_the_heap_goes_back() {
        // Many small blocks, every other one freed, then all but the last: what is freed lies
        // below a live block, where free() alone does not return it.
        let mut blocks: Vec<Option<Vec<u8>>> = (0..4_000).map(|_| Some(vec![1u8; 4_400])).collect();
        let last = blocks.pop();
        for b in blocks.iter_mut() {
            *b = None;
        }
        let released = give_back_free_memory();
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(released, "some 17 MB were free below a live block");
        } else {
            assert!(!released);
        }
        drop(last);
    }
}

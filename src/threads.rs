//! `dlv_set_num_threads`, `dlv_get_num_threads`: the C face of
//! `dlview_core::copy::parallel` (the thread policy of large copies).

use crate::boundary::*;
use crate::types::*;
use dlview_core::copy::parallel;

/// Sets how many threads large copies, casts, gathers and scatters
/// (`dlv_tensor_index`, `dlv_tensor_index_put`, `dlv_tensor_take`) use from
/// now on (jobs smaller than about 1 MiB of traffic always run on the
/// calling thread):
/// `n` threads, or every core this process may run on for 0. A large copy
/// runs on the calling thread plus up to `n - 1` threads of dlview's own
/// pool (never another library's), so several callers copying at once add
/// at most `n - 1` threads to theirs. Overrides the environment variable
/// `DLVIEW_NUM_THREADS`. The setting is process-wide and may be changed at
/// any time, from any thread; copies already running finish with the
/// threads they started with. Results never depend on it (bit-identical to
/// one thread). Copies in a child process after `fork()` work (the child
/// starts its own threads). Statuses: INVALID_ARGUMENT (`n` negative or
/// above 1024).
#[unsafe(no_mangle)]
pub extern "C-unwind" fn dlv_set_num_threads(n: i32) -> dlv_status {
    ffi_call(|| {
        let n = usize::try_from(n).map_err(|_| {
            invalid!(
                "the number of threads must be between 0 (all cores) and {}, not {n}",
                parallel::MAX_THREADS
            )
        })?;
        parallel::set_num_threads(n)
    })
}

/// The number of threads large copies use (at least 1): the last
/// `dlv_set_num_threads` value (0 resolved to the number of cores), else
/// `DLVIEW_NUM_THREADS`, read once, at the first call that needs it (an
/// integer from 0, all cores, to 1024; any other value is ignored), else
/// every core this process may run on (its CPU affinity and quota). Never
/// fails.
#[unsafe(no_mangle)]
pub extern "C-unwind" fn dlv_get_num_threads() -> i32 {
    ffi_value(1, || {
        i32::try_from(parallel::num_threads()).unwrap_or(parallel::MAX_THREADS as i32)
    })
}

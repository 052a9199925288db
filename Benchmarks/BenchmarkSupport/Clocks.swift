// The benchmarks' clocks: monotonic wall time and the process's CPU time, in seconds.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Seconds on the monotonic clock (CLOCK_MONOTONIC): differences only, never a date.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// CPU time of the whole process (user + system, every thread: a stream's window-ahead and verify-ahead threads
/// count): on a shared, oversubscribed machine wall time mostly measures the other processes, so throughput is
/// reported per CPU-second too.
public func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Wall seconds `work` takes (DispatchTime, nanoseconds since boot).
public func seconds(_ work: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try work()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

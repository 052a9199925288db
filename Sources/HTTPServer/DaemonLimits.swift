// HTTPServerConfiguration's limits as libmicrohttpd takes them, fitted to the process's file-descriptor limit.

import CMicroHTTPD
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

enum FileDescriptorLimit {
    /// Raises the soft RLIMIT_NOFILE to the hard one (a default soft limit of 1,024 would refuse a 10,000-connection
    /// flood at accept) and returns the soft limit in effect.
    static func raiseSoftToHard() -> Int {
        var limit = rlimit()
        #if canImport(Glibc)
            let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
            let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0 else { return 1_024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }
}

/// The configured limits, each at least 1 where 0 would mean something else, and the connection limit lowered so
/// that connections leave `reservedFileDescriptors` for the rest of the process.
func daemonLimits(_ configuration: HTTPServerConfiguration, fileDescriptorLimit: Int) -> cmhd_limits {
    let available = max(1, fileDescriptorLimit - HTTPServerConfiguration.reservedFileDescriptors)
    let connections = min(max(1, configuration.connectionLimit), available)
    return cmhd_limits(
        connection_limit: UInt32(clamping: connections),
        per_address_connection_limit: UInt32(clamping: max(0, configuration.perAddressConnectionLimit)),
        // 0 would mean "never time out" to libmicrohttpd.
        connection_timeout_seconds: UInt32(clamping: max(1, configuration.idleConnectionTimeoutSeconds)),
        event_thread_count: UInt32(clamping: max(1, configuration.eventThreadCount)),
        listen_backlog: UInt32(HTTPServerConfiguration.listenBacklog))
}

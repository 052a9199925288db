// The defaults of HTTPServerConfiguration's limits, defined once; `opsctl serve` shows them in its help.

extension HTTPServerConfiguration {
    /// 16,384: a 10,000-connection flood plus 6,000 real clients, within a 20,000 file-descriptor limit.
    public static let defaultConnectionLimit = 16_384
    /// 1,024 per client address (the old server's limit for all addresses together).
    public static let defaultPerAddressConnectionLimit = 1_024
    /// 30 s: a worker polls every few seconds, so its keep-alive connection stays open; a connection that sent
    /// nothing (or half a header) for 30 s is closed. A long-poll holds no timer (its connection is suspended).
    public static let defaultIdleConnectionTimeoutSeconds = 30
    /// 4 event-loop threads: they only move bytes (handlers run elsewhere), ~2 per core on the 2-core CI machine.
    public static let defaultEventThreadCount = 4
    /// 1 s: a stalled event thread (`EventThreadWaker`) reads its waiting requests within a second, far inside the
    /// 30 s idle timeout that would otherwise close them; a wake costs one socket pair per event thread.
    public static let defaultEventThreadWakeIntervalSeconds = 1.0
    /// 4,096 handlers at once: four times the old thread-per-connection cap, so 4,096 workers can long-poll and a
    /// health probe still gets a thread. Each costs a thread stack (mostly untouched virtual memory).
    public static let defaultHandlerThreadLimit = 4_096
    /// The kernel caps the listen backlog at net.core.somaxconn (4,096 on current kernels); a flood of new
    /// connections waits there instead of being reset.
    static let listenBacklog = 4_096
    /// File descriptors kept free of connections for the process's own use (database, spooled bodies, blobs, logs).
    static let reservedFileDescriptors = 512
}

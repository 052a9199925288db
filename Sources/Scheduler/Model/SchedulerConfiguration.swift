// Knobs of the scheduling policy. Defaults are what the control plane runs with.

public struct SchedulerConfiguration: Hashable, Sendable, Codable {
    /// Seconds a preempted task gets to checkpoint before its resources are taken back.
    public var preemptionGracePeriodSeconds: Double
    public var preemptionEnabled: Bool
    /// Preemption searches scan every worker; this bounds how many blocked jobs may try one per pass.
    public var maxPreemptionAttemptsPerPass: Int
    /// How many blocked gangs may hold workers back from backfill at once (held plus new).
    public var maxReservations: Int
    /// The same for blocked single-worker tasks (a big task behind a stream of small ones). Counted apart, so
    /// that small blocked jobs ahead in line never use up the gangs' reservations.
    public var maxTaskReservations: Int
    /// Try workers caching a job's wanted shards before any other.
    public var localityEnabled: Bool
    /// Which eligible victims go first; the one default of the control plane, the simulation and the benchmark.
    public var victimPolicy: VictimPolicy

    public init(
        preemptionGracePeriodSeconds: Double = 30, preemptionEnabled: Bool = true,
        maxPreemptionAttemptsPerPass: Int = 16,
        maxReservations: Int = 8, maxTaskReservations: Int = 4, localityEnabled: Bool = true,
        victimPolicy: VictimPolicy = .checkpointAware
    ) {
        self.preemptionGracePeriodSeconds = preemptionGracePeriodSeconds
        self.preemptionEnabled = preemptionEnabled
        self.maxPreemptionAttemptsPerPass = maxPreemptionAttemptsPerPass
        self.maxReservations = maxReservations
        self.maxTaskReservations = maxTaskReservations
        self.localityEnabled = localityEnabled
        self.victimPolicy = victimPolicy
    }
}

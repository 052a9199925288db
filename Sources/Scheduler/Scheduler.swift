// The scheduler: pure placement logic. No database, network or clock inside; the control plane builds a
// `ClusterSnapshot`, calls `schedule(_:)`, and commits the returned decisions in one transaction.
import ClusterModel

public struct Scheduler: Sendable {
    public var configuration: SchedulerConfiguration

    public init(configuration: SchedulerConfiguration = SchedulerConfiguration()) {
        self.configuration = configuration
    }

    /// One scheduling pass. Deterministic: the same snapshot always yields the same decisions.
    public func schedule(_ snapshot: ClusterSnapshot) -> SchedulingDecisions {
        let pass = SchedulingPass(snapshot: snapshot, configuration: configuration)
        return pass.run()
    }
}

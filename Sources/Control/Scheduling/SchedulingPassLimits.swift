/// How much of the queue one scheduling pass reads. A pass holds its transaction (and, at its commit, the row
/// locks of the workers it places onto, which claims wait for) while the scheduler decides in Swift, so what it
/// reads must not grow with the queue: at 1,000,000 queued tasks an unbounded pass held its transaction for over
/// 9 minutes. The jobs are the oldest with unplaced queued tasks; each brings its first tasks by index, and a
/// gang all its members (at most `JobManifestValidator.maxReplicas`, 4,096), so a gang is never seen in part.
/// A pass thus reads at most `jobs × tasksPerJob` tasks (65,536) plus the excess of gangs; what it does not read
/// waits for the next pass, which every placement, claim and completion triggers.
public struct SchedulingPassLimits: Sendable, Equatable {
    /// Jobs with unplaced tasks read per pass, oldest first. Beyond it, newer jobs (of any priority) wait until
    /// older ones are placed.
    public var jobs: Int
    /// Unplaced tasks read of each job (a gang: at least all its members). More than the cluster can take in
    /// one pass in the clusters we run (a worker takes tens of tasks), so a deep job is placed at full speed.
    public var tasksPerJob: Int

    public init(jobs: Int, tasksPerJob: Int) {
        precondition(jobs >= 1 && tasksPerJob >= 1, "a pass reads at least one task of one job")
        self.jobs = jobs
        self.tasksPerJob = tasksPerJob
    }

    public static let standard = SchedulingPassLimits(jobs: 512, tasksPerJob: 128)
}

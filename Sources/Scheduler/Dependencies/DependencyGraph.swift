// `after:` edges between jobs. A job waiting on dependencies is released when all of them succeeded; when one
// fails or is cancelled, the job is failed or cancelled by its own policy, and that propagates down the graph in
// one evaluation. Cycles are found (Tarjan) and reported; their members can never run.
import ClusterModel

public enum DependencyFailurePolicy: String, Hashable, Sendable, Codable {
    /// A failed dependency fails this job.
    case fail
    /// A failed dependency cancels this job.
    case cancel
}

public struct DependencyNode: Hashable, Sendable {
    public var job: JobID
    public var state: JobState
    /// True while the job is blocked on its dependencies (not yet released).
    public var isWaitingOnDependencies: Bool
    public var dependsOn: [JobID]
    public var onDependencyFailure: DependencyFailurePolicy

    public init(job: JobID, state: JobState, isWaitingOnDependencies: Bool, dependsOn: [JobID],
                onDependencyFailure: DependencyFailurePolicy = .fail) {
        self.job = job
        self.state = state
        self.isWaitingOnDependencies = isWaitingOnDependencies
        self.dependsOn = dependsOn
        self.onDependencyFailure = onDependencyFailure
    }
}

public enum DependencyVerdict: Hashable, Sendable {
    case release
    case fail(because: DependencyProblem)
    case cancel(because: DependencyProblem)
}

public enum DependencyProblem: Hashable, Sendable, CustomStringConvertible {
    case dependencyFailed(JobID, JobState)
    case unknownDependency(JobID)
    case cycle([JobID])

    public var description: String {
        switch self {
        case .dependencyFailed(let job, let state): return "dependency job \(job) \(state.rawValue)"
        case .unknownDependency(let job): return "dependency job \(job) does not exist"
        case .cycle(let jobs): return "dependency cycle: " + jobs.map(\.description).joined(separator: " -> ")
        }
    }
}

public struct DependencyResolution: Hashable, Sendable {
    /// Every waiting job that must change state now, in job-id order.
    public var verdicts: [JobID: DependencyVerdict] = [:]
    /// Each cycle once, members in job-id order, cycles ordered by their smallest member.
    public var cycles: [[JobID]] = []

    public var released: [JobID] { verdicts.filter { $0.value == .release }.map(\.key).sorted() }
    public var failed: [JobID] {
        verdicts.filter { if case .fail = $0.value { return true } else { return false } }.map(\.key).sorted()
    }
    public var cancelled: [JobID] {
        verdicts.filter { if case .cancel = $0.value { return true } else { return false } }.map(\.key).sorted()
    }
}

public struct DependencyGraph: Sendable {
    public let nodes: [DependencyNode]
    private let slot: [JobID: Int]

    public init(nodes: [DependencyNode]) {
        self.nodes = nodes
        var slot: [JobID: Int] = [:]
        for (i, n) in nodes.enumerated() { slot[n.job] = i }
        self.slot = slot
    }

    /// Strongly connected components with more than one member, or a self-edge.
    public func cycles() -> [[JobID]] {
        var indexOf = [Int](repeating: -1, count: nodes.count)
        var low = [Int](repeating: 0, count: nodes.count)
        var onStack = [Bool](repeating: false, count: nodes.count)
        var stack: [Int] = []
        var counter = 0
        var found: [[JobID]] = []
        // Iterative Tarjan: deep chains of dependencies must not overflow the call stack.
        for root in nodes.indices where indexOf[root] < 0 {
            var work: [(node: Int, edge: Int)] = [(root, 0)]
            indexOf[root] = counter; low[root] = counter; counter += 1
            stack.append(root); onStack[root] = true
            while let (v, e) = work.last {
                let edges = nodes[v].dependsOn
                if e < edges.count {
                    work[work.count - 1].edge += 1
                    guard let w = slot[edges[e]] else { continue }
                    if indexOf[w] < 0 {
                        indexOf[w] = counter; low[w] = counter; counter += 1
                        stack.append(w); onStack[w] = true
                        work.append((w, 0))
                    } else if onStack[w] {
                        low[v] = min(low[v], indexOf[w])
                    }
                    continue
                }
                work.removeLast()
                if let parent = work.last { low[parent.node] = min(low[parent.node], low[v]) }
                if low[v] == indexOf[v] {
                    var component: [Int] = []
                    while true {
                        let w = stack.removeLast()
                        onStack[w] = false
                        component.append(w)
                        if w == v { break }
                    }
                    let selfEdge = component.count == 1 && nodes[v].dependsOn.contains(nodes[v].job)
                    if component.count > 1 || selfEdge { found.append(component.map { nodes[$0].job }.sorted()) }
                }
            }
        }
        return found.sorted { $0[0] < $1[0] }
    }

    /// Would adding `job after: dependencies` close a cycle? For rejecting a submission up front.
    public func wouldCreateCycle(job: JobID, dependsOn dependencies: [JobID]) -> Bool {
        var seen = Set<JobID>()
        var frontier = dependencies
        while let next = frontier.popLast() {
            if next == job { return true }
            guard seen.insert(next).inserted, let i = slot[next] else { continue }
            frontier += nodes[i].dependsOn
        }
        return false
    }

    /// What must happen to waiting jobs now. Failures propagate: a job failed or cancelled here counts as failed
    /// for its own dependents in the same evaluation.
    public func resolve() -> DependencyResolution {
        var resolution = DependencyResolution()
        resolution.cycles = cycles()
        var inCycle: [JobID: [JobID]] = [:]
        for cycle in resolution.cycles { for job in cycle { inCycle[job] = cycle } }
        // Dependencies before dependents: an iterative post-order walk (no recursion, so a long chain cannot
        // overflow a small thread stack). Edges back into a cycle are skipped; cycle members fail anyway.
        var order: [Int] = []
        order.reserveCapacity(nodes.count)
        var mark = [UInt8](repeating: 0, count: nodes.count)  // 0 new, 1 on the walk, 2 done
        for root in nodes.indices where mark[root] == 0 {
            var walk: [(node: Int, edge: Int)] = [(root, 0)]
            mark[root] = 1
            while let (v, e) = walk.last {
                let edges = nodes[v].dependsOn
                if e < edges.count {
                    walk[walk.count - 1].edge += 1
                    if let w = slot[edges[e]], mark[w] == 0 {
                        mark[w] = 1
                        walk.append((w, 0))
                    }
                    continue
                }
                walk.removeLast()
                mark[v] = 2
                order.append(v)
            }
        }
        // Effective state: the stored state, or the verdict reached in this evaluation.
        var effective = [JobState?](repeating: nil, count: nodes.count)
        for i in order {
            let node = nodes[i]
            guard node.isWaitingOnDependencies, !node.state.isTerminal else { effective[i] = node.state; continue }
            var problem: DependencyProblem? = inCycle[node.job].map { .cycle($0) }
            var allSucceeded = true
            for dependency in node.dependsOn where problem == nil {
                guard let d = slot[dependency] else { problem = .unknownDependency(dependency); break }
                switch effective[d] ?? .pending {
                case .succeeded: continue
                case .failed: problem = .dependencyFailed(dependency, .failed)
                case .cancelled: problem = .dependencyFailed(dependency, .cancelled)
                default: allSucceeded = false
                }
            }
            if let problem {
                let fails = node.onDependencyFailure == .fail
                resolution.verdicts[node.job] = fails ? .fail(because: problem) : .cancel(because: problem)
                effective[i] = fails ? .failed : .cancelled
            } else {
                if allSucceeded { resolution.verdicts[node.job] = .release }
                effective[i] = .pending
            }
        }
        return resolution
    }
}

import ClusterModel
import Foundation
import Scheduler
import Spawn

/// The Slurm client commands the pool autoscaler runs, as `Spawn` children: each with a timeout, its
/// output read whole, failures as `SlurmCommandError`. `environment` is what the commands see (the control
/// plane's own, plus `SLURM_CONF` when configured); the join token reaches the workers only through `sbatch
/// --export`, never its command line.
struct SlurmCommands: Sendable {
    /// Slurm's client commands answer in milliseconds; 30 s covers a slurmctld busy with a scheduling cycle.
    static let timeoutSeconds = 30.0
    /// `squeue` lines read per pool: beyond `WorkerPoolSpec.maxNodesLimit` jobs of one pool something is wrong.
    static let maxListedJobs = WorkerPoolSpec.maxNodesLimit

    var environment: [String: String]

    /// The Slurm job name of every job of pool `name`: how `squeue` finds them again, also after a leader change.
    static func jobName(pool name: String) -> String { "llmops-\(name)" }

    /// `sbatch --parsable` of `script` for `nodes` nodes of `pool`; returns Slurm's job id.
    func submit(_ pool: WorkerPoolSpec, nodes: Int, joinToken: String) throws(SlurmCommandError) -> String {
        precondition(nodes > 0 && nodes <= pool.maxNodes, "a Slurm job of \(nodes) nodes for pool \(pool.name)")
        var environment = environment
        environment["OPS_JOIN_TOKEN"] = joinToken
        let output = try run(
            "sbatch", SlurmBatchScript.sbatchArguments(pool, nodes: nodes), input: SlurmBatchScript.script(pool),
            environment: environment)
        // `--parsable` prints `id` or `id;cluster`.
        let id = String(output.split(separator: ";").first ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw .unreadableOutput(command: "sbatch", output: output)
        }
        return id
    }

    /// The pool's jobs `squeue` lists (queued, configuring or running); jobs completing are leaving and not listed.
    func queue(_ pool: WorkerPoolSpec) throws(SlurmCommandError) -> [PoolSlurmJob] {
        let output = try run(
            "squeue",
            [
                "--noheader", "--name=\(Self.jobName(pool: pool.name))", "--states=PENDING,CONFIGURING,RUNNING",
                "--format=%i|%T|%D",
            ],
            input: nil, environment: environment)
        var jobs: [PoolSlurmJob] = []
        for line in output.split(separator: "\n").prefix(Self.maxListedJobs) {
            let fields = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 3, let nodes = Int(fields[2]), nodes > 0 else {
                throw .unreadableOutput(command: "squeue", output: String(line))
            }
            jobs.append(PoolSlurmJob(id: fields[0], nodes: nodes, state: fields[1] == "RUNNING" ? .running : .pending))
        }
        return jobs
    }

    /// `scancel ID`: Slurm signals the job's workers (SIGTERM, then SIGKILL after its KillWait); a worker
    /// holding a task hands it back.
    func cancel(_ slurmJob: String) throws(SlurmCommandError) {
        precondition(slurmJob.allSatisfy(\.isNumber), "a Slurm job id: \(slurmJob)")
        _ = try run("scancel", [slurmJob], input: nil, environment: environment)
    }

    /// Runs `program` found on `PATH` with `arguments`; its standard output. `input`, when given, is written to a
    /// file in the command's scratch directory whose path is appended as the last argument (how `sbatch` reads a
    /// batch script); the child's standard input is /dev/null.
    private func run(_ program: String, _ arguments: [String], input: String?, environment: [String: String])
        throws(SlurmCommandError) -> String
    {
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        guard
            let executable = path.split(separator: ":").map({ "\($0)/\(program)" }).first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else { throw .notInstalled(program: program, path: path) }
        let command = ([program] + arguments).joined(separator: " ")
        // Output goes to files, not pipes: nothing has to drain them while the command runs, so a chatty command
        // cannot block on a full pipe. Spawn, not Foundation's Process: the control plane's other threads open
        // sockets and pipes all the time, and a child must not inherit them (Sources/Spawn).
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("llmops-slurm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outPath = scratch.appendingPathComponent("out").path
        let errPath = scratch.appendingPathComponent("err").path
        let child: SpawnedChild
        do {
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            var arguments = arguments
            if let input {
                let scriptPath = scratch.appendingPathComponent("input").path
                try Data(input.utf8).write(to: URL(fileURLWithPath: scriptPath))
                arguments.append(scriptPath)
            }
            child = try SpawnedChild.start(
                ChildSpec(
                    executable: executable, arguments: arguments, environment: environment,
                    output: .files(standardOutput: outPath, standardError: errPath)))
        } catch {
            throw .failed(command: command, status: -1, standardError: "\(error)")
        }
        guard let exit = child.waitForExit(timeoutSeconds: Self.timeoutSeconds) else {
            child.terminate(graceSeconds: 2)
            _ = child.waitForExit(timeoutSeconds: 5)
            throw .timedOut(command: command, seconds: Self.timeoutSeconds)
        }
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        guard exit == .exited(status: 0) else {
            throw .failed(
                command: command, status: exit.shellStatus,
                standardError: read(errPath).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return read(outPath)
    }
}

// What the pool autoscaler hands `sbatch` (docs/worker-pools.md): the options from the pool's definition and the
// batch script, checked exactly, and the script run by a real shell to see the worker's command line it builds.
import ClusterModel
import Foundation
import XCTest

@testable import Control

final class SlurmBatchScriptTests: XCTestCase {
    static let pool = WorkerPoolSpec(
        name: "h100",
        slurm: SlurmPoolSettings(
            partition: "gpu", account: "research", timeLimitMinutes: 720, gres: ["gpu-h100": "gpu:h100"],
            outputDirectory: "/shared/logs"),
        maxNodes: 16, idleTimeoutSeconds: 600,
        nodeResources: Resources(cpuMillis: 95_500, memoryBytes: 1536 << 30, accelerators: ["gpu-h100": 8]),
        worker: PoolWorkerCommand(
            command: ["/usr/local/bin/opsctl", "worker", "--server", "https://cp:8443"], labels: ["site": "it's"]))

    func testSbatchOptionsComeFromThePoolDefinition() {
        XCTAssertEqual(
            SlurmBatchScript.sbatchArguments(Self.pool, nodes: 4),
            [
                "--parsable", "--job-name=llmops-h100", "--nodes=4", "--ntasks-per-node=1", "--partition=gpu",
                "--time=720", "--cpus-per-task=96", "--mem=1572864M", "--no-requeue",
                "--output=/shared/logs/llmops-h100-%j.out", "--export=PATH,OPS_JOIN_TOKEN", "--account=research",
                "--gres=gpu:h100:8",
            ])
    }

    /// The script's `srun` line, run by bash with `srun` replaced by a stub that prints its arguments: the worker
    /// gets the node's resources, the pool's labels (quoted safely) and its Slurm job's name and label.
    func testTheBatchScriptStartsTheWorkerWithItsNameResourcesAndLabels() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sbatch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // The stub drops srun's own options and runs the rest, as srun runs it on each node.
        let stub = "#!/bin/bash\nwhile [[ $1 == --* ]]; do shift; done\nexec \"$@\"\n"
        FileManager.default.createFile(
            atPath: directory.appendingPathComponent("srun").path, contents: Data(stub.utf8),
            attributes: [.posixPermissions: 0o755])
        var pool = Self.pool
        pool.worker.command = ["/usr/bin/printf", "%s\\n"]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", SlurmBatchScript.script(pool)]
        process.environment = [
            "PATH": directory.path + ":/usr/bin:/bin", "SLURM_JOB_ID": "42", "SLURMD_NODENAME": "n7",
        ]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(
            printed.split(separator: "\n").map(String.init),
            [
                "--cpus", "95500m", "--memory", "\(1536 << 30)", "--accelerator", "gpu-h100=8", "--label", "site=it's",
                "--label", "slurm-pool=h100", "--name", "slurm-42-n7", "--label", "slurm-job=42",
            ])
    }
}

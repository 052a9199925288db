// `kind: WorkerPool` documents (issue 19; docs/worker-pools.md): the example parses into the spec the autoscaler
// uses, and each mistake is named with its field and what was expected.
import APITypes
import ClusterModel
import XCTest

final class WorkerPoolManifestTests: XCTestCase {
    func testTheExampleParsesIntoItsSpec() throws {
        let pipeline = try ManifestParser.parse(
            contentsOfFile: ManifestExampleTests.examples.appendingPathComponent("worker-pool.yaml").path)
        XCTAssertEqual(pipeline.jobs, [])
        let pool = try XCTUnwrap(pipeline.pools.first)
        XCTAssertEqual(pool.name, "h100")
        XCTAssertEqual(pool.provider, .slurm)
        XCTAssertEqual(pool.slurm.partition, "gpu")
        XCTAssertEqual(pool.slurm.account, "research")
        XCTAssertEqual(pool.slurm.timeLimitMinutes, 720)
        XCTAssertEqual(pool.slurm.gres, ["gpu-h100": "gpu:h100"])
        XCTAssertEqual(pool.minNodes, 0)
        XCTAssertEqual(pool.maxNodes, 16)
        XCTAssertEqual(pool.idleTimeoutSeconds, 600)
        XCTAssertEqual(
            pool.nodeResources, Resources(cpuMillis: 96_000, memoryBytes: 1536 << 30, accelerators: ["gpu-h100": 8]))
        XCTAssertEqual(pool.worker.command.first, "/usr/local/bin/opsctl")
        XCTAssertEqual(pool.workerLabels, ["site": "hpc", "slurm-pool": "h100"])
    }

    func testMistakesAreNamedWithTheirFields() {
        let text = """
            apiVersion: llmops/v1
            kind: WorkerPool
            metadata: {name: Bad_Name}
            spec:
              provider: kubernetes
              slurm: {partition: "a b", timeLimitMinutes: 0}
              minNodes: 5
              maxNodes: 2
              resources: {cpu: 0, accelerators: [{type: gpu, count: 1}]}
              worker: {command: [], labels: {slurm-job: "1"}}
            """
        XCTAssertThrowsError(try ManifestParser.parsePipeline(text: text, fileName: "p.yaml")) { error in
            let lines = (error as? ManifestError)?.problems.map(\.description) ?? []
            for expected in [
                "p.yaml:3: metadata.name: expected a DNS label",
                "p.yaml:5: spec.provider: expected one of \"slurm\", got \"kubernetes\"",
                "spec.slurm.partition: expected a Slurm name",
                "spec.slurm.timeLimitMinutes: expected an integer between 1 and 525600, got 0",
                "spec.slurm.gres: expected the Slurm gres name of accelerator type \"gpu\"",
                "spec.minNodes: expected at most maxNodes (2), got 5",
                "spec.resources.cpu: expected a CPU quantity > 0",
                "spec.resources.memory: expected a memory quantity > 0",
                "spec.worker.command: expected 1 to 256 arguments",
                "spec.worker.labels.slurm-job: expected a label key",
            ] {
                XCTAssertTrue(
                    lines.contains { $0.contains(expected) }, "no \(expected) in:\n\(lines.joined(separator: "\n"))")
            }
        }
    }

    func testAPoolDefinedTwiceInOneFileIsRefused() {
        let one = """
            apiVersion: llmops/v1
            kind: WorkerPool
            metadata: {name: cpu}
            spec:
              provider: slurm
              slurm: {partition: ops, timeLimitMinutes: 60}
              maxNodes: 2
              resources: {cpu: 2, memory: 1Gi}
              worker: {command: [opsctl, worker]}
            """
        XCTAssertThrowsError(try ManifestParser.parsePipeline(text: one + "\n---\n" + one, fileName: "p.yaml")) {
            XCTAssertTrue("\($0)".contains("duplicate worker pool name \"cpu\""), "\($0)")
        }
        XCTAssertEqual(try ManifestParser.parsePipeline(text: one).pools.first?.idleTimeoutSeconds, 300)
    }
}

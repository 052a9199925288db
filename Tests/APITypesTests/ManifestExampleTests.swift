import APITypes
import ClusterModel
import Foundation
import XCTest

/// The manifests under manifests/examples parse as documented; those under bad/ fail with exactly the
/// messages in their `.errors` files.
final class ManifestExampleTests: XCTestCase {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("manifests/examples")

    func testSleepExample() throws {
        let pipeline = try ManifestParser.parse(contentsOfFile: Self.examples.appendingPathComponent("sleep.yaml").path)
        XCTAssertEqual(pipeline.jobs.count, 1)
        let job = pipeline.jobs[0]
        XCTAssertEqual(job.name, "sleep-two-seconds")
        XCTAssertEqual(job.metadata.labels, ["team": "platform"])
        XCTAssertEqual(job.spec.type, "sleep")
        XCTAssertEqual(job.spec.tasks, 4)
        XCTAssertEqual(job.spec.replicas, 1)
        XCTAssertEqual(job.spec.resources, Resources(cpuMillis: 500, memoryBytes: 64 << 20))
        XCTAssertEqual(job.spec.queue, "default")
        XCTAssertEqual(job.spec.retry, RetryPolicy())
        XCTAssertEqual(job.spec.settings?["seconds"], .int(2))
        struct SleepSettings: Decodable { var seconds: Double }
        XCTAssertEqual(try job.spec.settings?.decode(SleepSettings.self).seconds, 2)
    }

    func testPipelineExample() throws {
        let pipeline = try ManifestParser.parse(
            contentsOfFile: Self.examples.appendingPathComponent("pipeline.yaml").path)
        XCTAssertEqual(pipeline.jobs.map(\.name), ["prepare", "train", "report"])
        XCTAssertEqual(pipeline.externalDependencies, [])
        let train = pipeline.jobs[1]
        XCTAssertEqual(train.spec.after, ["prepare"])
        XCTAssertEqual(train.spec.priority, 10)
        XCTAssertEqual(train.spec.queue, "research")
        XCTAssertEqual(train.spec.retry, RetryPolicy(maxAttempts: 5, initialBackoffSeconds: 2, maxBackoffSeconds: 60))
        XCTAssertEqual(train.spec.resources, Resources(cpuMillis: 1000, memoryBytes: 256 << 20))
        XCTAssertEqual(pipeline.jobs[2].spec.after, ["prepare", "train"])
        XCTAssertEqual(pipeline.jobs[2].spec.onDependencyFailure, .cancel)
        XCTAssertEqual(
            pipeline.jobs[0].spec.settings?["command"],
            .array([.string("sh"), .string("-c"), .string("echo preparing data")]))
    }

    func testGangExample() throws {
        let job = try XCTUnwrap(
            ManifestParser.parse(contentsOfFile: Self.examples.appendingPathComponent("gang.yaml").path).jobs.first)
        XCTAssertEqual(job.spec.replicas, 4)
        XCTAssertEqual(
            job.spec.resources, Resources(cpuMillis: 16_000, memoryBytes: 128 << 30, accelerators: ["gpu-h100": 8]))
        XCTAssertEqual(job.spec.nodeSelector, ["zone": "a"])
        XCTAssertEqual(job.spec.affinity, ["pool": "reserved"])
        XCTAssertEqual(job.spec.packBy, "rack")
        XCTAssertEqual(job.spec.retry.maxAttempts, 2)
    }

    func testBadManifestsReportExactlyTheExpectedProblems() throws {
        let bad = Self.examples.appendingPathComponent("bad")
        let files = try FileManager.default.contentsOfDirectory(atPath: bad.path).filter { $0.hasSuffix(".yaml") }
            .sorted()
        XCTAssertGreaterThanOrEqual(files.count, 5)
        for file in files {
            let expectedFile = bad.appendingPathComponent(file.replacingOccurrences(of: ".yaml", with: ".errors"))
            let expected = try String(contentsOf: expectedFile, encoding: .utf8).split(separator: "\n").map(String.init)
            do {
                let pipeline = try ManifestParser.parse(contentsOfFile: bad.appendingPathComponent(file).path)
                XCTFail("\(file) should be rejected, parsed \(pipeline.jobs.map(\.name))")
            } catch {
                XCTAssertEqual(error.problems.map(\.description), expected, file)
            }
        }
    }
}

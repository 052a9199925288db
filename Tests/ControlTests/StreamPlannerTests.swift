import APITypes
import DataShards
import Foundation
import TestSupport
import XCTest

@testable import Control

/// The stream/verify planner (slices, resolution, verify split) and the kinds' validators.
final class StreamPlannerTests: XCTestCase {
    private var root: TemporaryDirectory!

    override func setUpWithError() throws { root = try TemporaryDirectory.make(prefix: "stream-planner-") }
    override func tearDown() { root?.remove() }

    private func manifest(_ settings: String, type: String = "stream", extra: String = "") throws -> JobManifest {
        let text = """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: mix}
            spec:
              type: \(type)
            \(extra.isEmpty ? "" : "  " + extra + "\n")  \(type):
            \(settings.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            """
        return try ManifestParser.parse(text: text, fileName: "t.yaml")[0]
    }

    private func problems(_ settings: String, type: String = "stream", extra: String = "") -> [String] {
        do {
            _ = try manifest(settings, type: type, extra: extra)
            return []
        } catch let error as ManifestError {
            return error.problems.map { "\($0.path): \($0.message)" }
        } catch {
            return ["\(error)"]
        }
    }

    // MARK: Validator

    func testValidManifestsPass() {
        XCTAssertEqual(
            problems(
                """
                inputs: [{dataset: web, weight: 0.7}, {location: /data/code, weight: 0.3}]
                sequenceLength: 1024
                seed: 3
                samples: 100000
                samplesPerShard: 4096
                output: {dataset: mix-v1, location: /data/tokens}
                """), [])
        XCTAssertEqual(
            problems(
                "inputs: [{location: 'http://127.0.0.1:9/web'}]\nsequenceLength: 8\ntokens: 1000\noutput: {dataset: m, location: /o}"
            ), [])
        XCTAssertEqual(problems("mode: verify\ndataset: web\nshardsPerTask: 2"), [])
        XCTAssertEqual(problems("dataset: web", type: "verify"), [])
        XCTAssertEqual(problems("location: /data/web", type: "verify"), [])
    }

    func testBadSettingsAreNamedByField() {
        let p = problems(
            """
            inputs: [{dataset: web, location: /x, weight: 0}, {weigth: 1}, {location: relative/dir}]
            sequenceLength: 0
            samples: 10
            tokens: 100
            output: {dataset: "bad name", location: rel}
            bogus: 1
            """)
        let joined = p.joined(separator: "\n")
        XCTAssertTrue(
            p.contains { $0.hasPrefix("spec.stream.inputs[0]:") && $0.contains("exactly one of dataset") }, joined)
        XCTAssertTrue(p.contains { $0.hasPrefix("spec.stream.inputs[0].weight:") }, joined)
        XCTAssertTrue(
            p.contains { $0.hasPrefix("spec.stream.inputs[1].weigth:") && $0.contains("did you mean \"weight\"") },
            joined)
        XCTAssertTrue(p.contains { $0.hasPrefix("spec.stream.inputs[2].location:") }, joined)
        XCTAssertTrue(p.contains { $0.hasPrefix("spec.stream.sequenceLength:") }, joined)
        XCTAssertTrue(p.contains { $0.hasPrefix("spec.stream:") && $0.contains("exactly one of samples") }, joined)
        XCTAssertTrue(p.contains { $0.hasPrefix("spec.stream.output.dataset:") }, joined)
        XCTAssertTrue(p.contains { $0.hasPrefix("spec.stream.output.location:") }, joined)
        XCTAssertTrue(p.contains { $0.hasPrefix("spec.stream.bogus:") }, joined)

        XCTAssertTrue(
            problems("sequenceLength: 8\nsamples: 1\noutput: {dataset: m, location: /o}").contains {
                $0.hasPrefix("spec.stream.inputs:") && $0.contains("missing")
            })
        XCTAssertTrue(
            problems("inputs: []\nsequenceLength: 8\nsamples: 1\noutput: {dataset: m, location: /o}").contains {
                $0.contains("empty list")
            })
        XCTAssertTrue(
            problems(
                "inputs: [{dataset: w}]\nsequenceLength: 8\nsamples: 100000000\nsamplesPerShard: 1\noutput: {dataset: m, location: /o}"
            )
            .contains { $0.hasPrefix("spec.stream.samplesPerShard:") && $0.contains("at most 10000") })
        XCTAssertTrue(
            problems(
                "inputs: [{dataset: w}]\nsequenceLength: 8\nsamples: 10\noutput: {dataset: m, location: /o}",
                extra: "tasks: 3"
            )
            .contains { $0.hasPrefix("spec.tasks:") })
        XCTAssertTrue(
            problems("mode: verify\ndataset: w\nlocation: /x").contains { $0.contains("exactly one of dataset") })
        XCTAssertTrue(
            problems("mode: verify\ndataset: w\nsequenceLength: 3").contains {
                $0.hasPrefix("spec.stream.sequenceLength:") && $0.contains("unknown field")
            })
        XCTAssertTrue(problems("mode: materialise\ndataset: w").contains { $0.hasPrefix("spec.stream.mode:") })
        XCTAssertTrue(problems("{}", type: "verify").contains { $0.contains("exactly one of dataset") })
    }

    func testExampleManifestsAreValid() throws {
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("manifests/examples")
        let stream = try ManifestParser.parse(contentsOfFile: examples.appendingPathComponent("stream.yaml").path)
        XCTAssertEqual(stream.jobs.map(\.spec.type), ["stream"])
        let settings = try XCTUnwrap(stream.jobs[0].spec.settings).decode(StreamSettings.self)
        XCTAssertEqual(settings.inputs?.map(\.weight), [0.7, 0.3])
        XCTAssertEqual(settings.tokens, 2_000_000_000)
        let verify = try ManifestParser.parse(
            contentsOfFile: examples.appendingPathComponent("stream-verify.yaml").path)
        XCTAssertEqual(verify.jobs.map(\.spec.type), ["verify"])
    }

    // MARK: Planner

    func testMaterializeSplitsSamplesIntoOneTaskPerShard() throws {
        let web = root.path + "/web"
        try StreamTestData.makeDataset(directory: web, name: "web", shards: 2, documentsPerShard: 20, seed: 1)
        let specs = try StreamPlanner().taskSpecs(
            for: try manifest(
                """
                inputs: [{location: \(web), weight: 2}]
                sequenceLength: 16
                seed: 9
                samples: 1000
                samplesPerShard: 300
                output: {dataset: mix, location: \(root.path)/out/}
                """)
        ).map { try $0.decode(as: StreamTaskSpec.self) }
        XCTAssertEqual(specs.map(\.start), [0, 300, 600, 900])
        XCTAssertEqual(specs.map(\.end), [300, 600, 900, 1000])
        XCTAssertEqual(specs.map(\.shardIndex), [0, 1, 2, 3])
        XCTAssertTrue(
            specs.allSatisfy {
                $0.shardCount == 4 && $0.totalSamples == 1000 && $0.seed == 9 && $0.sequenceLength == 16
            })
        XCTAssertEqual(specs[0].outputDirectory, root.path + "/out/mix")
        XCTAssertEqual(specs[0].inputs, [StreamTaskInput(dataset: nil, location: web, weight: 2)])
        // The planner's slices are the library's.
        XCTAssertEqual(
            specs.map { $0.start..<$0.end },
            StreamMaterializer.plan(totalSamples: 1000, samplesPerShard: 300).map(\.positions))

        let byTokens = try StreamPlanner().taskSpecs(
            for: try manifest(
                "inputs: [{location: \(web)}]\nsequenceLength: 16\ntokens: 1601\noutput: {dataset: mix, location: /o}")
        )
        .map { try $0.decode(as: StreamTaskSpec.self) }
        XCTAssertEqual(byTokens.count, 1)
        XCTAssertEqual(byTokens[0].end, 101, "tokens / T rounded up")
    }

    func testMissingLocalDatasetAndNamesWithoutStoreAreRefusedNamingTheField() throws {
        XCTAssertThrowsError(
            try StreamPlanner().taskSpecs(
                for: try manifest(
                    "inputs: [{location: \(root.path)/nothing}]\nsequenceLength: 8\nsamples: 10\noutput: {dataset: m, location: /o}"
                ))
        ) { error in
            guard case StoreError.invalid(let field, let message) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "spec.stream.inputs[0].location")
            XCTAssertTrue(message.contains("\(self.root.path)/nothing"), message)
        }
        XCTAssertThrowsError(
            try StreamPlanner().taskSpecs(
                for: try manifest(
                    "inputs: [{dataset: web}]\nsequenceLength: 8\nsamples: 10\noutput: {dataset: m, location: /o}"))
        ) { error in
            guard case StoreError.invalid(let field, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "spec.stream.inputs[0].dataset")
        }
    }

    func testVerifySplitsShardsOverTasks() throws {
        let web = root.path + "/web"
        try StreamTestData.makeDataset(directory: web, name: "web", shards: 7, documentsPerShard: 3, seed: 2)
        let specs = try StreamPlanner().taskSpecs(
            for: try manifest("location: \(web)\nshardsPerTask: 3", type: "verify")
        )
        .map { try $0.decode(as: VerifyTaskSpec.self) }
        XCTAssertEqual(specs.map(\.part), [0, 1, 2])
        XCTAssertTrue(specs.allSatisfy { $0.parts == 3 && $0.location == web && $0.dataset == nil })
        let viaStream = try StreamPlanner().taskSpecs(for: try manifest("mode: verify\nlocation: \(web)"))
            .map { try $0.decode(as: VerifyTaskSpec.self) }
        XCTAssertEqual(viaStream.count, 2, "7 shards, 4 per task by default")
        XCTAssertThrowsError(
            try StreamPlanner().taskSpecs(for: try manifest("location: \(root.path)/none", type: "verify"))
        ) { error in
            guard case StoreError.invalid(let field, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "spec.verify.location")
        }
    }
}

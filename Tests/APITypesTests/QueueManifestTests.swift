import ClusterModel
import Foundation
import XCTest

@testable import APITypes

/// `kind: Queue` documents: defaults, quantities, mixing with jobs in one file, and every kind of bad input
/// reported with file, line, field path, what was expected and what was found.
final class QueueManifestTests: XCTestCase {
    private func problems(_ text: String, fileName: String = "q.yaml") -> [String] {
        do {
            _ = try ManifestParser.parsePipeline(text: text, fileName: fileName)
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    private func queue(_ spec: String?, name: String = "research") -> String {
        var text = "apiVersion: llmops/v1\nkind: Queue\nmetadata: {name: \(name)}\n"
        if let spec { text += "spec:\n" + spec.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n" }
        return text
    }

    func testDefaultsWithoutSpec() throws {
        let pipeline = try ManifestParser.parsePipeline(text: queue(nil))
        XCTAssertEqual(pipeline.queues, [QueueSpec(name: "research", weight: 1, quota: nil)])
        XCTAssertEqual(pipeline.jobs, [])
    }

    func testWeightAndQuotaQuantities() throws {
        let pipeline = try ManifestParser.parsePipeline(
            text: queue(
                """
                weight: 2.5
                quota:
                  cpu: "1500m"
                  memory: 4Gi
                  accelerators: [{type: gpu-h100, count: 8}, {type: tpu-v5e, count: 4}]
                """))
        XCTAssertEqual(
            pipeline.queues,
            [
                QueueSpec(
                    name: "research", weight: 2.5,
                    quota: Resources(
                        cpuMillis: 1500, memoryBytes: 4 << 30,
                        accelerators: ["gpu-h100": 8, "tpu-v5e": 4]))
            ])
        let cpuOnly = try ManifestParser.parsePipeline(text: queue("quota: {cpu: 1}")).queues[0]
        XCTAssertEqual(cpuOnly.quota, Resources(cpuMillis: 1000), "resources left out of a quota are not limited (0)")
        XCTAssertEqual(cpuOnly.weight, 1)
    }

    func testJobsAndQueuesMixInOneFile() throws {
        let text =
            queue("weight: 3", name: "batch") + "---\n" + """
                apiVersion: llmops/v1
                kind: Job
                metadata: {name: j1}
                spec: {type: noop, queue: batch}
                ---
                """ + "\n" + queue("quota: {cpu: 2}", name: "research")
        let pipeline = try ManifestParser.parsePipeline(text: text)
        XCTAssertEqual(pipeline.jobs.map(\.name), ["j1"])
        XCTAssertEqual(pipeline.jobs[0].spec.queue, "batch")
        XCTAssertEqual(pipeline.queues.map(\.name), ["batch", "research"])
        XCTAssertEqual(pipeline.queues.map(\.weight), [3, 1])
        XCTAssertEqual(
            try ManifestParser.parse(text: text).map(\.name), ["j1"], "parse(text:) keeps returning the jobs")

        // JSON documents (what the server receives) validate the same way, without line numbers.
        let json: [AnyJSON] = [
            ["apiVersion": "llmops/v1", "kind": "Queue", "metadata": ["name": "q"], "spec": ["weight": 0]]
        ]
        XCTAssertThrowsError(try ManifestParser.validate(encodedDocuments: json, fileName: "request")) { error in
            XCTAssertEqual(
                (error as? ManifestError)?.problems.map(\.description),
                ["request: spec.weight: expected a number > 0 (a queue's share relative to the others), got 0"])
        }
    }

    func testBadWeights() {
        XCTAssertEqual(
            problems(queue("weight: 0")),
            ["q.yaml:5: spec.weight: expected a number > 0 (a queue's share relative to the others), got 0"])
        XCTAssertEqual(
            problems(queue("weight: -1")),
            ["q.yaml:5: spec.weight: expected a number between 0 and 1000000, got -1"])
        XCTAssertEqual(
            problems(queue("weight: heavy")),
            ["q.yaml:5: spec.weight: expected a number between 0 and 1000000, got \"heavy\""])
    }

    func testBadQuotas() {
        XCTAssertEqual(
            problems(queue("quota:\n  cpu: 0\n  memory: 4Gb\n  gpus: 2")),
            [
                "q.yaml:6: spec.quota.cpu: expected a CPU quantity > 0 such as 2, 0.5 or \"500m\", got 0",
                "q.yaml:7: spec.quota.memory: expected a memory quantity > 0 such as \"512Mi\", \"4Gi\" or a number of bytes, got \"4Gb\"",
                "q.yaml:8: spec.quota.gpus: unknown field; allowed fields: cpu, memory, accelerators",
            ])
        XCTAssertEqual(
            problems(
                queue(
                    "quota:\n  accelerators:\n    - {type: gpu-h100, count: 0}\n    - h100\n    - {type: a, count: 1}\n    - {type: a, count: 2}"
                )),
            [
                "q.yaml:7: spec.quota.accelerators[0].count: expected an integer >= 1, got 0",
                "q.yaml:8: spec.quota.accelerators[1]: expected a mapping {type, count}, got \"h100\"",
                "q.yaml:10: spec.quota.accelerators[3].type: accelerator type \"a\" is listed twice",
            ])
        XCTAssertEqual(
            problems(queue("quota: {}")),
            [
                "q.yaml:5: spec.quota: expected at least one of cpu, memory, accelerators (leave quota out for no limit), got an empty mapping"
            ])
        XCTAssertEqual(problems(queue("quota: 4")), ["q.yaml:5: spec.quota: expected a mapping, got 4"])
    }

    func testTokensPerDay() throws {
        let pipeline = try ManifestParser.parsePipeline(text: queue("weight: 2\ntokensPerDay: 2000000000"))
        XCTAssertEqual(pipeline.queues, [QueueSpec(name: "research", weight: 2, tokensPerDay: 2_000_000_000)])
        XCTAssertNil(
            try ManifestParser.parsePipeline(text: queue("weight: 2")).queues[0].tokensPerDay, "no token quota")
        let expectation = "expected an integer between 1 and 1000000000000000"
        XCTAssertEqual(problems(queue("tokensPerDay: 0")), ["q.yaml:5: spec.tokensPerDay: \(expectation), got 0"])
        XCTAssertEqual(problems(queue("tokensPerDay: 2.5")), ["q.yaml:5: spec.tokensPerDay: \(expectation), got 2.5"])
        XCTAssertEqual(
            problems(queue("tokensPerDay: 2B")), ["q.yaml:5: spec.tokensPerDay: \(expectation), got \"2B\""])
        XCTAssertEqual(
            problems(queue("tokensPerDay: 2000000000000000")),
            ["q.yaml:5: spec.tokensPerDay: \(expectation), got 2000000000000000"])
        let schema = try ManifestSchema.document(kind: "Queue")
        XCTAssertEqual(
            schema["properties"]?["spec"]?["properties"]?["tokensPerDay"],
            ["type": "integer", "minimum": 1, "maximum": 1_000_000_000_000_000])
    }

    func testBadDocumentShape() {
        XCTAssertEqual(
            problems(
                "apiVersion: llmops/v2\nkind: Queue\nmetadata: {name: Research, labels: {a: b}}\nspec: {wieght: 2, replicas: 1}\n"
            ),
            [
                "q.yaml:1: apiVersion: expected \"llmops/v1\", got \"llmops/v2\"",
                "q.yaml:3: metadata.labels: unknown field; allowed fields: name",
                "q.yaml:3: metadata.name: expected \(ManifestNames.dnsLabelExpectation), got \"Research\"",
                "q.yaml:4: spec.wieght: unknown field (did you mean \"weight\"?)",
                "q.yaml:4: spec.replicas: unknown field; allowed fields: weight, quota, tokensPerDay",
            ])
        XCTAssertEqual(
            problems("apiVersion: llmops/v1\nkind: Queue\n"),
            ["q.yaml:1: metadata: missing required field (expected a mapping)"])
    }

    func testDuplicateQueueNames() {
        XCTAssertEqual(
            problems(queue("weight: 1") + "---\n" + queue("weight: 2")),
            ["q.yaml:9: metadata.name: duplicate queue name \"research\" (first defined at line 3)"])
    }
}

extension QueueManifestTests {
    func testQueuesExampleFile() throws {
        let pipeline = try ManifestParser.parse(
            contentsOfFile: ManifestExampleTests.examples.appendingPathComponent("queues.yaml").path)
        XCTAssertEqual(
            pipeline.queues,
            [
                QueueSpec(name: "research", weight: 2, quota: nil),
                QueueSpec(name: "batch", weight: 1, quota: Resources(cpuMillis: 2000, memoryBytes: 4 << 30)),
            ])
        XCTAssertEqual(pipeline.jobs.map(\.name), ["research-sleep", "batch-sleep"])
        XCTAssertEqual(pipeline.jobs.map(\.spec.queue), ["research", "batch"])
    }
}

extension QueueManifestTests {
    func testSubmitResponseWithAndWithoutQueuesOnTheWire() throws {
        let view = QueueView(
            name: "batch", weight: 2, quota: Resources(cpuMillis: 1000, accelerators: ["gpu-h100": 2]),
            configured: true, runningTasks: 1, pendingTasks: 2, updatedAt: Date(timeIntervalSince1970: 1_700_000_000))
        let response = SubmitManifestsResponse(jobs: [], queues: [view])
        XCTAssertEqual(try WireCoding.decode(SubmitManifestsResponse.self, from: WireCoding.encode(response)), response)
        // A response from a server without queues (no `queues` key) still decodes.
        let old = try WireCoding.decode(SubmitManifestsResponse.self, from: Data(#"{"jobs": []}"#.utf8))
        XCTAssertNil(old.queues)
        XCTAssertEqual(
            try WireCoding.decode(ListResponse<QueueView>.self, from: WireCoding.encode(ListResponse(items: [view])))
                .items, [view])
    }
}

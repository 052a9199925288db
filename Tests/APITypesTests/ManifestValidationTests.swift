import ClusterModel
import Foundation
import XCTest

@testable import APITypes

final class ManifestValidationTests: XCTestCase {
    private func job(_ spec: String, name: String = "j") -> String {
        "apiVersion: llmops/v1\nkind: Job\nmetadata: {name: \(name)}\nspec:\n"
            + spec.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
    }

    private func problems(_ text: String, fileName: String = "t.yaml") -> [String] {
        do {
            _ = try ManifestParser.parse(text: text, fileName: fileName)
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    func testDefaults() throws {
        let job = try XCTUnwrap(ManifestParser.parse(text: job("type: noop")).first)
        XCTAssertEqual(job.spec, JobSpec(type: "noop"))
        XCTAssertEqual(job.spec.resources, Resources(cpuMillis: 1000))
        XCTAssertEqual(job.spec.replicas, 1)
        XCTAssertEqual(job.spec.tasks, 1)
        XCTAssertEqual(job.spec.priority, 0)
        XCTAssertEqual(job.spec.queue, "default")
        XCTAssertEqual(job.spec.onDependencyFailure, .fail)
        XCTAssertNil(job.spec.settings)
    }

    /// Every policy the store's `job_dependencies.on_failure` CHECK allows is a manifest value, spelled the same.
    func testEveryDependencyFailurePolicyIsAManifestValue() throws {
        for policy in DependencyFailurePolicy.allCases {
            let text = job("type: noop\nafter: [a]\nonDependencyFailure: \(policy.rawValue)")
            XCTAssertEqual(try XCTUnwrap(ManifestParser.parse(text: text).first).spec.onDependencyFailure, policy)
        }
    }

    func testResourceQuantities() throws {
        func resources(_ text: String) throws -> Resources {
            try XCTUnwrap(ManifestParser.parse(text: job("type: noop\nresources: \(text)")).first).spec.resources
        }
        XCTAssertEqual(try resources("{cpu: 2}").cpuMillis, 2000)
        XCTAssertEqual(try resources("{cpu: 0.25}").cpuMillis, 250)
        XCTAssertEqual(try resources("{cpu: \"500m\"}").cpuMillis, 500)
        XCTAssertEqual(try resources("{cpu: \"1.5\"}").cpuMillis, 1500)
        XCTAssertEqual(try resources("{cpu: 0}").cpuMillis, 0)
        XCTAssertEqual(try resources("{memory: 4Gi}").memoryBytes, 4 << 30)
        XCTAssertEqual(try resources("{memory: \"1.5Gi\"}").memoryBytes, 3 << 29)
        XCTAssertEqual(try resources("{memory: 512Mi}").memoryBytes, 512 << 20)
        XCTAssertEqual(try resources("{memory: 2G}").memoryBytes, 2_000_000_000)
        XCTAssertEqual(try resources("{memory: 1000}").memoryBytes, 1000)
        XCTAssertEqual(try resources("{memory: 1k}").memoryBytes, 1000)
        XCTAssertEqual(
            try resources("{accelerators: [{type: tpu-v5e, count: 4}, {type: gpu-h100, count: 0}]}").accelerators,
            ["tpu-v5e": 4])

        XCTAssertEqual(
            problems(job("type: noop\nresources: {cpu: \"0.0001\", memory: \"4Gb\", accelerators: {gpu: 1}}")),
            [
                "t.yaml:6: spec.resources.cpu: expected a CPU quantity >= 0 such as 2, 0.5 or \"500m\", got \"0.0001\"",
                "t.yaml:6: spec.resources.memory: expected a memory quantity >= 0 such as \"512Mi\", \"4Gi\" or a number of bytes, got \"4Gb\"",
                "t.yaml:6: spec.resources.accelerators: expected a list of {type, count} mappings, got a mapping",
            ])
        XCTAssertEqual(
            problems(
                job(
                    "type: noop\nresources:\n  accelerators:\n    - {type: GPU, count: 1.5}\n    - gpu-h100\n    - {type: a, count: 1}\n    - {type: a, count: 2}"
                )),
            [
                "t.yaml:8: spec.resources.accelerators[0].type: expected an accelerator type such as \"gpu-h100\" (lowercase letters, digits and '-'), got \"GPU\"",
                "t.yaml:8: spec.resources.accelerators[0].count: expected an integer between 0 and 65536, got 1.5",
                "t.yaml:9: spec.resources.accelerators[1]: expected a mapping {type, count}, got \"gpu-h100\"",
                "t.yaml:11: spec.resources.accelerators[3].type: accelerator type \"a\" is listed twice",
            ])
    }

    func testAllProblemsAreCollectedNotJustTheFirst() {
        let text = job(
            "type: shell\nreplicas: 0\nqueue: Research\nafter: [x, x, Bad]\nonDependencyFailure: ignore\nnodeSelector: {zone: [a]}\npackBy: \"/\"\nshell: {command: [], env: {A: 1}, workingDirectory: tmp}"
        )
        XCTAssertEqual(
            problems(text),
            [
                "t.yaml:6: spec.replicas: expected an integer between 1 and 4096, got 0",
                "t.yaml:7: spec.queue: expected a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got \"Research\"",
                "t.yaml:8: spec.after[2]: expected a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got \"Bad\"",
                "t.yaml:9: spec.onDependencyFailure: expected one of \"fail\", \"cancel\", \"proceed\", got \"ignore\"",
                "t.yaml:10: spec.nodeSelector.zone: expected a label value (letters, digits, '-', '_', '.', at most 63 characters), got a list",
                "t.yaml:11: spec.packBy: expected a label key (letters, digits, '-', '_', '.', optionally prefixed by a DNS domain and '/'), got \"/\"",
                "t.yaml:12: spec.shell.command: expected a non-empty list of strings (the program and its arguments), got an empty list",
                "t.yaml:12: spec.shell.env.A: expected a string (quote it: \"1\"), got 1",
                "t.yaml:12: spec.shell.workingDirectory: expected an absolute path, got \"tmp\"",
            ])
        XCTAssertEqual(
            problems(job("type: sleep\nafter: [x, x]\nsleep: {seconds: 1}")),
            ["t.yaml:6: spec.after: job \"x\" is listed twice"])
        XCTAssertEqual(
            problems(job("type: shell")), ["t.yaml:5: spec: missing spec.shell (settings for job type \"shell\")"])
        XCTAssertEqual(
            problems(job("type: noop\nnoop: {x: 1}")), ["t.yaml:6: spec.noop.x: unknown field; allowed fields: result"])
        XCTAssertEqual(
            problems(job("type: fail\nfail: {retryable: \"no\", succeedOnAttempt: 0, message: 3}")),
            [
                "t.yaml:6: spec.fail.message: expected a string (quote numbers meant as text), got 3",
                "t.yaml:6: spec.fail.retryable: expected true or false, got \"no\"",
                "t.yaml:6: spec.fail.succeedOnAttempt: expected an integer >= 1, got 0",
            ])
        XCTAssertEqual(
            try ManifestParser.parse(text: job("type: sleep")).first?.spec.settings, nil,
            "sleep's settings are optional")
    }

    func testDocumentShapeProblems() {
        XCTAssertEqual(
            problems("- 1\n- 2\n"),
            [
                "t.yaml:1: expected a mapping, got 1",
                "t.yaml:2: expected a mapping, got 2",
            ])
        XCTAssertEqual(
            problems(""), ["t.yaml: no manifest found: expected at least one document with kind: Job or Queue"])
        XCTAssertEqual(
            problems("apiVersion: llmops/v1\nkind: Pod\nmetadata: []\nspec: 3\n"),
            [
                "t.yaml:2: kind: expected \"Job\", \"Queue\" or \"WorkerPool\", got \"Pod\"",
                "t.yaml:3: metadata: expected a mapping, got a list",
                "t.yaml:4: spec: expected a mapping, got 3",
            ])
        XCTAssertEqual(problems("a: [\n", fileName: "broken.yaml").count, 1)
        XCTAssertTrue(problems("a: [\n", fileName: "broken.yaml")[0].hasPrefix("broken.yaml:2:"))
    }

    func testExternalDependenciesAreExposed() throws {
        let text =
            job("type: noop\nafter: [tokenize-corpus, b]", name: "a") + "---\n"
            + job("type: noop\nafter: [base-model]", name: "b")
        let pipeline = try ManifestParser.parsePipeline(text: text)
        XCTAssertEqual(pipeline.jobs.map(\.name), ["a", "b"])
        XCTAssertEqual(pipeline.externalDependencies, ["base-model", "tokenize-corpus"])
        // The server checks those against its job table, with messages in the same style.
        XCTAssertNoThrow(
            try pipeline.checkExternalDependencies(exists: { ["base-model", "tokenize-corpus"].contains($0) }))
        do {
            try pipeline.checkExternalDependencies(exists: { $0 == "base-model" })
            XCTFail("tokenize-corpus does not exist")
        } catch {
            XCTAssertEqual(
                error.description,
                "<input>:6: spec.after: job \"tokenize-corpus\" (needed by \"a\") does not exist: it is neither in this file nor on the server"
            )
        }
    }

    func testJSONRoundTripAndIdenticalMessagesForJSON() throws {
        let yaml = try String(
            contentsOf: ManifestExampleTests.examples.appendingPathComponent("pipeline.yaml"), encoding: .utf8)
        let jobs = try ManifestParser.parse(text: yaml, fileName: "pipeline.yaml")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = try encoder.encode(jobs)
        XCTAssertEqual(try JSONDecoder().decode([JobManifest].self, from: json), jobs)
        // The server may equally parse the body text: JSON is YAML.
        XCTAssertEqual(try ManifestParser.parse(text: String(decoding: json, as: UTF8.self), fileName: "body"), jobs)
        let object = try JSONSerialization.jsonObject(with: json) as? [[String: Any]]
        XCTAssertEqual(
            (object?[1]["spec"] as? [String: Any])?["resources"] as? NSDictionary,
            ["cpu": "1", "memory": "256Mi", "accelerators": []] as NSDictionary)

        // The same mistake in YAML and in JSON gives the same path and message.
        let badYAML = job(
            "type: sleep\nresources:\n  accelerators:\n    - {type: gpu-h100, count: \"two\"}\nsleep: {seconds: 1}")
        let badJSON = """
            {"apiVersion": "llmops/v1", "kind": "Job", "metadata": {"name": "j"},
             "spec": {"type": "sleep", "sleep": {"seconds": 1},
                      "resources": {"accelerators": [{"type": "gpu-h100", "count": "two"}]}}}
            """
        let yamlProblem = try XCTUnwrap(problemList(badYAML, "pipeline.yaml").first)
        let jsonProblem = try XCTUnwrap(problemList(badJSON, "request").first)
        XCTAssertEqual(
            yamlProblem.description,
            "pipeline.yaml:8: spec.resources.accelerators[0].count: expected an integer between 0 and 65536, got \"two\""
        )
        XCTAssertEqual(
            jsonProblem.description,
            "request:3: spec.resources.accelerators[0].count: expected an integer between 0 and 65536, got \"two\"")
        XCTAssertEqual(yamlProblem.path, jsonProblem.path)
        XCTAssertEqual(yamlProblem.message, jsonProblem.message)

        // Decoding through Codable runs the same validator.
        XCTAssertThrowsError(try JSONDecoder().decode(JobManifest.self, from: Data(badJSON.utf8))) { error in
            XCTAssertTrue(
                "\(error)".contains(
                    "spec.resources.accelerators[0].count: expected an integer between 0 and 65536, got \\\"two\\\"")
                    || "\(error)".contains(
                        "spec.resources.accelerators[0].count: expected an integer between 0 and 65536, got \"two\""),
                "\(error)")
        }
    }

    func testValidatingDecodedJSONDocuments() throws {
        let jobs = try ManifestParser.parse(
            text: job("type: sleep\nsleep: {seconds: 2}\nresources: {memory: 1Gi}", name: "a"))
        XCTAssertEqual(try ManifestParser.validate(encodedDocuments: jobs, fileName: "request").jobs, jobs)
        struct Loose: Encodable {
            let apiVersion = "llmops/v1", kind = "Job"
            let metadata = ["name": "b"]
            let spec: [String: Int] = ["replicas": 0]
        }
        do {
            _ = try ManifestParser.validate(encodedDocuments: [Loose()], fileName: "request")
            XCTFail("expected problems")
        } catch {
            XCTAssertEqual(
                error.problems.map(\.description),
                [
                    "request: spec.type: missing required field (expected a job type (one of command, eval, fail, noop, shell, sleep, stream, tokenize, tokenize-dedup-scan, tokenize-lsh, tokenize-minhash, train, train-tokenizer, verify))",
                    "request: spec.replicas: expected an integer between 1 and 4096, got 0",
                ])
        }
    }

    private func problemList(_ text: String, _ fileName: String) -> [ManifestProblem] {
        do {
            _ = try ManifestParser.parse(text: text, fileName: fileName)
            return []
        } catch {
            return error.problems
        }
    }

    func testKindRegistryIsOpen() throws {
        let registry = JobKindRegistry(kinds: BuiltInJobKinds.all)
        XCTAssertEqual(
            problems(job("type: distill\ndistill: {steps: 10}")).first,
            "t.yaml:5: spec.type: expected a job type (one of command, eval, fail, noop, shell, sleep, stream, tokenize, tokenize-dedup-scan, tokenize-lsh, tokenize-minhash, train, train-tokenizer, verify), got \"distill\""
        )
        registry.register(
            JobKind(name: "distill", summary: "distills a model", settingsRequired: true) { settings, context in
                settings.rejectUnknownKeys(allowed: ["steps", "model"])
                _ = settings.integer("steps", required: true, min: 1)
                if context.replicas > 8 {
                    context.spec.report("replicas", "distill supports at most 8 replicas, got \(context.replicas)")
                }
            })
        let parsed = try ManifestParser.parse(
            text: job("type: distill\nreplicas: 2\ndistill: {steps: 10}"), registry: registry)
        XCTAssertEqual(parsed[0].spec.type, "distill")
        XCTAssertEqual(parsed[0].spec.settings?["steps"], .int(10))
        do {
            _ = try ManifestParser.parse(
                text: job("type: distill\nreplicas: 9\ndistill: {step: 0}"), fileName: "t.yaml", registry: registry)
            XCTFail("expected problems")
        } catch {
            XCTAssertEqual(
                error.problems.map(\.description),
                [
                    "t.yaml:6: spec.replicas: distill supports at most 8 replicas, got 9",
                    "t.yaml:7: spec.distill.step: unknown field (did you mean \"steps\"?)",
                    "t.yaml:7: spec.distill.steps: missing required field (expected an integer >= 1)",
                ])
        }
        XCTAssertNil(
            JobKindRegistry.standard.kind(named: "distill"), "registering in one registry leaves the standard one alone"
        )
    }

    func testDidYouMeanForJobTypeAndDistance() {
        XCTAssertEqual(
            problems(job("type: shel")).first,
            "t.yaml:5: spec.type: expected a job type (one of command, eval, fail, noop, shell, sleep, stream, tokenize, tokenize-dedup-scan, tokenize-lsh, tokenize-minhash, train, train-tokenizer, verify), got \"shel\" (did you mean \"shell\"?)"
        )
    }

    func testLongDependencyChainsAndCyclesDoNotExhaustTheStack() {
        let count = 20_000
        var edges: [String: [String]] = [:]
        for i in 0..<count { edges["j\(i)"] = i + 1 < count ? ["j\(i + 1)"] : [] }
        XCTAssertEqual(ManifestParser.findCycles(edges), [])
        edges["j\(count - 1)"] = ["j0"]
        let cycles = ManifestParser.findCycles(edges)
        XCTAssertEqual(cycles.count, 1)
        XCTAssertEqual(cycles.first?.count, count + 1)
        XCTAssertEqual(cycles.first?.first, "j0")
    }

    func testCycleDetection() {
        let text = ["a": ["b"], "b": ["c"], "c": ["a"], "d": ["d"], "e": ["a"]].map { name, after in
            job("type: noop\nafter: [\(after.joined(separator: ", "))]", name: name)
        }.joined(separator: "---\n")
        let found = problems(text).map { $0.components(separatedBy: ": ").dropFirst().joined(separator: ": ") }.sorted()
        XCTAssertEqual(
            found, ["spec.after: dependency cycle: a -> b -> c -> a", "spec.after: dependency cycle: d -> d"])
    }
}

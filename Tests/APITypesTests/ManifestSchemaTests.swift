import Foundation
import XCTest

@testable import APITypes

/// `opsctl schema`'s JSON Schema, checked by Python `jsonschema` (PyPI) the way an editor uses it: it accepts every
/// manifest under manifests/ and rejects the known-bad ones the validator rejects.
final class ManifestSchemaTests: XCTestCase {
    static let manifests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("manifests")

    /// Validates each YAML document of each file; prints `<file> <document index> ok|<first error>` per document.
    static let script = """
        import json, sys, yaml
        from jsonschema import Draft202012Validator
        schema = json.load(open(sys.argv[1]))
        Draft202012Validator.check_schema(schema)
        validator = Draft202012Validator(schema)
        for path in sys.argv[2:]:
            for index, document in enumerate(yaml.safe_load_all(open(path))):
                if document is None:
                    continue
                errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
                verdict = "ok" if not errors else "bad " + "/".join(map(str, errors[0].absolute_path))
                print(path.split("/manifests/")[-1], index, verdict)
        """

    func verdicts(_ files: [String], kind: String? = nil) throws -> [String] {
        let schema = FileManager.default.temporaryDirectory.appendingPathComponent("schema-\(UUID().uuidString).json")
        try WireCoding.encoder(pretty: true).encode(try ManifestSchema.document(kind: kind)).write(to: schema)
        defer { try? FileManager.default.removeItem(at: schema) }
        let outcome = try PythonCheck.run(
            Self.script, [schema.path] + files, modules: "jsonschema, yaml", packages: ["jsonschema", "pyyaml"])
        XCTAssertEqual(outcome.status, 0, "jsonschema failed:\n\(outcome.stderr)")
        return outcome.stdout.split(separator: "\n").map(String.init)
    }

    func testAcceptsEveryManifestOfTheRepository() throws {
        let enumerator = try XCTUnwrap(FileManager.default.enumerator(atPath: Self.manifests.path))
        let files = enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".yaml") && !$0.contains("bad/") }
            .sorted().map { Self.manifests.appendingPathComponent($0).path }
        XCTAssertGreaterThanOrEqual(files.count, 10)
        let verdicts = try verdicts(files)
        XCTAssertGreaterThanOrEqual(verdicts.count, files.count)
        for verdict in verdicts { XCTAssertTrue(verdict.hasSuffix(" ok"), verdict) }
    }

    /// The bad examples whose mistakes a schema can see (a cycle between jobs or a YAML syntax error it cannot).
    func testRejectsTheKnownBadManifests() throws {
        for name in ["missing-names", "unknown-fields", "wrong-types"] {
            let file = Self.manifests.appendingPathComponent("examples/bad/\(name).yaml").path
            XCTAssertThrowsError(try ManifestParser.parse(contentsOfFile: file), "the validator refuses \(name)")
            let verdicts = try verdicts([file])
            XCTAssertTrue(verdicts.contains { $0.contains(" bad") }, "\(name): \(verdicts)")
        }
    }

    func testRejectsEachKindOfMistakeTheValidatorNames() throws {
        let good = """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: ok}
            spec: {type: sleep, replicas: 2, onDependencyFailure: cancel, resources: {cpu: "500m", memory: 64Mi}, sleep: {seconds: 2}}
            """
        let mistakes = [
            "spec: {type: sleep, replicas: 0}", // below the validator's minimum
            "spec: {type: sleep, onDependencyFailure: sometimes}", // not one of the policy's cases
            "spec: {type: sleepy}", // no such job type
            "spec: {type: sleep, sleep: {seconds: 2, minutes: 1}}", // unknown settings field
            "spec: {type: shell}", // shell's settings are required
            "spec: {type: shell, shell: {command: echo}}", // a string where a list is expected
            "spec: {type: sleep, sleep: {seconds: 2}, noop: {}}", // another kind's settings
        ]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var files = [directory.appendingPathComponent("good.yaml").path]
        try good.write(toFile: files[0], atomically: true, encoding: .utf8)
        for (index, spec) in mistakes.enumerated() {
            let text = "apiVersion: llmops/v1\nkind: Job\nmetadata: {name: bad-\(index)}\n\(spec)\n"
            let file = directory.appendingPathComponent("bad-\(index).yaml").path
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try ManifestParser.parse(contentsOfFile: file), "the validator refuses \(spec)")
            files.append(file)
        }
        XCTAssertNoThrow(try ManifestParser.parse(contentsOfFile: files[0]))
        let verdicts = try verdicts(files)
        XCTAssertEqual(verdicts.count, files.count)
        XCTAssertTrue(verdicts.first?.hasSuffix(" ok") == true, "\(verdicts)")
        for verdict in verdicts.dropFirst() { XCTAssertTrue(verdict.contains(" bad"), verdict) }
    }

    func testOneKindOnlyAndAnUnknownKindIsNamed() throws {
        let queue = try ManifestSchema.document(kind: "Queue")
        XCTAssertEqual(queue["properties"]?["kind"], ["const": "Queue"])
        XCTAssertNil(queue["oneOf"])
        let train = try ManifestSchema.document(kind: "train")
        XCTAssertEqual(train["properties"]?["spec"]?["properties"]?["type"]?["const"], "train")
        XCTAssertEqual(train["required"], ["apiVersion", "kind", "metadata", "spec"])
        XCTAssertThrowsError(try ManifestSchema.document(kind: "trian")) { error in
            XCTAssertTrue("\(error)".contains("Queue") && "\(error)".contains("train"), "\(error)")
        }
    }
}

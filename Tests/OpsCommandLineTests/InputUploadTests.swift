import APITypes
import Foundation
import TestSupport
import XCTest

@testable import OpsCommandLine

/// What `opsctl apply` makes of a tokenize job's inputs before anything is sent: local files become resolved
/// inputs named by checksum, URLs pass through, and bad items stop the submission naming the field and path.
final class InputUploadTests: XCTestCase {
    private var root: TemporaryDirectory!

    override func setUpWithError() throws { root = try TemporaryDirectory.make(prefix: "input-upload-") }
    override func tearDown() { root?.remove() }

    private func job(_ inputs: [AnyJSON], tokenizer: AnyJSON = ["path": "/nowhere/tokenizer.json"]) -> AnyJSON {
        [
            "apiVersion": "llmops/v1", "kind": "Job", "metadata": ["name": "tok"],
            "spec": [
                "type": "tokenize",
                "tokenize": ["inputs": .array(inputs), "output": ["dataset": "d"], "tokenizer": tokenizer],
            ],
        ]
    }

    func testLocalFilesBecomeResolvedInputsAndURLsPassThrough() throws {
        try "hello".write(toFile: root.path + "/a.txt", atomically: true, encoding: .utf8)
        try "world!".write(toFile: root.path + "/b.txt", atomically: true, encoding: .utf8)
        try "{}".write(toFile: root.path + "/tokenizer.json", atomically: true, encoding: .utf8)
        var files: [String: InputUpload.LocalFile] = [:]
        let rewritten = try InputUpload.rewrite(
            job(
                [.string(root.path + "/*.txt"), "s3://bucket/c.jsonl", "https://example.invalid/d.txt"],
                tokenizer: ["path": .string(root.path + "/tokenizer.json"), "endOfText": "<|endoftext|>"]),
            number: 0, files: &files)
        let settings = try XCTUnwrap(rewritten["spec"]?["tokenize"])
        let inputs = try XCTUnwrap(settings["inputs"]).decode(as: [TokenizeInput].self)
        let helloSHA = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        XCTAssertEqual(
            inputs,
            [
                .resolved(
                    ResolvedInput(
                        name: root.path + "/a.txt", location: "cp://blobs/" + helloSHA, sha256: helloSHA, bytes: 5)),
                .resolved(
                    ResolvedInput(
                        name: root.path + "/b.txt", location: "cp://blobs/" + files[root.path + "/b.txt"]!.sha256,
                        sha256: files[root.path + "/b.txt"]!.sha256, bytes: 6)),
                .pattern("s3://bucket/c.jsonl"), .pattern("https://example.invalid/d.txt"),
            ])
        XCTAssertEqual(settings["tokenizer"]?["location"]?.stringValue?.hasPrefix("cp://blobs/"), true)
        XCTAssertNil(settings["tokenizer"]?["path"])
        XCTAssertEqual(settings["tokenizer"]?["endOfText"]?.stringValue, "<|endoftext|>")
        XCTAssertEqual(files.count, 3)
    }

    func testMissingLocalFileFailsNamingTheFieldAndPath() throws {
        var files: [String: InputUpload.LocalFile] = [:]
        let missing = root.path + "/nope/*.jsonl"
        XCTAssertThrowsError(
            try InputUpload.rewrite(job(["https://example.invalid/x.txt", .string(missing)]), number: 1, files: &files)
        ) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("document 2 (tok): spec.tokenize.inputs[1]"), text)
            XCTAssertTrue(text.contains("\"\(missing)\" matches no files on this machine"), text)
            XCTAssertTrue(text.contains("nothing was submitted"), text)
        }
    }

    func testUnknownSchemeFailsNamingTheField() throws {
        var files: [String: InputUpload.LocalFile] = [:]
        XCTAssertThrowsError(try InputUpload.rewrite(job(["ftp://host/a.txt"]), number: 0, files: &files)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("spec.tokenize.inputs[0]"), text)
            XCTAssertTrue(text.contains("\"ftp://host/a.txt\" (unknown scheme)"), text)
        }
        // The control plane says the same for a client that sends it unresolved.
        XCTAssertThrowsError(
            try ManifestParser.parsePipeline(
                text: """
                    apiVersion: llmops/v1
                    kind: Job
                    metadata: {name: tok}
                    spec:
                      type: tokenize
                      tokenize:
                        inputs: ["ftp://host/a.txt"]
                        output: {dataset: d}
                        tokenizer: {path: /t/tokenizer.json}
                    """, fileName: "m.yaml")
        ) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("spec.tokenize.inputs[0]") && text.contains("unknown scheme"), text)
        }
    }
}

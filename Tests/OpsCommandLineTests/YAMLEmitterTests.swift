// `-o yaml`: the emitter's output read back by the repository's own YAML parser (`Sources/YAML`, libyaml) is the
// same JSON value, for strings that look like numbers, booleans or null, multi-line text, controls, unicode,
// empty collections and nested sequences; and the shapes people read (quotes only where needed, literal blocks).
// Before, `-o yaml` was refused by every command.

import APITypes
import ClusterModel
import Foundation
import XCTest
import YAML

@testable import OpsCommandLine

final class YAMLEmitterTests: XCTestCase {
    private func roundTrip(_ value: AnyJSON, file: StaticString = #filePath, line: UInt = #line) throws {
        let text = YAMLEmitter.document(value)
        let node = try XCTUnwrap(try YAMLParser.parse(text), "no document in:\n\(text)", file: file, line: line)
        XCTAssertEqual(ManifestFile.json(from: node), value, "read back differently:\n\(text)", file: file, line: line)
    }

    /// Strings a plain scalar would turn into something else, or that YAML's syntax would take for its own.
    static let trickyStrings: [String] = [
        "", " ", "true", "False", "TRUE", "null", "Null", "~", "yes", "no", "on", "off", "y", "N", "123", "-7", "+3",
        "1.5", "1e3", ".5", "0x1F", "0o17", ".inf", "-.inf", ".nan", "1.10", "2026-01-02T03:04:05.678Z", "a: b",
        "a:b", "key:", "# not a comment", "a #b", "- dash", "-", "?", ":", "? q", "[x]", "{a: 1}", "&anchor",
        "*alias", "!tag", "|", ">", "'single'", "\"double\"", "%percent", "@at", "`tick", ",comma", " leading",
        "trailing ", "tab\tinside", "back\\slash", "multi\nline", "multi\nline\n", "multi\nline\n\n", "\nleading",
        "  indented\nsecond", "line\n  indented\n", "trailing blanks  \nnext", "cr\r\nlf", "nul\0byte", "bell\u{7}",
        "del\u{7F}", "c1\u{85}", "ls\u{2028}ps\u{2029}", "\u{FEFF}bom", "é ü 日本語 🙂", "---", "...", "--- x",
        "plain words", "path/to/file.yaml", "s3://bucket/key", "ops_secret",
    ]

    func testTrickyStringsReadBackAsTheSameStringsAsValuesKeysAndItems() throws {
        for text in Self.trickyStrings {
            try roundTrip(.string(text))
            try roundTrip(.object([text: .string(text)]))
            try roundTrip(.array([.string(text), .object(["k": .string(text)])]))
        }
    }

    func testNumbersBooleansNullAndEmptyCollectionsReadBackAsThemselves() throws {
        try roundTrip(
            .object([
                "max": .int(Int64.max), "min": .int(Int64.min), "zero": .int(0), "tenth": .double(0.1),
                "tiny": .double(1e-300), "huge": .double(1e300), "whole": .double(3.0), "negative": .double(-2.5),
                "yes": .bool(true), "no": .bool(false), "nothing": .null, "list": .array([]), "map": .object([:]),
                "nested": .array([.array([]), .array([.int(1), .array([.object([:])])]), .object(["a": .array([])])]),
            ]))
        try roundTrip(.array([]))
        try roundTrip(.object([:]))
        try roundTrip(.null)
    }

    func testQuotesOnlyWhereAPlainScalarWouldReadAsSomethingElse() {
        XCTAssertEqual(
            YAMLEmitter.document(
                .object([
                    "name": .string("pretrain"), "state": .string("true"), "version": .string("1.10"),
                    "empty": .string(""), "items": .array([]), "labels": .object([:]), "count": .int(3),
                ])),
            """
            count: 3
            empty: ""
            items: []
            labels: {}
            name: pretrain
            state: "true"
            version: "1.10"

            """)
        XCTAssertEqual(YAMLEmitter.scalar("say \"hi\"\tnow"), "\"say \\\"hi\\\"\\tnow\"")
        XCTAssertEqual(YAMLEmitter.scalar("bell\u{7}"), "\"bell\\x07\"")
    }

    func testMultiLineTextIsALiteralBlockAndSequencesOfMappingsStartOnTheDash() {
        XCTAssertEqual(
            YAMLEmitter.document(
                .object([
                    "script": .string("echo a\necho b\n"), "note": .string("one\ntwo"),
                    "jobs": .array([.object(["name": .string("a"), "tasks": .int(2)]), .string("b")]),
                ])),
            """
            jobs:
              - name: a
                tasks: 2
              - b
            note: |-
              one
              two
            script: |
              echo a
              echo b

            """)
    }

    /// What `-o yaml` prints for an API view reads back as what `-o json` prints for it.
    func testAnEncodableViewReadsBackAsItsJSON() throws {
        let job = JobView(
            id: JobID(7), name: "pretrain", type: "train", state: .running, after: ["tokenize"],
            tasks: TaskCounts(), pendingReason: "no worker has gpu-h100=8\nyet",
            submittedAt: Date(timeIntervalSince1970: 1_767_000_000.125),
            manifest: .object(["spec": .object(["replicas": .int(2), "note": .string("yes")])]),
            latestMetrics: [
                MetricPointView(
                    id: 1, jobID: JobID(7), taskID: TaskID(9), attemptID: AttemptID(11), name: "loss", step: 200,
                    value: 2.3125, time: Date(timeIntervalSince1970: 1_767_000_100))
            ])
        let yaml = try YAMLEmitter.encode([job])
        let json = try WireCoding.decoder().decode(AnyJSON.self, from: WireCoding.encoder().encode([job]))
        let node = try XCTUnwrap(try YAMLParser.parse(yaml))
        XCTAssertEqual(ManifestFile.json(from: node), json, yaml)
        XCTAssertTrue(yaml.contains("  submittedAt: \"2025-12-29T09:20:00.125Z\"\n"), yaml)
        XCTAssertTrue(yaml.hasPrefix("- after:\n    - tokenize\n"), yaml)
    }
}

import XCTest
import YAML

final class YAMLParserTests: XCTestCase {
    func testNestedStructureWithPositionsAndOrder() throws {
        let text = """
            apiVersion: llmops/v1
            metadata:
              name: train-small
              labels: {team: research, tier: "1"}
            spec:
              replicas: 2
              accelerators:
                - type: gpu-h100
                  count: 8
                - {type: tpu-v5e, count: 4}
            """
        let root = try XCTUnwrap(try YAMLParser.parse(text, fileName: "job.yaml"))
        guard case .mapping(let entries, let position) = root else { return XCTFail("\(root)") }
        XCTAssertEqual(position, YAMLPosition(line: 1, column: 1))
        XCTAssertEqual(entries.map { $0.key.scalarValue }, ["apiVersion", "metadata", "spec"])
        XCTAssertEqual(root["metadata"]?["name"]?.scalarValue, "train-small")
        XCTAssertEqual(root["metadata"]?["name"]?.position, YAMLPosition(line: 3, column: 9))
        XCTAssertEqual(
            root["metadata"]?["labels"]?["tier"],
            .scalar(YAMLScalar(value: "1", style: .doubleQuoted), YAMLPosition(line: 4, column: 34)))
        let accelerators = try XCTUnwrap(root["spec"]?["accelerators"])
        XCTAssertEqual(accelerators.position.line, 8)
        XCTAssertEqual(accelerators[0]?["count"]?.position, YAMLPosition(line: 9, column: 14))
        XCTAssertEqual(accelerators[1]?["type"]?.scalarValue, "tpu-v5e")
        XCTAssertEqual(accelerators[1]?["count"]?.position.line, 10)
        XCTAssertNil(accelerators[2])
    }

    func testCoreSchemaTypingOfPlainScalarsOnly() throws {
        let text = """
            int: 2
            negative: -17
            hex: 0x1F
            octal: 0o17
            float: 2.5
            exp: 1e3
            inf: -.inf
            bool: true
            boolCaps: FALSE
            null1: ~
            null2:
            yes11: yes
            quotedInt: "2"
            singleQuotedBool: 'true'
            taggedString: !!str 42
            string: two
            version: 1.2.3
            block: |
              2
            """
        let root = try XCTUnwrap(try YAMLParser.parse(text))
        func resolved(_ key: String) -> YAMLResolvedScalar? {
            if case .scalar(let s, _) = root[key] { return s.resolved }
            return nil
        }
        XCTAssertEqual(resolved("int"), .int(2))
        XCTAssertEqual(resolved("negative"), .int(-17))
        XCTAssertEqual(resolved("hex"), .int(31))
        XCTAssertEqual(resolved("octal"), .int(15))
        XCTAssertEqual(resolved("float"), .float(2.5))
        XCTAssertEqual(resolved("exp"), .float(1000))
        XCTAssertEqual(resolved("inf"), .float(-.infinity))
        XCTAssertEqual(resolved("bool"), .bool(true))
        XCTAssertEqual(resolved("boolCaps"), .bool(false))
        XCTAssertEqual(resolved("null1"), .null)
        XCTAssertEqual(resolved("null2"), .null)
        XCTAssertEqual(resolved("yes11"), .string("yes"), "YAML 1.2: yes is a string, not a bool")
        XCTAssertEqual(resolved("quotedInt"), .string("2"))
        XCTAssertEqual(resolved("singleQuotedBool"), .string("true"))
        XCTAssertEqual(resolved("taggedString"), .string("42"))
        XCTAssertEqual(resolved("string"), .string("two"))
        XCTAssertEqual(resolved("version"), .string("1.2.3"))
        XCTAssertEqual(resolved("block"), .string("2"), "clip chomping, no final newline in the text")
    }

    func testMultipleDocuments() throws {
        let text = """
            ---
            name: a
            ---
            name: b
            after: [a]
            ...
            ---
            - 1
            - 2
            """
        let documents = try YAMLParser.parseDocuments(text, fileName: "pipeline.yaml")
        XCTAssertEqual(documents.count, 3)
        XCTAssertEqual(documents[0]["name"]?.scalarValue, "a")
        XCTAssertEqual(documents[1]["after"]?[0]?.scalarValue, "a")
        XCTAssertEqual(documents[1].position.line, 4)
        XCTAssertEqual(documents[2][1]?.scalarValue, "2")
        XCTAssertThrowsError(try YAMLParser.parse(text)) { error in
            XCTAssertTrue("\(error)".contains("expected a single document, found 3"), "\(error)")
        }
        XCTAssertEqual(try YAMLParser.parseDocuments(""), [])
        XCTAssertEqual(try YAMLParser.parseDocuments("# only a comment\n").count, 0)
    }

    func testAnchorsAliasesAndMergeKeys() throws {
        let text = """
            defaults: &defaults
              cpu: 2
              memory: 4Gi
            small:
              <<: *defaults
              cpu: 1
            copy: *defaults
            list: [&x 5, *x]
            """
        let root = try XCTUnwrap(try YAMLParser.parse(text))
        XCTAssertEqual(root["copy"], root["defaults"])
        XCTAssertEqual(root["small"]?["cpu"]?.scalarValue, "1", "explicit keys win over merged ones")
        XCTAssertEqual(root["small"]?["memory"]?.scalarValue, "4Gi")
        XCTAssertEqual(root["list"]?[1]?.scalarValue, "5")
    }

    func testDuplicateKeyIsAnErrorWithPosition() {
        let text = "metadata:\n  name: a\n  labels: {}\n  name: b\n"
        XCTAssertThrowsError(try YAMLParser.parseDocuments(text, fileName: "dup.yaml")) { error in
            let error = error as! YAMLError
            XCTAssertEqual(error.kind, .duplicateKey)
            XCTAssertEqual(error.position, YAMLPosition(line: 4, column: 3))
            XCTAssertEqual(error.description, "dup.yaml:4:3: duplicate key \"name\" (first at line 2)")
        }
    }

    func testSyntaxErrorsCarryFileLineAndLibyamlProblem() {
        let badIndent = "spec:\n  replicas: 2\n   tasks: 3\n"
        XCTAssertThrowsError(try YAMLParser.parseDocuments(badIndent, fileName: "bad.yaml")) { error in
            let error = error as! YAMLError
            XCTAssertEqual(error.kind, .syntax)
            XCTAssertEqual(error.position.line, 3)
            XCTAssertTrue(error.description.hasPrefix("bad.yaml:3:"), error.description)
            XCTAssertTrue(error.message.contains("mapping values are not allowed"), error.message)
        }
        XCTAssertThrowsError(try YAMLParser.parseDocuments("a: [1, 2\nb: 3\n")) { error in
            let error = error as! YAMLError
            XCTAssertEqual(error.kind, .syntax)
            XCTAssertTrue(error.message.contains("flow sequence"), error.message)
            XCTAssertTrue(error.description.hasPrefix("<input>:"), error.description)
        }
        XCTAssertThrowsError(try YAMLParser.parseDocuments("a: *nope\n", fileName: "x.yaml")) { error in
            XCTAssertEqual((error as! YAMLError).kind, .unknownAlias)
            XCTAssertEqual("\(error)", "x.yaml:1:4: unknown alias *nope: no anchor &nope defined before it")
        }
    }

    func testBillionLaughsIsRefused() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...7 {
            let ref = "*a\(i - 1)"
            text += "a\(i): &a\(i) [\(Array(repeating: ref, count: 10).joined(separator: ", "))]\n"
        }
        XCTAssertThrowsError(try YAMLParser.parseDocuments(text)) { error in
            XCTAssertEqual((error as! YAMLError).kind, .tooLarge)
        }
    }

    func testDeepNestingIsRefusedNotACrash() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertThrowsError(try YAMLParser.parseDocuments(deep, fileName: "deep.yaml")) { error in
            let error = error as! YAMLError
            XCTAssertEqual(error.kind, .tooLarge)
            XCTAssertEqual(error.description, "deep.yaml:1:257: nesting deeper than 256 levels")
        }
        let fine = String(repeating: "[", count: 200) + "1" + String(repeating: "]", count: 200)
        XCTAssertEqual(try YAMLParser.parseDocuments(fine).count, 1)
    }

    func testJSONInput() throws {
        let json = """
            {"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"a","labels":{}},
             "spec":{"replicas":2,"ratio":0.5,"enabled":false,"none":null,"after":["x","y"],"text":"line\\nnext \\u00e9"}}
            """
        let root = try XCTUnwrap(try YAMLParser.parse(json, fileName: "body.json"))
        XCTAssertEqual(root["kind"]?.scalarValue, "Job")
        guard case .scalar(let replicas, _) = root["spec"]?["replicas"],
            case .scalar(let ratio, _) = root["spec"]?["ratio"],
            case .scalar(let enabled, _) = root["spec"]?["enabled"],
            case .scalar(let none, _) = root["spec"]?["none"],
            case .scalar(let name, _) = root["metadata"]?["name"]
        else { return XCTFail() }
        XCTAssertEqual(replicas.resolved, .int(2))
        XCTAssertEqual(ratio.resolved, .float(0.5))
        XCTAssertEqual(enabled.resolved, .bool(false))
        XCTAssertEqual(none.resolved, .null)
        XCTAssertEqual(name.resolved, .string("a"))
        XCTAssertEqual(root["spec"]?["text"]?.scalarValue, "line\nnext é")
        XCTAssertEqual(root["spec"]?["after"]?[1]?.scalarValue, "y")
        XCTAssertEqual(root["spec"]?["replicas"]?.position, YAMLPosition(line: 2, column: 21))

        // JSONEncoder's pretty output parses too.
        let pretty = "{\n  \"a\" : [\n    1,\n    2\n  ],\n  \"b\" : {\n\n  }\n}"
        let prettyRoot = try XCTUnwrap(try YAMLParser.parse(pretty))
        XCTAssertEqual(prettyRoot["a"]?[1]?.scalarValue, "2")
        XCTAssertEqual(prettyRoot["b"], .mapping([], YAMLPosition(line: 6, column: 9)))
    }
}

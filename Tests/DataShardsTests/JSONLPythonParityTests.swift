import Foundation
import XCTest

@testable import DataShards

/// JSONL text fields against Python's `json.loads` (the reference side reads JSONL with it): U+FEFF kept
/// wherever it is (Foundation's JSONSerialization dropped it at a string's start and after an escape), the
/// last of duplicate keys, NaN/Infinity literals, and the same lines refused.
final class JSONLPythonParityTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("jsonl-py-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Python's verdict on each line of a file: ["text", "code points"], ["missing"], ["notstring", kind],
    /// ["notobject", kind], ["surrogate"] (a str UTF-8 cannot hold) or ["malformed"]. A leading U+FEFF of a
    /// line is dropped first (the reader treats it as the file's byte-order mark; json.loads would refuse it).
    static let pythonVerdicts = #"""
        import json, sys
        def kind(v):
            if isinstance(v, dict): return "an object"
            if isinstance(v, list): return "an array"
            if isinstance(v, str): return "a string"
            if isinstance(v, bool): return "a boolean"
            if v is None: return "null"
            return "a number"
        out = []
        for raw in open(sys.argv[1], "rb").read().split(b"\n")[:-1]:
            line = raw.decode("utf-8")
            if line.startswith("\ufeff"): line = line[1:]
            try: v = json.loads(line)
            except (ValueError, RecursionError): out.append(["malformed"]); continue
            if not isinstance(v, dict): out.append(["notobject", kind(v)]); continue
            if "text" not in v: out.append(["missing"]); continue
            t = v["text"]
            if not isinstance(t, str): out.append(["notstring", kind(t)]); continue
            try: t.encode("utf-8")
            except UnicodeEncodeError: out.append(["surrogate"]); continue
            out.append(["text", " ".join(str(ord(c)) for c in t)])
        json.dump(out, open(sys.argv[2], "w"))
        """#

    func pythonVerdicts(_ lines: [String]) throws -> [[String]] {
        let input = dir.appendingPathComponent("lines-\(UUID().uuidString).jsonl")
        let output = dir.appendingPathComponent("verdicts-\(UUID().uuidString).json")
        try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: input)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", Self.pythonVerdicts, input.path, output.path]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "python3 must run (scripts/install-test-deps.sh)")
        // Code points as numbers, so nothing depends on how a JSON parser treats U+FEFF.
        return try JSONDecoder().decode([[String]].self, from: Data(contentsOf: output))
    }

    /// Our verdict, in Python's vocabulary.
    func verdict(_ line: String, parser: inout JSONLineParser) -> [String] {
        let bytes = Array(line.utf8)
        return bytes.withUnsafeBytes { raw -> [String] in
            do {
                switch try parser.parse(DocumentReader.droppingBOM(raw), replaceLoneSurrogates: false).value {
                case .text(let s): return ["text", Self.codePoints(s)]
                case .missingField: return ["missing"]
                case .notString(let kind): return ["notstring", kind]
                case .notObject(let kind): return ["notobject", kind]
                }
            } catch JSONLineError.loneSurrogate {
                return ["surrogate"]
            } catch {
                return ["malformed"]
            }
        }
    }

    static func codePoints(_ s: String) -> String { s.unicodeScalars.map { String($0.value) }.joined(separator: " ") }

    /// The lines of the bug report and their neighbours, read through DocumentReader like a tokenize task does.
    func testByteOrderMarksInStringsAreKeptLikePython() throws {
        let bom = "\u{FEFF}"
        let lines = [
            "{\"text\": \"\(bom)raw at the start\"}",
            "{\"text\": \"\\ufeffescaped at the start\"}",
            "{\"text\": \"a\\n\(bom)raw after \\\\n\"}",
            "{\"text\": \"a\\n\\uFEFFescaped after \\\\n\"}",
            "{\"text\": \"q\\\"\(bom)raw after \\\\\\\"\"}",
            "{\"text\": \"q\\\"\\ufeffescaped after \\\\\\\"\"}",
            "{\"text\": \"\\\\\(bom)raw after \\\\\\\\\", \"id\": 7}",
            "{\"id\": 1, \"text\": \"\\t\(bom)\\/\(bom)\\u00e9\(bom)\(bom) several\"}",
            "{\"text\": \"\(bom)\"}",
            "{\"text\": \"mid\(bom)dle\"}",
            "\(bom){\"text\": \"a byte-order mark before the object\"}",
            "{\"text\": \"first\", \"meta\": {\"text\": \"nested\"}, \"text\": \"\(bom)last wins\"}",
            "{\"text\": \"\\ud83d\\ude00 pair \(bom)\", \"score\": NaN, \"big\": -Infinity}",
        ]
        let file = dir.appendingPathComponent("bom.jsonl").path
        try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: file))
        var texts: [String] = []
        let stats = try DocumentReader.forEachDocument(path: file) { texts.append($0.text) }
        XCTAssertEqual(stats.documents, lines.count)
        XCTAssertEqual(texts.first, "\(bom)raw at the start")
        XCTAssertEqual(texts[2], "a\n\(bom)raw after \\n")
        XCTAssertEqual(texts[4], "q\"\(bom)raw after \\\"")
        XCTAssertEqual(texts[8], bom)
        XCTAssertEqual(texts[11], "\(bom)last wins")
        let python = try pythonVerdicts(lines)
        XCTAssertEqual(python.count, lines.count)
        for (k, reference) in python.enumerated() where k < texts.count {
            XCTAssertEqual(["text", Self.codePoints(texts[k])], reference, "line \(k + 1): \(lines[k])")
        }
        XCTAssertEqual(
            texts.map { $0.unicodeScalars.filter { $0 == "\u{FEFF}" }.count }, [1, 1, 1, 1, 1, 1, 1, 4, 1, 1, 0, 1, 1])
    }

    /// 4,000 generated lines, a quarter of them damaged: the same text, or the same refusal, as Python.
    func testGeneratedLinesMatchPythonJSON() throws {
        var fuzz = JSONFuzz(seed: 2411)
        let lines = (0..<4000).map { _ in fuzz.line() }
        let python = try pythonVerdicts(lines)
        XCTAssertEqual(python.count, lines.count)
        var parser = JSONLineParser(field: "text")
        var mismatches = 0
        var seen: [String: Int] = [:]
        for (line, reference) in zip(lines, python) {
            let ours = verdict(line, parser: &parser)
            seen[reference[0], default: 0] += 1
            if ours != reference {
                mismatches += 1
                if mismatches <= 10 { XCTFail("\(line.debugDescription): ours \(ours), Python \(reference)") }
            }
        }
        XCTAssertEqual(mismatches, 0)
        // The generator reaches every outcome often enough to mean something.
        for outcome in ["text", "missing", "notstring", "notobject", "surrogate", "malformed"] {
            XCTAssertGreaterThan(seen[outcome] ?? 0, 20, "outcome \(outcome): \(seen)")
        }
    }

    func testLoneSurrogatesFollowTheInvalidUTF8Policy() throws {
        let file = dir.appendingPathComponent("s.jsonl").path
        try Data("{\"text\": \"ok\"}\n{\"text\": \"a\\ud800b\"}\n".utf8).write(to: URL(fileURLWithPath: file))
        var texts: [String] = []
        let stats = try DocumentReader.forEachDocument(path: file) { texts.append($0.text) }
        XCTAssertEqual(texts, ["ok", "a\u{FFFD}b"])
        XCTAssertEqual(stats.replacedInvalidUTF8, 1)
        XCTAssertThrowsError(
            try DocumentReader.forEachDocument(path: file, options: InputOptions(invalidUTF8: .reject)) { _ in }
        ) {
            XCTAssertEqual($0 as? InputError, .invalidUTF8(file: file, line: 2))
        }
    }
}

/// Seeded JSON lines over the places parsers disagree: escapes, U+FEFF, surrogates, duplicate and escaped
/// keys, Python's NaN/Infinity, number edge forms, nesting; then a quarter are damaged by random edits.
struct JSONFuzz {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next(_ n: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(n))
    }
    mutating func pick(_ items: [String]) -> String { items[next(items.count)] }

    static let pieces = [
        "a", "text", " ", "\u{FEFF}", "\\n", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\r", "\\t", "\\ufeff",
        "\\uFEFF", "\\u00e9", "\\u0000", "\\ud83d\\ude00", "\\uD834\\uDD1E", "é", "日本", "😀", "\u{7F}", "\u{2028}",
        "\u{85}", "'", "{", "]", ":", ",",
    ]
    static let lonePieces = ["\\ud800", "\\udc00x", "\\ud800\\u0041", "\\uDBFF\\ud800"]
    static let rarePieces = ["\u{1}", "\t", "\\x", "\\u12", "\\U0041"]
    static let keys = ["text", "text", "text", "\\u0074ext", "te\\u0078t", "id", "meta", "tex", "textx", "Text", ""]
    static let scalars = [
        "0", "-0", "12", "1.5e10", "1E-3", "-1.0", "3.25", "true", "false", "null", "NaN", "Infinity",
        "-Infinity", "1e+2", "0.5",
    ]
    static let badScalars = ["01", "1.", ".5", "+1", "1e", "-", "nan", "True", "-NaN", "0x1"]
    static let space = ["", "", "", " ", "\t", "\r", "  "]
    static let edits = ["{", "}", "[", "]", ",", ":", "\"", "\\", " ", "0", "-", "e", ".", "n", "\u{FEFF}", "\\u", "x"]

    mutating func string() -> String {
        var s = "\""
        for _ in 0..<next(6) {
            switch next(100) {
            case 0..<3: s += pick(Self.lonePieces)
            case 3: s += pick(Self.rarePieces)
            default: s += pick(Self.pieces)
            }
        }
        return s + "\""
    }

    mutating func value(depth: Int) -> String {
        switch next(depth > 2 ? 3 : 5) {
        case 0: return next(15) == 0 ? pick(Self.badScalars) : pick(Self.scalars)
        case 1, 2: return string()
        case 3:
            return "["
                + (0..<next(4)).map { _ in pick(Self.space) + value(depth: depth + 1) + pick(Self.space) }.joined(
                    separator: ",") + "]"
        default: return object(depth: depth + 1)
        }
    }

    mutating func object(depth: Int) -> String {
        let members = (0..<next(5)).map { _ in
            pick(Self.space) + "\"" + pick(Self.keys) + "\"" + pick(Self.space) + ":" + pick(Self.space)
                + value(depth: depth) + pick(Self.space)
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    mutating func line() -> String {
        var line = pick(Self.space) + (next(8) == 0 ? value(depth: 1) : object(depth: 0)) + pick(Self.space)
        if next(30) == 0 { line = "\u{FEFF}" + line }
        guard next(4) == 0 else { return line }
        var scalars = Array(line.unicodeScalars)
        for _ in 0...next(2) {
            let at = next(scalars.count + 1)
            switch next(3) {
            case 0: if at < scalars.count { scalars.remove(at: at) }
            case 1: scalars.insert(contentsOf: pick(Self.edits).unicodeScalars, at: at)
            default: if at < scalars.count { scalars[at] = pick(Self.edits).unicodeScalars.first! }
            }
        }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }
}

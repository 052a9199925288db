import Foundation
import XCTest

@testable import DataShards

/// Shared pieces of the tokenizer tests: fixture paths, the Python reference, and the test texts.
enum TokenizerFixtures {
    static let directory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tokenizer").path
    }()
    static var gpt2Style: String { directory + "/gpt2-style.tokenizer.json" }
    static var reference: String { directory + "/hf_reference.py" }

    static func tempDirectory(_ tag: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(tag)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs hf_reference.py; fails the test with the script's stderr if Python or `tokenizers` is missing.
    static func runReference(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", reference] + args
        let err = Pipe()
        p.standardError = err
        try p.run()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus != 0 {
            throw NSError(
                domain: "hf_reference", code: Int(p.terminationStatus),
                userInfo: [
                    NSLocalizedDescriptionKey:
                        "python reference failed (install with scripts/install-test-deps.sh): "
                        + String(decoding: errData, as: UTF8.self)
                ])
        }
    }

    /// HF ids of each text for the tokenizer.json at `path`.
    static func referenceIDs(tokenizerJSON path: String, texts: [String], in dir: URL) throws -> [[UInt32]] {
        let textsFile = dir.appendingPathComponent("texts-\(UUID().uuidString).json")
        let outFile = dir.appendingPathComponent("ids-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: texts).write(to: textsFile)
        try runReference(["encode", path, textsFile.path, outFile.path])
        let parsed = try JSONSerialization.jsonObject(with: Data(contentsOf: outFile)) as! [[Int]]
        return parsed.map { $0.map { UInt32($0) } }
    }

    /// Whether HF `Tokenizer.from_file` loads each file: nil, or its error text.
    static func referenceLoadErrors(_ paths: [String], in dir: URL) throws -> [String?] {
        let outFile = dir.appendingPathComponent("load-\(UUID().uuidString).json")
        try runReference(["load", outFile.path] + paths)
        return try JSONDecoder().decode([String?].self, from: Data(contentsOf: outFile))
    }

    /// The fixture's tokenizer.json as an object, to derive variants from.
    static func gpt2StyleObject() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: gpt2Style))) as! [String: Any]
    }

    /// Writes a tokenizer.json object; returns its path.
    static func write(_ object: [String: Any], named name: String, in dir: URL) throws -> String {
        let url = dir.appendingPathComponent(name)
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
        return url.path
    }

    /// Texts covering the cases the pre-tokenizer must get exactly right.
    static let texts: [String] = [
        "",
        "The quick brown fox jumps over the lazy dog. It's what we've done; they'll see, I'm sure she'd agree.",
        "IT'S WE'VE THEY'LL I'M SHE'D DON'T 'S 'T 'Re 'rE 'LL 'Ll 'ſ 'ſt x'sy ''s '' 's",
        "def foo(x):\n    return x**2 + 1  # comment\n\tif (a != b) { c[i] = d->e; }\n\n\nclass A:\n  pass\r\n",
        "#include <stdio.h>\nint main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
        "a    b\t\t\tc\n\n\n  \n d   \r\n\r\n  ",
        String(repeating: " ", count: 300) + "x" + String(repeating: "\n", count: 40)
            + String(repeating: "\t ", count: 50),
        "          ",
        "\u{3000}\u{3000}x\u{00A0}a \u{2028} b\u{2029}c\u{1680}d\u{2003}\u{2003}e\u{85}f\u{0B}\u{0C}g",
        "1234567890 3.14159 1,000,000 12345678 ١٢٣٤ ४५६ ²³ ½ Ⅻ 〇 ０１２",
        "日本語のテキスト、中文文本。한국어 텍스트 ひらがなカタカナ",
        "👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ 😀😃🚀 ✅️ a🙂b",
        "e\u{301} a\u{308} n\u{303} Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇ \u{301}\u{301}x",
        "مرحبا بالعالم ١٢٣ نص عربي.",
        "नमस्ते दुनिया, यह हिन्दी है। क्षत्रिय",
        "Привет, мир! Ёжик в тумане. ПРИВЕТ",
        "สวัสดีชาวโลก ภาษาไทย",
        "Γειά σου Κόσμε. שלום עולם. გამარჯობა. Բարեւ. ሰላም",
        "hello<|endoftext|>world <|endoftext|><|endoftext|> <|endoftext|",
        "\u{0}\u{1}\u{1C}\u{1F}\u{7F}x\u{85}next \u{FEFF}bom \u{200B}zw\u{200D}j",
        "\u{1C89}\u{A7CB} new letters \u{105C0}",
        "price: $100.00!!! (approx.) — “quotes” ‘single’ … ¿Qué? ¡Sí! «guillemets»",
        String(repeating: "a", count: 500) + " " + String(repeating: "ab", count: 300),
        "x\r\ny\r\rz\n\r w \n\nv ",
        "   leading and trailing   ",
        "!!!\n\n???\r\n...   ,,,  :) ;-) <3 @user #tag http://example.com/a?b=c&d=e",
    ]

    /// Random strings mixing scripts, whitespace, digits, punctuation and emoji (seeded, reproducible).
    static func randomTexts(count: Int, seed: UInt64) -> [String] {
        let pools: [[UInt32]] = [
            Array(0x61...0x7A), Array(0x41...0x5A), Array(0x30...0x39),
            [0x20, 0x20, 0x20, 0x0A, 0x09, 0x0D, 0x3000, 0xA0, 0x2028, 0x85, 0x0B],
            Array(0x21...0x2F) + Array(0x3A...0x40) + [0x27, 0x27, 0x27],
            Array(0x4E00...0x4E80), Array(0x3040...0x309F), Array(0x0600...0x064A), Array(0x0900...0x097F),
            Array(0x0400...0x04FF), Array(0x0E01...0x0E5B), Array(0x0300...0x036F), Array(0x1F600...0x1F64F),
            [0x200D, 0xFE0F, 0x1F3FD, 0x1F1EB, 0x1F1F7], Array(0x00C0...0x024F), Array(0x2150...0x218B),
            Array(0x00...0x1F), [0x1C89, 0xA7CB, 0x105C0, 0x17F, 0x212A],
        ]
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        return (0..<count).map { _ in
            var scalars = String.UnicodeScalarView()
            let length = Int(next() % 60)
            var pool = pools[Int(next() % UInt64(pools.count))]
            for _ in 0..<length {
                if next() % 4 == 0 { pool = pools[Int(next() % UInt64(pools.count))] }
                let v = pool[Int(next() % UInt64(pool.count))]
                if let s = Unicode.Scalar(v) { scalars.append(s) }
            }
            return String(scalars)
        }
    }

    /// Random strings over the characters where the split patterns' alternatives meet: spaces of several
    /// kinds, CR/LF, apostrophes and contraction letters, digits, punctuation, combining marks.
    static func trickyTexts(count: Int, seed: UInt64) -> [String] {
        let alphabet: [String] = [
            " ", " ", " ", "\n", "\r", "\t", "'", "'", "s", "S", "t", "l", "L", "e", "v", "R", "a",
            "1", "2", ".", "!", "\u{17F}", "\u{3000}", "\u{A0}", "é", "\u{301}", "日", "\u{B}", "\u{85}", "😀",
        ]
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        return (0..<count).map { _ in
            (0..<Int(next() % 24)).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }.joined()
        }
    }

    /// A small training corpus: the test texts, local C headers and this package's Swift sources.
    static func trainingCorpus() -> [String] {
        var docs = texts + randomTexts(count: 200, seed: 99)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for rel in ["Sources/DataShards/Tokenizer", "Sources/Zstd", "Sources/Gzip", "Sources/Checksum"] {
            let dir = root.appendingPathComponent(rel)
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
            where name.hasSuffix(".swift") && !name.hasPrefix("Unicode") {
                if let s = try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8) { docs.append(s) }
            }
        }
        for header in ["/usr/include/zlib.h", "/usr/include/zstd.h"] {
            if let s = try? String(contentsOfFile: header, encoding: .utf8) { docs.append(s) }
        }
        return docs
    }
}

import Foundation

/// Reading and writing Hugging Face `tokenizer.json` for byte-level BPE.
///
/// Accepted: `model.type` BPE (merges as "a b" strings or ["a", "b"] pairs, `ignore_merges`), pre-tokenizer
/// `ByteLevel(use_regex: true)` (GPT-2 pattern) or `Sequence[Split(Regex: <GPT-2 or Llama-3 pattern>,
/// Isolated), ByteLevel(use_regex: false)]`, `normalizer: null`, `added_tokens` without
/// single_word/lstrip/rstrip. Anything else is rejected with `TokenizerError.unsupported` rather than
/// silently producing other ids. The decoder is assumed to be ByteLevel; `post_processor` is kept verbatim
/// when saving but not applied by `encode` (the caller adds end-of-text tokens itself).
enum TokenizerJSON {
    static func render(
        vocab: [(token: String, id: UInt32)], merges: [(String, String)], addedTokens: [AddedToken],
        splitPattern: SplitPattern, addPrefixSpace: Bool, ignoreMerges: Bool,
        postProcessorJSON: String?
    ) -> String {
        var o = "{\n"
        o += "  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n"
        o += "  \"added_tokens\": ["
        for (i, t) in addedTokens.sorted(by: { $0.id < $1.id }).enumerated() {
            o += i == 0 ? "\n" : ",\n"
            o += "    {\"id\": \(t.id), \"content\": \(quote(t.content)), \"single_word\": false, \"lstrip\": false, "
            o += "\"rstrip\": false, \"normalized\": \(t.normalized), \"special\": \(t.special)}"
        }
        o += addedTokens.isEmpty ? "],\n" : "\n  ],\n"
        o += "  \"normalizer\": null,\n"
        switch splitPattern {
        case .gpt2:
            o +=
                "  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": \(addPrefixSpace), \"trim_offsets\": true, \"use_regex\": true},\n"
        case .llama3:
            o +=
                "  \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": \(quote(splitPattern.regex))}, \"behavior\": \"Isolated\", \"invert\": false}, "
            o +=
                "{\"type\": \"ByteLevel\", \"add_prefix_space\": \(addPrefixSpace), \"trim_offsets\": false, \"use_regex\": false}]},\n"
        }
        o += "  \"post_processor\": \(postProcessorJSON ?? "null"),\n"
        o +=
            "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true},\n"
        o += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
        o += "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n    \"fuse_unk\": false,\n"
        o += "    \"byte_fallback\": false,\n    \"ignore_merges\": \(ignoreMerges),\n    \"vocab\": {"
        for (i, v) in vocab.enumerated() {
            o += i == 0 ? "\n      " : ",\n      "
            o += "\(quote(v.token)): \(v.id)"
        }
        o += "\n    },\n    \"merges\": ["
        for (i, m) in merges.enumerated() {
            o += i == 0 ? "\n      " : ",\n      "
            o += "[\(quote(m.0)), \(quote(m.1))]"
        }
        o += "\n    ]\n  }\n}\n"
        return o
    }

    static func quote(_ s: String) -> String {
        var o = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": o += "\\\""
            case "\\": o += "\\\\"
            case "\n": o += "\\n"
            case "\r": o += "\\r"
            case "\t": o += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    o += String(format: "\\u%04x", u.value)
                } else {
                    o.unicodeScalars.append(u)
                }
            }
        }
        return o + "\""
    }

    // MARK: Loading

    /// Fields are checked in a fixed order (normalizer, pre_tokenizer, model, added_tokens, post_processor), so a
    /// file with several problems always reports the same one first.
    static func parse(_ data: Data, source: String) throws(TokenizerError) -> Tokenizer {
        let root = try parseRoot(data, source: source)
        if let n = root["normalizer"], !(n is NSNull) {
            throw .unsupported(file: source, field: "normalizer", value: describe(n))
        }
        let (pattern, prefixSpace) = try parsePreTokenizer(root["pre_tokenizer"], source: source)
        let model = try parseModel(root["model"], source: source)
        let ignoreMerges = (model["ignore_merges"] as? Bool) ?? false
        let vocab = try parseVocabulary(model["vocab"], source: source)
        let merges = try parseMerges(model["merges"], source: source)
        let added = try parseAddedTokens(root["added_tokens"], source: source)
        let post = try parsePostProcessor(root["post_processor"], source: source)
        return try Tokenizer(
            vocabulary: vocab, merges: merges, addedTokens: added, splitPattern: pattern,
            addPrefixSpace: prefixSpace, ignoreMerges: ignoreMerges, postProcessorJSON: post, source: source)
    }

    private static func parseRoot(_ data: Data, source: String) throws(TokenizerError) -> [String: Any] {
        let rootAny: Any
        do { rootAny = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            throw .malformedJSON(file: source, reason: "\(error.localizedDescription)")
        }
        guard let root = rootAny as? [String: Any] else {
            throw .invalidField(file: source, field: "(root)", expected: "a JSON object")
        }
        return root
    }

    /// The `model` object, once every BPE option that would change the ids (and that we do not implement) is refused.
    private static func parseModel(_ any: Any?, source: String) throws(TokenizerError) -> [String: Any] {
        guard let model = any as? [String: Any] else {
            throw .invalidField(file: source, field: "model", expected: "an object with type BPE")
        }
        if let type = model["type"], (type as? String) != "BPE" {
            throw .unsupported(file: source, field: "model.type", value: describe(type))
        }
        if let d = model["dropout"], !(d is NSNull) {
            throw .unsupported(file: source, field: "model.dropout", value: describe(d))
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = model[key], !(v is NSNull), (v as? String) != "" {
                throw .unsupported(file: source, field: "model.\(key)", value: describe(v))
            }
        }
        if let v = model["byte_fallback"] as? Bool, v {
            throw .unsupported(file: source, field: "model.byte_fallback", value: "true")
        }
        return model
    }

    private static func parseVocabulary(_ any: Any?, source: String) throws(TokenizerError) -> [(
        token: String, id: UInt32
    )] {
        guard let vocabDict = any as? [String: Any] else {
            throw .invalidField(file: source, field: "model.vocab", expected: "an object of token -> id")
        }
        var vocab: [(token: String, id: UInt32)] = []
        vocab.reserveCapacity(vocabDict.count)
        for (token, value) in vocabDict {
            guard let id = value as? Int, id >= 0, id < Int(UInt32.max) else {
                throw .invalidField(
                    file: source, field: "model.vocab[\(quote(token))]", expected: "a non-negative integer id")
            }
            vocab.append((token, UInt32(id)))
        }
        return vocab
    }

    /// Merges in either spelling HF writes: "left right" strings (older files) or ["left", "right"] pairs.
    private static func parseMerges(_ any: Any?, source: String) throws(TokenizerError) -> [(String, String)] {
        guard let mergesAny = any as? [Any] else {
            throw .invalidField(file: source, field: "model.merges", expected: "an array")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(mergesAny.count)
        for (i, m) in mergesAny.enumerated() {
            if let s = m as? String {
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw .invalidField(
                        file: source, field: "model.merges[\(i)]",
                        expected: "\"left right\" (two tokens separated by one space)")
                }
                merges.append((String(parts[0]), String(parts[1])))
            } else if let pair = m as? [Any], pair.count == 2, let a = pair[0] as? String, let b = pair[1] as? String {
                merges.append((a, b))
            } else {
                throw .invalidField(
                    file: source, field: "model.merges[\(i)]",
                    expected: "a \"left right\" string or a [left, right] pair")
            }
        }
        return merges
    }

    private static func parseAddedTokens(_ any: Any?, source: String) throws(TokenizerError) -> [AddedToken] {
        guard let list = any, !(list is NSNull) else { return [] }
        guard let items = list as? [[String: Any]] else {
            throw .invalidField(file: source, field: "added_tokens", expected: "an array of objects")
        }
        var added: [AddedToken] = []
        for (i, item) in items.enumerated() {
            guard let id = item["id"] as? Int, id >= 0, let content = item["content"] as? String else {
                throw .invalidField(
                    file: source, field: "added_tokens[\(i)]", expected: "an object with integer id and string content")
            }
            for flag in ["single_word", "lstrip", "rstrip"] where (item[flag] as? Bool) == true {
                throw .unsupported(file: source, field: "added_tokens[\(i)].\(flag)", value: "true")
            }
            let special = (item["special"] as? Bool) ?? false
            added.append(
                AddedToken(
                    id: UInt32(id), content: content, special: special,
                    normalized: (item["normalized"] as? Bool) ?? !special))
        }
        return added
    }

    /// The post-processor as canonical JSON text (sorted keys), kept to be written back on save; nil when absent.
    private static func parsePostProcessor(_ any: Any?, source: String) throws(TokenizerError) -> String? {
        guard let p = any, !(p is NSNull) else { return nil }
        guard let d = try? JSONSerialization.data(withJSONObject: p, options: [.sortedKeys, .withoutEscapingSlashes])
        else {
            throw .invalidField(file: source, field: "post_processor", expected: "a JSON object")
        }
        return String(decoding: d, as: UTF8.self)
    }

    private static func parsePreTokenizer(_ any: Any?, source: String) throws(TokenizerError) -> (SplitPattern, Bool) {
        guard let pt = any as? [String: Any], let type = pt["type"] as? String else {
            throw .unsupported(file: source, field: "pre_tokenizer", value: any.map(describe) ?? "missing")
        }
        if type == "ByteLevel" {
            let flags = try byteLevelFlags(pt, field: "pre_tokenizer", source: source)
            guard flags.useRegex else {
                throw .unsupported(file: source, field: "pre_tokenizer.use_regex", value: "false without a Split")
            }
            return (.gpt2, flags.addPrefixSpace)
        }
        guard type == "Sequence", let list = pt["pretokenizers"] as? [[String: Any]], list.count == 2,
            (list[0]["type"] as? String) == "Split", (list[1]["type"] as? String) == "ByteLevel"
        else {
            throw .unsupported(file: source, field: "pre_tokenizer", value: describe(pt))
        }
        let split = list[0]
        let byteLevel = list[1]
        guard let pat = split["pattern"] as? [String: Any], let regex = pat["Regex"] as? String else {
            throw .unsupported(
                file: source, field: "pre_tokenizer.pretokenizers[0].pattern",
                value: describe(split["pattern"] ?? "missing"))
        }
        guard let pattern = SplitPattern(regex: regex) else {
            throw .unsupported(file: source, field: "pre_tokenizer.pretokenizers[0].pattern.Regex", value: regex)
        }
        guard (split["behavior"] as? String) == "Isolated", (split["invert"] as? Bool) != true else {
            throw .unsupported(
                file: source, field: "pre_tokenizer.pretokenizers[0].behavior",
                value: describe(split["behavior"] ?? "missing"))
        }
        let flags = try byteLevelFlags(byteLevel, field: "pre_tokenizer.pretokenizers[1]", source: source)
        guard !flags.useRegex else {
            throw .unsupported(
                file: source, field: "pre_tokenizer.pretokenizers[1].use_regex",
                value: "true (the split would be applied twice)")
        }
        // After a Split, HF's ByteLevel would put the prefix space before every pre-token, not every segment.
        if flags.addPrefixSpace {
            throw .unsupported(file: source, field: "pre_tokenizer.pretokenizers[1].add_prefix_space", value: "true")
        }
        return (pattern, false)
    }

    /// A ByteLevel pre-tokenizer's flags as HF reads them: `add_prefix_space` and `trim_offsets` are required
    /// booleans, `use_regex` an optional one (default true). `tokenizers` 0.23 refuses a file without
    /// `add_prefix_space` ("missing field `add_prefix_space`"); guessing a value here would give other ids than
    /// the file means wherever it is loaded, so it is refused the same way.
    private static func byteLevelFlags(_ object: [String: Any], field: String, source: String) throws(TokenizerError)
        -> (addPrefixSpace: Bool, useRegex: Bool)
    {
        func flag(_ key: String, default value: Bool?) throws(TokenizerError) -> Bool {
            guard let raw = object[key] else {
                guard let value else {
                    throw .invalidField(
                        file: source, field: "\(field).\(key)",
                        expected:
                            "true or false; it is missing, and Hugging Face tokenizers refuses a ByteLevel pre-tokenizer without it (add \"\(key)\": false unless the tokenizer was made with a prefix space)"
                    )
                }
                return value
            }
            guard let number = raw as? NSNumber, String(cString: number.objCType) == "c" else {
                throw .invalidField(
                    file: source, field: "\(field).\(key)", expected: "true or false, not \(describe(raw))")
            }
            return number.boolValue
        }
        let addPrefixSpace = try flag("add_prefix_space", default: nil)
        _ = try flag("trim_offsets", default: nil) // offsets only; required by HF all the same
        return (addPrefixSpace, try flag("use_regex", default: true))
    }

    private static func describe(_ v: Any) -> String {
        if let d = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed]) {
            let s = String(decoding: d, as: UTF8.self)
            return s.count > 200 ? String(s.prefix(200)) + "..." : s
        }
        return "\(v)"
    }
}

extension Tokenizer {
    /// Loads a Hugging Face tokenizer.json.
    public static func load(path: String) throws(TokenizerError) -> Tokenizer {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(file: path, reason: (error as NSError).localizedDescription)
        }
        return try TokenizerJSON.parse(data, source: path)
    }

    /// Parses tokenizer.json text.
    public static func load(json: String, source: String = "<memory>") throws(TokenizerError) -> Tokenizer {
        try TokenizerJSON.parse(Data(json.utf8), source: source)
    }

    /// Writes the canonical tokenizer.json atomically (temporary file, then rename).
    public func save(to path: String) throws(TokenizerError) {
        let tmp = path + ".tmp-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try Data(canonicalBytes).write(to: URL(fileURLWithPath: tmp))
            if rename(tmp, path) != 0 { throw NSError(domain: "rename", code: Int(errno)) }
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw .writeFailed(file: path, reason: "\(error)")
        }
    }
}

// Typed, problem-collecting access to a manifest mapping. The job validator and every job kind's
// settings validator use it, so all messages share one shape: `<path>: expected <what>, got <found>`.
import ClusterModel

/// Collects the problems of one file while it is validated.
public final class ManifestProblemCollector: @unchecked Sendable {
    public let fileName: String
    public private(set) var problems: [ManifestProblem] = []
    /// Set when a validator runs to describe its fields (`ManifestSchema`), not to check a document.
    let recorder: ManifestSchemaRecorder?

    public init(fileName: String) {
        self.fileName = fileName
        recorder = nil
    }

    init(recordingInto recorder: ManifestSchemaRecorder) {
        fileName = "(schema)"
        self.recorder = recorder
    }

    public func add(path: String, line: Int?, _ message: String) {
        problems.append(ManifestProblem(fileName: fileName, line: line, path: path, message: message))
    }
}

/// A mapping under validation. Getters return nil (and record a problem) when a value is missing or wrong.
public struct ManifestObjectReader {
    /// Dotted path of this mapping (`spec.resources`); empty for a document root.
    public let path: String
    /// Line of the mapping (used for problems about missing keys).
    public let line: Int?
    public let problems: ManifestProblemCollector
    public let fields: [ManifestField]

    /// Reads `value` as a mapping; reports `expected a mapping` (and yields an empty reader) otherwise.
    public init(_ value: ManifestValue, path: String, problems: ManifestProblemCollector) {
        self.path = path
        self.line = value.line
        self.problems = problems
        if case .object(let fields) = value.content {
            self.fields = fields
        } else {
            self.fields = []
            problems.add(path: path, line: value.line, "expected a mapping, got \(value)")
        }
    }

    public func has(_ key: String) -> Bool { fields.contains { $0.key == key } }
    public func value(_ key: String) -> ManifestValue? { fields.first { $0.key == key }?.value }
    public func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Records a problem about field `key` (or about this mapping when nil).
    public func report(_ key: String?, _ message: String) {
        if let key {
            problems.add(path: fieldPath(key), line: value(key)?.line ?? line, message)
        } else {
            problems.add(path: path, line: line, message)
        }
    }

    /// Reports every key not in `allowed`, with a did-you-mean suggestion when one is close.
    public func rejectUnknownKeys(allowed: [String]) {
        problems.recorder?.allow(allowed, at: path)
        for field in fields where !allowed.contains(field.key) {
            var message = "unknown field"
            if let suggestion = DidYouMean.suggestion(for: field.key, among: allowed) {
                message += " (did you mean \"\(suggestion)\"?)"
            } else {
                message += "; allowed fields: \(allowed.joined(separator: ", "))"
            }
            problems.add(path: fieldPath(field.key), line: field.keyLine ?? field.value.line, message)
        }
    }

    private func missing(_ key: String, _ expected: String) {
        problems.add(path: fieldPath(key), line: line, "missing required field (expected \(expected))")
    }

    /// The value of `key`, reporting a missing required field. Null counts as missing only when absent.
    private func lookup(_ key: String, required: Bool, expected: String) -> ManifestValue? {
        guard let value = value(key) else {
            if required { missing(key, expected) }
            return nil
        }
        return value
    }

    private func wrong(_ key: String, _ value: ManifestValue, _ expected: String) {
        problems.add(path: fieldPath(key), line: value.line ?? line, "expected \(expected), got \(value)")
    }

    /// A string, optionally checked by `isValid` (whose failure reports `expected`).
    public func string(
        _ key: String, required: Bool = false, expected: String = "a string",
        isValid: ((String) -> Bool)? = nil
    ) -> String? {
        record(key, required, ["type": "string", "description": .string(expected)])
        guard let value = lookup(key, required: required, expected: expected) else { return nil }
        guard case .string(let s) = value.content else {
            var expectation = expected
            if case .int = value.content { expectation += " (quote numbers meant as text)" }
            if case .bool = value.content { expectation += " (quote true/false meant as text)" }
            wrong(key, value, expectation)
            return nil
        }
        if let isValid, !isValid(s) {
            wrong(key, value, expected)
            return nil
        }
        return s
    }

    /// An integer within the given bounds.
    public func integer(_ key: String, required: Bool = false, min: Int64? = nil, max: Int64? = nil) -> Int64? {
        let expected = Self.describeInteger(min: min, max: max)
        record(key, required, ManifestSchemaRecorder.bounded("integer", min.map(AnyJSON.int), max.map(AnyJSON.int)))
        guard let value = lookup(key, required: required, expected: expected) else { return nil }
        let number: Int64
        switch value.content {
        case .int(let i): number = i
        case .float(let f) where f == f.rounded() && abs(f) < 9e15: number = Int64(f)
        default:
            wrong(key, value, expected)
            return nil
        }
        guard Self.isWithin(number, min: min, max: max) else {
            wrong(key, value, expected)
            return nil
        }
        return number
    }

    /// Whether `number` lies within the optional inclusive bounds (integers and decimals check alike).
    private static func isWithin<Number: Comparable>(_ number: Number, min: Number?, max: Number?) -> Bool {
        if let min, number < min { return false }
        if let max, number > max { return false }
        return true
    }

    /// A finite number (integer or decimal) within the given bounds.
    public func number(_ key: String, required: Bool = false, min: Double? = nil, max: Double? = nil) -> Double? {
        var expected = "a number"
        if let min, let max {
            expected += " between \(Self.format(min)) and \(Self.format(max))"
        } else if let min {
            expected += " >= \(Self.format(min))"
        } else if let max {
            expected += " <= \(Self.format(max))"
        }
        record(
            key, required, ManifestSchemaRecorder.bounded("number", min.map(AnyJSON.double), max.map(AnyJSON.double)))
        guard let value = lookup(key, required: required, expected: expected) else { return nil }
        let number: Double
        switch value.content {
        case .int(let i): number = Double(i)
        case .float(let f) where f.isFinite: number = f
        default:
            wrong(key, value, expected)
            return nil
        }
        guard Self.isWithin(number, min: min, max: max) else {
            wrong(key, value, expected)
            return nil
        }
        return number
    }

    public func bool(_ key: String, required: Bool = false) -> Bool? {
        record(key, required, ["type": "boolean"])
        guard let value = lookup(key, required: required, expected: "true or false") else { return nil }
        guard case .bool(let b) = value.content else {
            wrong(key, value, "true or false")
            return nil
        }
        return b
    }

    /// One of `choices` (a string).
    public func choice(_ key: String, _ choices: [String], required: Bool = false) -> String? {
        let expected = "one of " + choices.map { "\"\($0)\"" }.joined(separator: ", ")
        record(key, required, ["type": "string", "enum": .array(choices.map(AnyJSON.string))])
        guard let value = lookup(key, required: required, expected: expected) else { return nil }
        guard case .string(let s) = value.content, choices.contains(s) else {
            wrong(key, value, expected)
            return nil
        }
        return s
    }

    /// A nested mapping.
    public func object(_ key: String, required: Bool = false) -> ManifestObjectReader? {
        record(key, required, ["type": "object"])
        if problems.recorder != nil {
            return ManifestObjectReader(.object([]), path: fieldPath(key), problems: problems)
        }
        guard let value = lookup(key, required: required, expected: "a mapping") else { return nil }
        guard case .object = value.content else {
            wrong(key, value, "a mapping")
            return nil
        }
        return ManifestObjectReader(value, path: fieldPath(key), problems: problems)
    }

    /// A list; each item comes with its path (`spec.after[2]`).
    public func list(_ key: String, required: Bool = false, expected: String = "a list") -> [(
        value: ManifestValue, path: String
    )]? {
        record(key, required, ["type": "array"])
        // Described once, as its first item: the validator's item checks record the item's fields.
        if problems.recorder != nil { return [(value: .object([]), path: "\(fieldPath(key))[0]")] }
        guard let value = lookup(key, required: required, expected: expected) else { return nil }
        guard case .array(let items) = value.content else {
            wrong(key, value, expected)
            return nil
        }
        return items.enumerated().map { (value: $0.element, path: "\(fieldPath(key))[\($0.offset)]") }
    }

    /// A list of strings, each checked by `isValid` (failures report `expectedItem`).
    public func stringList(
        _ key: String, required: Bool = false, expectedList: String = "a list of strings",
        expectedItem: String = "a string", isValid: ((String) -> Bool)? = nil
    ) -> [String]? {
        record(key, required, ["type": "array", "items": ["type": "string", "description": .string(expectedItem)]])
        guard let items = list(key, required: required, expected: expectedList) else { return nil }
        var result: [String] = []
        var ok = true
        for (item, itemPath) in items {
            if case .string(let s) = item.content, isValid?(s) ?? true {
                result.append(s)
            } else {
                problems.add(path: itemPath, line: item.line ?? line, "expected \(expectedItem), got \(item)")
                ok = false
            }
        }
        return ok ? result : nil
    }

    /// A mapping of strings to strings (labels, selectors, environment variables).
    public func stringMap(
        _ key: String, expectedKey: String = "a key", keyIsValid: ((String) -> Bool)? = nil,
        expectedValue: String = "a string", valueIsValid: ((String) -> Bool)? = nil
    ) -> [String: String]? {
        record(key, false, ["type": "object", "additionalProperties": ["type": "string"]])
        guard let value = lookup(key, required: false, expected: "a mapping") else { return nil }
        guard case .object(let fields) = value.content else {
            wrong(key, value, "a mapping of strings")
            return nil
        }
        var result: [String: String] = [:]
        var ok = true
        for field in fields {
            let entryPath = "\(fieldPath(key)).\(field.key)"
            if let keyIsValid, !keyIsValid(field.key) {
                problems.add(
                    path: entryPath, line: field.keyLine ?? field.value.line,
                    "expected \(expectedKey), got \"\(field.key)\"")
                ok = false
                continue
            }
            guard case .string(let s) = field.value.content, valueIsValid?(s) ?? true else {
                var expectation = expectedValue
                switch field.value.content {
                case .int, .float, .bool: expectation += " (quote it: \"\(field.value.description)\")"
                default: break
                }
                problems.add(
                    path: entryPath, line: field.value.line ?? line, "expected \(expectation), got \(field.value)")
                ok = false
                continue
            }
            result[field.key] = s
        }
        return ok ? result : nil
    }

    /// Notes `key`'s type while a validator describes its fields; nothing otherwise.
    private func record(_ key: String, _ required: Bool, _ schema: AnyJSON) {
        problems.recorder?.field(fieldPath(key), schema, required: required)
    }

    static func describeInteger(min: Int64?, max: Int64?) -> String {
        if let min, let max { return "an integer between \(min) and \(max)" }
        if let min { return "an integer >= \(min)" }
        if let max { return "an integer <= \(max)" }
        return "an integer"
    }

    static func format(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d) }
}

extension ManifestObjectReader {
    /// The `accelerators` field: a list of `{type, count}` mappings (job resources and queue quotas share it).
    /// Every problem is reported with its path; nil when the field is absent or not a list.
    func acceleratorList(minimumCount: Int64, maximumCount: Int64? = nil) -> [AcceleratorType: Int64]? {
        guard let items = list("accelerators", expected: "a list of {type, count} mappings") else { return nil }
        var accelerators: [AcceleratorType: Int64] = [:]
        for (index, (item, itemPath)) in items.enumerated() {
            guard case .object = item.content else {
                problems.add(path: itemPath, line: item.line, "expected a mapping {type, count}, got \(item)")
                continue
            }
            let entry = ManifestObjectReader(item, path: "\(fieldPath("accelerators"))[\(index)]", problems: problems)
            entry.rejectUnknownKeys(allowed: ["type", "count"])
            let type = entry.string(
                "type", required: true,
                expected: "an accelerator type such as \"gpu-h100\" (lowercase letters, digits and '-')",
                isValid: ManifestNames.isDNSLabel)
            let count = entry.integer("count", required: true, min: minimumCount, max: maximumCount)
            if let type, let count {
                let key = AcceleratorType(rawValue: type)
                if accelerators[key] != nil { entry.report("type", "accelerator type \"\(type)\" is listed twice") }
                accelerators[key] = count
            }
        }
        return accelerators
    }
}

extension ManifestObjectReader {
    /// `apiVersion` is required and must be this format's version (every kind of document checks it alike).
    func checkAPIVersion() {
        let expected = JobManifest.apiVersion
        if let version = string("apiVersion", required: true, expected: "\"\(expected)\""), version != expected {
            report("apiVersion", "expected \"\(expected)\", got \"\(version)\"")
        }
    }

    /// `metadata: {name: …}` of a kind whose metadata is its name only (a queue, a worker pool: labels would mean
    /// nothing to the scheduler): the name, a DNS label, and its line.
    func readNameOnlyMetadata() -> (name: String?, line: Int?) {
        guard let meta = object("metadata", required: true) else { return (nil, nil) }
        meta.rejectUnknownKeys(allowed: ["name"])
        let name = meta.string(
            "name", required: true, expected: ManifestNames.dnsLabelExpectation, isValid: ManifestNames.isDNSLabel)
        return (name, meta.value("name")?.line)
    }
}

// Arbitrary JSON on the wire: task specs, task results, manifest documents.
// Named `AnyJSON` (not `JSONValue`) so it cannot collide with the manifest model's own JSON type.

import Foundation

/// Any JSON value. Integers that fit in `Int64` stay integers, so ids, counts and byte sizes survive a
/// round trip exactly; every other number is a `Double`.
public enum AnyJSON: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([AnyJSON])
    case object([String: AnyJSON])

    public subscript(key: String) -> AnyJSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public subscript(index: Int) -> AnyJSON? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    public var arrayValue: [AnyJSON]? {
        if case .array(let a) = self { return a }
        return nil
    }
    public var objectValue: [String: AnyJSON]? {
        if case .object(let o) = self { return o }
        return nil
    }
    public var isNull: Bool { self == .null }

    /// An integer, also accepting a double with no fractional part (`3.0`).
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int64(d)
        default: return nil
        }
    }

    /// Any number as a double.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// A short name of this value's JSON type, for error messages ("expected a number, got string").
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

extension AnyJSON: Codable {
    /// `Decoder` cannot say what a value is, so each kind is tried in turn, and every wrong guess costs a thrown
    /// `DecodingError` (its coding path and message built). The order puts the common kinds of specs and results
    /// first: an object takes no wrong guess, an array one, a string two (objects were tried last, after five). At
    /// batch 64 end to end, decoding the 64 specs of a poll and the 64 results of a report was 46 % of the Swift
    /// side's CPU (`perf` of `ControlBench --batch 64`; docs/leases.md, "JSON on the worker protocol").
    public init(from decoder: Decoder) throws {
        if let object = try? decoder.container(keyedBy: MemberKey.self) {
            var members: [String: AnyJSON] = [:]
            members.reserveCapacity(object.allKeys.count)
            for key in object.allKeys { members[key.stringValue] = try object.decode(AnyJSON.self, forKey: key) }
            self = .object(members)
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var items: [AnyJSON] = []
            if let count = array.count { items.reserveCapacity(count) }
            while !array.isAtEnd { items.append(try array.decode(AnyJSON.self)) }
            self = .array(items)
            return
        }
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let i = try? container.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? container.decode(Double.self) {
            self = .double(d)
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    /// Any member name of a JSON object.
    private struct MemberKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .int(let i): try container.encode(i)
        case .double(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}

extension AnyJSON: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: AnyJSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, AnyJSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension AnyJSON {
    /// Converts any `Encodable` value (for example a typed spec) into `AnyJSON`.
    public init<Value: Encodable>(encoding value: Value) throws {
        let data = try WireCoding.encoder().encode(value)
        self = try WireCoding.decoder().decode(AnyJSON.self, from: data)
    }

    /// Decodes this JSON into a typed value (for example an executor's spec struct).
    public func decode<Value: Decodable>(as type: Value.Type = Value.self) throws -> Value {
        let data = try WireCoding.encoder().encode(self)
        return try WireCoding.decoder().decode(Value.self, from: data)
    }

    /// Compact JSON text with sorted keys (stable, for logs and comparisons).
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }
}

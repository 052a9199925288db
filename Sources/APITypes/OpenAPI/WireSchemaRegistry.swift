// The JSON Schemas of the wire types, derived from their own decoders. Swift cannot list a `Codable` type's
// properties at run time, but it can run the type's `init(from:)` against a decoder that records what it is asked
// for: each key, the type read under it, and whether it was read with `decodeIfPresent` (optional). The schema
// then cannot drift from the decoder: a field added to a view appears in `/openapi.json` with the next build.
// Types the recorder cannot see through say their shape themselves (`WireSchemaDescribing`).

import Foundation

/// Why a type's schema could not be derived; the message says what to do.
public struct WireSchemaError: Error, CustomStringConvertible {
    public let typeName: String
    public let reason: String

    public var description: String {
        "cannot derive the JSON Schema of \(typeName): \(reason); make it conform to WireSchemaDescribing "
            + "(Sources/APITypes/OpenAPI/WireSchemaDescribing.swift) and describe its JSON there"
    }
}

/// The named schemas of one document (`#/components/schemas/<name>`) and the way to get any type's schema.
public final class WireSchemaRegistry {
    /// Object and enumeration schemas by component name.
    public private(set) var components: [String: AnyJSON] = [:]
    private var inProgress: Set<String> = []

    public init() {}

    /// The schema of `type`: inline for scalars, lists and maps, a `$ref` for objects and enumerations.
    public func schema<T: Decodable>(for type: T.Type) throws -> AnyJSON { try describe(type).schema }

    /// The component name of `type`: `ListResponse<JobView>` → `ListResponse_JobView`.
    public static func componentName<T>(of type: T.Type) -> String {
        var name = ""
        for character in String(describing: type) {
            name.append(character.isLetter || character.isNumber || character == "." ? character : "_")
        }
        while name.hasSuffix("_") { name.removeLast() }
        return name
    }

    static func reference(_ name: String) -> AnyJSON { ["$ref": .string("#/components/schemas/\(name)")] }

    /// The schema of `type` and a value of it, for the decoder that asked.
    func describe<T: Decodable>(_ type: T.Type) throws -> (schema: AnyJSON, sample: T) {
        if let scalar = WireScalarSchema.describe(type) { return scalar }
        if let describing = type as? any WireSchemaDescribing.Type {
            return (try named(type) { try describing.wireSchema(in: self) }, describing.schemaSample as! T)
        }
        if let map = type as? any SchemaDictionary.Type {
            return (try map.schema(in: self), map.emptySample as! T)
        }
        if let optional = type as? any SchemaOptional.Type {
            return (try optional.schema(in: self), optional.noneSample as! T)
        }
        if let enumeration = type as? any (CaseIterable & Encodable).Type {
            return try describeCases(enumeration) as! (AnyJSON, T)
        }
        return try record(type)
    }

    /// Runs `T(from:)` against a recording decoder.
    private func record<T: Decodable>(_ type: T.Type) throws -> (schema: AnyJSON, sample: T) {
        let name = Self.componentName(of: type)
        guard !inProgress.contains(name) else {
            throw WireSchemaError(typeName: name, reason: "it contains itself, which a recorded sample cannot")
        }
        inProgress.insert(name)
        defer { inProgress.remove(name) }
        let decoder = SchemaRecordingDecoder(registry: self)
        let sample: T
        do {
            sample = try T(from: decoder)
        } catch let error as WireSchemaError {
            throw error
        } catch {
            throw WireSchemaError(typeName: name, reason: "its decoder refused the recorder's sample values (\(error))")
        }
        switch decoder.shape.recorded {
        case .object(let object):
            components[name] = object.schema
            return (Self.reference(name), sample)
        case .single(let schema): return (schema, sample)
        case .array(let array): return (["type": "array", "items": array.items ?? [:]], sample)
        case nil: throw WireSchemaError(typeName: name, reason: "its decoder read nothing")
        }
    }

    /// `enum JobState: String, CaseIterable`: a named schema listing every case as it is encoded.
    private func describeCases<E: CaseIterable & Encodable>(_ type: E.Type) throws -> (AnyJSON, E) {
        guard let first = E.allCases.first else {
            throw WireSchemaError(typeName: "\(E.self)", reason: "it has no cases")
        }
        let values = try E.allCases.map { try AnyJSON(encoding: $0) }
        let schema = try named(type) {
            values.allSatisfy { $0.stringValue != nil }
                ? ["type": "string", "enum": .array(values)] : ["enum": .array(values)]
        }
        return (schema, first)
    }

    /// Stores `make()` under the type's component name once and returns its `$ref`.
    private func named<T>(_ type: T.Type, _ make: () throws -> AnyJSON) throws -> AnyJSON {
        let name = Self.componentName(of: type)
        if components[name] == nil { components[name] = try make() }
        return Self.reference(name)
    }
}

/// `[String: V]` and `[AcceleratorType: V]` decode by iterating keys the recorder does not have: a JSON object
/// whose values are `V`.
protocol SchemaDictionary {
    static func schema(in registry: WireSchemaRegistry) throws -> AnyJSON
    static var emptySample: Self { get }
}

extension Dictionary: SchemaDictionary where Key: CodingKeyRepresentable, Value: Decodable {
    static func schema(in registry: WireSchemaRegistry) throws -> AnyJSON {
        ["type": "object", "additionalProperties": try registry.schema(for: Value.self)]
    }
    static var emptySample: Self { [:] }
}

/// An `Optional` decoded as a whole value (not through `decodeIfPresent`): the wrapped schema or null.
protocol SchemaOptional {
    static func schema(in registry: WireSchemaRegistry) throws -> AnyJSON
    static var noneSample: Self { get }
}

extension Optional: SchemaOptional where Wrapped: Decodable {
    static func schema(in registry: WireSchemaRegistry) throws -> AnyJSON {
        ["anyOf": [try registry.schema(for: Wrapped.self), ["type": "null"]]]
    }
    static var noneSample: Self { nil }
}

/// Scalars and the types the wire coders treat specially (`Date` is an ISO 8601 string, `WireCoding`).
enum WireScalarSchema {
    /// Bounded, so a generator never sends a number the decoder cannot hold.
    static let int64: AnyJSON = [
        "type": "integer", "format": "int64", "minimum": .int(Int64.min), "maximum": .int(Int64.max),
    ]

    static func describe<T>(_ type: T.Type) -> (schema: AnyJSON, sample: T)? {
        switch type {
        case is String.Type: return (["type": "string"], "" as! T)
        case is Bool.Type: return (["type": "boolean"], false as! T)
        case is Double.Type: return (["type": "number"], 0.0 as! T)
        case is Float.Type: return (["type": "number"], Float(0) as! T)
        case is Int.Type: return (int64, 0 as! T)
        case is Int64.Type: return (int64, Int64(0) as! T)
        case is Int32.Type: return (["type": "integer", "format": "int32"], Int32(0) as! T)
        case is UInt64.Type: return (["type": "integer", "minimum": 0], UInt64(0) as! T)
        case is Date.Type: return (["type": "string", "format": "date-time"], Date(timeIntervalSince1970: 0) as! T)
        default: return nil
        }
    }
}

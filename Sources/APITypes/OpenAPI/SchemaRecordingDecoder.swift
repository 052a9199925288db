// The decoder `WireSchemaRegistry` runs a type's `init(from:)` against. It holds no JSON: every key "is present"
// and holds a sample of the type asked for, so the type's decode runs its whole course and each request is
// recorded. The standard `decodeIfPresent` asks `decodeNil(forKey:)` before it decodes, which is how an optional
// field is told from a required one.

/// What one decode asked for: an object's keys, one scalar, or a list's items.
final class RecordedShape {
    enum Kind {
        case object(RecordedObject)
        case single(AnyJSON)
        case array(RecordedArray)
    }

    var recorded: Kind?
}

final class RecordedObject {
    private var properties: [String: AnyJSON] = [:]
    private var required: [String] = []
    /// Keys asked about with `decodeNil(forKey:)`: read through `decodeIfPresent`.
    private var optionalKeys: Set<String> = []

    func markOptional(_ key: String) { optionalKeys.insert(key) }

    /// An optional property also accepts null: `decodeIfPresent` reads a null as absent.
    func record(_ key: String, _ schema: AnyJSON) {
        guard !optionalKeys.contains(key) else {
            properties[key] = ["anyOf": [schema, ["type": "null"]]]
            return
        }
        properties[key] = schema
        if !required.contains(key) { required.append(key) }
    }

    var schema: AnyJSON {
        var schema: [String: AnyJSON] = ["type": "object", "properties": .object(properties)]
        if !required.isEmpty { schema["required"] = .array(required.sorted().map(AnyJSON.string)) }
        return .object(schema)
    }
}

final class RecordedArray {
    var items: AnyJSON?
}

struct SchemaRecordingDecoder: Decoder {
    let registry: WireSchemaRegistry
    let shape = RecordedShape()

    var codingPath: [CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(RecordingKeyedContainer<Key>(registry: registry, object: objectShape()))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        RecordingUnkeyedContainer(registry: registry, array: arrayShape())
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer {
        RecordingSingleValueContainer(registry: registry, shape: shape)
    }

    private func objectShape() -> RecordedObject {
        if case .object(let object) = shape.recorded { return object }
        let object = RecordedObject()
        shape.recorded = .object(object)
        return object
    }

    private func arrayShape() -> RecordedArray {
        if case .array(let array) = shape.recorded { return array }
        let array = RecordedArray()
        shape.recorded = .array(array)
        return array
    }
}

struct RecordingKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let registry: WireSchemaRegistry
    let object: RecordedObject

    var codingPath: [CodingKey] { [] }
    var allKeys: [Key] { [] }
    func contains(_ key: Key) -> Bool { true }

    func decodeNil(forKey key: Key) throws -> Bool {
        object.markOptional(key.stringValue)
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let (schema, sample) = try registry.describe(type)
        object.record(key.stringValue, schema)
        return sample
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decode(type, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decode(type, key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decode(type, key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decode(type, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decode(type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decode(type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decode(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decode(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decode(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decode(type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decode(type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decode(type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decode(type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decode(type, key) }

    private func decode<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T {
        try decode(type, forKey: key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let nested = RecordedObject()
        defer { object.record(key.stringValue, nested.schema) }
        return KeyedDecodingContainer(RecordingKeyedContainer<NestedKey>(registry: registry, object: nested))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        throw WireSchemaError(typeName: "\(Key.self)", reason: "it reads a nested list by hand")
    }

    func superDecoder() throws -> Decoder {
        throw WireSchemaError(typeName: "\(Key.self)", reason: "it decodes through a super decoder")
    }

    func superDecoder(forKey key: Key) throws -> Decoder { try superDecoder() }
}

struct RecordingSingleValueContainer: SingleValueDecodingContainer {
    let registry: WireSchemaRegistry
    let shape: RecordedShape

    var codingPath: [CodingKey] { [] }
    func decodeNil() -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (schema, sample) = try registry.describe(type)
        shape.recorded = .single(schema)
        return sample
    }

    func decode(_ type: Bool.Type) throws -> Bool { try decode(type, ()) }
    func decode(_ type: String.Type) throws -> String { try decode(type, ()) }
    func decode(_ type: Double.Type) throws -> Double { try decode(type, ()) }
    func decode(_ type: Float.Type) throws -> Float { try decode(type, ()) }
    func decode(_ type: Int.Type) throws -> Int { try decode(type, ()) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decode(type, ()) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decode(type, ()) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decode(type, ()) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decode(type, ()) }
    func decode(_ type: UInt.Type) throws -> UInt { try decode(type, ()) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decode(type, ()) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decode(type, ()) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decode(type, ()) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decode(type, ()) }

    /// Scalars the registry has no sample for (`Int8`, `UInt16`, ...) are integers.
    private func decode<T: Decodable & BinaryInteger>(_ type: T.Type, _: Void) throws -> T {
        if WireScalarSchema.describe(type) != nil { return try decode(type) }
        shape.recorded = .single(["type": "integer"])
        return 0
    }

    private func decode<T: Decodable>(_ type: T.Type, _: Void) throws -> T { try decode(type) }
}

struct RecordingUnkeyedContainer: UnkeyedDecodingContainer {
    let registry: WireSchemaRegistry
    let array: RecordedArray

    var codingPath: [CodingKey] { [] }
    var count: Int? { nil }
    /// One item is read: `Array.init(from:)` reads while not at the end.
    var isAtEnd: Bool { array.items != nil }
    var currentIndex: Int { array.items == nil ? 0 : 1 }

    mutating func decodeNil() throws -> Bool { false }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (schema, sample) = try registry.describe(type)
        array.items = schema
        return sample
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try decode(type, ()) }
    mutating func decode(_ type: String.Type) throws -> String { try decode(type, ()) }
    mutating func decode(_ type: Double.Type) throws -> Double { try decode(type, ()) }
    mutating func decode(_ type: Float.Type) throws -> Float { try decode(type, ()) }
    mutating func decode(_ type: Int.Type) throws -> Int { try decode(type, ()) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try decode(type, ()) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try decode(type, ()) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try decode(type, ()) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try decode(type, ()) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try decode(type, ()) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try decode(type, ()) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try decode(type, ()) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try decode(type, ()) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try decode(type, ()) }

    private mutating func decode<T: Decodable>(_ type: T.Type, _: Void) throws -> T { try decode(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        throw WireSchemaError(typeName: "\(NestedKey.self)", reason: "it reads list items by hand")
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        throw WireSchemaError(typeName: "a list", reason: "it reads nested lists by hand")
    }

    mutating func superDecoder() throws -> Decoder {
        throw WireSchemaError(typeName: "a list", reason: "it decodes through a super decoder")
    }
}

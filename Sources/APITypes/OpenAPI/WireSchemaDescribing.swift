// Types whose JSON shape the recording decoder cannot see from their `init(from:)`: a decode that tries one type
// after another (`AnyJSON`), or one that checks the values it reads. Each describes itself here, next to nothing
// else, so the one place that knows its shape is the type.

/// A wire type that states its own JSON Schema (OpenAPI 3.1 dialect) and a value the recorder can return.
public protocol WireSchemaDescribing {
    /// The schema of this type's JSON; may ask `registry` for the schemas of other types.
    static func wireSchema(in registry: WireSchemaRegistry) throws -> AnyJSON
    /// Any valid value: the recorder hands it to the decoder that asked for one.
    static var schemaSample: Self { get }
}

extension AnyJSON: WireSchemaDescribing {
    /// Any JSON value (task specs, results, manifest documents): the empty schema.
    public static func wireSchema(in registry: WireSchemaRegistry) throws -> AnyJSON {
        ["description": "any JSON value"]
    }
    public static var schemaSample: AnyJSON { .null }
}

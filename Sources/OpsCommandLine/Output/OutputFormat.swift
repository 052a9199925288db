/// What `-o`/`--output` asks for: an aligned table, a table with more columns, the API's JSON, the same values as
/// YAML, or (only `get metrics`) CSV rows.
public enum OutputFormat: String, Sendable, CaseIterable {
    case table, json, wide, yaml, csv

    /// JSON and YAML print the API's values whole (the same Encodable value either way); tables and CSV pick columns.
    var isStructured: Bool { self == .json || self == .yaml }

    /// What `-o` takes on every command that prints API views; CSV is a row format and only `get metrics` has rows
    /// of one shape (`GetCommand.output`).
    static let views: [OutputFormat] = [.table, .wide, .json, .yaml]
}

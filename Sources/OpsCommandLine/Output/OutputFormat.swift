/// What `-o`/`--output` asks for: an aligned table, a table with more columns, or the API's JSON.
public enum OutputFormat: String, Sendable, CaseIterable {
    case table, json, wide
}

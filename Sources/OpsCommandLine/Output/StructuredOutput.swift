// `-o json` and `-o yaml` print the same Encodable value: YAML is made from the JSON the wire coders write, so the
// two cannot disagree on a field's name or a timestamp's format.

import APITypes
import Foundation

extension Output {
    /// Prints `value` as pretty JSON or as YAML.
    static func printStructured<T: Encodable>(_ value: T, as format: OutputFormat) throws {
        print(try structuredText(value, as: format), terminator: "")
    }

    /// `value` as pretty JSON or as YAML, ending with a newline; any other format is a table, a programming error
    /// here.
    static func structuredText<T: Encodable>(_ value: T, as format: OutputFormat) throws -> String {
        precondition(format.isStructured, "structuredText takes json or yaml, got \(format.rawValue)")
        if format == .yaml { return try YAMLEmitter.encode(value) }
        return String(decoding: try WireCoding.encoder(pretty: true).encode(value), as: UTF8.self) + "\n"
    }
}

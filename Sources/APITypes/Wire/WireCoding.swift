// The one JSON configuration both ends of the API use: camelCase keys as declared, dates as
// ISO 8601 UTC with milliseconds ("2026-01-02T03:04:05.678Z"). Client and server must use these
// coders, otherwise dates will not round-trip.

import Foundation

public enum WireCoding {
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(formatTimestamp(date))
        }
        encoder.outputFormatting =
            pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        // The timestamp string first: it is what the encoder writes, and a wrong guess costs a thrown error (every
        // lease deadline of a poll's assignments paid one when seconds were tried first).
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text: String
            do {
                text = try container.decode(String.self)
            } catch {
                guard let seconds = try? container.decode(Double.self) else { throw error }
                return Date(timeIntervalSince1970: seconds)
            }
            guard let date = parseTimestamp(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "expected an ISO 8601 timestamp such as 2026-01-02T03:04:05.678Z, got \"\(text)\""
                )
            }
            return date
        }
        return decoder
    }

    public static func formatTimestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Accepts timestamps with or without fractional seconds.
    public static func parseTimestamp(_ text: String) -> Date? {
        if let d = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return d }
        return try? Date.ISO8601FormatStyle().parse(text)
    }

    /// Encodes with the wire encoder, or with the type's own writer (`WireJSONWritable`) when it has one that
    /// accepts the value: the same JSON, without `JSONEncoder`'s generic machinery.
    public static func encode<Value: Encodable>(_ value: Value) throws -> Data {
        if let writable = value as? any WireJSONWritable, let data = writable.wireJSON() { return data }
        return try encoder().encode(value)
    }

    /// Decodes with the type's own reader (`WireJSONReadable`) when it has one that reads the text, else with the
    /// wire decoder, which also describes what is wrong with a text the reader refused.
    public static func decode<Value: Decodable>(_ type: Value.Type, from data: Data) throws -> Value {
        if let readable = type as? any WireJSONReadable.Type, let value = readable.init(wireJSON: data) as? Value {
            return value
        }
        return try decoder().decode(type, from: data)
    }

    /// A readable one-line explanation of a `DecodingError`, naming the field path — for 400 responses
    /// ("body.reports[2].attemptId: expected Int64, found a string").
    public static func describe(_ error: Error) -> String {
        func path(_ codingPath: [CodingKey]) -> String {
            var text = "body"
            for key in codingPath {
                if let index = key.intValue { text += "[\(index)]" } else { text += "." + key.stringValue }
            }
            return text
        }
        guard let decodingError = error as? DecodingError else { return "\(error)" }
        switch decodingError {
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(type), \(context.debugDescription)"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(type), found null"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): required field is missing"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "body is not valid JSON: \(context.debugDescription)"
                : "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(decodingError)"
        }
    }
}

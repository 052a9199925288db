import Foundation

// Query results, copied out of the PGresult at once (the PGresult is freed right away), with typed
// accessors that name the column in every error.

public struct PostgresRows: Sendable, RandomAccessCollection {
    public let columns: [String]
    let columnIndex: [String: Int]
    let values: [[String?]]
    /// Rows inserted/updated/deleted by the statement (PQcmdTuples), 0 when not applicable.
    public let affectedRows: Int

    init(columns: [String], values: [[String?]], affectedRows: Int) {
        self.columns = columns
        var index: [String: Int] = [:]
        for (i, name) in columns.enumerated() where index[name] == nil { index[name] = i }
        self.columnIndex = index
        self.values = values
        self.affectedRows = affectedRows
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { values.count }
    public subscript(position: Int) -> PostgresRow {
        PostgresRow(columns: columns, columnIndex: columnIndex, values: values[position])
    }
}

public struct PostgresRow: Sendable {
    public let columns: [String]
    let columnIndex: [String: Int]
    let values: [String?]

    /// The raw text of a column (nil for NULL).
    public func raw(_ column: String) throws -> String? {
        guard let i = columnIndex[column] else { throw PostgresError.noSuchColumn(column, available: columns) }
        return values[i]
    }

    public func isNull(_ column: String) throws -> Bool { try raw(column) == nil }

    public func optionalString(_ column: String) throws -> String? { try raw(column) }

    public func string(_ column: String) throws -> String {
        guard let v = try raw(column) else { throw PostgresError.unexpectedNull(column: column) }
        return v
    }

    public func optionalInt64(_ column: String) throws -> Int64? {
        guard let v = try raw(column) else { return nil }
        guard let n = Int64(v) else { throw PostgresError.decoding(column: column, expected: "an integer", found: v) }
        return n
    }

    public func int64(_ column: String) throws -> Int64 {
        guard let v = try optionalInt64(column) else { throw PostgresError.unexpectedNull(column: column) }
        return v
    }

    /// A one-dimensional integer array (`bigint[]`, text form `{1,2,3}`), nil for NULL. NULL elements and nested
    /// arrays are refused: no column of this schema holds them.
    public func optionalInt64Array(_ column: String) throws -> [Int64]? {
        guard let v = try raw(column) else { return nil }
        guard v.hasPrefix("{"), v.hasSuffix("}") else {
            throw PostgresError.decoding(column: column, expected: "an integer array", found: v)
        }
        let body = v.dropFirst().dropLast()
        if body.isEmpty { return [] }
        return try body.split(separator: ",", omittingEmptySubsequences: false).map {
            guard let n = Int64($0) else {
                throw PostgresError.decoding(column: column, expected: "an integer array", found: v)
            }
            return n
        }
    }

    public func int(_ column: String) throws -> Int { Int(try int64(column)) }
    public func optionalInt(_ column: String) throws -> Int? { try optionalInt64(column).map { Int($0) } }

    public func optionalDouble(_ column: String) throws -> Double? {
        guard let v = try raw(column) else { return nil }
        guard let d = Double(v) ?? PostgresRow.specialDouble(v) else {
            throw PostgresError.decoding(column: column, expected: "a number", found: v)
        }
        return d
    }

    public func double(_ column: String) throws -> Double {
        guard let v = try optionalDouble(column) else { throw PostgresError.unexpectedNull(column: column) }
        return v
    }

    public func optionalBool(_ column: String) throws -> Bool? {
        guard let v = try raw(column) else { return nil }
        switch v {
        case "t", "true": return true
        case "f", "false": return false
        default: throw PostgresError.decoding(column: column, expected: "a boolean", found: v)
        }
    }

    public func bool(_ column: String) throws -> Bool {
        guard let v = try optionalBool(column) else { throw PostgresError.unexpectedNull(column: column) }
        return v
    }

    public func optionalDate(_ column: String) throws -> Date? {
        guard let v = try raw(column) else { return nil }
        guard let d = PostgresTimestamp.parse(v) else {
            throw PostgresError.decoding(column: column, expected: "a timestamptz (ISO, UTC)", found: v)
        }
        return d
    }

    public func date(_ column: String) throws -> Date {
        guard let v = try optionalDate(column) else { throw PostgresError.unexpectedNull(column: column) }
        return v
    }

    /// A `bytea` column (hex output format).
    public func optionalBytes(_ column: String) throws -> [UInt8]? {
        guard let v = try raw(column) else { return nil }
        guard let bytes = PostgresRow.decodeHex(v) else {
            throw PostgresError.decoding(column: column, expected: "bytea in hex format", found: String(v.prefix(40)))
        }
        return bytes
    }

    public func bytes(_ column: String) throws -> [UInt8] {
        guard let v = try optionalBytes(column) else { throw PostgresError.unexpectedNull(column: column) }
        return v
    }

    /// JSON text of a json/jsonb column.
    public func json(_ column: String) throws -> String { try string(column) }

    /// Decodes a json/jsonb column into a `Decodable` value.
    public func decodeJSON<T: Decodable>(_ type: T.Type, _ column: String) throws -> T {
        let text = try string(column)
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw PostgresError.decoding(column: column, expected: "JSON for \(T.self)", found: String(text.prefix(80)))
        }
    }

    static func specialDouble(_ v: String) -> Double? {
        switch v {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return nil
        }
    }

    static func decodeHex(_ text: String) -> [UInt8]? {
        let u = Array(text.utf8)
        guard u.count >= 2, u[0] == 92, u[1] == 120, u.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity((u.count - 2) / 2)
        var i = 2
        while i < u.count {
            guard let hi = nibble(u[i]), let lo = nibble(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}

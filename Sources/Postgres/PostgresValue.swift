import Foundation

// Query parameters. Values travel separately from the SQL text (PQexecParams), so nothing a user
// types can change a statement. Text format on the wire; the type OID is sent for typed values so
// the server never has to guess.

public enum PostgresValue: Sendable, Hashable {
    case text(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    /// A `timestamptz`, microsecond precision.
    case timestamp(Date)
    /// A `bytea`.
    case bytes([UInt8])
    /// JSON document text, for json/jsonb columns.
    case json(String)
    /// A `bigint[]`, for set-based statements (`= ANY($1)`, `unnest($1)`).
    case intArray([Int64])
    /// A `text[]`.
    case textArray([String?])
    /// A `float8[]`.
    case doubleArray([Double])
    /// A `bool[]`.
    case boolArray([Bool])

    /// Type OID sent with the parameter; 0 lets the server infer it from context (text, json).
    var typeOID: UInt32 {
        switch self {
        case .text, .json: return 0
        case .int: return 20 // int8
        case .double: return 701 // float8
        case .bool: return 16 // bool
        case .timestamp: return 1184 // timestamptz
        case .bytes: return 17 // bytea
        case .intArray: return 1016 // int8[]
        case .textArray: return 1009 // text[]
        case .doubleArray: return 1022 // float8[]
        case .boolArray: return 1000 // bool[]
        }
    }

    /// The text-format wire representation.
    var wireText: String {
        switch self {
        case .text(let s), .json(let s): return s
        case .int(let v): return String(v)
        case .double(let v): return PostgresValue.doubleText(v)
        case .bool(let v): return v ? "t" : "f"
        case .timestamp(let d): return PostgresTimestamp.format(d)
        case .bytes(let b): return PostgresValue.hexBytes(b)
        case .intArray(let values): return "{" + values.map(String.init).joined(separator: ",") + "}"
        case .doubleArray(let values): return "{" + values.map(PostgresValue.doubleText).joined(separator: ",") + "}"
        case .boolArray(let values): return "{" + values.map { $0 ? "t" : "f" }.joined(separator: ",") + "}"
        case .textArray(let values):
            return "{"
                + values.map { element -> String in
                    guard let element else { return "NULL" }
                    var quoted = "\""
                    for ch in element.unicodeScalars {
                        if ch == "\"" || ch == "\\" { quoted.unicodeScalars.append("\\") }
                        quoted.unicodeScalars.append(ch)
                    }
                    return quoted + "\""
                }.joined(separator: ",") + "}"
        }
    }

    static func doubleText(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "Infinity" : "-Infinity" }
        return "\(v)"
    }

    static func hexBytes(_ bytes: [UInt8]) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]("\\x".utf8)
        out.reserveCapacity(2 + bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension PostgresValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
}

/// Swift types that can be sent as a query parameter: `[x.postgresValue, ...]`.
public protocol PostgresBindable {
    var postgresValue: PostgresValue { get }
}

extension String: PostgresBindable { public var postgresValue: PostgresValue { .text(self) } }
extension Substring: PostgresBindable { public var postgresValue: PostgresValue { .text(String(self)) } }
extension Int: PostgresBindable { public var postgresValue: PostgresValue { .int(Int64(self)) } }
extension Int64: PostgresBindable { public var postgresValue: PostgresValue { .int(self) } }
extension Int32: PostgresBindable { public var postgresValue: PostgresValue { .int(Int64(self)) } }
extension Double: PostgresBindable { public var postgresValue: PostgresValue { .double(self) } }
extension Bool: PostgresBindable { public var postgresValue: PostgresValue { .bool(self) } }
extension Date: PostgresBindable { public var postgresValue: PostgresValue { .timestamp(self) } }
extension Array: PostgresBindable where Element == UInt8 { public var postgresValue: PostgresValue { .bytes(self) } }
extension Data: PostgresBindable { public var postgresValue: PostgresValue { .bytes([UInt8](self)) } }

extension PostgresValue {
    /// Binds any bindable value; nil becomes SQL NULL.
    public static func bind<T: PostgresBindable>(_ value: T?) -> PostgresValue? { value?.postgresValue }
}

/// Conversion between `Date` and PostgreSQL's ISO timestamptz text (sessions run with TimeZone=UTC).
enum PostgresTimestamp {
    static func format(_ date: Date) -> String {
        let totalMicros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        guard totalMicros.isFinite, abs(totalMicros) < 9e18 else { return totalMicros > 0 ? "infinity" : "-infinity" }
        let micros = Int64(totalMicros)
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var secOfDay = seconds % 86_400
        if secOfDay < 0 {
            secOfDay += 86_400
            days -= 1
        }
        let (y, m, d) = civil(fromDays: days)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return
            "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2)) \(pad(secOfDay / 3600, 2)):\(pad(secOfDay / 60 % 60, 2)):\(pad(secOfDay % 60, 2)).\(pad(fraction, 6))+00"
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]`, plus `infinity`/`-infinity`.
    static func parse(_ text: String) -> Date? {
        if text == "infinity" { return .distantFuture }
        if text == "-infinity" { return .distantPast }
        let b = Array(text.utf8)
        var i = 0
        func number(_ count: Int) -> Int64? {
            guard i + count <= b.count else { return nil }
            var v: Int64 = 0
            for _ in 0..<count {
                let c = b[i]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
                i += 1
            }
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let y = number(4), expect(45), let mo = number(2), expect(45), let d = number(2),
            expect(32) || expect(84), let h = number(2), expect(58), let mi = number(2), expect(58),
            let s = number(2)
        else { return nil }
        var micros: Int64 = 0
        if i < b.count, b[i] == 46 {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 6 { micros = micros * 10 + Int64(b[i] - 48) }
                digits += 1
                i += 1
            }
            for _ in digits..<max(digits, 6) { micros *= 10 }
        }
        var offset: Int64 = 0
        if i < b.count, b[i] == 43 || b[i] == 45 {
            let sign: Int64 = b[i] == 45 ? -1 : 1
            i += 1
            guard let oh = number(2) else { return nil }
            var om: Int64 = 0
            var os: Int64 = 0
            if expect(58), let v = number(2) { om = v }
            if expect(58), let v = number(2) { os = v }
            offset = sign * (oh * 3600 + om * 60 + os)
        } else if i < b.count, b[i] == 90 {
            i += 1
        }
        let days = daysFromCivil(y, mo, d)
        let seconds = days * 86_400 + h * 3600 + mi * 60 + s - offset
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }

    // Howard Hinnant's civil-date algorithms (proleptic Gregorian calendar).
    static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }
}

// YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution) for plain scalars.

extension YAMLResolvedScalar {
    static let stringTag = "tag:yaml.org,2002:str"

    static func resolve(_ scalar: YAMLScalar) -> YAMLResolvedScalar {
        if let tag = scalar.tag {
            switch tag {
            case stringTag, "!": return .string(scalar.value)
            case "tag:yaml.org,2002:null": return .null
            default: break
            }
        }
        guard scalar.style == .plain else { return .string(scalar.value) }
        let text = scalar.value
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .float(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .float(-.infinity)
        case ".nan", ".NaN", ".NAN": return .float(.nan)
        default: break
        }
        if let int = parseInteger(text) { return int }
        if isCoreFloat(text), let value = Double(text) { return .float(value) }
        return .string(text)
    }

    /// `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`. Integers beyond Int64 become floats.
    private static func parseInteger(_ text: String) -> YAMLResolvedScalar? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return nil }
        if bytes.count > 2, bytes[0] == UInt8(ascii: "0") {
            let digits = String(decoding: bytes[2...], as: UTF8.self)
            if bytes[1] == UInt8(ascii: "o"), digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 55 }) {
                return Int64(digits, radix: 8).map { .int($0) }
            }
            if bytes[1] == UInt8(ascii: "x"), digits.utf8.allSatisfy({ isHexDigit($0) }) {
                return Int64(digits, radix: 16).map { .int($0) }
            }
        }
        var digits = bytes[...]
        if let first = digits.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        if let value = Int64(text.hasPrefix("+") ? String(text.dropFirst()) : text) { return .int(value) }
        return Double(text).map { .float($0) }
    }

    private static func isHexDigit(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
    private static func isCoreFloat(_ text: String) -> Bool {
        var s = Substring(text)
        if let f = s.first, f == "-" || f == "+" { s = s.dropFirst() }
        var mantissaDigits = 0
        while let c = s.first, c.isASCII, c.isNumber {
            mantissaDigits += 1
            s = s.dropFirst()
        }
        if s.first == "." {
            s = s.dropFirst()
            while let c = s.first, c.isASCII, c.isNumber {
                mantissaDigits += 1
                s = s.dropFirst()
            }
        }
        guard mantissaDigits > 0 else { return false }
        if let e = s.first, e == "e" || e == "E" {
            s = s.dropFirst()
            if let sign = s.first, sign == "-" || sign == "+" { s = s.dropFirst() }
            var exponentDigits = 0
            while let c = s.first, c.isASCII, c.isNumber {
                exponentDigits += 1
                s = s.dropFirst()
            }
            guard exponentDigits > 0 else { return false }
        }
        return s.isEmpty
    }
}

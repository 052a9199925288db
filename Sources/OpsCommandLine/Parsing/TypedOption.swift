// Options with a typed value and a default defined once: the same `TypedOption` gives `--help` its
// `[default …]` note and gives the command its value when neither the flag nor its OPS_* variable is set, so
// help and behaviour cannot drift apart (`Settings.value(_:)` reads it).

import Foundation

/// How an option's text becomes a value, and how a value is written back (for the help's default).
public struct OptionValueParser<Value: Sendable>: Sendable {
    /// What a valid value looks like, completing "expected …" in the error (`an integer in 1...10000`).
    public let expected: String
    /// Every value it accepts, when they are a fixed set (shell completion offers them); else empty.
    public let choices: [String]
    private let parseText: @Sendable (String) -> Value?
    private let formatValue: @Sendable (Value) -> String

    public init(
        expected: String, choices: [String] = [], parse: @escaping @Sendable (String) -> Value?,
        format: @escaping @Sendable (Value) -> String
    ) {
        self.expected = expected
        self.choices = choices
        self.parseText = parse
        self.formatValue = format
    }

    public func parse(_ text: String) -> Value? { parseText(text) }
    public func format(_ value: Value) -> String { formatValue(value) }
}

/// An option whose value has a type and a default.
public struct TypedOption<Value: Sendable>: Sendable {
    public let spec: OptionSpec
    public let defaultValue: Value
    public let parser: OptionValueParser<Value>

    /// `defaultDescription` replaces the formatted default in help when words say it better (`no limit`).
    public init(
        _ name: String, short: Character? = nil, value valueName: String, help: String, environment: String? = nil,
        default defaultValue: Value, parser: OptionValueParser<Value>, defaultDescription: String? = nil
    ) {
        self.spec = OptionSpec(
            name, short: short, value: valueName, help: help, environment: environment,
            default: defaultDescription ?? parser.format(defaultValue), choices: parser.choices)
        self.defaultValue = defaultValue
        self.parser = parser
    }

    public var name: String { spec.name }
}

extension OptionValueParser where Value == Int {
    public static func integer(in range: ClosedRange<Int> = 0...Int.max) -> Self {
        Self(
            expected:
                "an integer in \(range.lowerBound)...\(range.upperBound == Int.max ? "" : String(range.upperBound))",
            parse: { Int($0).flatMap { range.contains($0) ? $0 : nil } }, format: { String($0) })
    }
}

extension OptionValueParser where Value == Int64 {
    /// A log line id: an integer >= 0.
    public static let lineID = Self(
        expected: "a line id >= 0", parse: { Int64($0).flatMap { $0 >= 0 ? $0 : nil } }, format: { String($0) })

    /// A positive size as users write it (`16Mi`, `64Gi`, `1G`, bytes); `example` completes "a size like …".
    public static func positiveBytes(example: String) -> Self {
        Self(
            expected: "a size like \(example)", parse: { Quantity.bytes($0).flatMap { $0 > 0 ? $0 : nil } },
            format: { Quantity.formatBytes($0) })
    }
}

extension OptionValueParser where Value == Double {
    /// A finite number of seconds > 0 (an interval that must pass).
    public static let positiveSeconds = Self(
        expected: "a number of seconds > 0",
        parse: { Double($0).flatMap { $0 > 0 && $0.isFinite ? $0 : nil } }, format: { formatNumber($0) })

    /// A finite number of seconds >= 0.
    public static let seconds = Self(
        expected: "a number of seconds >= 0",
        parse: { Double($0).flatMap { $0 >= 0 && $0.isFinite ? $0 : nil } }, format: { formatNumber($0) })
}

extension OptionValueParser where Value == Float {
    /// A finite number >= 0.
    public static let nonNegative = Self(
        expected: "a number >= 0", parse: { Float($0).flatMap { $0 >= 0 && $0.isFinite ? $0 : nil } },
        format: { formatNumber($0) })
}

extension OptionValueParser where Value == String {
    public static let text = Self(expected: "a value", parse: { $0 }, format: { $0 })
}

extension OptionValueParser where Value: RawRepresentable & CaseIterable, Value.RawValue == String {
    /// One of the enum's raw values; `expected` defaults to `one of a, b, c`.
    public static func choice(expected: String? = nil) -> Self {
        choice(of: Array(Value.allCases), expected: expected)
    }

    /// One of `cases` (a subset of the enum's values, in the order help and completion list them).
    public static func choice(of cases: [Value], expected: String? = nil) -> Self {
        let names = cases.map(\.rawValue)
        return Self(
            expected: expected ?? "one of " + names.joined(separator: ", "), choices: names,
            parse: { text in Value(rawValue: text).flatMap { names.contains($0.rawValue) ? $0 : nil } },
            format: { $0.rawValue })
    }
}

/// `15` rather than `15.0`: a whole number is shown as users would type it (and `0.8`, not `0.800000011920929`).
private func formatNumber<Number: BinaryFloatingPoint & LosslessStringConvertible>(_ value: Number) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
}

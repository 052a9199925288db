// The benchmarks' command lines: `--name value` pairs, read either by name (`argument`) or in order (`OptionCursor`).

/// The integer after `name` on the command line, or `fallback` when it is absent or not an integer.
public func argument(_ name: String, _ fallback: Int, in arguments: [String] = CommandLine.arguments) -> Int {
    if let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let v = Int(arguments[i + 1]) { return v }
    return fallback
}

/// Walks a command line option by option, for benchmarks whose `Options` switch over each name: `nextOption()`
/// gives the name, `value()` the word after it. What a missing or unknown value means stays each benchmark's own.
public struct OptionCursor {
    private let arguments: [String]
    private var next: Int
    /// The option `nextOption()` read last: the one a missing value belongs to.
    private var option = ""

    /// `first` is 1 to skip the program's name in `CommandLine.arguments`.
    public init(_ arguments: [String], first: Int = 1) {
        precondition(first >= 0, "OptionCursor: first must not be negative, got \(first)")
        self.arguments = arguments
        self.next = first
    }

    /// The next option's name; nil past the end of the line.
    public mutating func nextOption() -> String? {
        guard next < arguments.count else { return nil }
        defer { next += 1 }
        option = arguments[next]
        return option
    }

    /// The word after the option just read; nil when the line ends there.
    public mutating func value() -> String? {
        guard next < arguments.count else { return nil }
        defer { next += 1 }
        return arguments[next]
    }

    /// The word after the option just read; when the line ends there, `stop` gets "<option> needs a value" (each
    /// benchmark stops its own way: fatalError, or a message and exit 2).
    public mutating func value(orStop stop: (String) -> Never) -> String {
        guard let value = value() else { stop("\(option) needs a value") }
        return value
    }
}

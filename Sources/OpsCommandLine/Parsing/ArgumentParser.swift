// A small, strict command-line parser for `opsctl`: subcommands, `--long value`, `--long=value`, `-s value`,
// boolean flags, repeatable options, positionals, `--` and `-h/--help` anywhere. Unknown flags and commands are
// errors (exit code 2) that say what was expected.

public struct OptionSpec: Sendable, Equatable {
    /// Long name without dashes (`server`).
    public var name: String
    /// Optional one-letter alias (`o` for `-o`).
    public var short: Character?
    /// nil for a boolean flag; otherwise the placeholder shown in help (`URL`, `FILE`).
    public var valueName: String?
    public var help: String
    /// The `OPS_*` variable that supplies a default, shown in help.
    public var environment: String?
    /// The default, in words, shown in help.
    public var defaultDescription: String?
    /// May be given several times (`--label a=b --label c=d`).
    public var repeatable: Bool
    /// The only values it takes, when they are a fixed set (`-o table|wide|json|yaml`): what shell completion
    /// offers. Empty: any value of its kind.
    public var choices: [String]

    public init(
        _ name: String, short: Character? = nil, value valueName: String? = nil, help: String,
        environment: String? = nil,
        default defaultDescription: String? = nil, repeatable: Bool = false, choices: [String] = []
    ) {
        self.name = name
        self.short = short
        self.valueName = valueName
        self.help = help
        self.environment = environment
        self.defaultDescription = defaultDescription
        self.repeatable = repeatable
        self.choices = choices
    }

    public var isFlag: Bool { valueName == nil }
}

public struct PositionalSpec: Sendable, Equatable {
    public var name: String
    public var help: String
    public var optional: Bool
    /// When non-empty, the argument must be one of these.
    public var choices: [String]

    public init(_ name: String, help: String, optional: Bool = false, choices: [String] = []) {
        self.name = name
        self.help = help
        self.optional = optional
        self.choices = choices
    }
}

public struct CommandSpec: Sendable {
    public var name: String
    public var summary: String
    public var positionals: [PositionalSpec]
    public var options: [OptionSpec]
    /// Extra help text: details and examples.
    public var discussion: String

    public init(
        _ name: String, summary: String, positionals: [PositionalSpec] = [], options: [OptionSpec] = [],
        discussion: String = ""
    ) {
        self.name = name
        self.summary = summary
        self.positionals = positionals
        self.options = options
        self.discussion = discussion
    }
}

/// The result of parsing: which command, its positionals and option values.
public struct ParsedCommand: Sendable, Equatable {
    public var command: String
    public var positionals: [String]
    public var values: [String: [String]]
    public var flags: Set<String>

    public init(command: String, positionals: [String] = [], values: [String: [String]] = [:], flags: Set<String> = [])
    {
        self.command = command
        self.positionals = positionals
        self.values = values
        self.flags = flags
    }

    /// The last value given for `option`.
    public func value(_ option: String) -> String? { values[option]?.last }
    public func allValues(_ option: String) -> [String] { values[option] ?? [] }
    public func flag(_ option: String) -> Bool { flags.contains(option) }
    public func positional(_ index: Int) -> String? { positionals.indices.contains(index) ? positionals[index] : nil }
}

public enum CommandLineError: Error, Equatable, CustomStringConvertible, Sendable {
    /// `-h`/`--help` or `help [COMMAND]`: print help for the command (nil = the overview) and exit 0.
    case helpRequested(command: String?)
    case missingCommand
    case unknownCommand(String, suggestion: String?)
    case unknownOption(command: String, option: String)
    case missingValue(command: String, option: String, valueName: String)
    case unexpectedArgument(command: String, argument: String)
    case missingArgument(command: String, name: String)
    case invalidChoice(command: String, name: String, value: String, choices: [String])
    case invalidValue(command: String, option: String, value: String, expected: String)
    case duplicateOption(command: String, option: String)

    public var description: String {
        switch self {
        case .helpRequested(let command): return "help requested for \(command ?? "opsctl")"
        case .missingCommand: return "no command given"
        case .unknownCommand(let name, let suggestion):
            return "unknown command '\(name)'" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "")
        case .unknownOption(let command, let option): return "\(command): unknown option '\(option)'"
        case .missingValue(let command, let option, let valueName):
            return "\(command): option '\(option)' needs a value (\(valueName))"
        case .unexpectedArgument(let command, let argument): return "\(command): unexpected argument '\(argument)'"
        case .missingArgument(let command, let name): return "\(command): missing argument \(name)"
        case .invalidChoice(let command, let name, let value, let choices):
            return "\(command): \(name) must be one of \(choices.joined(separator: ", ")), got '\(value)'"
        case .invalidValue(let command, let option, let value, let expected):
            return "\(command): option '\(option)' expects \(expected), got '\(value)'"
        case .duplicateOption(let command, let option): return "\(command): option '\(option)' given more than once"
        }
    }

    /// The command whose usage should follow the message (nil = the overview).
    public var command: String? {
        switch self {
        case .helpRequested(let c): return c
        case .missingCommand, .unknownCommand: return nil
        case .unknownOption(let c, _), .missingValue(let c, _, _), .unexpectedArgument(let c, _),
            .missingArgument(let c, _),
            .invalidChoice(let c, _, _, _), .invalidValue(let c, _, _, _), .duplicateOption(let c, _):
            return c
        }
    }

    /// 0 for help, 2 for usage errors (the convention of command-line tools).
    public var exitCode: Int32 {
        if case .helpRequested = self { return 0 }
        return 2
    }
}

public struct ArgumentParser: Sendable {
    public let program: String
    public let summary: String
    public let commands: [CommandSpec]
    /// Options every command accepts (`--server`, `--help`...).
    public let globalOptions: [OptionSpec]

    public init(program: String, summary: String, commands: [CommandSpec], globalOptions: [OptionSpec]) {
        self.program = program
        self.summary = summary
        self.commands = commands
        self.globalOptions = globalOptions
    }

    public func command(named name: String) -> CommandSpec? { commands.first { $0.name == name } }

    /// Parses the arguments after the program name.
    public func parse(_ arguments: [String]) throws(CommandLineError) -> ParsedCommand {
        let spec = try commandSpec(for: arguments)
        let options = spec.options + globalOptions
        var parsed = ParsedCommand(command: spec.name)
        var index = 1
        var onlyPositionals = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || argument == "-" || !argument.hasPrefix("-") {
                parsed.positionals.append(argument)
                continue
            }
            if argument == "--" {
                onlyPositionals = true
                continue
            }
            if argument == "-h" || argument == "--help" { throw .helpRequested(command: spec.name) }
            let given: GivenOption
            if argument.hasPrefix("--") {
                given = try longOption(argument, in: options, command: spec.name, arguments: arguments, index: &index)
            } else {
                given = try shortOption(argument, in: options, command: spec.name, arguments: arguments, index: &index)
            }
            try record(given, into: &parsed)
        }
        try checkPositionals(parsed.positionals, of: spec)
        return parsed
    }

    /// The command the first argument names; `-h`, `--help` and `help [COMMAND]` end parsing with a help request.
    private func commandSpec(for arguments: [String]) throws(CommandLineError) -> CommandSpec {
        guard let first = arguments.first else { throw .missingCommand }
        if first == "-h" || first == "--help" { throw .helpRequested(command: nil) }
        if first == "help" {
            guard arguments.count > 1 else { throw .helpRequested(command: nil) }
            guard command(named: arguments[1]) != nil else {
                throw .unknownCommand(arguments[1], suggestion: suggestion(for: arguments[1]))
            }
            throw .helpRequested(command: arguments[1])
        }
        if first.hasPrefix("-") {
            throw .unknownCommand(first, suggestion: nil)
        }
        guard let spec = command(named: first) else { throw .unknownCommand(first, suggestion: suggestion(for: first)) }
        return spec
    }

    /// One option as written: which option, how it was spelled (for messages) and its value, if any.
    private struct GivenOption {
        var option: OptionSpec
        var spelled: String
        var value: String?
    }

    /// `--name`, `--name value` or `--name=value`; a value-taking option without `=` consumes the next argument.
    private func longOption(
        _ argument: String, in options: [OptionSpec], command: String, arguments: [String],
        index: inout Int
    ) throws(CommandLineError) -> GivenOption {
        let body = argument.dropFirst(2)
        let name: String
        let inline: String?
        if let equals = body.firstIndex(of: "=") {
            name = String(body[..<equals])
            inline = String(body[body.index(after: equals)...])
        } else {
            name = String(body)
            inline = nil
        }
        guard let option = options.first(where: { $0.name == name }) else {
            throw .unknownOption(command: command, option: "--\(name)")
        }
        var value = inline
        if value == nil && !option.isFlag {
            value = try nextValue(for: option, spelled: argument, command: command, arguments: arguments, index: &index)
        }
        return GivenOption(option: option, spelled: "--\(name)", value: value)
    }

    /// `-x` (a flag), `-x value` or `-xvalue`.
    private func shortOption(
        _ argument: String, in options: [OptionSpec], command: String, arguments: [String],
        index: inout Int
    ) throws(CommandLineError) -> GivenOption {
        let letters = Array(argument.dropFirst())
        guard let letter = letters.first, let option = options.first(where: { $0.short == letter }) else {
            throw .unknownOption(command: command, option: argument)
        }
        var value: String?
        if option.isFlag {
            guard letters.count == 1 else { throw .unknownOption(command: command, option: argument) }
        } else if letters.count > 1 {
            value = String(letters.dropFirst())
        } else {
            value = try nextValue(for: option, spelled: argument, command: command, arguments: arguments, index: &index)
        }
        return GivenOption(option: option, spelled: "-\(letter)", value: value)
    }

    /// The argument at `index` as the value of `option`, moving past it.
    private func nextValue(
        for option: OptionSpec, spelled: String, command: String, arguments: [String],
        index: inout Int
    ) throws(CommandLineError) -> String {
        guard index < arguments.count else {
            throw .missingValue(command: command, option: spelled, valueName: option.valueName ?? "VALUE")
        }
        defer { index += 1 }
        return arguments[index]
    }

    /// Adds a parsed option to the result: a flag takes no value, a non-repeatable option is given at most once.
    private func record(_ given: GivenOption, into parsed: inout ParsedCommand) throws(CommandLineError) {
        let option = given.option
        if option.isFlag {
            if let value = given.value {
                throw .invalidValue(
                    command: parsed.command, option: given.spelled, value: value, expected: "no value (it is a flag)")
            }
            parsed.flags.insert(option.name)
            return
        }
        guard let value = given.value else {
            throw .missingValue(command: parsed.command, option: given.spelled, valueName: option.valueName ?? "VALUE")
        }
        if !option.repeatable && parsed.values[option.name] != nil {
            throw .duplicateOption(command: parsed.command, option: given.spelled)
        }
        parsed.values[option.name, default: []].append(value)
    }

    /// Every required positional present, each within its choices, and none extra.
    private func checkPositionals(_ positionals: [String], of spec: CommandSpec) throws(CommandLineError) {
        for (position, positional) in spec.positionals.enumerated() {
            guard position < positionals.count else {
                if positional.optional { break }
                throw .missingArgument(command: spec.name, name: positional.name)
            }
            let value = positionals[position]
            if !positional.choices.isEmpty && !positional.choices.contains(value) {
                throw .invalidChoice(
                    command: spec.name, name: positional.name, value: value, choices: positional.choices)
            }
        }
        if positionals.count > spec.positionals.count {
            throw .unexpectedArgument(command: spec.name, argument: positionals[spec.positionals.count])
        }
    }

    /// The closest command name, for typos (`aply` → `apply`).
    func suggestion(for name: String) -> String? {
        let scored = commands.map { ($0.name, editDistance($0.name, name)) }.min { $0.1 < $1.1 }
        guard let (best, distance) = scored, distance <= max(1, best.count / 3) else { return nil }
        return best
    }

    // MARK: Help

    public func overview() -> String {
        var text = "\(program) — \(summary)\n\nUSAGE: \(program) <command> [options]\n\nCOMMANDS:\n"
        let width = (commands.map(\.name.count).max() ?? 0) + 2
        for command in commands {
            text += "  " + command.name.padding(toLength: width, withPad: " ", startingAt: 0) + command.summary + "\n"
        }
        text += "\nGLOBAL OPTIONS:\n" + describe(globalOptions)
        text += "\nRun '\(program) <command> --help' for a command's options.\n"
        return text
    }

    /// `USAGE: opsctl get KIND [NAME] [options]` and where to find more: what follows a usage error.
    public func shortUsage(for name: String?) -> String {
        guard let name, let spec = command(named: name) else {
            return
                "USAGE: \(program) <command> [options]\nCommands: \(commands.map(\.name).joined(separator: ", ")). Run '\(program) --help' for details.\n"
        }
        return "USAGE: \(usageLine(spec))\nRun '\(program) \(spec.name) --help' for its options.\n"
    }

    private func usageLine(_ spec: CommandSpec) -> String {
        var usage = "\(program) \(spec.name)"
        for positional in spec.positionals {
            let label = positional.choices.isEmpty ? positional.name : positional.choices.joined(separator: "|")
            usage += positional.optional ? " [\(label)]" : " \(label)"
        }
        if !spec.options.isEmpty || !globalOptions.isEmpty { usage += " [options]" }
        return usage
    }

    public func help(for name: String) -> String {
        guard let spec = command(named: name) else { return overview() }
        var usage = "\(program) \(spec.name)"
        for positional in spec.positionals {
            let label = positional.choices.isEmpty ? positional.name : positional.choices.joined(separator: "|")
            usage += positional.optional ? " [\(label)]" : " \(label)"
        }
        if !spec.options.isEmpty || !globalOptions.isEmpty { usage += " [options]" }
        var text = "\(spec.summary)\n\nUSAGE: \(usage)\n"
        if !spec.positionals.isEmpty {
            text += "\nARGUMENTS:\n"
            let width = (spec.positionals.map(\.name.count).max() ?? 0) + 2
            for positional in spec.positionals {
                text +=
                    "  " + positional.name.padding(toLength: width, withPad: " ", startingAt: 0) + positional.help
                    + "\n"
            }
        }
        if !spec.options.isEmpty { text += "\nOPTIONS:\n" + describe(spec.options) }
        text += "\nGLOBAL OPTIONS:\n" + describe(globalOptions)
        if !spec.discussion.isEmpty { text += "\n" + spec.discussion + "\n" }
        return text
    }

    private func describe(_ options: [OptionSpec]) -> String {
        let labels = options.map { option -> String in
            var label = option.short.map { "-\($0), " } ?? "    "
            label += "--\(option.name)"
            if let value = option.valueName { label += " \(value)" }
            return label
        }
        let width = (labels.map(\.count).max() ?? 0) + 2
        var text = ""
        for (option, label) in zip(options, labels) {
            var line = "  " + label.padding(toLength: width, withPad: " ", startingAt: 0) + option.help
            var notes: [String] = []
            if let env = option.environment { notes.append("env \(env)") }
            if let def = option.defaultDescription { notes.append("default \(def)") }
            if option.repeatable { notes.append("repeatable") }
            if !notes.isEmpty { line += " [" + notes.joined(separator: "; ") + "]" }
            text += line + "\n"
        }
        return text
    }
}

func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a)
    let y = Array(b)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var previous = Array(0...y.count)
    for i in 1...x.count {
        var current = [i] + Array(repeating: 0, count: y.count)
        for j in 1...y.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[y.count]
}

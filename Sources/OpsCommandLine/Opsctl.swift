// OpsCommandLine: everything `opsctl` does, as a library so that it is unit-tested; the executable only calls
// `Opsctl.run`.
//
// - Parsing/   a strict argument parser over command specs, and options with typed values and one default.
// - Settings/  values from flags, then OPS_* variables, then the defaults; the worker's, control plane's and
//              local cluster's settings, validated before anything starts.
// - Commands/  the command table and one type per command (its spec and its behaviour).
// - Output/    tables, JSON and the error messages a user can act on.

import Foundation

public enum Opsctl {
    /// Parses `arguments` (after the program name) and runs the command. Returns the exit code: 0 success (and
    /// help), 1 failure, 2 usage error, 3 timeout.
    public static func run(_ arguments: [String], environment: [String: String]) async -> Int32 {
        let parser = OpsCommands.parser
        let parsed: ParsedCommand
        do {
            parsed = try parser.parse(arguments)
        } catch {
            switch error {
            case .helpRequested(let command):
                print(command.map(parser.help(for:)) ?? parser.overview(), terminator: "")
                return 0
            case .missingCommand:
                Output.error("no command given")
                FileHandle.standardError.write(Data(parser.shortUsage(for: nil).utf8))
                return 2
            default:
                Output.error(error.description)
                FileHandle.standardError.write(Data(parser.shortUsage(for: error.command).utf8))
                return error.exitCode
            }
        }
        return await runCommand(Settings(parsed: parsed, environment: environment))
    }
}

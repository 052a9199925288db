// opsctl: the single command-line entry point (local cluster, control plane, worker, and the admin commands).
// Parsing and the command table live in Workers/CommandLine (unit-tested); this file dispatches.

import Foundation
import Workers

let arguments = Array(CommandLine.arguments.dropFirst())
let parser = OpsCommands.parser

let parsed: ParsedCommand
do {
    parsed = try parser.parse(arguments)
} catch {
    switch error {
    case .helpRequested(let command):
        print(command.map(parser.help(for:)) ?? parser.overview(), terminator: "")
        exit(0)
    case .missingCommand:
        Output.error("no command given")
        FileHandle.standardError.write(Data(parser.shortUsage(for: nil).utf8))
        exit(2)
    default:
        Output.error(error.description)
        FileHandle.standardError.write(Data(parser.shortUsage(for: error.command).utf8))
        exit(error.exitCode)
    }
}

let settings = Settings(parsed: parsed, environment: ProcessInfo.processInfo.environment)
let code = await runCommand(settings)
exit(code)

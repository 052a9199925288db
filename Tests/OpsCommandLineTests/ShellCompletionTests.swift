// `opsctl completion bash|zsh|fish`, generated from the command table: a real bash loads the script and its
// `_opsctl`, driven through COMP_WORDS/COMP_CWORD as bash's completion does, offers the commands, the kinds of
// `get`, option names and the fixed values of typed options; a real fish (`complete -C`) offers the same; zsh
// parses its script (`zsh -n`) and, with compinit, registers `_opsctl` for `opsctl`. Before, `opsctl completion`
// was an unknown command.

import Foundation
import TestSupport
import XCTest

@testable import OpsCommandLine

final class ShellCompletionTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory.make(prefix: "llmops-completion-") }
    override func tearDown() { directory?.remove() }

    private func scriptFile(_ shell: ShellCompletion.Shell) throws -> String {
        let path = directory.path + "/opsctl.\(shell.rawValue)"
        try ShellCompletion.script(for: shell, parser: OpsCommands.parser).write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs `executable` with `arguments`; stdout, stderr and the exit status.
    private func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (
            process.terminationStatus, String(decoding: outData, as: UTF8.self),
            String(decoding: errData, as: UTF8.self)
        )
    }

    private func installed(_ name: String) throws -> String {
        for directory in ["/usr/bin", "/bin", "/usr/local/bin"]
        where FileManager.default.isExecutableFile(
            atPath: directory + "/" + name)
        {
            return directory + "/" + name
        }
        throw XCTSkip("\(name) is not installed; scripts/install-test-deps.sh installs it (CI runs that)")
    }

    /// What `_opsctl` offers when the command line is `words` and the last word is being completed.
    private func bashCandidates(_ words: [String]) throws -> [String] {
        let quoted = words.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let script = try scriptFile(.bash)
        let result = try run(
            "/bin/bash",
            [
                "-c",
                "set -eu; source '\(script)'; COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1); _opsctl; "
                    + "printf '%s\\n' \"${COMPREPLY[@]+${COMPREPLY[@]}}\"",
            ])
        XCTAssertEqual(result.status, 0, result.err)
        return result.out.split(separator: "\n").map(String.init)
    }

    func testBashCompletesCommandsKindsOptionsAndChoicesFromTheCommandTable() throws {
        XCTAssertEqual(try bashCandidates(["opsctl", "ge"]), ["get", "generate"])
        XCTAssertEqual(try bashCandidates(["opsctl", ""]), OpsCommands.parser.commands.map(\.name))
        XCTAssertEqual(try bashCandidates(["opsctl", "get", ""]), ResourceKind.names)
        XCTAssertEqual(try bashCandidates(["opsctl", "get", "me"]), ["metrics"])
        XCTAssertEqual(try bashCandidates(["opsctl", "get", "jobs", "--wa"]), ["--watch", "--watch-interval-seconds"])
        XCTAssertEqual(
            try bashCandidates(["opsctl", "get", "jobs", "-o", ""]), ["table", "wide", "json", "yaml", "csv"])
        XCTAssertEqual(
            try bashCandidates(["opsctl", "describe", "job", "a", "--output", ""]), ["table", "wide", "json", "yaml"])
        XCTAssertEqual(try bashCandidates(["opsctl", "get", "--output", "=", "y"]), ["yaml"])
        XCTAssertEqual(try bashCandidates(["opsctl", "token", "create", "ci", "--scope", "s"]), ["submitter"])
        // An option's value is not a positional: after `-o json` the kind is still to come.
        XCTAssertEqual(try bashCandidates(["opsctl", "get", "-o", "json", "q"]), ["queues"])
        XCTAssertEqual(try bashCandidates(["opsctl", "completion", ""]), ["bash", "zsh", "fish"])
        XCTAssertEqual(try bashCandidates(["opsctl", "delete", ""]), DeleteCommand.spec.positionals[0].choices)
        // A value with no fixed set is left to bash's default (file names).
        XCTAssertEqual(try bashCandidates(["opsctl", "get", "jobs", "--limit", ""]), [])
        XCTAssertEqual(try bashCandidates(["opsctl", "frobnicate", ""]), [])

        let script = try scriptFile(.bash)
        let registered = try run("/bin/bash", ["-c", "source '\(script)'; complete -p opsctl"])
        XCTAssertEqual(registered.out, "complete -o default -F _opsctl opsctl\n", registered.err)
    }

    func testZshParsesItsScriptWhichNamesEveryCommandAndChoice() throws {
        let zsh = try installed("zsh")
        let script = try scriptFile(.zsh)
        let parsed = try run(zsh, ["-n", script])
        XCTAssertEqual(parsed.status, 0, parsed.err)
        // Loaded by a zsh with its completion system, the script registers `_opsctl` for `opsctl`.
        let loaded = try run(
            zsh,
            [
                "-f", "-c",
                "autoload -Uz compinit && compinit -u -D; source '\(script)'; print -- ${_comps[opsctl]}; whence -w _opsctl",
            ])
        XCTAssertEqual(loaded.out, "_opsctl\n_opsctl: function\n", loaded.err)
        let text = try String(contentsOfFile: script, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("#compdef opsctl\n"))
        for command in OpsCommands.parser.commands {
            XCTAssertTrue(text.contains("        '\(command.name):"), "\(command.name) is not among the commands")
            XCTAssertTrue(text.contains("        \(command.name))\n"), "\(command.name) has no arguments")
        }
        XCTAssertTrue(
            text.contains(
                "'(-o --output)'{-o+,--output=}'[table, wide, json, yaml, or csv (metrics only)]:FORMAT:(table wide json yaml csv)'"
            ), text)
        XCTAssertTrue(text.contains("'1:KIND:(\(ResourceKind.names.joined(separator: " ")))'"), text)
    }

    func testFishParsesItsScriptAndCompletesTheSameWords() throws {
        let fish = try installed("fish")
        let script = try scriptFile(.fish)
        let parsed = try run(fish, ["-n", script])
        XCTAssertEqual(parsed.status, 0, parsed.err)
        func candidates(_ line: String) throws -> [String] {
            let result = try run(fish, ["--no-config", "-c", "source '\(script)'; complete -C '\(line)'"])
            XCTAssertEqual(result.status, 0, result.err)
            return result.out.split(separator: "\n").map { String($0.split(separator: "\t").first ?? "") }
        }
        XCTAssertEqual(Set(try candidates("opsctl ")), Set(OpsCommands.parser.commands.map(\.name)))
        XCTAssertEqual(Set(try candidates("opsctl get ")), Set(ResourceKind.names))
        XCTAssertEqual(Set(try candidates("opsctl get -o json ")), Set(ResourceKind.names))
        XCTAssertEqual(Set(try candidates("opsctl get jobs -o ")), ["table", "wide", "json", "yaml", "csv"])
        XCTAssertEqual(Set(try candidates("opsctl token create ci --scope ")), ["viewer", "submitter", "admin"])
        XCTAssertEqual(try candidates("opsctl get jobs --watch-i"), ["--watch-interval-seconds"])
        XCTAssertEqual(try candidates("opsctl get jobs "), [], "no kind after the kind")
    }
}

// `type: shell` — runs a program (an argv list, no shell unless you ask for `sh -c`) in the attempt's work
// directory, streaming its stdout/stderr as log lines. Exit status 0 succeeds; anything else is a retryable
// failure. Cancellation, preemption and `timeoutSeconds` stop it (SIGTERM, then SIGKILL after 2 s).
// Settings: `command: [program, args...]`, `env: {K: V}`, `workingDirectory: /abs/path`, `timeoutSeconds`.
// Output is text: invalid UTF-8 and NUL bytes (which PostgreSQL cannot store) both become U+FFFD in the log.

import APITypes
import Foundation
import Spawn

public struct ShellExecutor: JobExecutor {
    public static let kind = "shell"
    /// Longest log line kept; longer lines are cut (with a marker) so one runaway line cannot flood the store.
    static let maxLineBytes = 16 * 1024

    public init() {}

    public func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
        let settings = task.settings
        guard let items = settings["command"]?.arrayValue, !items.isEmpty else {
            throw TaskFailure.invalidSpec(
                "shell.command", expected: "a non-empty list of strings (the program and its arguments)",
                got: settings["command"])
        }
        let argv = items.compactMap(\.stringValue)
        guard argv.count == items.count else {
            throw TaskFailure.invalidSpec("shell.command", expected: "a list of strings", got: settings["command"])
        }
        var extraEnvironment: [String: String] = [:]
        if let env = settings["env"] {
            guard let members = env.objectValue else {
                throw TaskFailure.invalidSpec("shell.env", expected: "a map of strings", got: env)
            }
            for (key, value) in members {
                guard let text = value.stringValue ?? value.intValue.map(String.init) else {
                    throw TaskFailure.invalidSpec("shell.env.\(key)", expected: "a string", got: value)
                }
                extraEnvironment[key] = text
            }
        }
        let directory =
            settings["workingDirectory"]?.stringValue.map { URL(fileURLWithPath: $0) } ?? context.workDirectory
        let timeoutSeconds = settings["timeoutSeconds"]?.doubleValue

        try Self.checkDirectory(directory)
        let executable = try Self.resolve(argv[0], in: directory, environment: ProcessInfo.processInfo.environment)
        let child: SpawnedChild
        do {
            child = try SpawnedChild.start(
                ChildSpec(
                    executable: executable.path, arguments: Array(argv.dropFirst()),
                    environment: Self.environment(
                        for: task, workDirectory: context.workDirectory, extra: extraEnvironment),
                    workingDirectory: directory.path))
        } catch {
            // Checked above, so this is rarer (e.g. a script whose `#!` interpreter is missing); still no dump.
            throw TaskFailure("shell.command: cannot start \(argv[0]): \(error.reason)", retryable: false)
        }
        context.log("started: \(argv.joined(separator: " ")) (pid \(child.pid))", stream: .system)
        let readers = DispatchGroup()
        let output = child.outputReaders
        Self.forwardLines(of: output.standardOutput, to: context, stream: .stdout, group: readers)
        Self.forwardLines(of: output.standardError, to: context, stream: .stderr, group: readers)
        let seconds = try await Self.supervise(
            child, program: argv[0], readers: readers, context: context, timeoutSeconds: timeoutSeconds,
            timeoutField: "shell.timeoutSeconds")
        return TaskResult(result: ["exitStatus": 0, "seconds": .double(seconds)])
    }

    /// Waits for a started process while watching cancellation, preemption and the timeout (any of them stops it:
    /// SIGTERM, then SIGKILL 2 s later), then for its output readers. Returns the seconds it ran when it exited 0;
    /// throws the stop reason, or a retryable failure naming the status or signal otherwise.
    static func supervise(
        _ child: SpawnedChild, program: String, readers: DispatchGroup, context: ExecutionContext,
        timeoutSeconds: Double?, timeoutField: String
    ) async throws -> Double {
        let started = Date()
        var stopReason: Error?
        var exit = child.pollExit()
        while exit == nil {
            if stopReason == nil {
                if context.isCancelled {
                    stopReason = Self.currentStop(context)
                } else if let preemption = context.preemption {
                    stopReason = ExecutionStopped.preempted(reason: preemption.reason)
                } else if let timeoutSeconds, Date().timeIntervalSince(started) > timeoutSeconds {
                    stopReason = TaskFailure("timed out after \(timeoutSeconds)s (\(timeoutField))", retryable: true)
                }
                if stopReason != nil { child.terminate(graceSeconds: 2) }
            }
            try? await Task.sleep(nanoseconds: 20_000_000)
            exit = child.pollExit()
        }
        _ = try await context.runBlocking { readers.wait() }
        if let stopReason { throw stopReason }
        switch exit {
        case .killed(let signal): throw TaskFailure("\(program) was killed by signal \(signal)", retryable: true)
        case .exited(let status) where status != 0:
            throw TaskFailure("\(program) exited with status \(status)", retryable: true)
        default: return Date().timeIntervalSince(started)
        }
    }

    private static func currentStop(_ context: ExecutionContext) -> Error {
        do {
            try context.checkCancellation()
            return CancellationError()
        } catch { return error }
    }

    /// The child's environment: the worker's, minus anything that looks like a secret, plus OPS_TASK_* facts
    /// and the task's own `env`.
    static func environment(
        for task: TaskAssignment, workDirectory: URL, extra: [String: String],
        inherited: [String: String] = ProcessInfo.processInfo.environment
    ) -> [String: String] {
        var environment = inherited.filter { key, _ in
            let upper = key.uppercased()
            return !upper.contains("TOKEN") && !upper.contains("SECRET") && !upper.contains("PASSWORD")
                && upper != "OPS_DATABASE_URL"
        }
        environment["OPS_JOB_NAME"] = task.jobName
        environment["OPS_TASK_ID"] = "\(task.taskID)"
        environment["OPS_TASK_INDEX"] = "\(task.taskIndex)"
        environment["OPS_ATTEMPT_ID"] = "\(task.attemptID)"
        environment["OPS_ATTEMPT_NUMBER"] = "\(task.attemptNumber)"
        environment["OPS_WORK_DIR"] = workDirectory.path
        environment.merge(extra) { _, new in new }
        return environment
    }

    /// A program path: as given when it contains a slash (a relative one from the task's working directory,
    /// where a shell would look), else the first match on PATH. Checked here so that a missing program is named
    /// with the field and the PATH searched; `posix_spawn` alone would only say "No such file or directory".
    static func resolve(
        _ program: String, in directory: URL, environment: [String: String], field: String = "shell.command"
    ) throws -> URL {
        let fm = FileManager.default
        guard !program.contains("/") else {
            let url =
                program.hasPrefix("/")
                ? URL(fileURLWithPath: program) : directory.appendingPathComponent(program).standardizedFileURL
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                throw TaskFailure("\(field): no such program: \(url.path)", retryable: false)
            }
            guard !isDirectory.boolValue, fm.isExecutableFile(atPath: url.path) else {
                throw TaskFailure("\(field): not an executable program: \(url.path)", retryable: false)
            }
            return url
        }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for entry in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(entry)).appendingPathComponent(program)
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                fm.isExecutableFile(atPath: candidate.path)
            {
                return candidate
            }
        }
        throw TaskFailure("\(field): no such program: \(program) (searched PATH: \(path))", retryable: false)
    }

    /// The POSIX reason under a Foundation error ("Permission denied"), not its whole `Error Domain=...` dump
    /// (a directory FileManager could not create).
    static func plainReason(_ error: Error) -> String {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        if let underlying, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return (error as NSError).localizedDescription
    }

    /// The working directory must exist: `posix_spawn` reports a missing one as if the program were missing.
    static func checkDirectory(_ directory: URL, field: String = "shell.workingDirectory") throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw TaskFailure("\(field): no such directory: \(directory.path)", retryable: false)
        }
        guard isDirectory.boolValue else {
            throw TaskFailure("\(field): not a directory: \(directory.path)", retryable: false)
        }
    }

    /// Reads the pipe on its own thread until EOF, logging each line.
    static func forwardLines(
        of handle: FileHandle, to context: ExecutionContext, stream: LogStream, group: DispatchGroup
    ) {
        forwardLines(of: handle, group: group) { context.log($0, stream: stream) }
    }

    /// Reads the pipe on its own thread until EOF, handing each line (cut at `maxLineBytes`) to `handle`.
    static func forwardLines(
        of handle: FileHandle, group: DispatchGroup, _ handleLine: @escaping @Sendable (String) -> Void
    ) {
        group.enter()
        let thread = Thread {
            defer { group.leave() }
            var pending = Data()
            func emit(_ bytes: Data) {
                var line = bytes
                var suffix = ""
                if line.count > maxLineBytes {
                    line = line.prefix(maxLineBytes)
                    suffix = " …[line cut]"
                }
                handleLine(String(decoding: line, as: UTF8.self) + suffix)
            }
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    emit(pending[pending.startIndex..<newline])
                    pending = Data(pending[pending.index(after: newline)...])
                }
                if pending.count > maxLineBytes * 4 {
                    emit(pending)
                    pending = Data()
                }
            }
            if !pending.isEmpty { emit(pending) }
        }
        thread.start()
    }
}

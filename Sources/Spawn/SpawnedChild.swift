import Foundation
import Primitives

/// Where a child's standard output and error go. Its standard input is always /dev/null.
public enum ChildOutput: Sendable, Equatable {
    /// Two pipes this process reads: `SpawnedChild.outputReaders`.
    case pipes
    /// One file, created or truncated, with both streams in it.
    case file(path: String)
    /// One file, created if missing, both streams appended (a log kept across restarts).
    case appending(path: String)
    /// Two files, each created or truncated: standard output into one, standard error into the other (a command
    /// whose output is parsed and whose error is quoted, with nothing to drain while it runs).
    case files(standardOutput: String, standardError: String)
}

/// What to start: an absolute executable path, its arguments (after argv[0]), its environment (nil: this
/// process's), its working directory (nil: this process's) and where its output goes.
public struct ChildSpec: Sendable {
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]?
    public var workingDirectory: String?
    public var output: ChildOutput

    public init(
        executable: String, arguments: [String] = [], environment: [String: String]? = nil,
        workingDirectory: String? = nil, output: ChildOutput = .pipes
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.output = output
    }
}

/// How a child ended.
public enum ChildExit: Sendable, Equatable {
    case exited(status: Int32)
    case killed(signal: Int32)

    /// The status a shell would print: the exit status, or 128 + the signal.
    public var shellStatus: Int32 {
        switch self {
        case .exited(let status): status
        case .killed(let signal): 128 + signal
        }
    }

    /// From a `waitpid` status (WIFEXITED / WEXITSTATUS / WTERMSIG spelled out: the macros are not imported).
    init(waitStatus: Int32) {
        let signal = waitStatus & 0x7f
        self = signal == 0 ? .exited(status: (waitStatus >> 8) & 0xff) : .killed(signal: signal)
    }
}

/// A child process started with `posix_spawn`, watched with `waitpid`.
///
/// Why not Foundation's `Process`: on Linux it closes the parent's other descriptors by listing them *before* it
/// spawns, and its pipes are not close-on-exec. A pipe another thread opens in between is inherited, and a child
/// that lives long then holds another child's output open; Foundation also learns of an exit through a socket the
/// child inherits, which a long-lived child may hold too. A worker running a gang's two members hit exactly that:
/// rank 1 exited, but rank 0 (alive for ten minutes) held rank 1's pipe, so its end was never seen. Here every pipe
/// is close-on-exec from birth, the child closes every descriptor above stderr at spawn time
/// (`posix_spawn_file_actions_addclosefrom_np`), and the exit is read from `waitpid`.
public final class SpawnedChild: @unchecked Sendable {
    public let pid: pid_t
    /// The program as given (for messages).
    public let program: String
    /// The read ends of the child's standard output and error, with `.pipes`; EOF once every holder of the write
    /// end is gone.
    private let standardOutput: FileHandle?
    private let standardError: FileHandle?
    /// Both read ends, for a child started with `.pipes` (asking for them otherwise is a programming error).
    public var outputReaders: (standardOutput: FileHandle, standardError: FileHandle) {
        guard let standardOutput, let standardError else {
            preconditionFailure("\(program) was started with its output in a file, not in pipes")
        }
        return (standardOutput, standardError)
    }

    /// The exit once reaped. After that the pid may belong to another process: no signal is sent to it again.
    private let reaped = Locked<ChildExit?>(nil)

    private init(pid: pid_t, program: String, standardOutput: FileHandle?, standardError: FileHandle?) {
        self.pid = pid
        self.program = program
        self.standardOutput = standardOutput
        self.standardError = standardError
    }

    deinit { _ = pollExit() }

    /// Starts the child. Throws if the program cannot be started (missing, not executable, no such directory).
    public static func start(_ spec: ChildSpec) throws(SpawnError) -> SpawnedChild {
        var launch = try SpawnLaunch(spec)
        defer { launch.closeChildEnds() }
        let pid = try launch.spawn()
        return SpawnedChild(
            pid: pid, program: spec.executable, standardOutput: launch.takeOutputReader(),
            standardError: launch.takeErrorReader())
    }

    /// Starts `argv` with output into `outputPath` and waits for it: the one-shot form (initdb, pg_ctl).
    public static func run(_ argv: [String], outputPath: String) throws(SpawnError) -> ChildExit {
        precondition(!argv.isEmpty, "argv names the program")
        let child = try start(
            ChildSpec(executable: argv[0], arguments: Array(argv.dropFirst()), output: .file(path: outputPath)))
        return try child.waitForExit()
    }

    /// The exit if the child has ended (it is reaped then), nil while it runs. Never blocks.
    public func pollExit() -> ChildExit? {
        reaped.withLock { exit in
            if exit == nil { exit = Self.reap(pid, blocking: false) }
            return exit
        }
    }

    public var isRunning: Bool { pollExit() == nil }

    /// The exit if the child ends within `timeoutSeconds`, nil if it still runs then (it is left running). Polls,
    /// from 1 ms doubling to 50 ms: meant for commands that end in milliseconds, where a thread parked in `waitid`
    /// per command would cost more than the polls.
    public func waitForExit(timeoutSeconds: Double) -> ChildExit? {
        precondition(timeoutSeconds >= 0, "a timeout of \(timeoutSeconds) s")
        let deadline = DispatchTime.now() + timeoutSeconds
        var pauseMicroseconds: UInt32 = 1_000
        while true {
            if let exit = pollExit() { return exit }
            if DispatchTime.now() >= deadline { return nil }
            usleep(pauseMicroseconds)
            pauseMicroseconds = min(pauseMicroseconds * 2, 50_000)
        }
    }

    /// Blocks the calling thread until the child ends. `waitid(WNOWAIT)` waits without reaping, so a concurrent
    /// `signal` never reaches a recycled pid; the reap itself happens under the lock.
    public func waitForExit() throws(SpawnError) -> ChildExit {
        if let exit = pollExit() { return exit }
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == -1 {
            let code = errno
            if code == EINTR { continue }
            if code == ECHILD, let exit = pollExit() { return exit }
            throw .cannotWait(program: program, reason: SpawnError.errnoText(code))
        }
        guard let exit = pollExit() else {
            throw .cannotWait(program: program, reason: "waitid reported an exit that waitpid did not find")
        }
        return exit
    }

    /// Sends `signal` unless the child has already been reaped. Returns whether it was sent.
    @discardableResult
    public func signal(_ signal: Int32) -> Bool {
        reaped.withLock { exit in
            if exit == nil { exit = Self.reap(pid, blocking: false) }
            guard exit == nil else { return false }
            return kill(pid, signal) == 0
        }
    }

    /// SIGTERM now, SIGKILL `graceSeconds` later if it still runs.
    public func terminate(graceSeconds: Double = 2) {
        signal(SIGTERM)
        DispatchQueue.global().asyncAfter(deadline: .now() + graceSeconds) { [self] in signal(SIGKILL) }
    }

    private static func reap(_ pid: pid_t, blocking: Bool) -> ChildExit? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if result == pid { return ChildExit(waitStatus: status) }
            if result == -1 && errno == EINTR { continue }
            return nil
        }
    }
}

import Foundation

/// The set-up of one `posix_spawn`: file actions, attributes, pipes. Both pipe ends are close-on-exec; the child's
/// copies on 1 and 2 are made by `dup2`, which clears the flag on the copy only.
struct SpawnLaunch {
    private let spec: ChildSpec
    private var outputPipe: (read: Int32, write: Int32)?
    private var errorPipe: (read: Int32, write: Int32)?

    init(_ spec: ChildSpec) throws(SpawnError) {
        guard GlibcSpawnExtensions.addCloseFrom != nil else {
            throw .unsupported(function: "posix_spawn_file_actions_addclosefrom_np")
        }
        self.spec = spec
        if spec.output == .pipes {
            outputPipe = try Self.makePipe(spec.executable)
            do { errorPipe = try Self.makePipe(spec.executable) } catch {
                close(outputPipe!.read)
                close(outputPipe!.write)
                throw error
            }
        }
    }

    /// Spawns; on failure closes the parent's read ends too (the caller's `closeChildEnds` closes the rest).
    mutating func spawn() throws(SpawnError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        do throws(SpawnError) {
            try addFileActions(&actions)
            Self.resetSignals(&attributes)
            return try launch(&actions, &attributes)
        } catch {
            for end in [outputPipe?.read, errorPipe?.read].compactMap({ $0 }) { close(end) }
            outputPipe?.read = -1
            errorPipe?.read = -1
            throw error
        }
    }

    /// The parent never writes to the child's pipes: closing its write ends is what lets EOF arrive.
    mutating func closeChildEnds() {
        for end in [outputPipe?.write, errorPipe?.write].compactMap({ $0 }) where end >= 0 { close(end) }
        outputPipe?.write = -1
        errorPipe?.write = -1
    }

    func takeOutputReader() -> FileHandle? { Self.reader(outputPipe) }
    func takeErrorReader() -> FileHandle? { Self.reader(errorPipe) }

    private static func reader(_ pipe: (read: Int32, write: Int32)?) -> FileHandle? {
        guard let pipe, pipe.read >= 0 else { return nil }
        return FileHandle(fileDescriptor: pipe.read, closeOnDealloc: true)
    }

    private func addFileActions(_ actions: inout posix_spawn_file_actions_t) throws(SpawnError) {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        switch spec.output {
        case .pipes:
            posix_spawn_file_actions_adddup2(&actions, outputPipe!.write, 1)
            posix_spawn_file_actions_adddup2(&actions, errorPipe!.write, 2)
        case .file(let path):
            posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        case .appending(let path):
            posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        case .files(let standardOutput, let standardError):
            posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        if let directory = spec.workingDirectory {
            guard let addChdir = GlibcSpawnExtensions.addChdir else {
                throw .unsupported(function: "posix_spawn_file_actions_addchdir_np")
            }
            _ = addChdir(&actions, directory)
        }
        _ = GlibcSpawnExtensions.addCloseFrom!(&actions, 3)
    }

    /// The child starts with no signal blocked and every handler at its default, whatever this process set.
    private static func resetSignals(_ attributes: inout posix_spawnattr_t) {
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    }

    private func launch(_ actions: inout posix_spawn_file_actions_t, _ attributes: inout posix_spawnattr_t)
        throws(SpawnError) -> pid_t
    {
        let argv = ([spec.executable] + spec.arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let environment = spec.environment ?? ProcessInfo.processInfo.environment
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, spec.executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw .cannotStart(program: spec.executable, reason: SpawnError.errnoText(result)) }
        return pid
    }

    private static func makePipe(_ program: String) throws(SpawnError) -> (read: Int32, write: Int32) {
        guard let pipe2 = GlibcSpawnExtensions.pipe2 else { throw .unsupported(function: "pipe2") }
        var ends: [Int32] = [-1, -1]
        guard pipe2(&ends, O_CLOEXEC) == 0 else {
            throw .cannotRedirect(program: program, reason: SpawnError.errnoText(errno))
        }
        return (ends[0], ends[1])
    }
}

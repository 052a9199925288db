// Job kind name → executor. The daemon advertises the registered kinds when it registers, so the control
// plane only hands it tasks it can run.

public struct ExecutorRegistry: Sendable {
    private var executors: [String: any JobExecutor] = [:]

    public init() {}

    /// A registry with the built-in kinds: `noop`, `sleep`, `fail`, `shell`.
    public static func builtins() -> ExecutorRegistry {
        var registry = ExecutorRegistry()
        registry.register(kind: NoopExecutor.kind, NoopExecutor())
        registry.register(kind: SleepExecutor.kind, SleepExecutor())
        registry.register(kind: FailExecutor.kind, FailExecutor())
        registry.register(kind: ShellExecutor.kind, ShellExecutor())
        return registry
    }

    /// Registers (or replaces) the executor of `kind`.
    public mutating func register(kind: String, _ executor: any JobExecutor) {
        executors[kind] = executor
    }

    public func executor(for kind: String) -> (any JobExecutor)? { executors[kind] }

    /// Registered kinds, sorted.
    public var kinds: [String] { executors.keys.sorted() }
}

extension ExecutorRegistry {
    /// Every kind this build of the worker can run. The real kinds (tokenize, stream, train, eval) are
    /// registered here as their issues land.
    public static func standard() -> ExecutorRegistry {
        var registry = builtins()
        registry.register(kind: TokenizeExecutor.kind, TokenizeExecutor())
        registry.register(kind: TokenizeTrainExecutor.kind, TokenizeTrainExecutor())
        registry.register(kind: TokenizeDedupScanExecutor.kind, TokenizeDedupScanExecutor())
        registry.register(kind: TokenizeMinhashExecutor.kind, TokenizeMinhashExecutor())
        registry.register(kind: TokenizeLSHExecutor.kind, TokenizeLSHExecutor())
        registry.register(kind: TrainExecutor.kind, TrainExecutor())
        registry.register(kind: EvalExecutor.kind, EvalExecutor())
        registry.register(kind: StreamExecutor.kind, StreamExecutor())
        registry.register(kind: VerifyExecutor.kind, VerifyExecutor())
        registry.register(kind: CommandExecutor.kind, CommandExecutor())
        return registry
    }
}

// Built-in job kinds for tests and operations; their settings match the Workers executors of the same
// names. Later kinds (tokenize, stream, train, eval) append their JobKind to `all` from their own file.

public enum BuiltInJobKinds {
    public static var all: [JobKind] {
        [
            noop, sleep, fail, shell, TokenizeJobKinds.tokenize, TokenizeJobKinds.trainTokenizer,
            TokenizeJobKinds.dedupScan, TrainJobKinds.train, TrainJobKinds.eval,
            StreamJobKinds.stream, StreamJobKinds.verify, CommandJobKinds.command, NearDedupJobKinds.minhash,
            NearDedupJobKinds.lsh,
        ]
    }

    /// `spec.noop: {result: <any>}` (optional): completes at once, echoing `result`.
    public static let noop = JobKind(name: "noop", summary: "completes at once (echoes `result`)") { settings, _ in
        settings.rejectUnknownKeys(allowed: ["result"])
    }

    /// `spec.sleep: {seconds: 2}` (optional, default 1 s): waits, reporting progress, then succeeds.
    public static let sleep = JobKind(name: "sleep", summary: "waits `seconds` (default 1), then succeeds") {
        settings, _ in
        settings.rejectUnknownKeys(allowed: ["seconds"])
        _ = settings.number("seconds", min: 0, max: 86_400)
    }

    /// `spec.fail: {message, retryable, succeedOnAttempt}` (all optional): fails on purpose, to exercise retries
    /// and `onDependencyFailure`; with `succeedOnAttempt: N` it succeeds from attempt N on.
    public static let fail = JobKind(name: "fail", summary: "fails on purpose (retries, dependency failures)") {
        settings, _ in
        settings.rejectUnknownKeys(allowed: ["message", "retryable", "succeedOnAttempt"])
        _ = settings.string("message")
        _ = settings.bool("retryable")
        _ = settings.integer("succeedOnAttempt", min: 1)
    }

    /// `spec.shell: {command: ["sh", "-c", "echo hi"], env: {K: V}, workingDirectory: /tmp, timeoutSeconds: 60}`:
    /// runs a process; exit status 0 succeeds.
    public static let shell = JobKind(
        name: "shell", summary: "runs `command` (argv list); exit status 0 succeeds",
        settingsRequired: true
    ) { settings, _ in
        settings.rejectUnknownKeys(allowed: ["command", "env", "workingDirectory", "timeoutSeconds"])
        if let command = settings.stringList(
            "command", required: true,
            expectedList: "a non-empty list of strings (the program and its arguments)"),
            command.isEmpty
        {
            settings.report(
                "command", "expected a non-empty list of strings (the program and its arguments), got an empty list")
        }
        _ = settings.stringMap(
            "env", expectedKey: "an environment variable name",
            keyIsValid: { name in !name.isEmpty && !name.contains("=") && !name.contains("\0") })
        _ = settings.string("workingDirectory", expected: "an absolute path", isValid: { $0.hasPrefix("/") })
        _ = settings.number("timeoutSeconds", min: 0.001)
    }
}

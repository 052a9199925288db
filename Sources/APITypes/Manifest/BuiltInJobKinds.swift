// Built-in job kinds for tests and operations. Later kinds (tokenize, stream, train, eval) append
// their JobKind to `all` from their own file.

public enum BuiltInJobKinds {
    public static var all: [JobKind] { [noop, sleep, shell] }

    /// Does nothing and succeeds: for pipelines, scheduling tests and benchmarks.
    public static let noop = JobKind(name: "noop", summary: "does nothing and succeeds") { settings, _ in
        settings.rejectUnknownKeys(allowed: [])
    }

    /// `spec.sleep: {seconds: 2}`: waits, then succeeds (cancellable).
    public static let sleep = JobKind(name: "sleep", summary: "waits `seconds`, then succeeds", settingsRequired: true) { settings, _ in
        settings.rejectUnknownKeys(allowed: ["seconds"])
        _ = settings.number("seconds", required: true, min: 0, max: 86_400)
    }

    /// `spec.shell: {command: ["sh", "-c", "echo hi"], env: {K: V}, workingDirectory: /tmp, timeoutSeconds: 60}`:
    /// runs a process; exit status 0 succeeds.
    public static let shell = JobKind(name: "shell", summary: "runs `command` (argv list); exit status 0 succeeds",
                                      settingsRequired: true) { settings, _ in
        settings.rejectUnknownKeys(allowed: ["command", "env", "workingDirectory", "timeoutSeconds"])
        if let command = settings.stringList("command", required: true,
                                             expectedList: "a non-empty list of strings (the program and its arguments)"),
           command.isEmpty {
            settings.report("command", "expected a non-empty list of strings (the program and its arguments), got an empty list")
        }
        _ = settings.stringMap("env", expectedKey: "an environment variable name",
                               keyIsValid: { name in !name.isEmpty && !name.contains("=") && !name.contains("\0") })
        _ = settings.string("workingDirectory", expected: "an absolute path", isValid: { $0.hasPrefix("/") })
        _ = settings.number("timeoutSeconds", min: 0.001)
    }
}

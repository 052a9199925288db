// The `command` job kind (issue 18): the user's own program, run as a gang with the torchrun / Kubeflow PyTorchJob
// contract (RANK, WORLD_SIZE, MASTER_ADDR, ...), a checkpoint directory that survives retries, and the `@ops` report
// lines on stdout. docs/your-own-code.md.
//
//   spec:
//     type: command
//     replicas: 2
//     command:
//       argv: [python3, train.py, --epochs, "3"]
//       workingDirectory: /home/me/project       # default: the attempt's private directory
//       env: {BATCH_SIZE: "32"}
//       venv: /home/me/project/.venv             # optional: its bin/ first on PATH, VIRTUAL_ENV set
//       checkpointDirectory: /shared/ckpt        # optional: a shared mount; default <worker work dir>/checkpoints

/// `spec.command`: what the executor runs. Decoded by the worker from the task's settings.
public struct CommandSettings: Codable, Sendable, Equatable {
    public var argv: [String]
    public var workingDirectory: String?
    public var env: [String: String]?
    public var venv: String?
    /// Refused by the validator (no container runtime on the workers); kept so the refusal can name it.
    public var image: String?
    /// Where `OPS_CHECKPOINT_DIR` is made (`<dir>/<job>-<jobID>`); a directory every node mounts keeps checkpoints
    /// across nodes.
    public var checkpointDirectory: String?
    /// How long a member waits for rank 0's address before its attempt fails (retryable).
    public var rendezvousTimeoutSeconds: Double?
    public var timeoutSeconds: Double?

    public init(argv: [String]) { self.argv = argv }

    public static let defaultRendezvousTimeoutSeconds = 300.0
}

public enum CommandJobKinds {
    public static let commandName = "command"

    /// The training-exchange entry that holds rank 0's `tcp://host:port` (`CommandRendezvous` on the worker); the
    /// control plane deletes it when the gang restarts, so a member of the next generation never reads a stale one.
    public static let masterEntryName = "command-master"

    /// Job types whose gang restarts as a whole when one member fails or is lost: a torch.distributed program
    /// cannot continue without a member. (A DiLoCo `train` gang goes on without a lost member by design.)
    public static let wholeGangRestartTypes = [commandName]

    /// `spec.type: command`.
    public static let command = JobKind(
        name: commandName, summary: "runs your own program (argv) as a gang with RANK/WORLD_SIZE/MASTER_ADDR",
        settingsRequired: true
    ) { settings, _ in
        settings.rejectUnknownKeys(allowed: [
            "argv", "workingDirectory", "env", "venv", "image", "checkpointDirectory", "rendezvousTimeoutSeconds",
            "timeoutSeconds",
        ])
        if let argv = settings.stringList(
            "argv", required: true, expectedList: "a non-empty list of strings (the program and its arguments)"),
            argv.isEmpty
        {
            settings.report(
                "argv", "expected a non-empty list of strings (the program and its arguments), got an empty list")
        }
        _ = settings.stringMap(
            "env", expectedKey: "an environment variable name",
            keyIsValid: { name in !name.isEmpty && !name.contains("=") && !name.contains("\0") })
        for key in ["workingDirectory", "venv", "checkpointDirectory"] {
            _ = settings.string(key, expected: "an absolute path", isValid: { $0.hasPrefix("/") })
        }
        if settings.has("image") {
            settings.report(
                "image",
                "container images are not supported on this system's workers (they run no container runtime); "
                    + "install the program on the workers and name its Python environment with `venv` instead")
        }
        _ = settings.number("rendezvousTimeoutSeconds", min: 1, max: 3600)
        _ = settings.number("timeoutSeconds", min: 0.001)
    }
}

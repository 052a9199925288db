/// A Slurm command (`sbatch`, `squeue`, `scancel`) that did not do its job. Each says what to check.
public enum SlurmCommandError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The program is not on the control plane's `PATH`.
    case notInstalled(program: String, path: String)
    /// It ran longer than its timeout and was killed.
    case timedOut(command: String, seconds: Double)
    /// It exited with a non-zero status.
    case failed(command: String, status: Int32, standardError: String)
    /// It succeeded but printed something this version does not understand.
    case unreadableOutput(command: String, output: String)

    public var description: String {
        switch self {
        case .notInstalled(let program, let path):
            return
                "\(program) is not on the control plane's PATH (\(path)); install Slurm's client commands (Debian: slurm-client) on the control plane's host or add their directory to PATH"
        case .timedOut(let command, let seconds):
            return
                "`\(command)` did not finish within \(Int(seconds)) s and was killed; check that slurmctld answers (`scontrol ping`)"
        case .failed(let command, let status, let standardError):
            return
                "`\(command)` exited with status \(status): \(standardError.isEmpty ? "(no message)" : standardError); check the pool's partition, account and limits against `sinfo` and `sacctmgr show assoc`"
        case .unreadableOutput(let command, let output):
            return
                "`\(command)` printed \"\(output.prefix(200))\", not what was expected; is this Slurm 20.11 or later?"
        }
    }
}

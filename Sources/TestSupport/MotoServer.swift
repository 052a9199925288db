// A real S3-compatible server for tests and benchmarks: PyPI's moto (`moto[server]`), started on a free
// loopback port with Signature V4 checking on, one bucket and one access key created by `moto_setup.py`
// (Tests/ObjectStoreTests/Fixtures), which also reads objects back with boto3 as an independent client.

import Foundation
import Spawn

public struct MotoUnavailable: Error, CustomStringConvertible {
    public let detail: String
    public var description: String {
        "the S3 test server cannot run: \(detail) (install it with scripts/install-test-deps.sh: python3 -m pip install 'moto[server]' boto3)"
    }
}

public final class MotoServer: @unchecked Sendable { // the child is only touched by stop() and deinit
    public let endpoint: String
    public let bucket: String
    public let accessKeyID: String
    public let secretAccessKey: String
    private let process: SpawnedChild
    private let setupScript: String

    /// Starts the server and creates `bucket`; throws `MotoUnavailable` when python3 lacks moto or boto3.
    public init(bucket: String, setupScript: String) throws {
        let check = try Self.python(["-c", "import moto.server, boto3"])
        guard check.status == 0 else {
            throw MotoUnavailable(detail: "python3 cannot import moto.server and boto3: \(check.error)")
        }
        let port = try FreePort.next()
        endpoint = "http://127.0.0.1:\(port)"
        self.bucket = bucket
        self.setupScript = setupScript
        // The setup's three IAM calls are the only unauthenticated ones; every later request is signature-checked.
        // Spawn, not Foundation's Process: a server that lives for a whole test class must not inherit a pipe another
        // thread opened while it started (Sources/Spawn).
        process = try SpawnedChild.start(
            Self.python(
                ["-c", Self.serverDyingWithParent, "-H", "127.0.0.1", "-p", "\(port)"],
                environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "3"], output: .file(path: "/dev/null")))
        let setup = try Self.python([setupScript, "setup", endpoint, bucket])
        let words = setup.output.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard setup.status == 0, words.count == 2 else {
            process.terminate(graceSeconds: 2)
            _ = try? process.waitForExit()
            throw MotoUnavailable(detail: "moto_setup.py setup failed: \(setup.error)")
        }
        accessKeyID = words[0]
        secretAccessKey = words[1]
    }

    /// moto's server, ending itself when the test process ends: a test class shares one server and has no hook that
    /// runs after its last test, and a crashed test process runs none at all. A thread watches the parent pid and
    /// exits the process once it changes (the test process is gone). Not PR_SET_PDEATHSIG: Linux sends that when the
    /// *thread* that started the server ends, which kills it mid-suite as SIGKILL; as SIGTERM moto's handler only
    /// raises `SystemExit`, which waits for its connection threads, and one server outlived a CI run that way.
    private static let serverDyingWithParent = """
        import os, sys, threading, time
        parent = os.getppid()
        def exit_with_parent():
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)
        threading.Thread(target=exit_with_parent, daemon=True).start()
        from moto.server import main
        main(sys.argv[1:])
        """

    deinit { stop() }

    /// SIGTERM, then SIGKILL if it has not exited within 2 s (it may be waiting for a connection thread).
    public func stop() {
        guard process.signal(SIGTERM) else { return }
        if process.waitForExit(timeoutSeconds: 2) == nil {
            process.signal(SIGKILL)
            _ = try? process.waitForExit()
        }
    }

    /// The SHA-256 and size of `key` as boto3 downloads it: a check independent of the client under test.
    public func independentSHA256(key: String) throws -> (sha256: String, sizeBytes: Int64) {
        let result = try Self.python(
            [setupScript, "sha256", endpoint, bucket, key],
            environment: [
                "AWS_ACCESS_KEY_ID": accessKeyID, "AWS_SECRET_ACCESS_KEY": secretAccessKey,
            ])
        let words = result.output.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard result.status == 0, words.count == 2, let size = Int64(words[1]) else {
            throw MotoUnavailable(detail: "boto3 could not read \(key): \(result.error)")
        }
        return (words[0], size)
    }

    /// How many multipart uploads of the bucket are started and neither completed nor aborted (boto3's view).
    public func multipartUploadsInProgress() throws -> Int {
        let result = try Self.python(
            [setupScript, "uploads", endpoint, bucket],
            environment: [
                "AWS_ACCESS_KEY_ID": accessKeyID, "AWS_SECRET_ACCESS_KEY": secretAccessKey,
            ])
        guard result.status == 0, let count = Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw MotoUnavailable(detail: "boto3 could not list multipart uploads: \(result.error)")
        }
        return count
    }

    /// Runs python3; `output` is the last line it printed (its answer), `error` everything it printed (stderr
    /// included: a traceback says why it failed).
    private static func python(_ arguments: [String], environment extra: [String: String] = [:])
        throws -> (status: Int32, output: String, error: String)
    {
        let log = NSTemporaryDirectory() + "/moto-python-\(UUID().uuidString.prefix(8)).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let exit = try SpawnedChild.start(python(arguments, environment: extra, output: .file(path: log))).waitForExit()
        let printed = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let lastLine = printed.split(whereSeparator: { $0.isNewline }).last.map(String.init) ?? ""
        return (exit.shellStatus, lastLine, printed)
    }

    /// `python3 arguments…` with this process's environment and `extra` on top.
    private static func python(_ arguments: [String], environment extra: [String: String], output: ChildOutput)
        -> ChildSpec
    {
        ChildSpec(
            executable: "/usr/bin/env", arguments: ["python3"] + arguments,
            environment: ProcessInfo.processInfo.environment.merging(extra) { $1 }, output: output)
    }
}

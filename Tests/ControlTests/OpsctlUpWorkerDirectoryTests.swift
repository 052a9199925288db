// Issue 14 through the real `opsctl up`: the workers it starts share no directory with each other or with the
// control plane (each has its own work dir, shard cache and artifact cache) and use the control plane's blob
// store over HTTP. Read from the worker processes' real command lines (/proc) and from the startup output.
import Foundation
import TestSupport
import XCTest

final class OpsctlUpWorkerDirectoryTests: XCTestCase {
    func testUpStartsWorkersWithPrivateDirectoriesAndTheRemoteArtifactStore() throws {
        let opsctl = try OpsctlBinary.path()
        let directory = try TemporaryDirectory.make(prefix: "llmops-up-dirs-")
        defer { directory.remove() }
        let state = directory.path + "/state"
        let up = try ManagedProcess(
            name: "up", executable: opsctl,
            arguments: ["up", "--workers", "2", "--state-dir", state, "--worker-cpus", "1", "--worker-memory", "1Gi"],
            environment: [:], logPath: directory.path + "/up.log")
        defer { up.kill9() }
        var workers: [[String]] = []
        try waitUntil("opsctl up started 2 workers", timeoutSeconds: 90) {
            if !up.isRunning { throw IntegrationFailure("opsctl up exited:\n\(up.output)") }
            workers = Self.childCommandLines(of: up.pid).filter {
                $0.dropFirst().first == "worker"
            }
            return up.output.contains("Ctrl-C stops everything") && workers.count == 2
        }
        func option(_ name: String, _ arguments: [String]) -> String? {
            arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
        }
        var directories: [String] = []
        for arguments in workers {
            XCTAssertEqual(option("--artifact-store", arguments), "cluster", "\(arguments)")
            XCTAssertNil(option("--artifact-dir", arguments), "no shared artifact directory: \(arguments)")
            let own = try XCTUnwrap(option("--state-dir", arguments))
            let work = try XCTUnwrap(option("--work-dir", arguments))
            let cache = try XCTUnwrap(option("--shard-cache", arguments))
            XCTAssertTrue(work.hasPrefix(own + "/") && cache.hasPrefix(own + "/"), "\(arguments)")
            XCTAssertTrue(up.output.contains("work \(work), shard cache \(cache)"), up.output)
            directories.append(own)
        }
        XCTAssertEqual(Set(directories).count, 2)
        for (i, a) in directories.enumerated() {
            XCTAssertFalse(a == state || (state + "/").hasPrefix(a + "/"), "a worker owns the state dir: \(a)")
            XCTAssertFalse((a + "/").hasPrefix(state + "/artifacts/"), "inside the control plane's blobs: \(a)")
            for b in directories[(i + 1)...] {
                XCTAssertFalse((a + "/").hasPrefix(b + "/") || (b + "/").hasPrefix(a + "/"), "\(a) and \(b) overlap")
            }
        }
        XCTAssertTrue(up.output.contains("artifacts via the control plane"), up.output)
        // Started that way, both workers register (the flags are ones `opsctl worker` accepts).
        try waitUntil("both workers registered", timeoutSeconds: 60, intervalSeconds: 0.5) {
            let list = Process()
            list.executableURL = URL(fileURLWithPath: opsctl)
            list.arguments = ["get", "workers", "-o", "json", "--state-dir", state]
            let pipe = Pipe()
            list.standardOutput = pipe
            list.standardError = FileHandle.nullDevice
            try list.run()
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            list.waitUntilExit()
            return text.contains("\"local-1\"") && text.contains("\"local-2\"")
        }
        XCTAssertEqual(up.terminate(timeoutSeconds: 60), 0, up.output)
    }

    /// The argument vectors of the live children of process `parent` (from /proc/<pid>/stat and cmdline).
    static func childCommandLines(of parent: Int32) -> [[String]] {
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
        var result: [[String]] = []
        for pid in pids {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // Fields after the command name: state, ppid, ...
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, Int32(fields[1]) == parent,
                let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
            else { continue }
            result.append(cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
        }
        return result
    }
}

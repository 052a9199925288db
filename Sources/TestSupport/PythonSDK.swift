// The Python SDK (clients/python, package `llmops`) as the tests run it: python3 as a real process with the
// package from this checkout on PYTHONPATH and the stream library built beside the test bundle
// (LLMOPS_STREAM_LIBRARY), so a test exercises exactly this commit's SDK and library.
import Foundation

public enum PythonSDK {
    /// `clients/python` of this checkout (this file is Sources/TestSupport/PythonSDK.swift).
    public static var packageDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("clients/python").path
    }

    /// libLLMOpsStreamC built beside the test bundle (`swift build --build-tests` builds every product).
    public static func libraryPath() throws -> String {
        let name = "libLLMOpsStreamC.so"
        var candidates: [URL] = []
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        candidates.append(exe.deletingLastPathComponent().appendingPathComponent(name))
        for test in Bundle.allBundles where test.bundlePath.hasSuffix(".xctest") {
            candidates.append(test.bundleURL.deletingLastPathComponent().appendingPathComponent(name))
        }
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
            return found.path
        }
        throw PythonSDKError(
            "\(name) is not built next to the test bundle (looked at \(candidates.map(\.path))); run "
                + "`swift build -c release --build-tests` (or `--product LLMOpsStreamC`) first")
    }

    /// Runs `python3 -c script arguments…` with the SDK importable; stdout and stderr apart (a traceback says why
    /// it failed). `timeoutSeconds` bounds a hung interpreter (it is killed).
    public static func run(
        _ script: String, arguments: [String] = [], environment extra: [String: String] = [:],
        timeoutSeconds: Double = 600
    ) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = packageDirectory + (environment["PYTHONPATH"].map { ":" + $0 } ?? "")
        environment["LLMOPS_STREAM_LIBRARY"] = try libraryPath()
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        process.environment = environment.merging(extra) { $1 }
        let directory = NSTemporaryDirectory() + "/python-sdk-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Files, not pipes: a chatty script cannot fill a pipe and block while we wait for it to exit.
        let outPath = directory + "/stdout"
        let errPath = directory + "/stderr"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer {
            try? out.close()
            try? err.close()
        }
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw PythonSDKError("python3 did not finish within \(timeoutSeconds) s")
        }
        process.waitUntilExit()
        let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let error = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return (process.terminationStatus, output, error)
    }
}

public struct PythonSDKError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

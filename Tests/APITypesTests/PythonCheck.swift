import Foundation
import XCTest

/// Runs a Python check the way CI has it installed (scripts/install-test-deps.sh); installs its PyPI modules
/// with pip when absent, so a developer machine runs the same check.
enum PythonCheck {
    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// `python3 -c script arguments...`, after making sure `modules` import (pip-installing `packages`).
    static func run(_ script: String, _ arguments: [String], modules: String, packages: [String]) throws -> Outcome {
        if try python(["-c", "import \(modules)"]).status != 0 {
            let install = try python(["-m", "pip", "install", "-q", "--disable-pip-version-check"] + packages)
            XCTAssertEqual(
                install.status, 0, "pip install \(packages.joined(separator: " ")) failed: \(install.stderr)")
        }
        return try python(["-c", script] + arguments)
    }

    private static func python(_ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let out = Pipe()
        // stderr goes to a file, so a chatty check cannot fill a second pipe while stdout is read.
        let errorPath = FileManager.default.temporaryDirectory.appendingPathComponent("python-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: errorPath.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorPath) }
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: errorPath)
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = (try? Data(contentsOf: errorPath)) ?? Data()
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }
}

// `pip install ./clients/python` works and installs a typed package (py.typed) that imports without any
// dependency: what docs/python.md promises a user.
import Foundation
import TestSupport
import XCTest

final class PythonPackageTests: XCTestCase {
    func testThePackageInstallsWithPipAndImportsWithoutDependencies() throws {
        let root = NSTemporaryDirectory() + "/llmops-pip-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        // pip builds in the source directory (build/, llmops.egg-info/): a copy keeps the checkout clean.
        let source = root + "/source"
        let target = root + "/installed"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: PythonSDK.packageDirectory, toPath: source)
        // --no-build-isolation: the build backend (setuptools) from this machine, not downloaded per run.
        let install = Process()
        install.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        install.arguments = [
            "python3", "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-build-isolation",
            "--no-deps", "--target", target, source,
        ]
        let log = Pipe()
        (install.standardOutput, install.standardError) = (log, log)
        try install.run()
        let printed = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        install.waitUntilExit()
        XCTAssertEqual(install.terminationStatus, 0, "pip install ./clients/python failed:\n\(printed)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: target + "/llmops/py.typed"), "the package is typed")
        // Imported from the installed copy only (no checkout on the path), with no third-party module loaded.
        let check = #"""
            import os, sys
            sys.path = [p for p in sys.path if "clients/python" not in p]
            import llmops, llmops.data, llmops.report
            assert os.path.realpath(llmops.__file__).startswith(os.path.realpath(sys.argv[1])), llmops.__file__
            third_party = {"yaml", "pandas", "numpy", "torch"} & set(sys.modules)
            assert not third_party, third_party
            print(llmops.__version__)
            """#
        let result = try PythonSDK.run(check, arguments: [target], environment: ["PYTHONPATH": target])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertEqual(result.output.trimmingCharacters(in: .whitespacesAndNewlines), "0.1.0")
    }
}

import Foundation
import XCTest

/// The `opsctl` binary built next to the test bundle (`swift build --build-tests` builds it); a skip otherwise.
func opsctlBinaryPath(besides testClass: AnyClass) throws -> String {
    // The test runner is the .xctest executable in the build directory (Linux), or inside the bundle (macOS).
    let starts = [
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(), Bundle(for: testClass).bundleURL,
    ]
    for start in starts {
        var directory = start.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("opsctl").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
    }
    throw XCTSkip("the opsctl binary is not built next to the tests (run `swift build --build-tests`)")
}

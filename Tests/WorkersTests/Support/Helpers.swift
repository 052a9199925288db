import Foundation
import XCTest

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
func eventually(
    timeoutSeconds: Double = 10, _ what: String, file: StaticString = #filePath, line: UInt = #line,
    _ condition: () async -> Bool
) async {
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while Date() < deadline {
        if await condition() { return }
        try? await Task.sleep(nanoseconds: 20_000_000)
    }
    XCTFail("timed out after \(timeoutSeconds)s waiting for: \(what)", file: file, line: line)
}

func temporaryDirectory(_ name: String = "workers-test") -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

// ChecksumBench: SHA-256 throughput of `Checksum.SHA256` (libcrypto) against `sha256sum` and `openssl dgst` on the
// same file in the same run, so the ratio holds on a noisy machine. The file is read once first (page cache), and
// each measurement is the best of --repeats.
//
//   swift run -c release ChecksumBench [--mib 512] [--repeats 3]
import BenchmarkSupport
import Checksum
import Foundation

let mebibytes = argument("--mib", 512)
let repeats = max(1, argument("--repeats", 3))
let path = NSTemporaryDirectory() + "checksum-bench-\(getpid()).bin"
defer { try? FileManager.default.removeItem(atPath: path) }

var state: UInt64 = 0x9e37_79b9_7f4a_7c15
var bytes = [UInt8](repeating: 0, count: mebibytes << 20)
bytes.withUnsafeMutableBytes { raw in
    let words = raw.bindMemory(to: UInt64.self)
    for i in words.indices {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        words[i] = state
    }
}
precondition(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot write \(path)")

func best(_ body: () throws -> Void) rethrows -> Double {
    var fastest = Double.infinity
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        fastest = min(fastest, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return fastest
}

func run(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return output
}

let gigabytes = Double(bytes.count) / 1e9
var ours = ""
let memoryTime = best { ours = SHA256.hex(of: bytes) }
let fileTime = try best { _ = try SHA256.hex(ofFileAt: path) }
var anchor = ""
let sha256sumTime = try best { anchor = try run("/usr/bin/sha256sum", [path]) }
let opensslTime = try best { _ = try run("/usr/bin/openssl", ["dgst", "-sha256", path]) }
precondition(anchor.hasPrefix(ours), "digests differ: \(ours) vs \(anchor)")

print("SHA-256 over \(mebibytes) MiB, best of \(repeats) (digests equal)")
print(String(format: "  Checksum.SHA256, in memory  %6.2f GB/s", gigabytes / memoryTime))
print(String(format: "  Checksum.SHA256, file       %6.2f GB/s", gigabytes / fileTime))
print(String(format: "  sha256sum (anchor)          %6.2f GB/s", gigabytes / sha256sumTime))
print(String(format: "  openssl dgst -sha256        %6.2f GB/s", gigabytes / opensslTime))
print(String(format: "  ratio file / sha256sum      %6.2f", sha256sumTime / fileTime))

// HTTPBench: throughput of the HTTPServer + HTTPClient pair over loopback (release build).
//   swift run -c release HTTPBench [seconds-per-case]
// Cases: small JSON POSTs with 1/4/16 concurrent keep-alive clients, the same through the async API,
// and ranged file downloads (8 MiB ranges of a 256 MiB file, sendfile on the server).

import Foundation
import HTTPClient
import HTTPServer

let secondsPerCase = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 3 : 3

struct Ping: Codable {
    var worker: Int
    var sequence: Int
}

let server = HTTPServer(configuration: HTTPServerConfiguration(maxBodyBytes: { _, _ in 1 << 20 })) { request in
    guard let ping = try? request.decodeJSON(Ping.self) else { return .error(status: 400, message: "bad body") }
    return .json(ping)
}
try server.start()
let url = "\(server.baseURL)/v1/ping"
let client = HTTPClient(bearerToken: "bench")

final class Counter: @unchecked Sendable {
    let lock = NSLock()
    var value = 0
    func add(_ n: Int) { lock.withLock { value += n } }
}

func runThreads(_ threads: Int) -> Double {
    let counter = Counter()
    let deadline = Date(timeIntervalSinceNow: secondsPerCase)
    let started = Date()
    DispatchQueue.concurrentPerform(iterations: threads) { worker in
        var done = 0
        while Date() < deadline {
            let request = try! HTTPClientRequest.json(url: url, body: Ping(worker: worker, sequence: done))
            let response = try! client.send(request)
            precondition(response.status == 200)
            done += 1
        }
        counter.add(done)
    }
    return Double(counter.value) / Date().timeIntervalSince(started)
}

func runAsync(_ tasks: Int) async -> Double {
    let deadline = Date(timeIntervalSinceNow: secondsPerCase)
    let started = Date()
    let total = await withTaskGroup(of: Int.self) { group in
        for worker in 0..<tasks {
            group.addTask {
                var done = 0
                while Date() < deadline {
                    let request = try! HTTPClientRequest.json(url: url, body: Ping(worker: worker, sequence: done))
                    let response = try! await client.send(request)
                    precondition(response.status == 200)
                    done += 1
                }
                return done
            }
        }
        return await group.reduce(0, +)
    }
    return Double(total) / Date().timeIntervalSince(started)
}

print(
    "HTTPBench: \(secondsPerCase) s per case, server and clients on one machine (\(ProcessInfo.processInfo.activeProcessorCount) cores)"
)
for threads in [1, 4, 16] {
    print(String(format: "small JSON POST, %2d client threads: %8.0f requests/s", threads, runThreads(threads)))
}
let asyncRate = await runAsync(16)
print(String(format: "small JSON POST, 16 async tasks:     %8.0f requests/s", asyncRate))

// Ranged downloads.
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("httpbench-\(getpid())")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: directory) }
let shard = directory.appendingPathComponent("shard.bin").path
let fileSize: Int64 = 256 << 20
_ = FileManager.default.createFile(atPath: shard, contents: nil)
let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: shard))
let block = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 131) })
for _ in 0..<(fileSize >> 20) { try handle.write(contentsOf: block) }
try handle.close()
let fileServer = HTTPServer { _ in .file(path: shard) }
try fileServer.start()
let rangeSize: Int64 = 8 << 20
var bytes: Int64 = 0
let downloadStart = Date()
let target = directory.appendingPathComponent("out.bin").path
while Date().timeIntervalSince(downloadStart) < secondsPerCase {
    let offset = (bytes % fileSize)
    let response = try client.download(
        url: "\(fileServer.baseURL)/shard", to: target, range: offset...(offset + rangeSize - 1))
    precondition(response.status == 206)
    bytes += rangeSize
}
let seconds = Date().timeIntervalSince(downloadStart)
print(String(format: "ranged download (8 MiB ranges):      %8.0f MiB/s", Double(bytes) / Double(1 << 20) / seconds))
fileServer.stop()
server.stop()

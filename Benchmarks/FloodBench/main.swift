// FloodBench: the API under a connection flood (issue 16, point 2; docs/security.md, "Connection floods"):
//   swift run -c release FloodBench [--connections N=10000] [--hold-seconds S=15] [--requests-per-second R=20]
// Starts a throwaway PostgreSQL and one control plane in this process. Measures GET /healthz and an authenticated
// GET /v1/workers, each on a new connection (a flood hurts accepting first), with no flood: the anchor. Then a
// child process (this executable, `--flood-child`; its own file descriptors, so 10,000 sockets on each side fit
// a 20,000 limit) opens N connections, half silent and half with a partial header, and holds them for S seconds
// while the same requests are measured again. Prints connections held (opened and still open at the end), p50/p99
// both ways and their ratio. The server's idle timeout is set beyond S so the flood is held for all of it.

import APITypes
import Control
import Foundation
import Postgres
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

// MARK: Options

struct Options {
    var connections = 10_000
    var holdSeconds = 15
    var requestsPerSecond = 20
    var anchorRequests = 200

    init(_ arguments: [String]) {
        var i = 0
        func integer() -> Int {
            i += 1
            guard i < arguments.count, let value = Int(arguments[i]), value > 0 else {
                fail("\(arguments[i - 1]) needs a positive integer")
            }
            return value
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--connections": connections = integer()
            case "--hold-seconds": holdSeconds = integer()
            case "--requests-per-second": requestsPerSecond = integer()
            case "--anchor-requests": anchorRequests = integer()
            case "-h", "--help":
                print(
                    "usage: FloodBench [--connections N=10000] [--hold-seconds S=15] [--requests-per-second R=20] [--anchor-requests A=200]"
                )
                exit(0)
            default: fail("unknown argument \(arguments[i]) (see --help)")
            }
            i += 1
        }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("FloodBench: \(message)\n".utf8))
    exit(2)
}

// MARK: Requests

/// One request on a new connection; the status code, or nil when refused, closed or slower than 10 s.
func request(port: UInt16, path: String, token: String?) -> Int? {
    guard let socket = LoopbackSocket.connect(port: port) else { return nil }
    defer { socket.close() }
    let answer = socket.get(path, headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:], timeoutSeconds: 10)
    return answer.hasPrefix("HTTP/1.1 ") ? Int(answer.dropFirst(9).prefix(3)) : nil
}

// MARK: The flood (child process)

/// A line to the parent, unbuffered (it waits for it).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

/// `--flood-child PORT N SECONDS`: opens N connections (every other one sends half a header), says how many it holds,
/// waits SECONDS, then says how many the server has not closed.
func runFloodChild(_ arguments: [String]) -> Never {
    guard arguments.count == 3, let port = UInt16(arguments[0]), let count = Int(arguments[1]),
        let seconds = Int(arguments[2])
    else { fail("--flood-child PORT N SECONDS") }
    var limit = rlimit()
    _ = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    let held = LoopbackSocket.flood(port: port, count: count)
    say("held \(held.count)")
    sleep(UInt32(seconds))
    let open = held.filter { socket in
        var byte: UInt8 = 0
        return recv(socket.fd, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK)) < 0 && errno == EAGAIN
    }
    say("open \(open.count)")
    exit(0)
}

if CommandLine.arguments.count > 1 && CommandLine.arguments[1] == "--flood-child" {
    runFloodChild(Array(CommandLine.arguments.dropFirst(2)))
}

// MARK: Measurement

/// Latencies of one kind of request, and how many failed.
final class Samples {
    var seconds: [Double] = []
    var failures = 0

    func measure(_ body: () -> Int?) {
        let started = DispatchTime.now().uptimeNanoseconds
        let status = body()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        if status == 200 { seconds.append(elapsed) } else { failures += 1 }
    }

    func percentileMillis(_ q: Double) -> Double {
        let sorted = seconds.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] * 1000
    }
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let postgres = try TestPostgres()
defer { postgres.destroy() }
let databaseURL = try postgres.freshDatabase(named: "flood")
let adminToken = Secret.random()
let artifacts = try TemporaryDirectory.make(prefix: "floodbench-")
defer { artifacts.remove() }
var configuration = ControlPlaneConfiguration(
    databaseURL: databaseURL, adminToken: adminToken, joinToken: Secret.random(), artifactDirectory: artifacts.path)
// Every connection comes from 127.0.0.1, and the flood must outlive the hold, so neither limit may end it early.
configuration.connections = ServerConnectionLimits(
    perAddressConnectionLimit: 0, idleConnectionTimeoutSeconds: options.holdSeconds + 60)
let controlPlane = ControlPlane(configuration: configuration, log: { _ in })
try controlPlane.start()
defer { controlPlane.stop() }
guard let port = URLComponents(string: controlPlane.baseURL)?.port.map(UInt16.init) else { fail("no port") }

typealias Kind = (name: String, path: String, token: String?)
let kinds: [Kind] = [
    ("GET /healthz", APIRoute.healthz.path(), nil),
    ("GET /v1/workers (admin)", APIRoute.workers.path(), adminToken.value),
]

/// Sends each kind in turn, `requestsPerSecond` rounds a second, until `done` says stop.
func measureRounds(
    _ samples: [Samples], kinds: [Kind], port: UInt16, requestsPerSecond: Int, until done: (Int) -> Bool
) {
    let interval = 1.0 / Double(requestsPerSecond)
    var round = 0
    while !done(round) {
        let started = Date()
        for (index, kind) in kinds.enumerated() {
            samples[index].measure { request(port: port, path: kind.path, token: kind.token) }
        }
        round += 1
        let rest = interval - Date().timeIntervalSince(started)
        if rest > 0 { usleep(UInt32(rest * 1e6)) }
    }
}

print(
    "FloodBench: \(options.connections) connections (half silent, half a partial header) held \(options.holdSeconds) s, "
        + "\(options.requestsPerSecond) rounds/s of \(kinds.map(\.name).joined(separator: " + ")), each on a new connection"
)
let anchor = kinds.map { _ in Samples() }
measureRounds(anchor, kinds: kinds, port: port, requestsPerSecond: options.requestsPerSecond) {
    $0 >= options.anchorRequests
}

let child = Process()
child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
child.arguments = ["--flood-child", String(port), String(options.connections), String(options.holdSeconds)]
let childOutput = Pipe()
child.standardOutput = childOutput
try child.run()
var childLines = childOutput.fileHandleForReading.readLines()
guard let heldLine = childLines.next(), heldLine.hasPrefix("held ") else { fail("the flood child said nothing") }
let floodStarted = Date()
let flooded = kinds.map { _ in Samples() }
measureRounds(flooded, kinds: kinds, port: port, requestsPerSecond: options.requestsPerSecond) { _ in
    Date().timeIntervalSince(floodStarted) >= Double(options.holdSeconds) - 1
}
let openLine = childLines.next() ?? "open ?"
child.waitUntilExit()

print(
    "connections: \(heldLine.dropFirst(5)) opened, \(openLine.dropFirst(5)) still open after \(options.holdSeconds) s")
for (index, kind) in kinds.enumerated() {
    let a = anchor[index]
    let f = flooded[index]
    print(
        String(
            format:
                "%@: no flood p50 %.2f ms p99 %.2f ms (%d ok, %d failed) | flood p50 %.2f ms p99 %.2f ms (%d ok, %d failed) | p99 ratio %.2f",
            kind.name, a.percentileMillis(0.5), a.percentileMillis(0.99), a.seconds.count, a.failures,
            f.percentileMillis(0.5), f.percentileMillis(0.99), f.seconds.count, f.failures,
            f.percentileMillis(0.99) / a.percentileMillis(0.99)))
}

extension FileHandle {
    /// Lines as they arrive.
    func readLines() -> AnyIterator<String> {
        var pending = Data()
        return AnyIterator {
            while true {
                if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending = Data(pending[(newline + 1)...])
                    return line
                }
                let chunk = self.availableData
                if chunk.isEmpty { return nil }
                pending.append(chunk)
            }
        }
    }
}

import Foundation
import HTTPServer
import Primitives
import TestSupport
import XCTest

/// Starts a server on an ephemeral loopback port for the duration of a test; stopped in teardown.
func startServer(
    _ testCase: XCTestCase, configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
    handler: @escaping HTTPHandler
) throws -> HTTPServer {
    let server = HTTPServer(configuration: configuration, handler: handler)
    try server.start()
    testCase.addTeardownBlock { server.stop(timeoutSeconds: 5) }
    return server
}

/// A test CA named "cluster" in a temporary directory removed in teardown; skips the test when the openssl command
/// is missing.
func clusterCertificateAuthority(_ testCase: XCTestCase, directoryPrefix: String) throws -> TestCertificateAuthority {
    guard TestCertificateAuthority.opensslPath != nil else {
        throw XCTSkip("the openssl command is not installed; scripts/install-test-deps.sh installs it")
    }
    let directory = try TemporaryDirectory.make(prefix: directoryPrefix)
    testCase.addTeardownBlock { directory.remove() }
    return try TestCertificateAuthority(directory: directory.path, name: "cluster")
}

/// A loopback port nothing listens on (bound then released).
func unusedPort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    _ = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return UInt16(bigEndian: addr.sin_port)
}

/// Sends raw bytes on a fresh TCP connection and returns everything the server answers until it closes
/// (or `timeout` passes). Used for requests curl would not produce (chunked oversized bodies).
func rawExchange(port: UInt16, _ payload: [Data], timeoutSeconds: Double = 5) -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = port.bigEndian
    let connected = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { return "" }
    var tv = timeval(tv_sec: Int(timeoutSeconds), tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    for chunk in payload {
        let sent = chunk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if sent < 0 { break }
    }
    var received = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n <= 0 { break }
        received.append(contentsOf: buffer[0..<n])
        if let text = String(data: received, encoding: .utf8), text.contains("\r\n\r\n"),
            let header = text.components(separatedBy: "\r\n\r\n").first,
            let lengthLine = header.split(separator: "\r\n").first(where: {
                $0.lowercased().hasPrefix("content-length:")
            }),
            let length = Int(lengthLine.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)),
            received.count >= header.utf8.count + 4 + length
        {
            break
        }
    }
    return String(decoding: received, as: UTF8.self)
}

struct Echo: Codable, Equatable {
    var method: String
    var path: String
    var query: [String: String]
    var header: String?
    var body: String
    var remote: String
}

func echoHandler(_ request: HTTPRequest) -> HTTPResponse {
    var query: [String: String] = [:]
    for item in request.queryItems { query[item.name] = item.value }
    return .json(
        Echo(
            method: request.method, path: request.path, query: query, header: request.headers["x-test-header"],
            body: String(decoding: request.body, as: UTF8.self), remote: request.remoteAddress))
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Plain TCP connections to a loopback port, for tests and benchmarks that hold connections open the way a flood
/// does (issue 16) and send requests curl would not.
public struct LoopbackSocket: Sendable {
    public let fd: Int32

    /// Connects to 127.0.0.1:`port`; nil when the connection is refused.
    public static func connect(port: UInt16) -> LoopbackSocket? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            return nil
        }
        return LoopbackSocket(fd: fd)
    }

    /// Opens `count` connections; every other one sends half a request header and stops (a slow client).
    public static func flood(port: UInt16, count: Int) -> [LoopbackSocket] {
        (0..<count).compactMap { index in
            let socket = connect(port: port)
            if index % 2 == 1 { _ = socket?.write("GET /slow HTTP/1.1\r\nHost: flood\r\nX-Partial: ") }
            return socket
        }
    }

    @discardableResult
    public func write(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Sends a GET and reads its response on this (kept-alive) connection.
    public func get(_ path: String, headers: [String: String] = [:], timeoutSeconds: Int = 30) -> String {
        let extra = headers.map { "\($0.key): \($0.value)\r\n" }.joined()
        guard write("GET \(path) HTTP/1.1\r\nHost: test\r\n\(extra)\r\n") else { return "" }
        return readResponse(timeoutSeconds: timeoutSeconds)
    }

    /// Reads one response (header and a Content-Length body), or what arrived before the peer closed or
    /// `timeoutSeconds` passed.
    public func readResponse(timeoutSeconds: Int = 30) -> String {
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 16384)
        while !Self.isComplete(received) {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// What the server did with a connection left silent: `.closed` (it hung up), `.timedOut` (still open after
    /// `timeoutSeconds`) or `.answered` (it sent bytes).
    public enum Silence: Equatable { case closed, timedOut, answered }

    public func waitWhileSilent(timeoutSeconds: Int) -> Silence {
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, 0)
        if n > 0 { return .answered }
        if n == 0 || errno == ECONNRESET { return .closed }
        return .timedOut
    }

    public func close() { _ = Glibc.close(fd) }

    private static func isComplete(_ received: Data) -> Bool {
        let text = String(decoding: received, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return false }
        let header = text[..<end.lowerBound].lowercased()
        guard let line = header.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else { return true }
        return text.utf8.count - text[..<end.upperBound].utf8.count >= length
    }
}

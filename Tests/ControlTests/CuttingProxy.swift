import Foundation
import Primitives

/// A TCP proxy on 127.0.0.1 that forwards bytes both ways and, once, closes a connection after
/// `cutAfterBytes` bytes went upstream in total: a dropped connection in the middle of a request body, as a
/// flaky network or a restarted load balancer makes one. Later connections pass untouched.
final class CuttingProxy: @unchecked Sendable { // `listener` and `port` are set once in init
    let port: Int
    private let listener: Int32
    private let target: (host: String, port: Int)
    private let cutAfterBytes: Int
    private let upstreamBytes = Primitives.Locked(0)
    let cuts = Primitives.Locked(0)

    init(targetPort: Int, cutAfterBytes: Int) throws {
        target = ("127.0.0.1", targetPort)
        self.cutAfterBytes = cutAfterBytes
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(listener >= 0)
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        precondition(bound == 0 && listen(listener, 16) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: target.port)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                close(client)
                close(upstream)
                continue
            }
            // The second pump to finish closes both sockets, so neither reads a descriptor already reused.
            let finished = Primitives.Locked(0)
            let done: @Sendable () -> Void = {
                if finished.withLock({ count -> Bool in
                    count += 1
                    return count == 2
                }) {
                    close(client)
                    close(upstream)
                }
            }
            Thread.detachNewThread { [self] in
                pump(from: client, to: upstream, counted: true)
                done()
            }
            Thread.detachNewThread { [self] in
                pump(from: upstream, to: client, counted: false)
                done()
            }
        }
    }

    private func pump(from source: Int32, to destination: Int32, counted: Bool) {
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let n = read(source, &buffer, buffer.count)
            guard n > 0 else { break }
            if counted {
                let cut = upstreamBytes.withLock { total -> Bool in
                    let before = total
                    total += n
                    return before < cutAfterBytes && total >= cutAfterBytes
                }
                if cut {
                    cuts.withLock { $0 += 1 }
                    break
                }
            }
            guard write(destination, buffer, n) == n else { break }
        }
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(destination, Int32(SHUT_RDWR))
    }
}

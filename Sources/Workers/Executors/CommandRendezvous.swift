// How the members of a `command` gang find rank 0 (MASTER_ADDR:MASTER_PORT) before any of them starts its program:
// rank 0 reserves a free port on its worker and publishes `tcp://<address>:<port>` as the entry
// `CommandJobKinds.masterEntryName` of the job's training exchange; the others long-poll the exchange for it, for
// at most `rendezvousTimeoutSeconds`. The control plane deletes the entry in the transaction that restarts the
// gang (`LeaseStore.restartGangs`), and a preempted rank 0 deletes its own, so a member of the next generation
// never connects to a dead one.

import APIClient
import APITypes
import Checksum
import ClusterModel
import Foundation

struct CommandRendezvous {
    let exchange: any TrainingExchangeAPI
    let job: JobID

    /// A port that was free a moment ago on every interface. The program binds it itself, so there is a short
    /// window in which another process could take it (torchrun's `--master-port` auto pick has the same one);
    /// the program then fails to bind, and the gang restarts with a new port.
    static func reserveFreePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TaskFailure("cannot open a socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr = in_addr(s_addr: 0) // INADDR_ANY
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw TaskFailure("cannot bind a free port: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw TaskFailure("cannot read the bound port: \(String(cString: strerror(errno)))") }
        let port = Int(UInt16(bigEndian: address.sin_port))
        assert(port > 0, "the kernel picked port 0")
        return port
    }

    static func location(address: String, port: Int) -> String { "tcp://\(address):\(port)" }

    /// `tcp://host:port` → (host, port); nil for anything else.
    static func parse(_ location: String) -> (address: String, port: Int)? {
        guard location.hasPrefix("tcp://") else { return nil }
        let rest = location.dropFirst(6)
        guard let colon = rest.lastIndex(of: ":") else { return nil }
        let host = String(rest[..<colon])
        guard !host.isEmpty, let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        return (host, port)
    }

    /// Rank 0: publishes its address (replacing what an earlier attempt left).
    func publish(address: String, port: Int) async throws {
        let location = Self.location(address: address, port: port)
        do {
            _ = try await exchange.putExchangeEntry(
                job: job, name: CommandJobKinds.masterEntryName,
                ExchangePutRequest(
                    location: location, sha256: SHA256.hex(of: Array(location.utf8)), bytes: 0, exclusive: false))
        } catch {
            throw TaskFailure("cannot publish rank 0's address \(location) in the job's exchange: \(error)")
        }
    }

    /// Rank 0, when it hands its task back: removes its address if it is still the published one.
    func withdraw(address: String, port: Int) async {
        let mine = Self.location(address: address, port: port)
        guard
            let answer = try? await exchange.listExchange(
                job: job, prefix: CommandJobKinds.masterEntryName, after: 0, waitSeconds: 0),
            answer.entries.contains(where: { $0.name == CommandJobKinds.masterEntryName && $0.location == mine })
        else { return }
        try? await exchange.deleteExchangeEntry(job: job, name: CommandJobKinds.masterEntryName)
    }

    /// The other ranks: waits for rank 0's address, checking `context` for a stop between long-polls.
    func waitForMaster(timeoutSeconds: Double, context: ExecutionContext) async throws -> (address: String, port: Int) {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while true {
            try context.checkCancellation()
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else {
                throw TaskFailure(
                    "rank 0 did not publish its address within \(timeoutSeconds)s (command.rendezvousTimeoutSeconds); "
                        + "is its worker alive? The gang restarts when it is retried", retryable: true)
            }
            let answer: ExchangeListResponse
            do {
                // Short waits, so a cancel or preemption is seen within about 5 s.
                answer = try await exchange.listExchange(
                    job: job, prefix: CommandJobKinds.masterEntryName, after: 0, waitSeconds: min(5, remaining))
            } catch {
                try await context.sleep(seconds: min(1, max(0, remaining)))
                continue
            }
            if let entry = answer.entries.first(where: { $0.name == CommandJobKinds.masterEntryName }) {
                guard let master = Self.parse(entry.location) else {
                    throw TaskFailure(
                        "the job's exchange holds \(entry.location) as rank 0's address, not tcp://host:port")
                }
                return master
            }
        }
    }
}

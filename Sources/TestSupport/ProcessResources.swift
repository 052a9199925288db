import Foundation

/// The test process's threads and open file descriptors, read from /proc: what a flood test prints when a
/// request never reached its handler, so a failure says whether the process ran out of either.
public struct ProcessResources: CustomStringConvertible, Sendable {
    public var threadCount: Int
    public var openFileDescriptorCount: Int

    public static func current() -> ProcessResources {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let threads = status.split(separator: "\n").first { $0.hasPrefix("Threads:") }
            .flatMap { Int($0.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) }
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.count
        return ProcessResources(threadCount: threads ?? -1, openFileDescriptorCount: descriptors ?? -1)
    }

    public var description: String { "\(threadCount) threads, \(openFileDescriptorCount) open file descriptors" }
}

// The training exchange for nodes that share nothing but the network: an entry's bytes go into the artifact
// store (`ArtifactStore.store`, fetched back verified by `localPath`), its name, location and checksum into the
// control plane's exchange of the job (`PUT/GET/DELETE /v1/jobs/{jobID}/exchange`). First-writer-wins is the
// control plane's 409 on an exclusive put; waiting for a change is a long-poll woken by the put of another
// node, not polling.

import APIClient
import APITypes
import ClusterModel
import Foundation
import Primitives

final class ControlPlaneExchange: TrainingExchange {
    let job: JobID
    private let api: any TrainingExchangeAPI
    private let artifactStore: any ArtifactStore
    /// Where entries are written before they are stored (inside the attempt's work directory).
    private let scratchDirectory: URL

    /// The entries of the last full listing, and the largest version seen: a wait asks for anything newer.
    private struct View {
        var entries: [String: ExchangeEntry] = [:]
        var version: Int64 = 0
        /// Local copies fetched, by checksum (an entry replaced under the same name has a new checksum).
        var fetched: [String: URL] = [:]
    }
    private let view = Locked(View())
    /// Fetched copies kept at most; a DiLoCo member reads N - 1 deltas a round and needs none of them again.
    static let maxFetchedEntries = 256

    init(job: JobID, api: any TrainingExchangeAPI, artifactStore: any ArtifactStore, scratchDirectory: URL) throws {
        self.job = job
        self.api = api
        self.artifactStore = artifactStore
        self.scratchDirectory = scratchDirectory
        do { try FileManager.default.createDirectory(at: scratchDirectory, withIntermediateDirectories: true) } catch {
            throw TaskFailure("cannot create \(scratchDirectory.path) for the training exchange: \(error)")
        }
    }

    var description: String { "the control plane's training exchange of job \(job)" }

    func scratchFile(for name: String) -> URL {
        scratchDirectory.appendingPathComponent(".\(name).\(UUID().uuidString).tmp")
    }

    @discardableResult
    func publish(file: URL, as name: String, exclusive: Bool, stored: ArtifactRecord?) throws -> Bool {
        defer { try? FileManager.default.removeItem(at: file) }
        let record: ArtifactRecord
        if let stored {
            record = stored
        } else {
            do {
                record = try artifactStore.store(file: file, name: name, kind: "training-exchange", metadata: nil)
            } catch {
                throw TaskFailure("cannot store \(name) for \(description): \(error)")
            }
        }
        let request = ExchangePutRequest(
            location: record.location, sha256: record.sha256, bytes: record.bytes, exclusive: exclusive)
        let (api, job) = (self.api, self.job)
        let entry: ExchangeEntry?
        do { entry = try blockingCall { try await api.putExchangeEntry(job: job, name: name, request) } } catch {
            throw Self.failure("publish \(name)", error)
        }
        guard let entry else { return false }
        view.withLock { $0.entries[name] = entry }
        return true
    }

    func localFile(_ name: String) throws -> URL? {
        guard let entry = try entry(name) else { return nil }
        if let cached = view.withLock({ $0.fetched[entry.sha256] }), FileManager.default.fileExists(atPath: cached.path)
        {
            return cached
        }
        let local: URL
        do { local = try artifactStore.localPath(for: entry.location) } catch {
            // Removed since the view was read (a pruned round, whose bytes may be collected): absent, not broken.
            if try refresh()[name] == nil { return nil }
            throw TaskFailure("cannot fetch \(name) (\(entry.location)) of \(description): \(error)")
        }
        view.withLock { view in
            if view.fetched.count >= Self.maxFetchedEntries { view.fetched.removeAll() }
            view.fetched[entry.sha256] = local
        }
        return local
    }

    func location(of name: String) throws -> String? { try entry(name)?.location }

    func names(prefix: String) throws -> [String] {
        try refresh().keys.filter { $0.hasPrefix(prefix) }.sorted()
    }

    func remove(_ name: String) throws {
        let (api, job) = (self.api, self.job)
        do { try blockingCall { try await api.deleteExchangeEntry(job: job, name: name) } } catch {
            throw Self.failure("remove \(name)", error)
        }
        view.withLock { _ = $0.entries.removeValue(forKey: name) }
    }

    /// One long-poll for anything newer than the largest version seen; what arrives joins the view.
    func waitForChange(timeoutSeconds: Double) throws {
        let (api, job) = (self.api, self.job)
        let after = view.withLock { $0.version }
        let wait = min(max(0, timeoutSeconds), ExchangeLimits.maxWaitSeconds)
        let answer: ExchangeListResponse
        do {
            answer = try blockingCall {
                try await api.listExchange(job: job, prefix: nil, after: after, waitSeconds: wait)
            }
        } catch { throw Self.failure("wait for a change", error) }
        view.withLock { view in
            for entry in answer.entries { view.entries[entry.name] = entry }
            view.version = max(view.version, answer.version)
        }
    }

    // MARK: Listing

    /// `name`'s entry: from the view, else from a fresh listing (it may have been written since).
    private func entry(_ name: String) throws -> ExchangeEntry? {
        if let known = view.withLock({ $0.entries[name] }) { return known }
        return try refresh()[name]
    }

    /// Lists the whole exchange of the job (entries removed since the last listing drop out of the view).
    @discardableResult
    private func refresh() throws -> [String: ExchangeEntry] {
        let (api, job) = (self.api, self.job)
        let answer: ExchangeListResponse
        do {
            answer = try blockingCall { try await api.listExchange(job: job, prefix: nil, after: 0, waitSeconds: 0) }
        } catch { throw Self.failure("list", error) }
        return view.withLock { view in
            view.entries = Dictionary(answer.entries.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
            view.version = max(view.version, answer.version)
            return view.entries
        }
    }

    /// A failed call as the attempt's failure: retryable unless the control plane refused the request for good.
    private static func failure(_ what: String, _ error: any Error) -> TaskFailure {
        if let error = error as? ControlPlaneError {
            return TaskFailure("training exchange: cannot \(what): \(error)", retryable: !error.isRefusedContent)
        }
        return TaskFailure("training exchange: cannot \(what): \(error)")
    }
}

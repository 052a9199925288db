// Where the attempts of one training job meet: the resumable checkpoints of a single-worker run and the rounds
// of a DiLoCo gang, as named entries that appear only complete. Two implementations: a directory every node
// mounts (`TrainingDirectory`: temporary + rename, link(2) for first-writer-wins) and the control plane's
// exchange (`ControlPlaneExchange`: bytes in the artifact store, names and versions in PostgreSQL), for nodes
// that share nothing but the network (issue 14).

import APIClient
import APITypes
import Foundation
import Primitives

public protocol TrainingExchange: Sendable {
    /// Where the exchange is, for messages: a directory path, or the control plane's exchange of a job.
    var description: String { get }
    /// A local file to write an entry into before `publish(file:as:exclusive:stored:)`.
    func scratchFile(for name: String) -> URL
    /// Publishes the file under `name` and consumes it (it is moved or removed). `stored`: its record when it is
    /// already in the artifact store (a registered checkpoint), so the bytes are not sent twice. With `exclusive`
    /// the first writer wins: false when `name` exists (nothing changed).
    @discardableResult
    func publish(file: URL, as name: String, exclusive: Bool, stored: ArtifactRecord?) throws -> Bool
    /// A readable local copy of `name` (verified against its checksum when fetched), nil when it is not there.
    func localFile(_ name: String) throws -> URL?
    /// Where `name`'s bytes are (a path, or an artifact location such as `cp://blobs/<sha256>`), nil when absent.
    func location(of name: String) throws -> String?
    /// The names present that start with `prefix`, sorted.
    func names(prefix: String) throws -> [String]
    /// Removes `name` (nothing when it is not there).
    func remove(_ name: String) throws
    /// Returns once an entry was written after the last look (`names`, `localFile`, an earlier wait), or after
    /// `timeoutSeconds`; callers look again either way.
    func waitForChange(timeoutSeconds: Double) throws
}

extension TrainingExchange {
    /// Publishes `data` under `name` (see `publish(file:as:exclusive:stored:)`).
    @discardableResult
    public func publish(_ data: Data, as name: String, exclusive: Bool = false) throws -> Bool {
        let file = scratchFile(for: name)
        do { try data.write(to: file) } catch {
            throw TaskFailure("cannot write \(file.path): \(error)")
        }
        return try publish(file: file, as: name, exclusive: exclusive, stored: nil)
    }

    /// The bytes of `name`, nil when it is not there.
    public func read(_ name: String) throws -> Data? {
        guard let file = try localFile(name) else { return nil }
        return try? Data(contentsOf: file)
    }

    public func exists(_ name: String) throws -> Bool { try names(prefix: name).contains(name) }

    // MARK: Resumable checkpoints of a single-worker run

    /// The resumable checkpoints present, newest first.
    func resumableCheckpoints() throws -> [(step: Int, name: String)] {
        try names(prefix: "checkpoint-step-").compactMap { name -> (Int, String)? in
            guard name.hasSuffix(".safetensors") else { return nil }
            let digits = name.dropFirst("checkpoint-step-".count).dropLast(".safetensors".count)
            return Int(digits).map { ($0, name) }
        }.sorted { $0.0 > $1.0 }
    }

    /// Removes all but the newest `keep` resumable checkpoints (they stay registered artifacts).
    func pruneResumableCheckpoints(keep: Int) throws {
        for old in try resumableCheckpoints().dropFirst(keep) { try remove(old.name) }
    }
}

/// Which exchange a training attempt uses.
public enum TrainingExchanges {
    /// An explicit `train.sharedDirectory` → that directory; else, when the worker talks to a control plane whose
    /// artifact store is not a directory (blobs over HTTP, an object store) → the control plane's exchange; else
    /// the directory beside the file artifact store, as before. `part` names a subdirectory (`diloco`) in a
    /// directory; the control plane's names need none (a job is either a single run or a gang).
    public static func forJob(
        _ task: TaskAssignment, settings: TrainSettings, context: ExecutionContext, part: String? = nil
    ) throws -> any TrainingExchange {
        if let api = usesControlPlane(settings.sharedDirectory, context: context) {
            return try ControlPlaneExchange(
                job: task.jobID, api: api, artifactStore: context.artifactStore,
                scratchDirectory: context.workDirectory.appendingPathComponent("exchange"))
        }
        let directory = try TrainingDirectory.forJob(task, settings: settings, context: context)
        guard let part else { return directory }
        return try TrainingDirectory(url: directory.url.appendingPathComponent(part))
    }

    /// The control plane's exchange API when the attempt coordinates through it (see `forJob`), else nil.
    static func usesControlPlane(_ sharedDirectory: String?, context: ExecutionContext) -> (any TrainingExchangeAPI)? {
        guard sharedDirectory == nil, !(context.artifactStore is FileArtifactStore) else { return nil }
        return context.exchangeAPI
    }
}

/// Runs one async call of the control plane's API from a training thread (a dedicated thread of
/// `ExecutionContext.runBlocking`, never one of Swift's cooperative threads, so blocking it is harmless).
func blockingCall<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let done = Guarded<Result<T, any Error>?>(nil)
    Task {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        done.update { $0 = result }
    }
    return try done.wait(until: nil) { $0 }!.get()
}

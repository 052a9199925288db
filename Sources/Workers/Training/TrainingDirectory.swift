// The directory a job's workers share (a path on the shared artifact filesystem): the resumable checkpoints
// of a single-worker run and the rounds of a DiLoCo gang. Files have deterministic names and appear only
// complete (written to a temporary, then renamed), so a reader never sees half a file and a retried or
// replacement attempt finds everything by listing the directory.

import APITypes
import Foundation

public struct TrainingDirectory: Sendable {
    public let url: URL

    public init(url: URL) throws {
        self.url = url
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw TaskFailure(
                "cannot create the training directory \(url.path): \(error) (set spec.train.sharedDirectory to a writable shared path)"
            )
        }
    }

    /// `<shared>/<job>-<jobID>`: `sharedDirectory` from the spec, else `training/` beside the file artifact
    /// store's blobs (shared by every worker that shares the store), else beside the worker's attempts.
    public static func forJob(_ task: TaskAssignment, settings: TrainSettings, context: ExecutionContext) throws
        -> TrainingDirectory
    {
        try TrainingDirectory(
            url: base(sharedDirectory: settings.sharedDirectory, context: context)
                .appendingPathComponent("\(task.jobName)-\(task.jobID.rawValue)"))
    }

    /// The directory that holds every job's training directory.
    public static func base(sharedDirectory: String?, context: ExecutionContext) -> URL {
        if let sharedDirectory { return URL(fileURLWithPath: sharedDirectory) }
        if let files = context.artifactStore as? FileArtifactStore {
            return files.root.appendingPathComponent("training")
        }
        if let remote = context.artifactStore as? ControlPlaneArtifactStore {
            return remote.cacheDirectory.deletingLastPathComponent().appendingPathComponent("training")
        }
        return context.workDirectory.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
            "training")
    }

    /// The newest checkpoint a job named `job` left in `base` (its single-worker checkpoints, else its DiLoCo
    /// global weights): how `initFrom: {job: X}` is resolved when X had none yet at submission.
    public static func newestCheckpoint(ofJob job: String, base: URL) -> URL? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? []
        let runs = names.compactMap { name -> (Int64, String)? in
            guard name.hasPrefix(job + "-"), let id = Int64(name.dropFirst(job.count + 1)) else { return nil }
            return (id, name)
        }.sorted { $0.0 > $1.0 }
        for (_, name) in runs {
            let directory = base.appendingPathComponent(name)
            if let newest = (try? TrainingDirectory(url: directory))?.checkpoints().first { return newest.url }
            let diloco = directory.appendingPathComponent("diloco")
            let globals = ((try? FileManager.default.contentsOfDirectory(atPath: diloco.path)) ?? [])
                .filter { $0.hasPrefix("global-") && $0.hasSuffix(".safetensors") }.sorted()
            if let last = globals.last { return diloco.appendingPathComponent(last) }
        }
        return nil
    }

    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    // MARK: Resumable checkpoints

    public static func checkpointName(step: Int) -> String { String(format: "checkpoint-step-%08d.safetensors", step) }

    /// Checkpoints present, newest first.
    public func checkpoints() -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("checkpoint-step-"), name.hasSuffix(".safetensors") else { return nil }
            let digits = name.dropFirst("checkpoint-step-".count).dropLast(".safetensors".count)
            guard let step = Int(digits) else { return nil }
            return (step, file(name))
        }.sorted { $0.0 > $1.0 }
    }

    /// Removes all but the newest `keep` checkpoints (they stay in the artifact store).
    public func pruneCheckpoints(keep: Int) {
        for old in checkpoints().dropFirst(keep) { try? FileManager.default.removeItem(at: old.url) }
    }

    // MARK: Atomic publication

    /// Writes `data` under `name` atomically. With `exclusive`, the first writer wins: returns false when
    /// the file already exists (another rank published it first).
    @discardableResult
    public func publish(_ data: Data, as name: String, exclusive: Bool = false) throws -> Bool {
        let temporary = file(".\(name).\(UUID().uuidString).tmp")
        do { try data.write(to: temporary) } catch {
            throw TaskFailure("cannot write \(temporary.path): \(error)")
        }
        defer { try? FileManager.default.removeItem(at: temporary) }
        return try place(temporary, as: name, exclusive: exclusive)
    }

    /// Moves a finished temporary file into place (see `publish`).
    @discardableResult
    public func place(_ temporary: URL, as name: String, exclusive: Bool) throws -> Bool {
        let destination = file(name)
        if exclusive {
            // link(2) fails with EEXIST instead of replacing: the first complete file wins.
            if link(temporary.path, destination.path) != 0 {
                if errno == EEXIST { return false }
                throw TaskFailure("cannot publish \(destination.path): \(String(cString: strerror(errno)))")
            }
            unlink(temporary.path)
            return true
        }
        if rename(temporary.path, destination.path) != 0 {
            throw TaskFailure("cannot publish \(destination.path): \(String(cString: strerror(errno)))")
        }
        return true
    }

    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name).path) }
}

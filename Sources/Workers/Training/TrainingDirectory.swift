// The directory a job's workers share (a path on the shared artifact filesystem), the `TrainingExchange` of
// `train.sharedDirectory` and of workers with a file artifact store: the resumable checkpoints of a
// single-worker run and the rounds of a DiLoCo gang. Files have deterministic names and appear only complete
// (written to a temporary, then renamed), so a reader never sees half a file and a retried or replacement
// attempt finds everything by listing the directory.

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

    /// Moves a finished temporary file into place. With `exclusive`, the first writer wins: returns false when
    /// the file already exists (another rank published it first).
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
}

extension TrainingDirectory: TrainingExchange {
    public var description: String { url.path }

    /// A hidden temporary in the directory itself, so publishing is a rename on one filesystem.
    public func scratchFile(for name: String) -> URL { file(".\(name).\(UUID().uuidString).tmp") }

    /// `stored` is not needed here: the file is renamed into place, no bytes move.
    @discardableResult
    public func publish(file temporary: URL, as name: String, exclusive: Bool, stored: ArtifactRecord?) throws
        -> Bool
    {
        defer { try? FileManager.default.removeItem(at: temporary) }
        if temporary.deletingLastPathComponent().standardizedFileURL != url.standardizedFileURL {
            // A file written elsewhere: copy it in first, so the rename below stays on this filesystem.
            let local = scratchFile(for: name)
            do { try FileManager.default.copyItem(at: temporary, to: local) } catch {
                throw TaskFailure("cannot copy \(temporary.path) into \(url.path): \(error)")
            }
            defer { try? FileManager.default.removeItem(at: local) }
            return try place(local, as: name, exclusive: exclusive)
        }
        return try place(temporary, as: name, exclusive: exclusive)
    }

    public func localFile(_ name: String) throws -> URL? { exists(name) ? file(name) : nil }

    public func location(of name: String) throws -> String? { exists(name) ? file(name).path : nil }

    public func names(prefix: String) throws -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).filter {
            $0.hasPrefix(prefix) && !$0.hasPrefix(".")
        }.sorted()
    }

    public func remove(_ name: String) throws { try? FileManager.default.removeItem(at: file(name)) }

    /// A directory has no change notification: look again after 5 ms (what the round barrier always did).
    public func waitForChange(timeoutSeconds: Double) throws {
        Thread.sleep(forTimeInterval: min(max(0, timeoutSeconds), 0.005))
    }

    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name).path) }
}

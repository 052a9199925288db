// `opsctl apply` for nodes that share no disk (docs/storage.md, "Datasets by name"): the local inputs of tokenize
// jobs (paths and globs on the submitting machine) and a local `tokenizer.path` are expanded here, hashed
// (SHA-256), and only the files the cluster's blob store lacks are uploaded, through the worker-side
// `ArtifactStore` protocol (the control plane's store today; another backend by configuration). Each item is
// then rewritten in the submitted spec as a resolved input `{name, location, sha256, bytes}`; `s3://` and
// `http(s)://` inputs pass through unchanged. A file the store already holds is named by its blob location
// `cp://blobs/<sha256>` without sending a byte.

import APIClient
import APITypes
import Checksum
import Control
import Foundation
import Workers

struct InputUpload {
    /// Job types whose settings carry `inputs` (the settings object is under `spec.<type>`).
    static let kinds = [
        TokenizeJobKinds.tokenizeName, TokenizeJobKinds.trainTokenizerName, TokenizeJobKinds.dedupScanName,
    ]

    let store: any ArtifactStore
    let client: OpsClient
    let progress: UploadProgress
    /// The location of a blob in the cluster's backend (`cp://blobs/<sha>` or `s3://bucket/<prefix>/blobs/<sha>`).
    var locate: Locate = Self.controlPlaneLocation

    typealias Locate = @Sendable (_ sha256: String) -> String
    static let controlPlaneLocation: Locate = { ControlPlaneArtifactStore.scheme + $0 }

    /// One local file to name by checksum.
    struct LocalFile {
        var path: String
        var sha256: String
        var bytes: Int64
        var location: String
        var resolved: ResolvedInput { ResolvedInput(name: path, location: location, sha256: sha256, bytes: bytes) }
    }

    /// What was sent: files and bytes uploaded, and files the store held already.
    struct Summary: Equatable {
        var uploadedFiles = 0
        var uploadedBytes: Int64 = 0
        var storedFiles = 0
    }

    /// Whether the document is of a kind whose inputs may be local files (only then is the cluster's storage
    /// asked where to upload them).
    static func mayHaveLocalInputs(_ document: AnyJSON) -> Bool {
        guard let type = document["spec"]?["type"]?.stringValue else { return false }
        return kinds.contains(type)
    }

    /// The documents with their local inputs resolved (and uploaded unless `dryRun`).
    func resolve(_ documents: [AnyJSON], dryRun: Bool) async throws -> (documents: [AnyJSON], summary: Summary) {
        var files: [String: LocalFile] = [:]
        var rewritten: [AnyJSON] = []
        for (number, document) in documents.enumerated() {
            rewritten.append(try Self.rewrite(document, number: number, files: &files, locate: locate))
        }
        var summary = Summary()
        guard !files.isEmpty else { return (rewritten, summary) }
        var missing: Set<String> = []
        let checksums = Array(Set(files.values.map(\.sha256))).sorted()
        for start in stride(from: 0, to: checksums.count, by: MissingBlobsRequest.limit) {
            let batch = Array(checksums[start..<min(checksums.count, start + MissingBlobsRequest.limit)])
            missing.formUnion(try await client.missingBlobs(batch))
        }
        // One upload per checksum (two paths with the same bytes are one blob).
        var toUpload: [String: LocalFile] = [:]
        for file in files.values where missing.contains(file.sha256) { toUpload[file.sha256] = file }
        let uploads = toUpload.values.sorted { $0.path < $1.path }
        summary.storedFiles = files.count - uploads.count
        if dryRun { return (rewritten, summary) }
        progress.start(files: uploads.count, bytes: uploads.reduce(0) { $0 + $1.bytes })
        for file in uploads {
            let record: ArtifactRecord
            do {
                record = try store.store(
                    file: URL(fileURLWithPath: file.path), name: file.path, kind: "input", metadata: nil)
            } catch {
                progress.finish()
                throw ManifestFileError("apply: uploading \(file.path): \(error); nothing was submitted")
            }
            guard record.sha256 == file.sha256 else {
                progress.finish()
                throw ManifestFileError(
                    "apply: \(file.path) changed while it was uploaded (sha256 \(file.sha256), then \(record.sha256)); nothing was submitted"
                )
            }
            summary.uploadedFiles += 1
            summary.uploadedBytes += file.bytes
            progress.uploaded(file.path, bytes: file.bytes)
        }
        progress.finish()
        return (rewritten, summary)
    }

    /// One document with the local items of its inputs and tokenizer resolved (hashing them into `files`).
    static func rewrite(
        _ document: AnyJSON, number: Int, files: inout [String: LocalFile], locate: Locate = controlPlaneLocation
    ) throws -> AnyJSON {
        guard case .object(var root) = document, case .object(var spec)? = root["spec"],
            let type = spec["type"]?.stringValue, kinds.contains(type), case .object(var settings)? = spec[type]
        else { return document }
        let field = "document \(number + 1) (\(root["metadata"]?["name"]?.stringValue ?? "unnamed")): spec.\(type)"
        if case .array(let items)? = settings["inputs"] {
            var resolved: [AnyJSON] = []
            for (i, item) in items.enumerated() {
                resolved += try resolveInput(item, field: "\(field).inputs[\(i)]", files: &files, locate: locate)
            }
            settings["inputs"] = .array(resolved)
        }
        if case .object(var tokenizer)? = settings["tokenizer"], let path = tokenizer["path"]?.stringValue,
            FileManager.default.isReadableFile(atPath: path)
        {
            // A tokenizer on this machine goes with the job; one that is not here (written by a job this one runs
            // after:, on a shared filesystem) stays a path.
            let file = try hash(path, field: "\(field).tokenizer.path", locate: locate)
            files[path] = file
            tokenizer["path"] = nil
            tokenizer["location"] = .string(file.resolved.location)
            tokenizer["sha256"] = .string(file.sha256)
            settings["tokenizer"] = .object(tokenizer)
        }
        spec[type] = .object(settings)
        root["spec"] = .object(spec)
        return .object(root)
    }

    /// An input item: a URL or resolved input as it is, a local path or glob as its files.
    static func resolveInput(
        _ item: AnyJSON, field: String, files: inout [String: LocalFile], locate: Locate = controlPlaneLocation
    ) throws -> [AnyJSON] {
        guard let text = item.stringValue else { return [item] }
        guard let kind = InputLocationKind(text) else {
            throw ManifestFileError(
                "apply: \(field): expected \(InputLocationKind.expected), got \"\(text)\" (unknown scheme); nothing was submitted"
            )
        }
        if kind.isURL { return [item] }
        let matched = TokenizeInputGlob.expand(text)
        guard !matched.isEmpty else {
            throw ManifestFileError(
                "apply: \(field): \"\(text)\" matches no files on this machine (inputs are read here and uploaded); nothing was submitted"
            )
        }
        var resolved: [AnyJSON] = []
        for match in matched {
            let file = try files[match.path] ?? hash(match.path, field: field, locate: locate)
            files[match.path] = file
            resolved.append(try AnyJSON(encoding: file.resolved))
        }
        return resolved
    }

    static func hash(_ path: String, field: String, locate: Locate = controlPlaneLocation) throws -> LocalFile {
        do {
            let sha = try SHA256.hex(ofFileAt: path)
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            return LocalFile(
                path: path, sha256: sha, bytes: (attributes[.size] as? NSNumber)?.int64Value ?? 0, location: locate(sha)
            )
        } catch {
            throw ManifestFileError("apply: \(field): cannot read \(path): \(error); nothing was submitted")
        }
    }
}

/// Upload progress on standard error: a bar redrawn in place (bytes sent of the total) on a terminal or with
/// `--progress`, one plain line per file otherwise (logs stay readable).
final class UploadProgress: @unchecked Sendable {
    private let live: Bool
    private var totalFiles = 0
    private var totalBytes: Int64 = 0
    private var doneFiles = 0
    private var doneBytes: Int64 = 0

    init(live: Bool) { self.live = live }

    func start(files: Int, bytes: Int64) {
        totalFiles = files
        totalBytes = bytes
        if files > 0 { draw() }
    }

    func uploaded(_ path: String, bytes: Int64) {
        doneFiles += 1
        doneBytes += bytes
        if live { draw() } else { Self.write("uploaded \(path) (\(bytes) bytes)\n") }
    }

    func finish() {
        if live && totalFiles > 0 { Self.write("\n") }
    }

    private func draw() {
        guard live else { return }
        let width = 30
        let filled = totalBytes > 0 ? Int(Double(width) * Double(doneBytes) / Double(totalBytes)) : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        Self.write(
            "\r\u{1B}[2Kuploading inputs [\(bar)] \(doneBytes)/\(totalBytes) bytes, \(doneFiles)/\(totalFiles) files")
    }

    private static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

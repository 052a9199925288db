// Brings a tokenize task's inputs and tokenizer into the attempt's private directory when they are not paths
// every worker sees: `cp://blobs/…` and `s3://…` through the worker's artifact store (which verifies what it
// fetches), `http(s)://…` with the HTTP client; each checked against the sha256 the control plane planned.
// Each file is linked under its original name, so its extension still tells the reader its format.
// Blocking: call from `context.runBlocking`.

import APITypes
import Checksum
import Foundation
import HTTPClient

enum TokenizeInputFetch {
    /// Local paths by file name (the task spec's `files`), for every file that has a source.
    static func localPaths(files: [String], sources: [ResolvedInput]?, context: ExecutionContext) throws
        -> [String: String]
    {
        guard let sources else { return [:] }
        guard sources.count == files.count else {
            throw TaskFailure(
                "spec.sources: expected one per file (\(files.count)), got \(sources.count)", retryable: false)
        }
        var paths: [String: String] = [:]
        let directory = context.workDirectory.appendingPathComponent("inputs")
        for (number, (file, source)) in zip(files, sources).enumerated() {
            try TokenizeTaskSupport.stopIfAsked(context)
            let fetched = try localFile(
                source, directory: directory.appendingPathComponent("\(number)"), context: context)
            paths[file] = fetched
        }
        return paths
    }

    /// A readable local path holding `source`'s bytes, named like `source.name`.
    static func localFile(_ source: ResolvedInput, directory: URL, context: ExecutionContext) throws -> String {
        guard let kind = InputLocationKind(source.location) else {
            throw TaskFailure(
                "input \(source.name): cannot read \(source.location); expected \(InputLocationKind.expected)",
                retryable: false)
        }
        if kind == .path { return source.location }
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw TaskFailure("cannot create \(directory.path): \(error)")
        }
        let name =
            (source.name as NSString).lastPathComponent.isEmpty ? "input" : (source.name as NSString).lastPathComponent
        let linked = directory.appendingPathComponent(name).path
        let stored: String
        switch kind {
        case .web:
            stored = directory.appendingPathComponent(".download-" + name).path
            try download(source.location, to: stored)
        default:
            do { stored = try context.artifactStore.localPath(for: source.location).path } catch {
                // A worker whose artifact store is a directory of its own reads blobs from the control plane.
                guard kind == .blob, let datasets = context.datasets else {
                    throw TaskFailure("input \(source.name): cannot fetch \(source.location): \(error)")
                }
                stored = directory.appendingPathComponent(".blob-" + name).path
                try datasets.download(blob: source.location, to: stored)
            }
        }
        if let expected = source.sha256, kind != .blob {
            // The blob store names blobs by their checksum and the artifact store verifies them on fetch.
            let actual: String
            do { actual = try SHA256.hex(ofFileAt: stored) } catch {
                throw TaskFailure("input \(source.name): cannot hash \(stored): \(error)")
            }
            guard actual == expected else {
                throw TaskFailure(
                    "input \(source.name) at \(source.location): the bytes hash to \(actual), expected \(expected) (changed since it was submitted?)",
                    retryable: false)
            }
        }
        unlink(linked)
        guard symlink(stored, linked) == 0 else {
            throw TaskFailure("cannot link \(linked) to \(stored): \(String(cString: strerror(errno)))")
        }
        return linked
    }

    private static func download(_ url: String, to path: String) throws {
        let response: HTTPClientResponse
        do { response = try HTTPClient().download(url: url, to: path) } catch {
            throw TaskFailure("cannot download \(url): \(error)", retryable: error.isTransient)
        }
        guard response.isSuccess else {
            throw TaskFailure(
                "cannot download \(url): HTTP \(response.status)",
                retryable: response.status >= 500 || response.status == 429 || response.status == 408)
        }
    }

    /// The tokenizer's local path and its location and sha256 as the dataset records them.
    static func tokenizer(_ spec: TokenizeTaskSpec, context: ExecutionContext) throws -> (
        path: String, location: String, sha256: String?
    ) {
        var location = spec.tokenizerPath
        var sha = spec.tokenizerSHA256
        if let dataset = spec.tokenizerDataset {
            guard let datasets = context.datasets else {
                throw TaskFailure(
                    "spec.tokenize.tokenizer.dataset: this worker has no control plane connection", retryable: false)
            }
            guard let file = try datasets.files(of: dataset).tokenizer else {
                throw TaskFailure(
                    "spec.tokenize.tokenizer.dataset: dataset \(dataset) was not made with a stored tokenizer; give tokenizer.path instead",
                    retryable: false)
            }
            location = file.location
            sha = file.sha256.isEmpty ? nil : file.sha256
        }
        guard InputLocationKind(location)?.isURL == true else { return (location, location, sha) }
        let source = ResolvedInput(name: "tokenizer.json", location: location, sha256: sha, bytes: nil)
        let path = try localFile(
            source, directory: context.workDirectory.appendingPathComponent("tokenizer"), context: context)
        return (path, location, sha)
    }
}

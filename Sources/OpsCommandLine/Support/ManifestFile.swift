// Reads a manifest file into JSON documents for `POST /v1/manifests`. YAML (several `---` documents) and JSON
// (one object, or an array of objects) are accepted. The file is validated here first, so problems come with
// their line numbers; the control plane validates the documents again with the same validator.

import APITypes
import Foundation
import YAML

/// A manifest file that cannot be submitted (exit code 1: bad input, not bad usage).
struct ManifestFileError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

enum ManifestFile {
    static func documents(path: String) throws -> [AnyJSON] {
        let text: String
        if path == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            guard FileManager.default.fileExists(atPath: path) else {
                throw ManifestFileError("apply: no such file: \(path)")
            }
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ManifestFileError("apply: cannot read \(path) as UTF-8 text")
            }
            text = contents
        }
        let name = path == "-" ? "<stdin>" : path
        do {
            _ = try ManifestParser.parsePipeline(text: text, fileName: name)
        } catch {
            let count = error.problems.count
            throw ManifestFileError(
                "apply: \(name) has \(count) problem\(count == 1 ? "" : "s"); nothing was submitted:\n  "
                    + error.problems.map(\.description).joined(separator: "\n  "))
        }
        let nodes: [YAMLNode]
        do {
            nodes = try YAMLParser.parseDocuments(text, fileName: name)
        } catch {
            throw ManifestFileError("apply: \(error)")
        }
        var documents: [AnyJSON] = []
        for node in nodes where !node.isNull {
            let value = json(from: node)
            // A JSON file may hold an array of manifests.
            if case .array(let items) = value, path.hasSuffix(".json") {
                documents += items
            } else {
                documents.append(value)
            }
        }
        guard !documents.isEmpty else { throw ManifestFileError("apply: \(name) holds no manifest documents") }
        return documents
    }

    /// YAML tree → JSON value (core schema: plain scalars become numbers, booleans and null).
    static func json(from node: YAMLNode) -> AnyJSON {
        switch node {
        case .scalar(let scalar, _):
            switch scalar.resolved {
            case .null: return .null
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .float(let d): return .double(d)
            case .string(let s): return .string(s)
            }
        case .sequence(let items, _):
            return .array(items.map(json(from:)))
        case .mapping(let entries, _):
            var object: [String: AnyJSON] = [:]
            for entry in entries {
                object[entry.key.scalarValue ?? json(from: entry.key).jsonText] = json(from: entry.value)
            }
            return .object(object)
        }
    }
}

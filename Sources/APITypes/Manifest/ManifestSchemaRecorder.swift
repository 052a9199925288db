// What a manifest validator reads, noted while it runs over an empty document (`ManifestSchema`): each field's
// path, type, bounds and whether it is required, and the keys each mapping allows (`rejectUnknownKeys`). The
// getters of `ManifestObjectReader` call it; in this mode a mapping or list getter hands back an empty mapping
// (a list: one item), so the validator goes on into nested fields and every kind's settings are seen.

final class ManifestSchemaRecorder {
    private var fields: [String: (schema: [String: AnyJSON], required: Bool)] = [:]
    private var allowedKeys: [String: [String]] = [:]

    func allow(_ keys: [String], at path: String) {
        allowedKeys[path, default: []].append(contentsOf: keys.filter { !(allowedKeys[path] ?? []).contains($0) })
    }

    /// A getter's view of `path`. A second look with another type widens the field to either (`anyOf`); one with
    /// the same type adds what the first did not say (a list's item type after its own "array").
    func field(_ path: String, _ schema: AnyJSON, required: Bool) {
        let new = schema.objectValue ?? [:]
        guard let old = fields[path] else {
            fields[path] = (new, required)
            return
        }
        let merged =
            old.schema["type"] == new["type"]
            ? old.schema.merging(new) { first, _ in first } : ["anyOf": [.object(old.schema), .object(new)]]
        fields[path] = (merged, old.required || required)
    }

    /// Replaces what the validator said about `path` (a constant, or a value it reads raw such as `cpu`).
    func override(_ path: String, _ schema: AnyJSON) {
        fields[path] = (schema.objectValue ?? [:], fields[path]?.required ?? false)
    }

    /// The schema of the mapping at `path` ("" for the document).
    func objectSchema(at path: String) -> AnyJSON {
        let prefix = path.isEmpty ? "" : path + "."
        var keys = allowedKeys[path] ?? []
        for key in fields.keys.sorted() where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            if !rest.isEmpty, !rest.contains("."), !rest.contains("["), !keys.contains(String(rest)) {
                keys.append(String(rest))
            }
        }
        var properties: [String: AnyJSON] = [:]
        var required: [String] = []
        for key in keys {
            properties[key] = fieldSchema(prefix + key)
            if fields[prefix + key]?.required == true { required.append(key) }
        }
        var schema: [String: AnyJSON] = ["type": "object", "properties": .object(properties)]
        if !required.isEmpty { schema["required"] = .array(required.sorted().map(AnyJSON.string)) }
        if allowedKeys[path] != nil { schema["additionalProperties"] = false }
        return .object(schema)
    }

    private func fieldSchema(_ path: String) -> AnyJSON {
        var schema = fields[path]?.schema ?? [:]
        if schema["type"] == "object", schema["additionalProperties"] == nil, describesMapping(at: path) {
            schema.merge(objectSchema(at: path).objectValue ?? [:]) { _, nested in nested }
        }
        if schema["type"] == "array", describesMapping(at: path + "[0]") {
            // Without `type: object`: the validator may take other items too (a tokenize input is a path string
            // or a resolved-file mapping), and the object keywords apply to mappings only.
            var items = objectSchema(at: path + "[0]").objectValue ?? [:]
            items["type"] = nil
            schema["items"] = .object(items)
        }
        return .object(schema)
    }

    private func describesMapping(at path: String) -> Bool {
        allowedKeys[path] != nil || fields.keys.contains { $0.hasPrefix(path + ".") }
    }

    static func bounded(_ type: String, _ minimum: AnyJSON?, _ maximum: AnyJSON?) -> AnyJSON {
        var schema: [String: AnyJSON] = ["type": .string(type)]
        if let minimum { schema["minimum"] = minimum }
        if let maximum { schema["maximum"] = maximum }
        return .object(schema)
    }
}

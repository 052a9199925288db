// Expands the input globs of a tokenize job on the control plane's filesystem (local, or the shared
// filesystem the workers mount at the same paths). Patterns are absolute; `*`, `?` and `[...]` match
// within one path component (not a leading '.'), `**` matches any number of directories (zero or more).

import APITypes
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public struct InputFile: Sendable, Equatable {
    /// A path on the control plane's filesystem, or the name of a resolved input.
    public var path: String
    public var bytes: Int64
    /// Where a resolved input (uploaded by `opsctl apply`, or a URL) is read from; nil for a local path.
    public var source: ResolvedInput? = nil
}

public enum TokenizeInputGlob {
    /// Regular files matching `pattern`, sorted by path. A pattern without wildcards names one file.
    public static func expand(_ pattern: String) -> [InputFile] {
        let components = pattern.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var found: [String] = []
        walk(directory: "", components: components[...], into: &found)
        var seen = Set<String>()
        return found.filter { seen.insert($0).inserted }.sorted().compactMap { path in
            guard let size = regularFileSize(path) else { return nil }
            return InputFile(path: path, bytes: size)
        }
    }

    /// Every pattern's files, in pattern order then path order, each file once.
    public static func expand(_ patterns: [String]) -> [[InputFile]] {
        patterns.map(expand)
    }

    static func hasWildcard(_ component: String) -> Bool {
        component.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }

    private static func walk(directory: String, components: ArraySlice<String>, into found: inout [String]) {
        guard let first = components.first else {
            found.append(directory.isEmpty ? "/" : directory)
            return
        }
        let rest = components.dropFirst()
        if first == "**" {
            // Zero directories, then every subdirectory (recursively), each followed by the rest.
            walk(directory: directory, components: rest, into: &found)
            for entry in entries(of: directory) where !entry.hasPrefix(".") {
                let path = directory + "/" + entry
                if isDirectory(path) { walk(directory: path, components: components, into: &found) }
            }
            return
        }
        if !hasWildcard(first) {
            let path = directory + "/" + first
            if rest.isEmpty || isDirectory(path) { walk(directory: path, components: rest, into: &found) }
            return
        }
        for entry in entries(of: directory) where fnmatch(first, entry, FNM_PERIOD) == 0 {
            let path = directory + "/" + entry
            if rest.isEmpty || isDirectory(path) { walk(directory: path, components: rest, into: &found) }
        }
    }

    private static func entries(of directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "/" : directory)) ?? []).sorted()
    }

    private static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    private static func regularFileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }
}

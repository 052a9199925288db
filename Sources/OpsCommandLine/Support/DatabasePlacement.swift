// Where `opsctl up` keeps its embedded PostgreSQL. Normally `<state>/postgres`. As root, PostgreSQL runs as the
// `postgres` user, who cannot enter a state directory under a home only root may search (the default
// `/root/.opsctl`, /root being 0700): the cluster then lives under `/var/lib/opsctl/postgres/<key>`, owned by
// `postgres`, and `<state>/postgres` is a symbolic link to it, so the state directory still says where it is.

import Foundation

enum DatabasePlacement {
    /// The parent of relocated clusters; each directory on the way is 0755 so `postgres` can traverse it.
    static let relocatedRoot = URL(fileURLWithPath: "/var/lib/opsctl/postgres")

    /// The directory the cluster of `stateDirectory` lives in (the link's target when relocated), creating the
    /// link and its target the first time a root-run cluster needs one.
    static func resolve(_ databaseDirectory: URL, asRoot: Bool = getuid() == 0) throws -> URL {
        let fm = FileManager.default
        if let target = try? fm.destinationOfSymbolicLink(atPath: databaseDirectory.path) {
            return URL(fileURLWithPath: target)
        }
        // A cluster already in place stays there (one made before this placement existed, or by a non-root user).
        guard asRoot, !fm.fileExists(atPath: databaseDirectory.path),
            let blocked = unsearchableParent(of: databaseDirectory)
        else { return databaseDirectory }
        let target = relocatedRoot.appendingPathComponent(key(for: databaseDirectory))
        for directory in [relocatedRoot.deletingLastPathComponent(), relocatedRoot] {
            try fm.createDirectory(at: directory, withIntermediateDirectories: true)
            _ = chmod(directory.path, 0o755)
        }
        try fm.createDirectory(at: target, withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: databaseDirectory.path, withDestinationPath: target.path)
        Output.note(
            "the postgres user cannot search \(blocked), so the database lives in \(target.path) "
                + "(\(databaseDirectory.path) links to it; delete both to start afresh)")
        return target
    }

    /// The first parent directory others may not search (mode without o+x), if any.
    static func unsearchableParent(of url: URL) -> String? {
        var path = url.standardizedFileURL.deletingLastPathComponent().path
        while path != "/" && !path.isEmpty {
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & S_IXOTH == 0 { return path }
            path = (path as NSString).deletingLastPathComponent
        }
        return nil
    }

    /// A stable name per state directory: FNV-1a of its absolute path, 16 hex digits (short, so the socket path
    /// under it stays far below the 107 bytes Unix sockets allow).
    static func key(for databaseDirectory: URL) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in databaseDirectory.standardizedFileURL.path.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

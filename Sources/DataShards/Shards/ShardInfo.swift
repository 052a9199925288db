// What the dataset index (and PostgreSQL) records about one committed shard.

public struct ShardInfo: Codable, Sendable, Equatable, Hashable {
    /// Shard name; the files are `<name>.bin` and `<name>.idx` in the dataset directory.
    public var name: String
    public var binFile: String
    public var idxFile: String
    public var binSHA256: String
    public var idxSHA256: String
    public var binBytes: Int64
    public var idxBytes: Int64
    public var tokens: Int64
    public var documents: Int64
    public var dtype: TokenDType

    public init(
        name: String, binFile: String, idxFile: String, binSHA256: String, idxSHA256: String,
        binBytes: Int64, idxBytes: Int64, tokens: Int64, documents: Int64, dtype: TokenDType
    ) {
        self.name = name
        self.binFile = binFile
        self.idxFile = idxFile
        self.binSHA256 = binSHA256
        self.idxSHA256 = idxSHA256
        self.binBytes = binBytes
        self.idxBytes = idxBytes
        self.tokens = tokens
        self.documents = documents
        self.dtype = dtype
    }

    public static func binFileName(_ name: String) -> String { name + ".bin" }
    public static func idxFileName(_ name: String) -> String { name + ".idx" }

    /// Shard names become file names: keep them to one path component of safe characters.
    public static func validate(name: String) throws(ShardError) {
        guard !name.isEmpty, name.utf8.count <= 200 else {
            throw .invalidName(name: name, reason: "must be 1 to 200 bytes")
        }
        guard !name.hasPrefix(".") else { throw .invalidName(name: name, reason: "must not start with '.'") }
        for scalar in name.unicodeScalars {
            let ok =
                (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
                || scalar == "-" || scalar == "_" || scalar == "."
            guard ok else {
                throw .invalidName(name: name, reason: "only letters, digits, '-', '_' and '.' are allowed")
            }
        }
    }
}

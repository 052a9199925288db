// The training exchange of a job (issue 14): named entries that point at bytes in the artifact store, so the
// members of a DiLoCo gang and the attempts of a resumable run coordinate without a shared directory. A row
// holds a location and checksum, never the bytes.

/// `PUT /v1/jobs/{jobID}/exchange/{name}`: publishes `name` → these bytes.
public struct ExchangePutRequest: Codable, Sendable, Equatable {
    /// Where the bytes are (an artifact location: `cp://blobs/<sha256>`, an object-store URL, a path).
    public var location: String
    public var sha256: String
    public var bytes: Int64
    /// First writer wins: 409 when the name exists (what link(2) did in a shared directory).
    public var exclusive: Bool

    public init(location: String, sha256: String, bytes: Int64, exclusive: Bool) {
        self.location = location
        self.sha256 = sha256
        self.bytes = bytes
        self.exclusive = exclusive
    }
}

/// One entry of a job's exchange. `version` grows with every write to the exchange (of any job), so a reader
/// asks for what changed after the largest version it has seen.
public struct ExchangeEntry: Codable, Sendable, Equatable {
    public var name: String
    public var location: String
    public var sha256: String
    public var bytes: Int64
    public var version: Int64

    public init(name: String, location: String, sha256: String, bytes: Int64, version: Int64) {
        self.name = name
        self.location = location
        self.sha256 = sha256
        self.bytes = bytes
        self.version = version
    }
}

/// `GET /v1/jobs/{jobID}/exchange?prefix=&after=&waitSeconds=`: the entries with a version above `after`,
/// sorted by name. `version` is the largest version the job's exchange had when it was read (0 when empty):
/// the next `after`.
public struct ExchangeListResponse: Codable, Sendable, Equatable {
    public var entries: [ExchangeEntry]
    public var version: Int64

    public init(entries: [ExchangeEntry], version: Int64) {
        self.entries = entries
        self.version = version
    }
}

/// The limits of the exchange, shared by the server's checks and the clients.
public enum ExchangeLimits {
    /// The longest a list call may wait for a change (`waitSeconds`).
    public static let maxWaitSeconds = 30.0
    /// The longest name: `[A-Za-z0-9._-]{1,200}`.
    public static let maxNameBytes = 200

    /// True for a valid entry name (also a valid prefix when non-empty).
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= maxNameBytes && name.utf8.allSatisfy(isNameByte)
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default: return false
        }
    }
}

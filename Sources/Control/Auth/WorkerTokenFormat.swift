// A worker token a registration presents (`RegisterWorkerRequest.workerToken`): the daemon makes its own before
// its first registration and keeps it, so a lost answer or a restart never leaves it without proof of who it is.
// The control plane stores only its SHA-256; what it checks here is that the token can be a bearer token and is
// long enough not to be guessed (the daemon's are 64 hex digits of the system CSPRNG, like `Secret.random()`).

enum WorkerTokenFormat {
    static let characters = 32...256

    /// Why `token` cannot be a worker token, or nil.
    static func problem(_ token: String) -> String? {
        let allowed = token.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="):
                return true
            default:
                return false
            }
        }
        guard allowed, characters.contains(token.utf8.count) else {
            return
                "workerToken: expected \(characters.lowerBound) to \(characters.upperBound) characters of A-Z a-z 0-9 - . _ ~ + / = (the worker token a registration returned, or one the worker made from 32 random bytes); got \(token.utf8.count) characters"
        }
        return nil
    }
}

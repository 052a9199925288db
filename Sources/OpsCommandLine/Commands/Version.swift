import APITypes
import Workers

enum VersionCommand {
    static func run(_ settings: Settings) -> Int32 {
        print("opsctl \(opsVersion)")
        return 0
    }
}

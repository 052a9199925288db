import Foundation

/// The three GNU extensions a race-free spawn needs, looked up once with `dlsym`: Swift's `Glibc` module is built
/// without `_GNU_SOURCE`, so their declarations are not imported. All three are in glibc ≥ 2.34 (Debian 12 has 2.36).
enum GlibcSpawnExtensions {
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    typealias AddChdir =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32

    /// Closes every descriptor from the given one up in the child, at spawn time: no other thread can slip one in.
    static let addCloseFrom: AddCloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    /// Changes the child's working directory without touching the parent's (which every thread shares).
    static let addChdir: AddChdir? = symbol("posix_spawn_file_actions_addchdir_np")
    /// A pipe whose two ends are close-on-exec from birth, so a child another thread spawns never inherits it.
    static let pipe2: Pipe2? = symbol("pipe2")

    private static func symbol<Function>(_ name: String) -> Function? {
        guard let address = dlsym(nil, name) else { return nil }
        return unsafeBitCast(address, to: Function.self)
    }
}

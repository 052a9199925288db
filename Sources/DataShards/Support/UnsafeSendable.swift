/// Hands a buffer to concurrentPerform workers that each write a distinct index; the caller guarantees
/// that no two workers touch the same element.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

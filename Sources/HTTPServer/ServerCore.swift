// The state libmicrohttpd's callbacks reach through their `cls` pointer, and the callbacks themselves.
// Every C callback of the HTTP server lives in this file.

import CMicroHTTPD
import Foundation

/// Runs a request's handler somewhere off the event loop and hands the response to `reply` (from any thread).
typealias Responder = @Sendable (HTTPRequest, _ reply: @escaping @Sendable (HTTPResponse) -> Void) -> Void

final class ServerCore: @unchecked Sendable {
    let configuration: HTTPServerConfiguration
    let respond: Responder
    private let condition = NSCondition()
    private var inFlight = 0
    private var started = 0
    private var stopping = false
    /// Connections whose handler is running, so `stop` can answer them (libmicrohttpd aborts the process when a
    /// daemon stops with a connection still suspended). Its own lock: it is taken before libmicrohttpd's.
    private let suspendedLock = NSLock()
    private var suspended: [ObjectIdentifier: SuspendedRequest] = [:]
    /// Set by `answerSuspended`: from then on a new request is answered 503 at once instead of being suspended.
    private var refusingSuspension = false

    init(configuration: HTTPServerConfiguration, respond: @escaping Responder) {
        self.configuration = configuration
        self.respond = respond
    }

    /// Parks `connection` (the event loop stops reading it) and runs the handler; its reply resumes the connection,
    /// and the access handler, called again, queues the response.
    /// False once the server is stopping (the caller answers 503 itself).
    func suspendAndRespond(_ connection: OpaquePointer, state: RequestState, request: HTTPRequest) -> Bool {
        let parked = SuspendedRequest(connection: connection, state: state)
        let key = ObjectIdentifier(state)
        let suspendedNow = suspendedLock.withLock {
            guard !refusingSuspension else { return false }
            suspended[key] = parked
            MHD_suspend_connection(connection)
            return true
        }
        guard suspendedNow else { return false }
        respond(request) { [self] response in
            state.discardSpool()
            resume(key, with: response)
        }
        return true
    }

    private func resume(_ key: ObjectIdentifier, with response: HTTPResponse) {
        suspendedLock.withLock {
            // Absent once `answerSuspended` answered it for a stopping server: this late response is discarded.
            guard let parked = suspended.removeValue(forKey: key) else { return }
            parked.state.response = response
            MHD_resume_connection(parked.connection)
        }
    }

    /// Answers every request whose handler is still running with `response`, and any later one at once (for
    /// `stop`); how many were answered.
    func answerSuspended(with response: HTTPResponse) -> Int {
        suspendedLock.withLock {
            refusingSuspension = true
            for parked in suspended.values {
                parked.state.response = response
                MHD_resume_connection(parked.connection)
            }
            defer { suspended.removeAll() }
            return suspended.count
        }
    }

    /// Lets a restarted server suspend connections again.
    func acceptSuspension() { suspendedLock.withLock { refusingSuspension = false } }

    var isStopping: Bool {
        get { condition.withLock { stopping } }
        set { condition.withLock { stopping = newValue } }
    }

    /// A request is in flight from its headers' arrival until libmicrohttpd reports it completed
    /// (response sent or connection gone), so `stop` never cuts off a response being written.
    func requestStarted() {
        condition.withLock {
            inFlight += 1
            started += 1
        }
    }

    /// Requests whose headers arrived since this daemon started (`HTTPServer.lifetimeCounts`).
    var requestsStarted: Int { condition.withLock { started } }

    func requestFinished() {
        condition.withLock {
            inFlight -= 1
            if inFlight == 0 { condition.broadcast() }
        }
    }

    /// Requests whose headers arrived and that libmicrohttpd has not reported completed.
    var requestsInFlight: Int { condition.withLock { inFlight } }

    /// Requests whose handler runs now (their connection is suspended until it answers).
    var handlersRunning: Int { suspendedLock.withLock { suspended.count } }

    /// Waits until no request is in flight; false on timeout.
    func waitForIdle(timeoutSeconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeoutSeconds)
        condition.lock()
        defer { condition.unlock() }
        while inFlight > 0 {
            if !condition.wait(until: deadline) { return inFlight == 0 }
        }
        return true
    }
}

/// A connection parked while its handler runs.
struct SuspendedRequest: @unchecked Sendable {
    // The pointer is only handed back to MHD_resume_connection, under ServerCore's lock.
    let connection: OpaquePointer
    let state: RequestState
}

/// Per-request state kept in libmicrohttpd's `con_cls` slot between calls of the access handler. One thread uses
/// it at a time: the event loop, or the handler's thread while the connection is suspended (the handoffs go
/// through libmicrohttpd's and ServerCore's locks), hence `@unchecked Sendable`; it owns the spool file descriptor.
final class RequestState: @unchecked Sendable {
    let limit: Int
    let spoolThreshold: Int
    let spoolDirectory: String
    var body = Data()
    var received = 0
    var oversized = false
    var responded = false
    /// The request handed to the handler (its `Range` header shapes a file response).
    var request: HTTPRequest?
    /// The handler's response, set before the suspended connection is resumed.
    var response: HTTPResponse?
    /// Set once the body outgrew `spoolThreshold`: the rest streams to this file.
    var spoolPath: String?
    var spoolFD: Int32 = -1
    var spoolFailed = false

    /// Bytes after which an oversized body is no longer drained: 4 × limit + 16 MiB (saturating).
    var cutOff: Int {
        let (quadruple, overflow) = limit.multipliedReportingOverflow(by: 4)
        return overflow || quadruple > Int.max - (16 << 20) ? Int.max : quadruple + (16 << 20)
    }

    init(limit: Int, spoolThreshold: Int, spoolDirectory: String) {
        self.limit = limit
        self.spoolThreshold = spoolThreshold
        self.spoolDirectory = spoolDirectory
    }

    func append(_ bytes: UnsafeRawBufferPointer) {
        if spoolPath == nil && body.count + bytes.count > spoolThreshold {
            var template =
                Array((spoolDirectory.hasSuffix("/") ? spoolDirectory : spoolDirectory + "/").utf8CString.dropLast())
                + Array("http-body-XXXXXX".utf8CString)
            spoolFD = mkstemp(&template)
            guard spoolFD >= 0 else {
                spoolFailed = true
                body = Data()
                return
            }
            spoolPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !body.withUnsafeBytes({ writeAll($0) }) { spoolFailed = true }
            body = Data()
        }
        if spoolPath != nil {
            if !spoolFailed && !writeAll(bytes) { spoolFailed = true }
        } else if !spoolFailed {
            body.append(contentsOf: bytes)
        }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = write(spoolFD, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    /// Closes the spool file (keeping it for the handler).
    func finishSpool() {
        if spoolFD >= 0 {
            close(spoolFD)
            spoolFD = -1
        }
    }

    /// Deletes the spool file unless the handler moved it away.
    func discardSpool() {
        finishSpool()
        if let spoolPath { unlink(spoolPath) }
        spoolPath = nil
    }

    deinit { discardSpool() }
}

let accessHandler: MHD_AccessHandlerCallback = { cls, connection, url, method, _, uploadData, uploadDataSize, conCls in
    guard let cls, let connection, let conCls, let uploadDataSize else { return .NO }
    let core = Unmanaged<ServerCore>.fromOpaque(cls).takeUnretainedValue()
    let methodString = method.map { String(cString: $0) } ?? "GET"
    let path = url.map(PercentDecoding.decode) ?? "/"

    guard let existing = conCls.pointee else {
        // First call: headers are in. Refuse an announced oversized body before reading any of it.
        core.configuration.requestHeadersArrivedOnEventThread?(path)
        let state = RequestState(
            limit: max(0, core.configuration.maxBodyBytes(methodString, path)),
            spoolThreshold: max(0, core.configuration.spoolBodiesLargerThan),
            spoolDirectory: core.configuration.spoolDirectory)
        core.requestStarted()
        conCls.pointee = Unmanaged.passRetained(state).toOpaque()
        if let length = lookupHeader(connection, "Content-Length").flatMap({ Int64($0) }), length > Int64(state.limit) {
            state.responded = true
            let response = core.configuration.errorResponse(
                413, tooLargeMessage(limit: state.limit, method: methodString, path: path))
            return queue(response, on: connection, request: nil)
        }
        return .YES
    }
    let state = Unmanaged<RequestState>.fromOpaque(existing).takeUnretainedValue()

    let chunk = uploadDataSize.pointee
    if chunk > 0 {
        // Body data: keep it while under the limit, otherwise count and drop it.
        state.received += chunk
        if !state.oversized && state.received > state.limit {
            state.oversized = true
            state.body = Data()
            state.discardSpool()
        }
        if !state.oversized, let uploadData {
            state.append(UnsafeRawBufferPointer(start: uploadData, count: chunk))
        }
        // Draining an oversized body lets the client read its 413; a client that keeps sending far beyond
        // the limit is cut off instead of being read forever.
        if state.oversized && state.received > state.cutOff { return .NO }
        uploadDataSize.pointee = 0
        return .YES
    }

    if state.responded {
        // Called again after the handler's reply resumed the connection.
        guard let response = state.response else { return .YES }
        state.response = nil
        return queue(response, on: connection, request: state.request, core: core)
    }
    state.responded = true
    if state.oversized {
        let response = core.configuration.errorResponse(
            413, tooLargeMessage(limit: state.limit, method: methodString, path: path))
        return queue(response, on: connection, request: nil)
    }
    if state.spoolFailed {
        state.discardSpool()
        let response = core.configuration.errorResponse(
            507, "could not store the request body in \(state.spoolDirectory)")
        return queue(response, on: connection, request: nil)
    }
    state.finishSpool()
    let request = HTTPRequest(
        method: methodString.uppercased(), path: path,
        queryItems: collectQueryItems(connection), headers: collectHeaders(connection),
        body: state.body, bodyFile: state.spoolPath, bodyLength: state.received,
        remoteAddress: clientAddress(connection))
    state.body = Data()
    state.request = request
    guard core.suspendAndRespond(connection, state: state, request: request) else {
        state.discardSpool()
        let refusal = core.configuration.errorResponse(503, "the server is stopping; retry the request")
        return queue(refusal, on: connection, request: nil)
    }
    return .YES
}

let requestCompleted: MHD_RequestCompletedCallback = { cls, _, conCls, _ in
    guard let conCls, let state = conCls.pointee else { return }
    if let cls { Unmanaged<ServerCore>.fromOpaque(cls).takeUnretainedValue().requestFinished() }
    Unmanaged<RequestState>.fromOpaque(state).release()
    conCls.pointee = nil
}

private func tooLargeMessage(limit: Int, method: String, path: String) -> String {
    "request body too large: \(method) \(path) accepts at most \(limit) bytes"
}

private func lookupHeader(_ connection: OpaquePointer, _ name: String) -> String? {
    MHD_lookup_connection_value(connection, .HEADER_KIND, name).map { String(cString: $0) }
}

private final class PairCollector {
    var pairs: [(String, String)] = []
}

private let collectPair: MHD_KeyValueIterator = { cls, _, key, value in
    guard let cls, let key else { return .YES }
    let collector = Unmanaged<PairCollector>.fromOpaque(cls).takeUnretainedValue()
    collector.pairs.append((String(cString: key), value.map { String(cString: $0) } ?? ""))
    return .YES
}

/// Query arguments arrive with their percent escapes (`cmhd_keep_escapes`): decoded here, NULs included.
private let collectQueryPair: MHD_KeyValueIterator = { cls, _, key, value in
    guard let cls, let key else { return .YES }
    let collector = Unmanaged<PairCollector>.fromOpaque(cls).takeUnretainedValue()
    collector.pairs.append((PercentDecoding.decode(key), value.map(PercentDecoding.decode) ?? ""))
    return .YES
}

private func collectPairs(
    _ connection: OpaquePointer, _ kind: MHD_ValueKind, _ iterator: MHD_KeyValueIterator = collectPair
) -> [(String, String)] {
    let collector = PairCollector()
    let unmanaged = Unmanaged.passRetained(collector)
    defer { unmanaged.release() }
    _ = MHD_get_connection_values(connection, kind, iterator, unmanaged.toOpaque())
    return collector.pairs
}

private func collectHeaders(_ connection: OpaquePointer) -> HTTPHeaders {
    HTTPHeaders(collectPairs(connection, .HEADER_KIND))
}

private func collectQueryItems(_ connection: OpaquePointer) -> [HTTPQueryItem] {
    collectPairs(connection, .GET_ARGUMENT_KIND, collectQueryPair).map { HTTPQueryItem(name: $0.0, value: $0.1) }
}

private func clientAddress(_ connection: OpaquePointer) -> String {
    guard let addr = cmhd_client_address(connection) else { return "" }
    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
    switch Int32(addr.pointee.sa_family) {
    case AF_INET:
        var a = addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
        guard inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count)) != nil else { return "" }
    case AF_INET6:
        var a = addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
        guard inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count)) != nil else { return "" }
    default:
        return ""
    }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Turns an HTTPResponse into a libmicrohttpd response and queues it. File bodies honour `Range`.
private func queue(
    _ response: HTTPResponse, on connection: OpaquePointer, request: HTTPRequest?,
    core: ServerCore? = nil
) -> MHD_Result {
    var status = response.status
    var headers = response.headers
    let mhdResponse: OpaquePointer?
    switch response.body {
    case .bytes(let data):
        mhdResponse = data.withUnsafeBytes { raw in
            MHD_create_response_from_buffer(
                raw.count, UnsafeMutableRawPointer(mutating: raw.baseAddress), .RESPMEM_MUST_COPY)
        }
    case .file(let path):
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        var info = stat()
        guard fd >= 0, fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            if fd >= 0 { close(fd) }
            let fallback =
                core?.configuration.errorResponse(404, "file not found: \(path)")
                ?? .error(status: 404, message: "file not found: \(path)")
            return queue(fallback, on: connection, request: nil)
        }
        let size = Int64(info.st_size)
        headers["Accept-Ranges"] = "bytes"
        let range = status == 200 ? ByteRangeRequest.parse(request?.headers["Range"], fileSize: size) : .whole
        switch range {
        case .whole:
            mhdResponse = MHD_create_response_from_fd_at_offset64(UInt64(size), fd, 0)
        case .partial(let start, let end):
            status = 206
            headers["Content-Range"] = "bytes \(start)-\(end)/\(size)"
            mhdResponse = MHD_create_response_from_fd_at_offset64(UInt64(end - start + 1), fd, UInt64(start))
        case .unsatisfiable:
            close(fd)
            var refusal =
                core?.configuration.errorResponse(416, "range not satisfiable: file has \(size) bytes")
                ?? .error(status: 416, message: "range not satisfiable")
            refusal.headers["Content-Range"] = "bytes */\(size)"
            return queue(refusal, on: connection, request: nil)
        }
        if mhdResponse == nil { close(fd) }
    }
    guard let mhdResponse else { return .NO }
    defer { MHD_destroy_response(mhdResponse) }
    for (name, value) in headers {
        // libmicrohttpd computes Content-Length itself.
        if name.lowercased() == "content-length" { continue }
        _ = MHD_add_response_header(mhdResponse, name, value)
    }
    // A stopping daemon (or one retired by a certificate reload) tells keep-alive clients to reconnect, so its
    // drain is not kept busy by connections that would otherwise send their next request to it.
    if core?.isStopping == true { _ = MHD_add_response_header(mhdResponse, "Connection", "close") }
    return MHD_queue_response(connection, UInt32(status), mhdResponse)
}

// The libcurl side of HTTPClient: global init, the pool of reusable easy handles, and one transfer.
// Every libcurl call and C callback of the client lives in this file.

import CCurl
import Foundation
import Primitives

/// `curl_global_init` exactly once per process, before the first handle.
private let curlGlobalInit: Void = {
    _ = curl_global_init(Int(CURL_GLOBAL_ALL))
}()

/// Idle easy handles kept for reuse: a reused handle keeps its live connections (keep-alive) and DNS cache.
final class CurlHandlePool: @unchecked Sendable { // the handles are raw pointers; only `idle` holds them
    private let idle = Locked<[UnsafeMutableRawPointer]>([])
    private let maxIdle: Int
    /// Every transfer of these handles verifies HTTPS servers against this CA file (`CURLOPT_CAINFO`).
    let caFile: String?

    init(maxIdle: Int, caFile: String? = nil) {
        _ = curlGlobalInit
        self.maxIdle = maxIdle
        self.caFile = caFile
    }

    func checkout() -> UnsafeMutableRawPointer? {
        if let handle = idle.withLock({ $0.popLast() }) {
            curl_easy_reset(handle)
            return handle
        }
        return curl_easy_init()
    }

    func checkin(_ handle: UnsafeMutableRawPointer) {
        let kept = idle.withLock { idle -> Bool in
            guard idle.count < maxIdle else { return false }
            idle.append(handle)
            return true
        }
        if !kept { curl_easy_cleanup(handle) }
    }

    deinit {
        for handle in idle.current { curl_easy_cleanup(handle) }
    }
}

/// Set from another thread to abort a running transfer (checked by curl's progress callback).
final class CancellationFlag: Sendable {
    private let cancelled = Locked(false)
    var isCancelled: Bool { cancelled.current }
    func cancel() { cancelled.withLock { $0 = true } }
}

/// Where a transfer's data goes; reached from the C callbacks through an opaque pointer.
final class TransferSink {
    var status = 0
    var headers: [(name: String, value: String)] = []
    var body = Data()
    /// For downloads: the file a 2xx body streams into.
    var downloadPath: String?
    var fileFD: Int32 = -1
    var fileError: String?
    /// For downloads: shown every chunk of a 2xx body as it is written (a checksum computed on the way).
    var bodyObserver: ((UnsafeRawBufferPointer) -> Void)?
    let cancellation: CancellationFlag?
    /// For uploads from a file: the open file the read callback streams from.
    var uploadFD: Int32 = -1

    init(downloadPath: String?, cancellation: CancellationFlag?) {
        self.downloadPath = downloadPath
        self.cancellation = cancellation
    }

    func receiveHeaderLine(_ line: HTTPHeaderLine) {
        switch line {
        case .status(let code):
            // A new status line (after 100 Continue or a redirect): start over.
            status = code
            headers = []
        case .field(let name, let value):
            headers.append((name, value))
        case .other:
            break
        }
    }

    /// False aborts the transfer.
    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let downloadPath, (200..<300).contains(status) else {
            body.append(contentsOf: bytes)
            return true
        }
        if fileFD < 0 {
            fileFD = open(downloadPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fileFD >= 0 else {
                fileError =
                    "cannot create the file: \(String(cString: strerror(errno))) (does the directory exist and is it writable?)"
                return false
            }
        }
        var offset = 0
        while offset < bytes.count {
            let n = write(fileFD, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                fileError = String(cString: strerror(errno))
                return false
            }
            offset += n
        }
        bodyObserver?(bytes)
        return true
    }

    /// Closes the download file; false when closing failed (data may not have reached the disk).
    func closeFile() -> Bool {
        guard fileFD >= 0 else { return true }
        defer { fileFD = -1 }
        return close(fileFD) == 0
    }
}

private let writeCallback: curl_write_callback = { data, size, count, userdata in
    guard let userdata else { return 0 }
    let sink = Unmanaged<TransferSink>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    guard let data, length > 0 else { return length }
    return sink.receiveBody(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

private let headerCallback: curl_write_callback = { data, size, count, userdata in
    guard let userdata else { return 0 }
    let sink = Unmanaged<TransferSink>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    guard let data, length > 0 else { return length }
    sink.receiveHeaderLine(HTTPHeaderLine(UnsafeRawBufferPointer(start: data, count: length)))
    return length
}

private let readCallback: curl_write_callback = { buffer, size, count, userdata in
    guard let userdata, let buffer else { return Int(CURL_READFUNC_ABORT) }
    let sink = Unmanaged<TransferSink>.fromOpaque(userdata).takeUnretainedValue()
    while true {
        let n = read(sink.uploadFD, buffer, size * count)
        if n >= 0 { return n }
        if errno != EINTR { return Int(CURL_READFUNC_ABORT) }
    }
}

private let progressCallback: curl_xferinfo_callback = { userdata, _, _, _, _ in
    guard let userdata else { return 0 }
    let sink = Unmanaged<TransferSink>.fromOpaque(userdata).takeUnretainedValue()
    return (sink.cancellation?.isCancelled ?? false) ? 1 : 0
}

/// Runs one transfer on a pooled handle. `downloadTo` streams a 2xx body into that path.
func performTransfer(
    pool: CurlHandlePool, request: HTTPClientRequest, defaultHeaders: [String: String],
    downloadTo path: String?, range: ClosedRange<Int64>?, uploadFrom uploadPath: String? = nil,
    cancellation: CancellationFlag?, bodyObserver: ((UnsafeRawBufferPointer) -> Void)? = nil
) throws(HTTPClientError) -> HTTPClientResponse {
    let url = request.url
    let upload: UploadFile?
    if let uploadPath { upload = try UploadFile(opening: uploadPath, url: url) } else { upload = nil }
    defer { if let upload { close(upload.descriptor) } }
    guard let handle = pool.checkout() else { throw .other(url: url, code: -1, message: "curl_easy_init failed") }
    // curl drops a broken connection itself, so the handle is reusable after any outcome.
    defer { pool.checkin(handle) }

    let sink = TransferSink(downloadPath: path, cancellation: cancellation)
    sink.bodyObserver = bodyObserver
    sink.uploadFD = upload?.descriptor ?? -1
    let sinkPointer = Unmanaged.passRetained(sink)
    defer { sinkPointer.release() }

    let headerList = curlHeaderList(
        request.headers, over: defaultHeaders, hasBody: request.body != nil || upload != nil)
    defer { curl_slist_free_all(headerList) }

    var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    let body = request.body ?? Data()
    let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
        body.withUnsafeBytes { bodyBytes -> CURLcode in
            let opaque = sinkPointer.toOpaque()
            setConnectionOptions(
                handle, request: request, sink: opaque, errorBuffer: errorPointer, cancellable: cancellation != nil,
                downloading: path != nil, range: range)
            if let caFile = pool.caFile { _ = ccurl_setopt_string(handle, CURLOPT_CAINFO, caFile) }
            setMethodAndBody(
                handle, method: request.method, upload: upload, body: request.body != nil ? bodyBytes : nil,
                sink: opaque, errorBuffer: errorPointer)
            _ = ccurl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)
            return curl_easy_perform(handle)
        }
    }
    try finishTransfer(
        code: code, errorBuffer: errorBuffer, sink: sink, request: request, path: path, caFile: pool.caFile)
    var status = 0
    _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
    return HTTPClientResponse(
        status: status != 0 ? status : sink.status, headers: sink.headers, body: sink.body, url: url)
}

/// The open file an upload streams from; curl needs its size up front (`CURLOPT_INFILESIZE_LARGE`).
private struct UploadFile {
    let descriptor: Int32
    let sizeBytes: Int64

    init(opening path: String, url: String) throws(HTTPClientError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        var info = stat()
        guard descriptor >= 0, fstat(descriptor, &info) == 0 else {
            if descriptor >= 0 { close(descriptor) }
            throw .fileError(
                url: url, path: path, message: "cannot read the file to upload: \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
        self.sizeBytes = Int64(info.st_size)
    }
}

/// The request's headers over the client's defaults (names compared case-insensitively), sorted by name so the
/// wire order is stable; a body without a Content-Type is sent as `application/octet-stream`. The caller frees the list.
private func curlHeaderList(
    _ headers: [String: String], over defaultHeaders: [String: String],
    hasBody: Bool
) -> UnsafeMutablePointer<curl_slist>? {
    var merged = defaultHeaders
    for (name, value) in headers {
        for key in merged.keys where key.lowercased() == name.lowercased() { merged.removeValue(forKey: key) }
        merged[name] = value
    }
    var headerList: UnsafeMutablePointer<curl_slist>? = nil
    for (name, value) in merged.sorted(by: { $0.key < $1.key }) {
        headerList = curl_slist_append(headerList, "\(name): \(value)")
    }
    if hasBody && !merged.keys.contains(where: { $0.lowercased() == "content-type" }) {
        headerList = curl_slist_append(headerList, "Content-Type: application/octet-stream")
    }
    return headerList
}

/// Everything but the method and the body: URL, error buffer, callbacks into `sink`, timeouts, cancellation, range.
private func setConnectionOptions(
    _ handle: UnsafeMutableRawPointer, request: HTTPClientRequest, sink: UnsafeMutableRawPointer,
    errorBuffer: UnsafeMutableBufferPointer<CChar>, cancellable: Bool, downloading: Bool,
    range: ClosedRange<Int64>?
) {
    // curl writes up to CURL_ERROR_SIZE bytes there, and the buffer must outlive the transfer.
    precondition(errorBuffer.count > Int(CURL_ERROR_SIZE), "curl's error buffer needs CURL_ERROR_SIZE bytes")
    _ = ccurl_setopt_string(handle, CURLOPT_URL, request.url)
    _ = ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
    _ = ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer.baseAddress))
    _ = ccurl_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, writeCallback)
    _ = ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, sink)
    _ = ccurl_setopt_write_function(handle, CURLOPT_HEADERFUNCTION, headerCallback)
    _ = ccurl_setopt_pointer(handle, CURLOPT_HEADERDATA, sink)
    _ = ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(min(max(0, request.timeoutSeconds), 1e9) * 1000))
    _ = ccurl_setopt_long(
        handle, CURLOPT_CONNECTTIMEOUT_MS, Int(min(max(0.001, request.connectTimeoutSeconds), 1e9) * 1000))
    _ = ccurl_setopt_long(handle, CURLOPT_TCP_NODELAY, 1)
    if cancellable {
        _ = ccurl_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
        _ = ccurl_setopt_xferinfo_function(handle, progressCallback)
        _ = ccurl_setopt_pointer(handle, CURLOPT_XFERINFODATA, sink)
    }
    if downloading { _ = ccurl_setopt_long(handle, CURLOPT_BUFFERSIZE, 512 * 1024) }
    if let range {
        _ = ccurl_setopt_string(handle, CURLOPT_RANGE, "\(range.lowerBound)-\(range.upperBound)")
    }
}

/// The method and where the request body comes from: a file (streamed by the read callback), bytes in memory
/// (`body`, nil when the request has none), or nothing. The bytes must stay valid until the transfer ends.
private func setMethodAndBody(
    _ handle: UnsafeMutableRawPointer, method: String, upload: UploadFile?, body: UnsafeRawBufferPointer?,
    sink: UnsafeMutableRawPointer, errorBuffer: UnsafeMutableBufferPointer<CChar>
) {
    switch method {
    case "GET":
        _ = ccurl_setopt_long(handle, CURLOPT_HTTPGET, 1)
    case "HEAD":
        _ = ccurl_setopt_long(handle, CURLOPT_NOBODY, 1)
    default:
        _ = ccurl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method)
    }
    if let upload {
        precondition(upload.descriptor >= 0, "the read callback needs an open file")
        _ = ccurl_setopt_long(handle, CURLOPT_UPLOAD, 1)
        _ = ccurl_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(upload.sizeBytes))
        _ = ccurl_setopt_write_function(handle, CURLOPT_READFUNCTION, readCallback)
        _ = ccurl_setopt_pointer(handle, CURLOPT_READDATA, sink)
        if method != "PUT" { _ = ccurl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method) }
    } else if let body {
        _ = ccurl_setopt_long(handle, CURLOPT_POST, 1)
        _ = ccurl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
        // Non-nil even for an empty body so curl doesn't fall back to reading stdin.
        guard let fallback = errorBuffer.baseAddress else { preconditionFailure("curl's error buffer has no storage") }
        let pointer = body.baseAddress ?? UnsafeRawPointer(fallback)
        _ = ccurl_setopt_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: pointer))
        if method != "POST" {
            _ = ccurl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method)
        }
    }
}

/// After `curl_easy_perform`: closes the download file, removes it when the transfer or the close failed, creates it
/// for an empty 2xx body, and turns a curl error into an `HTTPClientError`.
private func finishTransfer(
    code: CURLcode, errorBuffer: [CChar], sink: TransferSink, request: HTTPClientRequest,
    path: String?, caFile: String?
) throws(HTTPClientError) {
    let url = request.url
    let hadFile = sink.fileFD >= 0
    let closedCleanly = sink.closeFile()

    if code != CURLE_OK {
        let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        if let path, hadFile { unlink(path) }
        throw classify(code, url: url, message: message, sink: sink, path: path, caFile: caFile)
    }
    if let path, hadFile, !closedCleanly {
        unlink(path)
        throw .fileError(url: url, path: path, message: "closing the file failed: \(String(cString: strerror(errno)))")
    }
    if let path, (200..<300).contains(sink.status), !hadFile, request.method != "HEAD" {
        // An empty 2xx body still produces the (empty) file.
        guard FileManager.default.createFile(atPath: path, contents: Data()) else {
            throw .fileError(url: url, path: path, message: "cannot create the file")
        }
    }
}

private func classify(
    _ code: CURLcode, url: String, message: String, sink: TransferSink, path: String?, caFile: String?
) -> HTTPClientError {
    switch code {
    case CURLE_PEER_FAILED_VERIFICATION: return .certificateNotTrusted(url: url, message: message, caFile: caFile)
    case CURLE_SSL_CACERT_BADFILE:
        return .tls(url: url, message: "cannot use the CA file \(caFile ?? "(system store)"): \(message)")
    case CURLE_COULDNT_CONNECT: return .couldNotConnect(url: url, message: message)
    case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
        return .couldNotResolveHost(url: url, message: message)
    case CURLE_OPERATION_TIMEDOUT: return .timedOut(url: url, message: message)
    case CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_ENGINE_NOTFOUND,
        CURLE_SSL_ENGINE_SETFAILED, CURLE_USE_SSL_FAILED,
        CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS,
        CURLE_SSL_SHUTDOWN_FAILED:
        return .tls(url: url, message: message)
    case CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE:
        return .connectionLost(url: url, message: message)
    case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL: return .invalidURL(url: url, message: message)
    case CURLE_ABORTED_BY_CALLBACK: return .cancelled(url: url)
    case CURLE_WRITE_ERROR:
        if let path, let fileError = sink.fileError { return .fileError(url: url, path: path, message: fileError) }
        return .other(url: url, code: Int(code.rawValue), message: message)
    default: return .other(url: url, code: Int(code.rawValue), message: message)
    }
}

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
final class CurlHandlePool: @unchecked Sendable {  // the handles are raw pointers; only `idle` holds them
    private let idle = Locked<[UnsafeMutableRawPointer]>([])
    private let maxIdle: Int

    init(maxIdle: Int) {
        _ = curlGlobalInit
        self.maxIdle = maxIdle
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
    let cancellation: CancellationFlag?
    /// For uploads from a file: the open file the read callback streams from.
    var uploadFD: Int32 = -1

    init(downloadPath: String?, cancellation: CancellationFlag?) {
        self.downloadPath = downloadPath
        self.cancellation = cancellation
    }

    func receiveHeaderLine(_ line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("HTTP/") {
            // A new status line (after 100 Continue or a redirect): start over.
            let parts = trimmed.split(separator: " ")
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            headers = []
        } else if let colon = trimmed.firstIndex(of: ":") {
            let name = trimmed[..<colon].trimmingCharacters(in: .whitespaces)
            let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append((name, value))
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
                fileError = "cannot create the file: \(String(cString: strerror(errno))) (does the directory exist and is it writable?)"
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
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    sink.receiveHeaderLine(line)
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
func performTransfer(pool: CurlHandlePool, request: HTTPClientRequest, defaultHeaders: [String: String],
                     downloadTo path: String?, range: ClosedRange<Int64>?, uploadFrom uploadPath: String? = nil,
                     cancellation: CancellationFlag?) throws(HTTPClientError) -> HTTPClientResponse {
    let url = request.url
    var uploadSize: Int64 = 0
    var uploadFD: Int32 = -1
    if let uploadPath {
        uploadFD = open(uploadPath, O_RDONLY | O_CLOEXEC)
        var info = stat()
        guard uploadFD >= 0, fstat(uploadFD, &info) == 0 else {
            if uploadFD >= 0 { close(uploadFD) }
            throw .fileError(url: url, path: uploadPath, message: "cannot read the file to upload: \(String(cString: strerror(errno)))")
        }
        uploadSize = Int64(info.st_size)
    }
    defer { if uploadFD >= 0 { close(uploadFD) } }
    guard let handle = pool.checkout() else { throw .other(url: url, code: -1, message: "curl_easy_init failed") }
    // curl drops a broken connection itself, so the handle is reusable after any outcome.
    defer { pool.checkin(handle) }

    let sink = TransferSink(downloadPath: path, cancellation: cancellation)
    sink.uploadFD = uploadFD
    let sinkPointer = Unmanaged.passRetained(sink)
    defer { sinkPointer.release() }

    var headerList: UnsafeMutablePointer<curl_slist>? = nil
    defer { curl_slist_free_all(headerList) }
    var merged = defaultHeaders
    for (name, value) in request.headers {
        for key in merged.keys where key.lowercased() == name.lowercased() { merged.removeValue(forKey: key) }
        merged[name] = value
    }
    for (name, value) in merged.sorted(by: { $0.key < $1.key }) {
        headerList = curl_slist_append(headerList, "\(name): \(value)")
    }
    if (request.body != nil || uploadPath != nil) && !merged.keys.contains(where: { $0.lowercased() == "content-type" }) {
        headerList = curl_slist_append(headerList, "Content-Type: application/octet-stream")
    }

    var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    let body = request.body ?? Data()
    let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
        body.withUnsafeBytes { bodyBytes -> CURLcode in
            let opaque = sinkPointer.toOpaque()
            _ = ccurl_setopt_string(handle, CURLOPT_URL, url)
            _ = ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            _ = ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorPointer.baseAddress))
            _ = ccurl_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, writeCallback)
            _ = ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, opaque)
            _ = ccurl_setopt_write_function(handle, CURLOPT_HEADERFUNCTION, headerCallback)
            _ = ccurl_setopt_pointer(handle, CURLOPT_HEADERDATA, opaque)
            _ = ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(min(max(0, request.timeoutSeconds), 1e9) * 1000))
            _ = ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(min(max(0.001, request.connectTimeoutSeconds), 1e9) * 1000))
            _ = ccurl_setopt_long(handle, CURLOPT_TCP_NODELAY, 1)
            if cancellation != nil {
                _ = ccurl_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
                _ = ccurl_setopt_xferinfo_function(handle, progressCallback)
                _ = ccurl_setopt_pointer(handle, CURLOPT_XFERINFODATA, opaque)
            }
            if path != nil { _ = ccurl_setopt_long(handle, CURLOPT_BUFFERSIZE, 512 * 1024) }
            if let range {
                _ = ccurl_setopt_string(handle, CURLOPT_RANGE, "\(range.lowerBound)-\(range.upperBound)")
            }
            switch request.method {
            case "GET":
                _ = ccurl_setopt_long(handle, CURLOPT_HTTPGET, 1)
            case "HEAD":
                _ = ccurl_setopt_long(handle, CURLOPT_NOBODY, 1)
            default:
                _ = ccurl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
            }
            if uploadPath != nil {
                _ = ccurl_setopt_long(handle, CURLOPT_UPLOAD, 1)
                _ = ccurl_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(uploadSize))
                _ = ccurl_setopt_write_function(handle, CURLOPT_READFUNCTION, readCallback)
                _ = ccurl_setopt_pointer(handle, CURLOPT_READDATA, opaque)
                if request.method != "PUT" { _ = ccurl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method) }
            } else if request.body != nil {
                _ = ccurl_setopt_long(handle, CURLOPT_POST, 1)
                _ = ccurl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bodyBytes.count))
                // Non-nil even for an empty body so curl doesn't fall back to reading stdin.
                let pointer = bodyBytes.baseAddress ?? UnsafeRawPointer(errorPointer.baseAddress!)
                _ = ccurl_setopt_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: pointer))
                if request.method != "POST" {
                    _ = ccurl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
                }
            }
            _ = ccurl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)
            return curl_easy_perform(handle)
        }
    }
    let hadFile = sink.fileFD >= 0
    let closedCleanly = sink.closeFile()

    if code != CURLE_OK {
        let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        if let path, hadFile { unlink(path) }
        throw classify(code, url: url, message: message, sink: sink, path: path)
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
    var status = 0
    _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
    return HTTPClientResponse(status: status != 0 ? status : sink.status, headers: sink.headers, body: sink.body, url: url)
}

private func classify(_ code: CURLcode, url: String, message: String, sink: TransferSink, path: String?) -> HTTPClientError {
    switch code {
    case CURLE_COULDNT_CONNECT: return .couldNotConnect(url: url, message: message)
    case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: return .couldNotResolveHost(url: url, message: message)
    case CURLE_OPERATION_TIMEDOUT: return .timedOut(url: url, message: message)
    case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
         CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_USE_SSL_FAILED,
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

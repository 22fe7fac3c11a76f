internal import COpenSSL

/// A TLS client over a connected, blocking socket, through OpenSSL's libssl: TLS 1.2 or later, the peer's
/// certificate checked against the system's trust store (or `caFile`) and against the name we connected to.
///
/// Blocking by design: its users (the SMTP sender) run on a thread pool, never on an event loop. The socket stays
/// the caller's; the session only reads and writes it.
///
/// `@unchecked Sendable`: an SSL object must not be used from two threads at once; the one owner (an SMTP
/// connection) uses it from one thread at a time.
package final class TLSClientSession: @unchecked Sendable {
    private let context: OpaquePointer  // SSL_CTX*
    private let ssl: OpaquePointer  // SSL*

    /// Performs the TLS handshake on `socket`.
    /// - Parameters:
    ///   - socket: a connected TCP socket; its read/write timeouts bound the handshake too.
    ///   - serverName: the host we connected to: sent as SNI, and what the certificate must name (DNS name or IP).
    ///   - caFile: PEM file of trusted roots; nil for the system's (`/etc/ssl/certs`).
    /// - Throws: `TLSError` with OpenSSL's reason (e.g. "certificate verify failed").
    package init(socket: Int32, serverName: String, caFile: String?) throws(TLSError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw TLSError.fromQueue("SSL_CTX_new") }
        guard agora_SSL_CTX_set_min_tls12(context) == 1 else {
            SSL_CTX_free(context)
            throw TLSError.fromQueue("minimum TLS version")
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        let loaded = caFile.map { SSL_CTX_load_verify_locations(context, $0, nil) } ?? SSL_CTX_set_default_verify_paths(context)
        guard loaded == 1 else {
            SSL_CTX_free(context)
            throw TLSError.fromQueue("loading trusted certificates from \(caFile ?? "the system store")")
        }
        guard let ssl = SSL_new(context) else {
            SSL_CTX_free(context)
            throw TLSError.fromQueue("SSL_new")
        }
        self.context = context
        self.ssl = ssl
        // From here on deinit frees both.
        let isIP = serverName.contains(":") || serverName.allSatisfy { $0.isNumber || $0 == "." }
        if isIP {
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName) == 1 else { throw TLSError.fromQueue("peer address \(serverName)") }
        } else {
            guard agora_SSL_set_server_name(ssl, serverName) == 1, SSL_set1_host(ssl, serverName) == 1 else {
                throw TLSError.fromQueue("peer name \(serverName)")
            }
        }
        guard SSL_set_fd(ssl, socket) == 1 else { throw TLSError.fromQueue("SSL_set_fd") }
        let result = SSL_connect(ssl)
        guard result == 1 else {
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                throw TLSError(message: "TLS handshake failed: certificate verify failed (\(String(cString: X509_verify_cert_error_string(verify))))")
            }
            throw TLSError.fromQueue("TLS handshake", ssl: ssl, result: result)
        }
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    /// The negotiated protocol, e.g. `TLSv1.3`.
    package var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// Reads up to `buffer.count` bytes; 0 at a clean end of stream.
    package func read(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> Int {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return 0 }
        let count = SSL_read(ssl, base, Int32(min(buffer.count, Int(Int32.max))))
        if count > 0 { return Int(count) }
        if SSL_get_error(ssl, count) == SSL_ERROR_ZERO_RETURN { return 0 }
        throw TLSError.fromQueue("TLS read", ssl: ssl, result: count)
    }

    /// Writes all of `bytes`.
    package func write(_ bytes: [UInt8]) throws(TLSError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                SSL_write(ssl, raw.baseAddress! + offset, Int32(min(bytes.count - offset, Int(Int32.max))))
            }
            guard written > 0 else { throw TLSError.fromQueue("TLS write", ssl: ssl, result: written) }
            offset += Int(written)
        }
    }

    /// Sends TLS close_notify (best effort: the connection is closing either way).
    package func shutdown() {
        _ = SSL_shutdown(ssl)
    }
}

/// A TLS failure, with OpenSSL's reason.
package struct TLSError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package var description: String { message }

    /// `what` plus the oldest reason on OpenSSL's error queue (which is emptied, so it cannot leak into a later
    /// call on this thread).
    static func fromQueue(_ what: String, ssl: OpaquePointer? = nil, result: Int32 = 0) -> TLSError {
        // SSL_get_error reads the queue, so it goes first.
        let sslError = ssl.map { SSL_get_error($0, result) }
        var reason = ""
        let code = ERR_get_error()
        if code != 0 {
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &text, text.count)
            reason = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        } else if let sslError {
            switch sslError {
            case SSL_ERROR_SYSCALL: reason = "the connection failed or timed out"
            case SSL_ERROR_ZERO_RETURN: reason = "the peer closed the connection"
            default: reason = "SSL error \(sslError)"
            }
        }
        ERR_clear_error()
        return TLSError(message: reason.isEmpty ? "\(what) failed" : "\(what) failed: \(reason)")
    }
}

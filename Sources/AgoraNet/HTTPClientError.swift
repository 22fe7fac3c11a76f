/// Why an outgoing HTTP request got no response. Its message names the host and the reason, never a header or a
/// body (which may carry credentials).
package struct HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable {
        /// The request itself is unusable (a bad URL, a line break in a header).
        case invalidRequest
        /// No connection: the name does not resolve, or no address accepts.
        case connect
        /// The TLS handshake failed, e.g. the certificate is not trusted or not for this host.
        case tls
        /// Connecting, or the whole exchange after it, took longer than allowed.
        case timeout
        /// The connection broke, or the server's answer is not HTTP/1.1 as we read it.
        case protocolViolation
        /// The response is larger than the client accepts.
        case responseTooLarge
        /// The client is shut down.
        case shuttingDown
        /// The calling task was cancelled; the request may or may not have reached the server.
        case cancelled
    }

    package var kind: Kind
    package var message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }
}

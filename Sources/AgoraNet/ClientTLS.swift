import NIOCore
package import NIOSSL

/// The TLS settings of every outgoing connection (payment APIs, SMTP): the peer's certificate checked against the
/// system's roots or a PEM file of our own, and against the name we dialled; TLS 1.2 or later.
package enum ClientTLS {
    /// A client configuration with full verification.
    /// - Parameter caFile: PEM roots to trust instead of the system's (a private CA, a test's self-signed one).
    /// - Throws: `ClientTLSError` when the file cannot be read or holds no certificate.
    package static func configuration(caFile: String?) throws(ClientTLSError) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        tls.minimumTLSVersion = .tlsv12
        if let caFile {
            do {
                let roots = try NIOSSLCertificate.fromPEMFile(caFile)
                guard !roots.isEmpty else { throw ClientTLSError("the CA file \(caFile) holds no certificate") }
                tls.trustRoots = .certificates(roots)
            } catch let error as ClientTLSError {
                throw error
            } catch {
                throw ClientTLSError("cannot read the CA file \(caFile): \(error)")
            }
        }
        return tls
    }

    /// What a failed handshake means, in words an operator can act on: an untrusted certificate and one issued for
    /// another name are told apart from the rest, whose library text follows.
    static func explain(_ error: any Error) -> String {
        let text = String(describing: error)
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "the server's certificate is not for the name we connected to (certificate name mismatch)"
        }
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "the server's certificate is not trusted (certificate verify failed); set the CA file for a private CA"
        }
        return text
    }
}

/// The TLS side of `LineConnection`s to one server: the trust roots read and the context built once, for every
/// connection after.
package struct ClientTLSContext: Sendable {
    let context: NIOSSLContext

    /// - Parameter caFile: PEM roots to trust instead of the system's.
    /// - Throws: `LineConnectionError` `.tls` for a CA file that cannot be used.
    package init(caFile: String?) throws(LineConnectionError) {
        do {
            context = try NIOSSLContext(configuration: try ClientTLS.configuration(caFile: caFile))
        } catch let error as ClientTLSError {
            throw LineConnectionError(.tls, error.message)
        } catch {
            throw LineConnectionError(.tls, "cannot set up TLS: \(error)")
        }
    }
}

/// A CA file that cannot be used.
package struct ClientTLSError: Error, Sendable, CustomStringConvertible {
    package var message: String
    init(_ message: String) { self.message = message }
    package var description: String { message }
}

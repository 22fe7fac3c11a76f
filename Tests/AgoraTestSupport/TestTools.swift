package import Foundation

/// Where the tests find the repository and the foreign programs they run (interop peers, the SMTP server).
package enum TestTools {
    /// The checkout's root folder.
    package static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `AGORA_INTEROP_PYTHON` if set (scripts/test.sh sets it from scripts/interop-deps.sh), else the virtualenv
    /// that script makes when pip may not install into the system Python, else `python3` on PATH.
    package static func python() -> String? {
        if let chosen = ProcessInfo.processInfo.environment["AGORA_INTEROP_PYTHON"], !chosen.isEmpty { return chosen }
        let venv = repositoryRoot.appendingPathComponent(".local/venv/bin/python3").path
        if FileManager.default.isExecutableFile(atPath: venv) { return venv }
        return onPath("python3")
    }

    /// The first executable called `name` on PATH.
    package static func onPath(_ name: String) -> String? {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

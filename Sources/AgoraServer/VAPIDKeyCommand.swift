import AgoraApp
import ArgumentParser

/// `agora vapid-key`: prints a new VAPID private key for `AGORA_VAPID_PRIVATE_KEY` (production needs one; development
/// makes its own and keeps it in the data folder). Every instance must share it: browsers' subscriptions are bound to
/// its public half, so changing it ends every subscription.
struct VAPIDKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vapid-key", abstract: "Print a new VAPID private key (base64url) for AGORA_VAPID_PRIVATE_KEY."
    )

    func run() async throws {
        print(try Secrets.newVAPIDKey())
    }
}

/// The text of account mails. Plain text: every client renders it and nothing in it can be styled into a phishing
/// look-alike.
enum AccountMails {
    static func verification(to account: Account, link: String, lifetime: Duration) -> AccountMail {
        AccountMail(
            to: account.email,
            subject: "Confirm your email for Agora",
            text: """
                Hello \(account.displayName),

                Please confirm that this is your email address by opening this link:

                \(link)

                The link works once and expires in \(hours(lifetime)). If you did not sign up for Agora, ignore this mail.
                """
        )
    }

    static func passwordReset(to account: Account, link: String, lifetime: Duration) -> AccountMail {
        AccountMail(
            to: account.email,
            subject: "Reset your Agora password",
            text: """
                Hello \(account.displayName),

                Someone (hopefully you) asked to reset the password of your Agora account @\(account.username).
                To choose a new password, open this link:

                \(link)

                The link works once and expires in \(hours(lifetime)). Resetting logs you out everywhere.
                If you did not ask for this, ignore this mail: your password stays as it is.
                """
        )
    }

    private static func hours(_ lifetime: Duration) -> String {
        let minutes = Int(lifetime.components.seconds) / 60
        if minutes < 120 { return "\(minutes) minutes" }
        return "\(minutes / 60) hours"
    }
}

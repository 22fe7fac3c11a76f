package import AgoraCore
import Foundation

/// Where a physical order goes: typed at checkout, or copied from the buyer's address book (`AddressBook`).
///
/// Every address is checked by the same rules wherever it comes from (`problems(prefix:)`), and stored in the form
/// `normalized()` gives it:
/// - every field one line of text (no control, invisible or text-direction characters), within its length;
/// - `country`: ISO 3166-1 alpha-2, upper case;
/// - South Africa (`ZA`): `region` is one of the nine provinces (by name or by its code: `GP`, `KZN`, `WC`…), stored
///   by its name, and `postalCode` is four digits;
/// - elsewhere: `postalCode` is 2 to 12 letters, digits, spaces and hyphens with at least one letter or digit;
/// - `phone`, when given: digits with spaces, hyphens, dots, parentheses and one leading `+`, holding 6 to 15 digits
///   (E.164's length).
package struct ShippingAddress: Codable, Sendable, Equatable {
    package var name: String
    package var line1: String
    package var line2: String?
    package var city: String
    package var region: String?
    package var postalCode: String
    /// ISO 3166-1 alpha-2, upper case.
    package var country: String
    package var phone: String?

    package init(name: String, line1: String, line2: String? = nil, city: String, region: String? = nil, postalCode: String, country: String, phone: String? = nil) {
        self.name = name
        self.line1 = line1
        self.line2 = line2
        self.city = city
        self.region = region
        self.postalCode = postalCode
        self.country = country
        self.phone = phone
    }

    /// South Africa's nine provinces, by name, with the codes people write for them.
    package static let southAfricanProvinces: [(name: String, codes: [String])] = [
        ("Eastern Cape", ["EC"]), ("Free State", ["FS"]), ("Gauteng", ["GP", "GT"]), ("KwaZulu-Natal", ["KZN", "NL"]),
        ("Limpopo", ["LP"]), ("Mpumalanga", ["MP"]), ("North West", ["NW"]), ("Northern Cape", ["NC"]), ("Western Cape", ["WC"]),
    ]

    /// The province `text` names (any case, with or without spaces and hyphens, or its code), or nil.
    package static func southAfricanProvince(_ text: String) -> String? {
        let key = String(text.lowercased().unicodeScalars.filter { ("a"..."z").contains($0) }.map(Character.init))
        guard !key.isEmpty else { return nil }
        return southAfricanProvinces.first { province in
            province.name.lowercased().filter { $0.isLetter } == key || province.codes.contains { $0.lowercased() == key }
        }?.name
    }

    /// The address as it is stored: fields trimmed, empty optional fields dropped, the country upper case, a South
    /// African province by its name, the postal code upper case with single spaces.
    package func normalized() -> ShippingAddress {
        func trim(_ text: String) -> String { text.trimmingCharacters(in: .whitespacesAndNewlines) }
        func optional(_ text: String?) -> String? { text.map(trim).flatMap { $0.isEmpty ? nil : $0 } }
        let country = trim(country).uppercased()
        var region = optional(region)
        if country == "ZA", let named = region.flatMap(Self.southAfricanProvince) { region = named }
        let postalCode = trim(postalCode).uppercased().split(whereSeparator: { $0 == " " }).joined(separator: " ")
        return ShippingAddress(name: trim(name), line1: trim(line1), line2: optional(line2), city: trim(city), region: region,
                               postalCode: postalCode, country: country, phone: optional(phone))
    }

    /// Every problem of the address, by field (`prefix` + `.city`); empty when it is acceptable. Call it on the
    /// `normalized()` address: the country-specific rules read the normalized forms.
    package func problems(prefix: String = "shippingAddress") -> [String: String] {
        var problems: [String: String] = [:]
        func text(_ value: String?, _ field: String, required: Bool, max: Int) {
            let trimmed = value?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if trimmed.isEmpty {
                if required { problems["\(prefix).\(field)"] = "is required" }
            } else if TextPolicy.length(value ?? "") > max {
                problems["\(prefix).\(field)"] = "must be at most \(max) characters"
            } else if let problem = TextPolicy.nameProblem(trimmed) {
                problems["\(prefix).\(field)"] = problem.description
            }
        }
        text(name, "name", required: true, max: 100)
        text(line1, "line1", required: true, max: 200)
        text(line2, "line2", required: false, max: 200)
        text(city, "city", required: true, max: 100)
        text(region, "region", required: false, max: 100)
        text(postalCode, "postalCode", required: true, max: 20)
        text(phone, "phone", required: false, max: 30)
        guard country.utf8.count == 2 && country.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else {
            problems["\(prefix).country"] = "must be an ISO 3166 two-letter code such as ZA"
            return problems
        }
        if let phone, problems["\(prefix).phone"] == nil, !Self.isPhone(phone) {
            problems["\(prefix).phone"] = "must be a phone number of 6 to 15 digits, optionally starting with +"
        }
        guard problems["\(prefix).postalCode"] == nil, problems["\(prefix).region"] == nil else { return problems }
        if country == "ZA" {
            if !(postalCode.utf8.count == 4 && postalCode.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
                problems["\(prefix).postalCode"] = "must be a South African postal code of four digits"
            }
            if region.flatMap(Self.southAfricanProvince) == nil {
                let names = Self.southAfricanProvinces.map(\.name).joined(separator: ", ")
                problems["\(prefix).region"] = region == nil ? "is required in South Africa (the province)" : "must be a South African province: \(names)"
            }
        } else if !Self.isPostalCode(postalCode) {
            problems["\(prefix).postalCode"] = "must be 2 to 12 letters, digits, spaces and hyphens"
        }
        return problems
    }

    static func isPostalCode(_ text: String) -> Bool {
        let scalars = text.unicodeScalars
        return (2...12).contains(scalars.count) && scalars.contains { $0 != " " && $0 != "-" }
            && scalars.allSatisfy { ("0"..."9").contains($0) || ("A"..."Z").contains($0) || ("a"..."z").contains($0) || $0 == " " || $0 == "-" }
    }

    static func isPhone(_ text: String) -> Bool {
        var digits = 0
        for (index, scalar) in text.unicodeScalars.enumerated() {
            switch scalar {
            case "0"..."9": digits += 1
            case "+" where index == 0, " ", "-", ".", "(", ")": continue
            default: return false
            }
        }
        return (6...15).contains(digits)
    }
}

// E-mail addresses: one rule for the directory's read, sms-directory's write and [mail] from.
#include "core/address.hpp"

#include "util/text.hpp"

#include <fmt/format.h>

namespace sms::address {

namespace {

bool is_alnum(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_atext(char c) noexcept {
    return is_alnum(c) || std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

} // namespace

std::string domain_problem(std::string_view d) {
    if (d.empty())
        return "empty domain";
    if (d.size() > 253)
        return fmt::format("domain '{}...' is longer than 253 bytes",
                           text::escape_controls(d.substr(0, 40)));
    std::string_view rest = d;
    while (true) {
        auto dot = rest.find('.');
        auto label = rest.substr(0, dot);
        bool ok =
            !label.empty() && label.size() <= 63 && label.front() != '-' && label.back() != '-';
        for (char c : label)
            ok = ok && (is_alnum(c) || c == '-');
        if (!ok)
            return fmt::format("'{}' is not a domain name (labels of letters, digits and '-', "
                               "separated by dots)",
                               text::escape_controls(d));
        if (dot == std::string_view::npos)
            return {};
        rest.remove_prefix(dot + 1);
    }
}

std::string problem(std::string_view a) {
    if (a.empty())
        return "empty address";
    auto shown = [&] { return text::escape_controls(a.substr(0, 80)); };
    if (a.size() > 254)
        return fmt::format("address '{}...' is longer than 254 bytes", shown());
    auto at = a.rfind('@');
    if (at == std::string_view::npos)
        return fmt::format("'{}' is not an e-mail address (local@domain)", shown());
    auto local = a.substr(0, at);
    bool ok = !local.empty() && local.size() <= 64 && local.front() != '.' && local.back() != '.' &&
              local.find("..") == std::string_view::npos;
    for (char c : local)
        ok = ok && (is_atext(c) || c == '.');
    if (!ok)
        return fmt::format("'{}' is not an e-mail address: the part before '@' must be letters, "
                           "digits, dots (not at either end, not two together) and "
                           "!#$%&'*+-/=?^_`{{|}}~, at most 64",
                           shown());
    if (auto p = domain_problem(a.substr(at + 1)); !p.empty())
        return fmt::format("'{}' is not an e-mail address: {}", shown(), p);
    return {};
}

std::string_view local_part(std::string_view a) {
    auto at = a.rfind('@');
    return at == std::string_view::npos ? a : a.substr(0, at);
}

std::string_view domain(std::string_view a) {
    auto at = a.rfind('@');
    return at == std::string_view::npos ? std::string_view{} : a.substr(at + 1);
}

} // namespace sms::address

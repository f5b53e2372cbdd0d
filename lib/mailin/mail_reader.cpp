// sms-mail-in's MIME side: the mail parsed by GMime 3, its sender and its text part in UTF-8.
#include "mailin/mailin.hpp"
#include "util/error.hpp"
#include "util/utf8.hpp"

#include <fmt/format.h>
#include <gmime/gmime.h>
#include <memory>

namespace sms::mailin {

namespace {

struct Unref {
    void operator()(void* p) const noexcept {
        if (p)
            g_object_unref(p);
    }
};
template <typename T>
using Ref = std::unique_ptr<T, Unref>;

void init_once() {
    static const bool done = [] {
        g_mime_init();
        return true;
    }();
    (void)done;
}

// Bytes in an unknown or wrong charset, read as Windows-1252 (a superset of Latin-1 that mail
// clients send mislabelled most often): every byte becomes a character, none is lost.
std::string from_cp1252(std::string_view s) {
    static constexpr char16_t high[32] = {
        0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};
    std::string out;
    for (unsigned char c : s) {
        if (c < 0x80)
            out += static_cast<char>(c);
        else
            utf8::append(out, c < 0xA0 ? char32_t(high[c - 0x80]) : char32_t(c));
    }
    return out;
}

std::string first_address(InternetAddressList* list) {
    if (!list)
        return {};
    for (int i = 0; i < internet_address_list_length(list); ++i) {
        InternetAddress* a = internet_address_list_get_address(list, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
            const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
            if (addr && *addr)
                return addr;
        } else if (INTERNET_ADDRESS_IS_GROUP(a)) {
            if (auto s =
                    first_address(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)));
                !s.empty())
                return s;
        }
    }
    return {};
}

bool is_attachment(GMimeObject* part) {
    const char* d = g_mime_object_get_disposition(part);
    return d && g_ascii_strcasecmp(d, GMIME_DISPOSITION_ATTACHMENT) == 0;
}

// The first text part of `subtype` ("plain" or "html") in document order, not an attachment and
// not inside an attached message.
GMimeTextPart* find_text(GMimeObject* obj, const char* subtype) {
    if (!obj)
        return nullptr;
    if (GMIME_IS_MULTIPART(obj)) {
        auto* mp = GMIME_MULTIPART(obj);
        for (int i = 0; i < g_mime_multipart_get_count(mp); ++i)
            if (auto* t = find_text(g_mime_multipart_get_part(mp, i), subtype))
                return t;
        return nullptr;
    }
    if (!GMIME_IS_TEXT_PART(obj) || is_attachment(obj))
        return nullptr;
    GMimeContentType* ct = g_mime_object_get_content_type(obj);
    return ct && g_mime_content_type_is_type(ct, "text", subtype) ? GMIME_TEXT_PART(obj) : nullptr;
}

std::string text_of(GMimeTextPart* part) {
    std::unique_ptr<char, decltype(&g_free)> raw(g_mime_text_part_get_text(part), &g_free);
    std::string s = raw ? std::string(raw.get()) : std::string();
    // GMime converts a charset iconv knows; one it does not (or bytes that are not what the label
    // says) come through as they are.
    if (!utf8::is_valid(s))
        s = from_cp1252(s);
    return s;
}

} // namespace

Read read_mail(std::string_view bytes) {
    init_once();
    // exim's pipe transport (and procmail, and mbox) put a "From sender date" line first.
    if (bytes.starts_with("From ")) {
        auto nl = bytes.find('\n');
        bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
    }
    // The stream copies the bytes (GMime streams own their buffer).
    Ref<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
    Ref<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
    Ref<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), nullptr));
    if (!msg)
        throw Error(Exit::dataerr, "mail", "not an RFC 5322 message");
    Read r;
    r.from = first_address(g_mime_message_get_from(msg.get()));
    r.to = first_address(g_mime_message_get_to(msg.get()));
    GMimeObject* body = g_mime_message_get_mime_part(msg.get());
    if (auto* plain = find_text(body, "plain")) {
        r.text = text_of(plain);
    } else if (auto* html = find_text(body, "html")) {
        r.text = html_to_text(text_of(html));
        r.html = true;
    }
    return r;
}

std::string library_versions() {
    return fmt::format("GMime {}.{}.{}", gmime_major_version, gmime_minor_version,
                       gmime_micro_version);
}

} // namespace sms::mailin

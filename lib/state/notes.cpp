// The reason note beside a dead letter (NAME.why): its one writer and its one reader.
#include "state/notes.hpp"

#include "state/read.hpp"

namespace sms::state {

namespace {
constexpr std::string_view suffix = ".why";
} // namespace

std::string note_name(std::string_view name) {
    std::string out(name);
    out += suffix;
    return out;
}

std::optional<std::string_view> noted_name(std::string_view note) {
    if (note.size() <= suffix.size() || !note.ends_with(suffix))
        return std::nullopt;
    return note.substr(0, note.size() - suffix.size());
}

std::string note_text(std::string_view why) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(why.size() + 1);
    for (char c : why) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) {
            out += "\\x";
            out += digits[u >> 4];
            out += digits[u & 0xF];
        } else {
            out += c;
        }
    }
    out += '\n';
    return out;
}

fs::PlannedFile note(const std::string& dir, const std::string& name, std::string_view why) {
    fs::PlannedFile f;
    f.dir = dir;
    f.name = note_name(name);
    f.content = note_text(why);
    f.replace = true;
    return f;
}

std::string read_note(const std::string& path) {
    const std::string s = read_head(note_name(path), 4096);
    return s.substr(0, s.find('\n')); // a copy of the line's size: kept per item by a listing
}

} // namespace sms::state

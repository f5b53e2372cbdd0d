// The Asterisk-style INI reader and the typed settings of SPEC 5.
#include "core/config.hpp"

#include "asterisk/callfile.hpp"
#include "asterisk/spool.hpp"
#include "core/address.hpp"
#include "core/config_internal.hpp"
#include "core/quiet.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fcntl.h>
#include <fmt/format.h>
#include <functional>
#include <sys/stat.h>
#include <unistd.h>

namespace sms {

std::string Config::morx_dir() const {
    return fs::join(general.spool_dir, "sms/morx");
}
std::string Config::mttx_dir() const {
    return fs::join(general.spool_dir, "sms/mttx");
}
std::string Config::outgoing_dir() const {
    return fs::join(general.spool_dir, "outgoing");
}
std::string Config::bad_dir() const {
    return general.bad_dir.empty() ? fs::join(morx_dir(), "bad") : general.bad_dir;
}
std::string Config::failed_dir() const {
    return general.failed_dir.empty() ? fs::join(morx_dir(), "failed") : general.failed_dir;
}

namespace {

bool known_section(std::string_view s) {
    for (const auto& k : keys())
        if (k.section == s)
            return true;
    return false;
}

// A [commands] key that is not a setting is a command word.
void set_command_word(Config& c, std::string_view key, std::string_view value) {
    for (char ch : key)
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            throw BadValue{"a command word is letters, digits, _ and - only"};
    if (value.starts_with("builtin:")) {
        auto b = value.substr(8);
        if (b != "help" && b != "uptime" && b != "echo")
            throw BadValue{fmt::format("unknown built-in '{}' (help, uptime, echo)", b)};
    } else if (value.starts_with("exec:")) {
        auto cmd = text::trim(value.substr(5));
        if (cmd.empty() || cmd.front() != '/')
            throw BadValue{"exec: needs an absolute program path"};
    } else if (value.empty()) {
        throw BadValue{"empty reply"};
    }
    std::string word(key);
    for (char& ch : word)
        if (ch >= 'a' && ch <= 'z')
            ch = static_cast<char>(ch - 'a' + 'A');
    c.commands.words[word] = std::string(value);
}

// The value part of a line: ';' starts a comment unless escaped as "\;"; surrounding double
// quotes keep leading and trailing spaces.
std::string value_of(std::string_view raw) {
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\\' && i + 1 < raw.size() && raw[i + 1] == ';') {
            out.push_back(';');
            ++i;
        } else if (raw[i] == ';') {
            break;
        } else {
            out.push_back(raw[i]);
        }
    }
    std::string_view v = text::trim(out);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
        v = v.substr(1, v.size() - 2);
    return std::string(v);
}

} // namespace

Config parse_config(std::string_view text, std::string_view name) {
    Config c;
    c.source = std::string(name);
    std::string section;
    std::size_t line_no = 0;
    // Where each section and key was first given: a second one is an error naming both lines
    // (merging them silently would let a forgotten line decide).
    std::map<std::string, std::size_t> section_at, key_at;
    auto fail = [&](std::string_view key, std::string why) {
        throw Error(Exit::config,
                    key.empty() ? fmt::format("{}:{}", name, line_no)
                                : fmt::format("{}:{}: {}", name, line_no, key),
                    std::move(why));
    };
    while (!text.empty()) {
        ++line_no;
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.find('\0') != std::string_view::npos)
            fail("", "binary data (NUL byte) in the file");
        line = text::trim(line);
        if (line.empty() || line.front() == ';')
            continue;
        if (line.front() == '[') {
            auto close = line.find(']');
            if (close == std::string_view::npos)
                fail("", fmt::format("section header without ']': '{}'", line));
            auto rest = text::trim(line.substr(close + 1));
            if (!rest.empty() && rest.front() != ';')
                fail("", fmt::format("templates and text after a section header are not "
                                     "supported: '{}'",
                                     line));
            section = text::lower(text::trim(line.substr(1, close - 1)));
            if (!known_section(section))
                fail("", fmt::format("unknown section [{}]", section));
            if (auto [it, fresh] = section_at.emplace(section, line_no); !fresh)
                fail("", fmt::format("section [{}] given again: it is at {}:{} already", section,
                                     name, it->second));
            continue;
        }
        auto eq = line.find('=');
        if (eq == std::string_view::npos)
            fail("", fmt::format("expected 'key = value', got '{}'", line));
        auto key = text::lower(text::trim(line.substr(0, eq)));
        auto raw = line.substr(eq + 1);
        if (!raw.empty() && raw.front() == '>') // Asterisk's "key => value"
            raw.remove_prefix(1);
        if (section.empty())
            fail(key, "setting before any [section]");
        if (auto [it, fresh] = key_at.emplace(section + "\n" + key, line_no); !fresh)
            fail(key, fmt::format("[{}] {} given again: it is at {}:{} already", section, key, name,
                                  it->second));
        auto value = value_of(raw);
        try {
            bool done = false;
            for (const auto& k : keys()) {
                if (k.section == section && k.name == key) {
                    k.set(c, value);
                    done = true;
                    break;
                }
            }
            if (!done) {
                if (section == "commands")
                    set_command_word(c, key, value);
                else
                    fail(key, fmt::format("unknown key in [{}]", section));
            }
        } catch (const BadValue& b) {
            fail(key, b.why);
        }
    }
    if (c.fax.minrate > c.fax.maxrate)
        throw Error(Exit::config, fmt::format("{}: [fax] minrate", name), "greater than maxrate");
    return c;
}

namespace {

// sshd's StrictModes for what decides what the suite runs: a file writable by its group or by
// others, or owned by another user than root or the one running the tool, is refused.
void check_trusted(const std::string& path, const struct stat& st, std::string_view what) {
    auto refuse = [&](std::string why) {
        throw Error(Exit::config, fmt::format("{} {}", what, path),
                    fmt::format("{}: refused, it decides what the suite runs (as sshd's "
                                "StrictModes)",
                                why));
    };
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
        refuse(fmt::format("owned by uid {}, neither root nor the running user (uid {})", st.st_uid,
                           ::geteuid()));
    if (st.st_mode & S_IWOTH)
        refuse(fmt::format("writable by others (mode {:04o})", st.st_mode & 07777));
    if (st.st_mode & S_IWGRP)
        refuse(fmt::format("writable by its group (mode {:04o})", st.st_mode & 07777));
}

// A file the configuration names for the suite to run or load: checked when it exists (a
// missing one is the error of whoever uses it). Only a regular file: a FIFO would block its
// reader for ever, a device never end.
void check_named(const std::string& path, std::string_view what) {
    struct stat st;
    if (path.empty() || ::stat(path.c_str(), &st) != 0)
        return;
    if (!S_ISREG(st.st_mode))
        throw Error(Exit::config, fmt::format("{} {}", what, path),
                    fmt::format("{}, not a regular file: refused", fs::file_kind(st.st_mode)));
    check_trusted(path, st, what);
}

// The configuration file itself: a regular file (a FIFO or a device would hang or never end),
// trusted, read whole.
std::string read_config_file(const std::string& path) {
    struct stat st;
    fs::Fd fd = fs::open_regular(path, Exit::config, st);
    check_trusted(path, st, "configuration file");
    return fs::read_all(fd, st, path, 1u << 20, Exit::config, "configuration file");
}

} // namespace

void check_named_files(const Config& c) {
    for (const auto& [word, action] : c.commands.words)
        if (action.starts_with("exec:")) {
            auto rest = text::trim(std::string_view(action).substr(5), " \t");
            auto end = rest.find_first_of(" \t");
            check_named(std::string(rest.substr(0, end)),
                        fmt::format("[commands] {} program", word));
        }
    if (!c.general.bin_dir.empty())
        for (const char* tool : {"sms2fax", "sms2voice"})
            check_named(fs::join(c.general.bin_dir, tool), "[general] bin_dir program");
    check_named(c.fax.font, "[fax] font");
    for (const auto& f : c.fax.fallback_fonts)
        check_named(f, "[fax] fallback_fonts font");
    check_named(c.fax.logo, "[fax] logo");
    check_named(c.mail.sendmail, "[mail] sendmail program");
}

Config load_config(const std::string& path) {
    std::string text = read_config_file(path);
    Config c = parse_config(text, path);
    check_named_files(c);
    if (!c.directory.password.empty() || !c.ami.secret.empty()) {
        struct stat st;
        if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH)))
            throw Error(Exit::config, path,
                        "holds a password or secret but is accessible by others "
                        "(chmod o-rwx)");
    }
    return c;
}

Config load_config_for(const std::string& explicit_path) {
    if (!explicit_path.empty())
        return load_config(explicit_path);
    if (const char* env = std::getenv("SMS_SUITE_CONF"); env && *env)
        return load_config(env);
    std::string def(default_config_path);
    if (fs::exists(def))
        return load_config(def);
    return Config{};
}

std::vector<std::string> known_config_keys() {
    std::vector<std::string> out;
    for (const auto& k : keys())
        out.push_back(fmt::format("{}.{}", k.section, k.name));
    return out;
}

} // namespace sms

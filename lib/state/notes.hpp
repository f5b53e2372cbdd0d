// The reason note beside a dead letter or a quarantined file: NAME.why in sms/morx/failed/ or
// sms/morx/bad/, one line saying why NAME is there, for the administrator (sms-queue shows it).
// Written and read here alone, escaped one way.
//
// The format: the reason on one line, each control character (below 0x20, and 0x7F) as \xNN
// with upper-case hex digits, then a line feed. Nothing else is escaped, so the note reads as
// the reason did. Older versions wrote some notes with lower-case digits and a backslash
// doubled (fax and voice dead letters): they are read as they are, like every note, since the
// reader returns the line as written and never decodes it.
#pragma once

#include "util/fsutil.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace sms::state {

// "NAME.why": the note of the file NAME.
std::string note_name(std::string_view name);
// The NAME a note belongs to ("x.why" -> "x"); nullopt for a name that is not a note's.
std::optional<std::string_view> noted_name(std::string_view note);

// The note's content for `why`: one line, then a line feed.
std::string note_text(std::string_view why);

// The note beside `name` in `dir`, as a file to commit with the move that puts NAME there (the
// journal writes both or neither); it replaces an older note of the same name.
fs::PlannedFile note(const std::string& dir, const std::string& name, std::string_view why);

// The reason noted beside the file `path`: the first line of `path`.why as written, at most 4 KiB
// read; "" when there is none or it cannot be read. Never follows a symbolic link, never waits
// on a FIFO.
std::string read_note(const std::string& path);

} // namespace sms::state

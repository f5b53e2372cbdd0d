// Loading the suite's own modules (lib/sms-suite/*.so) on first use, so that a tool pays for
// ICU or libmariadb (about 2 ms and 9 shared libraries at every start) only when it needs them.
#pragma once

#include <string>

namespace sms::plugin {

// The address of `symbol` in module `name` (e.g. "sms-translit"), loading the module on the
// first call. Searched in $SMS_SUITE_PLUGIN_DIR, <binary>/../lib/sms-suite, the build tree, and
// <prefix>/lib/sms-suite. Throws Error(software) naming the module and dlerror().
void* symbol(const std::string& name, const char* symbol);

// Where module `name` would be loaded from ("" when not found).
std::string find(const std::string& name);

} // namespace sms::plugin

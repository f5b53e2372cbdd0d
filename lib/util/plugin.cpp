// Finding and loading the suite's modules with dlopen.
#include "util/plugin.hpp"

#include "util/error.hpp"
#include "util/fsutil.hpp"

#include <climits>
#include <cstdlib>
#include <dlfcn.h>
#include <fmt/format.h>
#include <map>
#include <mutex>
#include <unistd.h>

namespace sms::plugin {

namespace {

std::string self_dir() {
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    return n > 0 ? fs::dirname(std::string(buf, static_cast<std::size_t>(n))) : ".";
}

} // namespace

std::string find(const std::string& name) {
    std::string file = name + ".so";
    std::vector<std::string> dirs;
    if (const char* env = std::getenv("SMS_SUITE_PLUGIN_DIR"); env && *env)
        dirs.emplace_back(env);
    dirs.push_back(fs::join(self_dir(), "../lib/sms-suite"));
#ifdef SMS_PLUGIN_BUILD_DIR
    dirs.emplace_back(SMS_PLUGIN_BUILD_DIR);
#endif
#ifdef SMS_PLUGIN_INSTALL_DIR
    dirs.emplace_back(SMS_PLUGIN_INSTALL_DIR);
#endif
    for (const auto& d : dirs)
        if (fs::exists(fs::join(d, file)))
            return fs::join(d, file);
    return "";
}

void* symbol(const std::string& name, const char* sym) {
    static std::mutex mutex;
    static std::map<std::string, void*> handles;
    std::lock_guard lock(mutex);
    void*& h = handles[name];
    if (!h) {
        std::string path = find(name);
        if (path.empty())
            throw Error(Exit::software, name + ".so",
                        "module not found (installed in lib/sms-suite beside bin/?)");
        h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!h)
            throw Error(Exit::software, path, ::dlerror());
    }
    void* p = ::dlsym(h, sym);
    if (!p)
        throw Error(Exit::software, fmt::format("{}.so: {}", name, sym), "symbol not found");
    return p;
}

} // namespace sms::plugin

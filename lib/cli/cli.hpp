// The shared front end of every tool: options, --help/--version, config, logging, exit codes.
// Only cli.cpp includes CLI11 (it costs ~20 s of compile time per file that does).
#pragma once

#include "core/config.hpp"
#include "util/error.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sms::cli {

// What a tool's body gets once the command line and the configuration are read.
struct Context {
    std::string tool;
    Config config;
    int verbose = 0;
};

class App;

// A handle on one declared option, to refine it.
class Option {
public:
    Option& required();
    Option& excludes(const Option& other);
    Option& needs(const Option& other);
    Option& choices(std::vector<std::string> allowed);
    Option& type_name(std::string_view name);
    Option& range(long lo, long hi);
    // Whether it was given on the command line (after parsing).
    bool given() const;

private:
    friend class App;
    explicit Option(void* o)
        : opt_(o) {}
    void* opt_;
};

class App {
public:
    App(std::string name, std::string description);
    ~App();
    App(const App&) = delete;
    App& operator=(const App&) = delete;

    // What --version lists besides fmt and CLI11, e.g. "libtiff 4.5.0". Called only when
    // --version is asked: reading a version may load a library the tool otherwise avoids.
    void add_version(std::function<std::string()> line);
    void add_version_list(std::function<std::vector<std::string>()> lines);
    // Text after the options in --help.
    void footer(std::string text);

    Option option(std::string_view flags, std::string& into, std::string_view help);
    Option option(std::string_view flags, std::optional<std::string>& into, std::string_view help);
    Option option(std::string_view flags, int& into, std::string_view help);
    Option option(std::string_view flags, std::optional<int>& into, std::string_view help);
    Option option(std::string_view flags, std::optional<unsigned>& into, std::string_view help);
    Option option(std::string_view flags, double& into, std::string_view help);
    Option option(std::string_view flags, std::vector<std::string>& into, std::string_view help);
    Option flag(std::string_view flags, bool& into, std::string_view help);
    // --name/--no-name pair; `into` keeps its value when neither is given.
    void flag_pair(std::string_view name, std::optional<bool>& into, std::string_view help_on,
                   std::string_view help_off);
    Option positional(std::string_view name, std::string& into, std::string_view help);
    Option positional(std::string_view name, std::vector<std::string>& into, std::string_view help);

    // Parses, loads the configuration, opens the log, runs `body` and turns everything it
    // throws into the suite's exit code and a "<tool>: error: <what>: <why>" line.
    int run(int argc, char** argv, const std::function<int(Context&)>& body);

    const std::string& name() const { return name_; }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string name_;
};

// The reusable option groups (osmium-tool's mixins).
// --spool DIR: overrides [general] spool_dir.
void add_spool_option(App& app, std::optional<std::string>& spool);
// --text T (or stdin when absent or "-"); read with read_text().
Option add_text_option(App& app, std::optional<std::string>& text);
// The text from --text, or all of stdin.
// Throws Error(dataerr) for a text longer than spool::max_text_bytes (the suite's one limit).
std::string read_text(const std::optional<std::string>& text);

// "<tool>: error: <what>: <why>" on stderr (and syslog).
void print_error(std::string_view tool, const Error& e);

} // namespace sms::cli

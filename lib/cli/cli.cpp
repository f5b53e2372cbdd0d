// The shared front end over CLI11: the only file that includes it.
#include "cli/cli.hpp"

#include "asterisk/spool.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <iterator>
#include <new>
#include <unistd.h>

namespace sms::cli {

namespace {

CLI::Option* opt(void* o) {
    return static_cast<CLI::Option*>(o);
}

std::string fmt_version() {
    return fmt::format("fmt {}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100,
                       FMT_VERSION % 100);
}

} // namespace

struct App::Impl {
    CLI::App app;
    std::vector<std::function<std::vector<std::string>()>> versions;
    std::string config_path;
    int verbose = 0;
    Impl(const std::string& description, const std::string& name)
        : app(description, name) {}
};

Option& Option::required() {
    opt(opt_)->required();
    return *this;
}
Option& Option::excludes(const Option& other) {
    opt(opt_)->excludes(opt(other.opt_));
    return *this;
}
Option& Option::needs(const Option& other) {
    opt(opt_)->needs(opt(other.opt_));
    return *this;
}
Option& Option::choices(std::vector<std::string> allowed) {
    opt(opt_)->check(CLI::IsMember(std::move(allowed)));
    return *this;
}
Option& Option::type_name(std::string_view name) {
    opt(opt_)->type_name(std::string(name));
    return *this;
}
Option& Option::range(long lo, long hi) {
    opt(opt_)->check(CLI::Range(lo, hi));
    return *this;
}
bool Option::given() const {
    return opt(opt_)->count() > 0;
}

App::App(std::string name, std::string description)
    : impl_(std::make_unique<Impl>(description, name))
    , name_(std::move(name)) {
    auto& app = impl_->app;
    app.option_defaults()->always_capture_default(false);
    app.set_help_flag("-h,--help", "Print this help and exit");
    app.set_version_flag(
        "--version",
        [this] {
            std::string v = fmt::format("{} (sms-suite) {}\nlibraries: {}, CLI11 {}", name_,
                                        SMS_SUITE_VERSION, fmt_version(), CLI11_VERSION);
            for (const auto& lines : impl_->versions)
                for (const auto& line : lines())
                    v += ", " + line;
            return v;
        },
        "Print the version and the libraries linked, and exit");
    app.add_option("-c,--config", impl_->config_path,
                   "Configuration file (default: $SMS_SUITE_CONF, else "
                   "/etc/asterisk/sms-suite.conf)")
        ->type_name("FILE");
    app.add_flag("-v,--verbose", impl_->verbose, "Log to stderr too (repeat for debug messages)");
}

App::~App() = default;

void App::add_version(std::function<std::string()> line) {
    impl_->versions.push_back([line] { return std::vector<std::string>{line()}; });
}
void App::add_version_list(std::function<std::vector<std::string>()> lines) {
    impl_->versions.push_back(std::move(lines));
}
void App::footer(std::string text) {
    impl_->app.footer(std::move(text));
}

Option App::option(std::string_view flags, std::string& into, std::string_view help) {
    return Option(
        impl_->app.add_option(std::string(flags), into, std::string(help))->type_name("TEXT"));
}

Option App::option(std::string_view flags, std::optional<std::string>& into,
                   std::string_view help) {
    return Option(
        impl_->app
            .add_option_function<std::string>(
                std::string(flags), [&into](const std::string& v) { into = v; }, std::string(help))
            ->type_name("TEXT"));
}

Option App::option(std::string_view flags, int& into, std::string_view help) {
    return Option(
        impl_->app.add_option(std::string(flags), into, std::string(help))->type_name("N"));
}

Option App::option(std::string_view flags, std::optional<int>& into, std::string_view help) {
    return Option(
        impl_->app
            .add_option_function<int>(
                std::string(flags), [&into](const int& v) { into = v; }, std::string(help))
            ->type_name("N"));
}

Option App::option(std::string_view flags, std::optional<unsigned>& into, std::string_view help) {
    return Option(
        impl_->app
            .add_option_function<unsigned>(
                std::string(flags), [&into](const unsigned& v) { into = v; }, std::string(help))
            ->type_name("N"));
}

Option App::option(std::string_view flags, double& into, std::string_view help) {
    return Option(
        impl_->app.add_option(std::string(flags), into, std::string(help))->type_name("NUM"));
}

Option App::option(std::string_view flags, std::vector<std::string>& into, std::string_view help) {
    auto* o = impl_->app.add_option(std::string(flags), into, std::string(help));
    o->type_name("TEXT")->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    return Option(o);
}

Option App::flag(std::string_view flags, bool& into, std::string_view help) {
    return Option(impl_->app.add_flag(std::string(flags), into, std::string(help)));
}

void App::flag_pair(std::string_view name, std::optional<bool>& into, std::string_view help_on,
                    std::string_view help_off) {
    auto* on = impl_->app.add_flag_callback(
        fmt::format("--{}", name), [&into] { into = true; }, std::string(help_on));
    auto* off = impl_->app.add_flag_callback(
        fmt::format("--no-{}", name), [&into] { into = false; }, std::string(help_off));
    on->excludes(off);
}

Option App::positional(std::string_view name, std::string& into, std::string_view help) {
    return Option(impl_->app.add_option(std::string(name), into, std::string(help)));
}

Option App::positional(std::string_view name, std::vector<std::string>& into,
                       std::string_view help) {
    return Option(impl_->app.add_option(std::string(name), into, std::string(help)));
}

void print_error(std::string_view tool, const Error& e) {
    std::string line = e.subject().empty() ? e.reason() : e.subject() + ": " + e.reason();
    fmt::print(stderr, "{}: error: {}\n", tool, text::escape_controls(line));
    std::fflush(stderr);
    log::write(log::Level::error, line, /*mirror=*/false);
}

int App::run(int argc, char** argv, const std::function<int(Context&)>& body) {
    auto& app = impl_->app;
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        fmt::print("{}", app.help());
        return 0;
    } catch (const CLI::CallForAllHelp&) {
        fmt::print("{}", app.help("", CLI::AppFormatMode::All));
        return 0;
    } catch (const CLI::CallForVersion& e) {
        fmt::print("{}\n", e.what());
        return 0;
    } catch (const CLI::ParseError& e) {
        fmt::print(stderr, "{}: error: {}\nTry '{} --help' for more information.\n", name_,
                   text::escape_controls(e.what()), name_);
        return code(Exit::usage);
    }

    Context ctx;
    ctx.tool = name_;
    ctx.verbose = impl_->verbose;
    log::init(name_, "user", ctx.verbose);
    try {
        ctx.config = load_config_for(impl_->config_path);
        log::init(name_, ctx.config.general.syslog_facility, ctx.verbose);
        return body(ctx);
    } catch (const Error& e) {
        print_error(name_, e);
        return code(e.exit());
    } catch (const std::bad_alloc&) {
        print_error(name_, Error(Exit::tempfail, "", "out of memory"));
        return code(Exit::tempfail);
    } catch (const std::exception& e) {
        print_error(name_, Error(Exit::software, "internal error", e.what()));
        return code(Exit::software);
    }
}

void add_spool_option(App& app, std::optional<std::string>& spool) {
    app.option("--spool", spool, "Asterisk's spool folder (default: [general] spool_dir)")
        .type_name("DIR");
}

Option add_text_option(App& app, std::optional<std::string>& text) {
    return app.option("--text", text, "The message text (default, or '-': read stdin)")
        .type_name("TEXT");
}

std::string read_text(const std::optional<std::string>& text) {
    if (text && *text != "-") {
        spool::check_text_length(*text, "--text");
        return *text;
    }
    std::string all;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw_errno(Exit::noinput, "stdin", errno);
        }
        all.append(buf, static_cast<std::size_t>(n));
        if (all.size() > spool::max_text_bytes)
            break; // refused below without reading the rest
    }
    spool::check_text_length(all, "text on stdin");
    return all;
}

} // namespace sms::cli

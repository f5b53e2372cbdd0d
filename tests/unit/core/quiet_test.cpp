// Tests of lib/quiet: the window's parsing, calls moved to its end across midnight and across a
// daylight-saving change (TZ=Europe/Warsaw), and the services it applies to.
#include "core/quiet.hpp"
#include "util/error.hpp"

#include <cstdlib>
#include <ctime>
#include <gtest/gtest.h>

using namespace sms;

namespace {

// Sets TZ for the test and restores it after.
struct Zone {
    std::string old;
    bool had = false;
    explicit Zone(const char* tz) {
        if (const char* o = std::getenv("TZ")) {
            old = o;
            had = true;
        }
        ::setenv("TZ", tz, 1);
        ::tzset();
    }
    ~Zone() {
        if (had)
            ::setenv("TZ", old.c_str(), 1);
        else
            ::unsetenv("TZ");
        ::tzset();
    }
};

// Epoch seconds of a UTC date-time.
std::int64_t utc(int y, int mo, int d, int h, int mi) {
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return static_cast<std::int64_t>(::timegm(&tm));
}

std::optional<std::int64_t> until(const quiet::Window& w, std::int64_t t) {
    auto r = quiet::deferred_until(w, quiet::Clock::from_time_t(static_cast<std::time_t>(t)));
    if (!r)
        return std::nullopt;
    return static_cast<std::int64_t>(quiet::Clock::to_time_t(*r));
}

} // namespace

TEST(Quiet, Parse) {
    auto w = quiet::parse("21:00-08:00");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->start, 21 * 60);
    EXPECT_EQ(w->end, 8 * 60);
    EXPECT_TRUE(quiet::parse("12:30 - 13:45"));
    EXPECT_FALSE(quiet::parse("21:00"));
    EXPECT_FALSE(quiet::parse("24:00-08:00"));
    EXPECT_FALSE(quiet::parse("21:60-08:00"));
    EXPECT_FALSE(quiet::parse("9:00-10:00"));
    EXPECT_FALSE(quiet::parse("08:00-08:00"));
    EXPECT_FALSE(quiet::parse(""));
    EXPECT_EQ(quiet::end_text(*w), "08:00");
}

TEST(Quiet, AcrossMidnight) {
    Zone z("UTC");
    auto w = *quiet::parse("21:00-08:00");
    EXPECT_FALSE(until(w, utc(2026, 12, 2, 20, 59)));                      // before
    EXPECT_EQ(until(w, utc(2026, 12, 2, 21, 0)), utc(2026, 12, 3, 8, 0));  // start: inside
    EXPECT_EQ(until(w, utc(2026, 12, 2, 23, 59)), utc(2026, 12, 3, 8, 0)); // before midnight
    EXPECT_EQ(until(w, utc(2026, 12, 3, 0, 0)), utc(2026, 12, 3, 8, 0));   // after midnight
    EXPECT_EQ(until(w, utc(2026, 12, 3, 7, 59)), utc(2026, 12, 3, 8, 0));
    EXPECT_FALSE(until(w, utc(2026, 12, 3, 8, 0))); // the end is outside
    // Year's end.
    EXPECT_EQ(until(w, utc(2026, 12, 31, 22, 0)), utc(2027, 1, 1, 8, 0));
    // A window within one day.
    auto day = *quiet::parse("12:00-13:30");
    EXPECT_EQ(until(day, utc(2026, 12, 2, 12, 15)), utc(2026, 12, 2, 13, 30));
    EXPECT_FALSE(until(day, utc(2026, 12, 2, 11, 59)));
    EXPECT_FALSE(until(day, utc(2026, 12, 2, 13, 30)));
}

TEST(Quiet, DaylightSavingChangeInWarsaw) {
    Zone z("Europe/Warsaw");
    auto w = *quiet::parse("21:00-08:00");
    // Spring: 2026-03-29 02:00 CET -> 03:00 CEST. 22:00 CET (21:00Z) on the 28th waits until
    // 08:00 CEST (06:00Z): 9 hours, not 10.
    EXPECT_EQ(until(w, utc(2026, 3, 28, 21, 0)), utc(2026, 3, 29, 6, 0));
    // Inside the night, after the change: 05:00 CEST (03:00Z) -> 08:00 CEST.
    EXPECT_EQ(until(w, utc(2026, 3, 29, 3, 0)), utc(2026, 3, 29, 6, 0));
    // Autumn: 2026-10-25 03:00 CEST -> 02:00 CET. 22:00 CEST (20:00Z) on the 24th waits until
    // 08:00 CET (07:00Z): 11 hours.
    EXPECT_EQ(until(w, utc(2026, 10, 24, 20, 0)), utc(2026, 10, 25, 7, 0));
    // The repeated hour (02:30 happens twice): both inside, both to 08:00 CET.
    EXPECT_EQ(until(w, utc(2026, 10, 25, 0, 30)), utc(2026, 10, 25, 7, 0));
    EXPECT_EQ(until(w, utc(2026, 10, 25, 1, 30)), utc(2026, 10, 25, 7, 0));
    // Local noon is outside in both seasons (10:00Z in summer, 11:00Z in winter).
    EXPECT_FALSE(until(w, utc(2026, 7, 1, 10, 0)));
    EXPECT_FALSE(until(w, utc(2026, 12, 1, 11, 0)));
    // Summer evening: 21:30 CEST is 19:30Z.
    EXPECT_EQ(until(w, utc(2026, 7, 1, 19, 30)), utc(2026, 7, 2, 6, 0));
    // A window ending inside the spring-forward gap (02:30 does not exist on 2026-03-29):
    // deferred past it, never to a time before the call.
    auto gap = *quiet::parse("01:00-02:30");
    auto r = until(gap, utc(2026, 3, 29, 0, 30)); // 01:30 CET
    ASSERT_TRUE(r);
    EXPECT_GE(*r, utc(2026, 3, 29, 1, 0)); // 03:00 CEST or later
}

TEST(Quiet, WhenAppliesToTheListedServices) {
    Zone z("UTC");
    Config cfg;
    auto night = utc(2026, 12, 2, 23, 0);
    EXPECT_EQ(quiet::when(cfg, 'F', night), night); // no quiet hours by default
    cfg.delivery.quiet_hours = "21:00-08:00";
    EXPECT_EQ(quiet::when(cfg, 'F', night), utc(2026, 12, 3, 8, 0));
    EXPECT_EQ(quiet::when(cfg, 'V', night), utc(2026, 12, 3, 8, 0));
    EXPECT_EQ(quiet::when(cfg, 'S', night), night); // default "V F"
    cfg.delivery.quiet_services = "S V F";
    EXPECT_EQ(quiet::when(cfg, 'S', night), utc(2026, 12, 3, 8, 0));
    auto day = utc(2026, 12, 2, 12, 0);
    EXPECT_EQ(quiet::when(cfg, 'F', day), day);
}

TEST(Quiet, ConfigKeys) {
    auto c = parse_config("[delivery]\nquiet_hours = 22:00-07:30\nquiet_services = V F S\n", "t");
    EXPECT_EQ(c.delivery.quiet_hours, "22:00-07:30");
    EXPECT_THROW(parse_config("[delivery]\nquiet_hours = 22-7\n", "t"), Error);
    EXPECT_THROW(parse_config("[delivery]\nquiet_services = X\n", "t"), Error);
    auto e = parse_config("[delivery]\nquiet_hours =\n", "t");
    EXPECT_EQ(e.delivery.quiet_hours, "");
}

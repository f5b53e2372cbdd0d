// Tests of lib/directory_admin (sms-directory): the checks every row gets, CSV in and out, and
// the commands on a real SQLite file (MySQL: tests/e2e/sms-directory.sh).
#include "asterisk/callfile.hpp"
#include "directory/directory_admin.hpp"
#include "tempdir.hpp"
#include "util/error.hpp"

#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>

using namespace sms;
using directory::Row;
using directory_admin::check_row;
using directory_admin::format_csv;
using directory_admin::parse_csv;

namespace {

std::string problem(std::string number, std::string service, std::string channel) {
    Row r{std::move(number), std::move(service), std::move(channel)};
    return check_row(r);
}

TEST(DirectoryAdmin, RowsAreCheckedWithTheRoutersRules) {
    Row r{" 600700800 ", "s", " PJSIP/600700800 "};
    EXPECT_EQ(check_row(r), "");
    EXPECT_EQ(r, (Row{"600700800", "S", "PJSIP/600700800"}));
    EXPECT_EQ(problem("+48600700800", "F", "DAHDI/1"), "");
    EXPECT_EQ(problem("1000", "C", ""), "");
    EXPECT_EQ(problem("1000", "N", ""), "");
    EXPECT_EQ(problem("1000", "T", ""), "");
    EXPECT_EQ(problem("1", "V", "Local/100@from-internal"), "");
    EXPECT_EQ(problem("1", "S", "SIP/trunk/5551234"), "");

    EXPECT_EQ(problem("12a", "S", "PJSIP/1").rfind("number:", 0), 0u);
    EXPECT_EQ(problem("", "S", "PJSIP/1").rfind("number:", 0), 0u);
    EXPECT_EQ(problem(std::string(21, '1'), "S", "PJSIP/1").rfind("number:", 0), 0u);
    EXPECT_EQ(problem("1", "X", "PJSIP/1").rfind("service:", 0), 0u);
    EXPECT_EQ(problem("1", "SS", "PJSIP/1").rfind("service:", 0), 0u);
    EXPECT_EQ(problem("1", "", "PJSIP/1").rfind("service:", 0), 0u);
    for (const char* bad : {"DAHDI1", "/1", "PJSIP/", "PJSIP/1,PJSIP/2", "PJSIP/1&DAHDI/2",
                            "PJSIP/1\nChannel: x", "1PJSIP/1", "PJ SIP/1", "PJSIP/ 1"})
        EXPECT_EQ(problem("1", "S", bad).rfind("channel", 0), 0u) << bad;
    for (char s : std::string("SFV"))
        EXPECT_NE(problem("1", std::string(1, s), ""), "") << s << " dials: needs a channel";
    // E: the channel is an e-mail address, checked by the rule the router reads with.
    Row e{"600700801", "e", " Alice@Example.org "};
    EXPECT_EQ(check_row(e), "");
    EXPECT_EQ(e, (Row{"600700801", "E", "Alice@Example.org"}));
    for (const char* bad : {"", "PJSIP/1", "alice", "a b@example.org", "a@b.c\nBcc: d@e.f"}) {
        EXPECT_EQ(problem("1", "E", bad).rfind("channel", 0), 0u) << bad;
        EXPECT_FALSE(directory::from_row("1", "E", bad, "t").found()) << bad;
    }
}

TEST(DirectoryAdmin, TheRouterRefusesWhatTheEditorRefuses) {
    // The same rule on the read side: a row written behind the editor's back.
    for (const char* bad : {"DAHDI1", "PJSIP/1,PJSIP/2", "PJSIP/1&DAHDI/2"}) {
        auto l = directory::from_row("1", "S", bad, "t");
        EXPECT_EQ(l.status, directory::Lookup::Status::unavailable) << bad;
        EXPECT_NE(l.why.find("channel"), std::string::npos) << l.why;
    }
    EXPECT_EQ(directory::from_row("1", "S", "", "t").status,
              directory::Lookup::Status::unavailable);
    EXPECT_TRUE(directory::from_row("1", "N", "", "t").found());
}

TEST(DirectoryAdmin, AChannelTheEditorTakesIsOneEveryCallFileTakes) {
    // One rule: what sms-directory stores, the router's lookup and the call file it writes both
    // take, and what either refuses the editor refuses too (no number left dead-lettered).
    for (const char* chan :
         {"PJSIP/a #x", "#PJSIP/1", "PJSIP/#1 x", "PJSIP/1\t#2", "PJSIP/1,2", "DAHDI1", "PJSIP/ 1",
          "PJSIP/1&2", "PJSIP/a#x", "PJSIP/1000", "Local/100@from-internal", "SIP/trunk/5551234"}) {
        Row r{"1", "S", chan};
        bool editor_ok = check_row(r).empty();
        bool router_ok = directory::from_row("1", "S", chan, "t").found();
        callfile::CallFile c;
        c.channel = chan;
        c.application = "SMS";
        bool callfile_ok = true;
        try {
            callfile::validate(c);
        } catch (const Error&) {
            callfile_ok = false;
        }
        EXPECT_EQ(editor_ok, router_ok) << chan;
        EXPECT_EQ(editor_ok, callfile_ok) << chan;
    }
    EXPECT_EQ(problem("1", "S", "PJSIP/a #x").rfind("channel", 0), 0u);
    EXPECT_NE(problem("1", "S", "PJSIP/a #x").find("comment"), std::string::npos);
    EXPECT_EQ(problem("1", "S", "PJSIP/a#x"), ""); // '#' inside a word is no comment
}

TEST(DirectoryAdmin, AUtf8ByteOrderMarkIsSkippedAndUtf16Named) {
    auto rows = parse_csv("\xEF\xBB\xBFnumber,service,channel\r\n600700800,S,PJSIP/1\r\n", "f.csv");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0], (Row{"600700800", "S", "PJSIP/1"}));
    for (std::string bom : {"\xFF\xFE", "\xFE\xFF"}) {
        try {
            parse_csv(bom + "n\0u\0m\0", "f.csv");
            ADD_FAILURE() << "UTF-16 accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.exit(), Exit::dataerr);
            EXPECT_NE(e.reason().find("UTF-16"), std::string::npos) << e.what();
            EXPECT_NE(e.subject().find("f.csv: line 1"), std::string::npos) << e.what();
        }
    }
}

TEST(DirectoryAdmin, CsvIsReadWithQuotesCrLfAndBlankLines) {
    auto rows = parse_csv("\n Number , SERVICE,channel\r\n"
                          "600700800,S,PJSIP/600700800\r\n"
                          "\r\n"
                          "\"600700801\", \"f\" ,\"DAHDI/1\"\n"
                          "1000,C,\n"
                          "600700802,v,\"PJSIP/600\"\"700\"",
                          "f.csv");
    ASSERT_EQ(rows.size(), 3u + 0u + 1u);
    EXPECT_EQ(rows[0], (Row{"600700800", "S", "PJSIP/600700800"}));
    EXPECT_EQ(rows[1], (Row{"600700801", "F", "DAHDI/1"}));
    EXPECT_EQ(rows[2], (Row{"1000", "C", ""}));
    EXPECT_EQ(rows[3], (Row{"600700802", "V", "PJSIP/600\"700"}));
}

void expect_refused(const std::string& text, const std::string& where_part,
                    const std::string& why_part) {
    try {
        parse_csv(text, "f.csv");
        ADD_FAILURE() << "accepted:\n" << text;
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::dataerr);
        EXPECT_NE(e.subject().find(where_part), std::string::npos) << e.what();
        EXPECT_NE(e.reason().find(why_part), std::string::npos) << e.what();
        EXPECT_NE(e.reason().find("nothing written"), std::string::npos) << e.what();
    }
}

TEST(DirectoryAdmin, ABadRowAnywhereRefusesTheWholeFile) {
    const std::string h = "number,service,channel\n";
    expect_refused(h + "1,S,PJSIP/1\n2,Q,PJSIP/2\n3,S,PJSIP/3\n", "f.csv: line 3", "service:");
    expect_refused(h + "1,S,PJSIP/1\n2,S,DAHDI2\n3,X,PJSIP/3\n", "line 3", "and 1 more");
    expect_refused(h + "1,S,PJSIP/1\n2,S\n", "line 3", "2 fields");
    expect_refused(h + "1,S,PJSIP/1\n2,S,PJSIP/2,x\n", "line 3", "4 fields");
    expect_refused(h + "1,S,PJSIP/1\n01x,S,PJSIP/2\n", "line 3", "number:");
    expect_refused(h + "1,S,PJSIP/1\n1,F,DAHDI/1\n", "line 3", "twice (also on line 2)");
    expect_refused(h + "1,S,\"PJSIP/1\n", "line 2", "not closed");
    expect_refused(h + "1,S,\"PJSIP/1\nChannel: DAHDI/2\"\n", "line 2", "control characters");
    expect_refused("Account,Message,Extension\n1,S,PJSIP/1\n", "line 1", "header");
    expect_refused("", "f.csv", "header");
}

TEST(DirectoryAdmin, ExportReadsBackAsItWasWritten) {
    std::vector<Row> rows{{"1", "S", "PJSIP/1"}, {"2", "N", ""}, {"3", "T", "PJSIP/3"}};
    std::string csv = format_csv(rows);
    EXPECT_EQ(csv, "number,service,channel\n1,S,PJSIP/1\n2,N,\n3,T,PJSIP/3\n");
    EXPECT_EQ(parse_csv(csv, "x"), rows);
    // A bad row (written behind the editor's back) is exported so that it reads back the same.
    EXPECT_EQ(format_csv({{"9", "X", "a,b \"c\""}}),
              "number,service,channel\n9,X,\"a,b \"\"c\"\"\"\n");
}

struct Ran {
    int rc = -1;
    std::string out;
};

class Commands : public ::testing::Test {
protected:
    test::TempDir dir;
    Config cfg;
    void SetUp() override { cfg.directory.sqlite_path = dir.path + "/d.db"; }
    Ran run(std::vector<std::string> args, directory_admin::Options o = {}) {
        o.args = std::move(args);
        std::string path = dir.path + "/out";
        std::FILE* f = std::fopen(path.c_str(), "w+");
        Ran r;
        r.rc = directory_admin::run(cfg, o, f);
        std::fflush(f);
        std::rewind(f);
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
            r.out.append(buf, n);
        std::fclose(f);
        return r;
    }
};

TEST_F(Commands, SetGetRemoveOnSqlite) {
    EXPECT_EQ(run({"init"}).out, "created table PBXNumbers in " + cfg.directory.sqlite_path + "\n");
    directory_admin::Options set;
    set.service = "S";
    set.channel = "PJSIP/1";
    EXPECT_EQ(run({"set", "1"}, set).out, "1: added (S PJSIP/1)\n");
    EXPECT_EQ(run({"set", "1"}, set).out, "1: unchanged (S PJSIP/1)\n");
    EXPECT_EQ(run({"get", "1"}).out, "S PJSIP/1\n");
    // The router reads it.
    EXPECT_TRUE(directory::open(cfg.directory)->lookup("1").found());
    set.channel = "DAHDI1";
    try {
        run({"set", "2"}, set);
        ADD_FAILURE() << "accepted DAHDI1";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::dataerr);
    }
    EXPECT_EQ(run({"get", "2"}).rc, 1);
    EXPECT_EQ(run({"remove", "1"}).out, "1: removed\n");
    EXPECT_EQ(run({"remove", "1"}).rc, 1);
    EXPECT_EQ(directory::open(cfg.directory)->lookup("1").status,
              directory::Lookup::Status::not_found);
}

TEST_F(Commands, ImportWritesAllOrNothing) {
    run({"init"});
    std::string csv = dir.path + "/in.csv";
    std::ofstream(csv) << "number,service,channel\n1,S,PJSIP/1\n2,S,PJSIP/2\n";
    EXPECT_EQ(run({"import", csv}).out,
              "imported: 2 rows: 2 added, 0 changed, 0 unchanged, 0 removed\n");
    std::ofstream(csv) << "number,service,channel\n3,S,PJSIP/3\n4,S,bad\n5,S,PJSIP/5\n";
    EXPECT_THROW(run({"import", csv}), Error);
    EXPECT_EQ(run({"export"}).out, "number,service,channel\n1,S,PJSIP/1\n2,S,PJSIP/2\n");
    std::ofstream(csv) << "number,service,channel\n2,F,DAHDI/2\n3,N,\n";
    directory_admin::Options replace;
    replace.replace = true;
    replace.dry_run = true;
    EXPECT_EQ(run({"import", csv}, replace).out,
              "dry run, nothing written: 2 rows: 1 added, 1 changed, 0 unchanged, 1 removed\n");
    EXPECT_EQ(run({"export"}).out, "number,service,channel\n1,S,PJSIP/1\n2,S,PJSIP/2\n");
    replace.dry_run = false;
    run({"import", csv}, replace);
    EXPECT_EQ(run({"export"}).out, "number,service,channel\n2,F,DAHDI/2\n3,N,\n");
}

TEST_F(Commands, ImportRefusesAFifoAtOnce) {
    // Opened with O_NONBLOCK and checked: no writer ever comes, yet it returns.
    run({"init"});
    std::string fifo = dir.path + "/in.csv";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    try {
        run({"import", fifo});
        ADD_FAILURE() << "a FIFO was imported";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::dataerr);
        EXPECT_NE(std::string(e.what()).find("a FIFO, not a regular file"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find(fifo), std::string::npos) << e.what();
    }
}

} // namespace

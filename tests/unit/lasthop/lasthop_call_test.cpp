// Tests of lib/lasthop_call: records and results, the verdict on an attempt from the dialplan's
// report or the archived call file (values of fixtures/lasthop), the next step, the AGI
// hand-over, and settling through the journal.
#include "core/journal.hpp"
#include "lasthop/lasthop_call.hpp"
#include "tempdir.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"

#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <gtest/gtest.h>

using namespace sms;
using namespace sms::lasthop_call;
namespace stdfs = std::filesystem;

namespace {

Record fax_record() {
    Record r;
    r.stem = "48500100201.2026-12-02T17_58_10-1";
    r.service = 'F';
    r.oa = "48500100201";
    r.da = "600700801";
    r.channel = "DAHDI/1";
    r.file = "/var/spool/asterisk/fax/x.tiff";
    r.attempt = 1;
    r.first = 1000;
    r.due = 1000;
    return r;
}

Result fax_result(std::string status, std::string error, std::string pages) {
    Result r;
    r.service = 'F';
    r.faxstatus = std::move(status);
    r.faxerror = std::move(error);
    r.faxpages = std::move(pages);
    return r;
}

std::string slurp(const std::string& p) {
    return fs::read_file(p);
}

} // namespace

TEST(LastHopCall, RecordAndResultRoundTrip) {
    Record r = fax_record();
    r.last_error = "line\none \\ two";
    r.receipt = true;
    auto back = parse_record(render(r), r.stem);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->last_error, r.last_error);
    EXPECT_EQ(render(*back), render(r));
    EXPECT_EQ(render(r).find("line\none"), std::string::npos); // one line per value
    EXPECT_FALSE(parse_record("oa=1\n", "x"));

    Result f = fax_result("FAILED", "The call dropped prematurely", "0");
    auto fb = parse_result(render(f));
    ASSERT_TRUE(fb);
    EXPECT_EQ(fb->faxerror, "The call dropped prematurely");
    Result v;
    v.service = 'V';
    v.played = true;
    v.playback = "SUCCESS";
    auto vb = parse_result(render(v));
    ASSERT_TRUE(vb);
    EXPECT_TRUE(vb->played);
    EXPECT_EQ(vb->service, 'V');
}

TEST(LastHopCall, Names) {
    Record r = fax_record();
    EXPECT_EQ(call_name(r), r.stem + ".fax.call");
    r.attempt = 3;
    r.service = 'V';
    EXPECT_EQ(call_name(r), r.stem + ".voice.3.call");
    EXPECT_TRUE(valid_stem("a.b-c_9"));
    EXPECT_FALSE(valid_stem(".hidden"));
    EXPECT_FALSE(valid_stem("../x"));
    EXPECT_FALSE(valid_stem("a b"));
    EXPECT_FALSE(valid_stem(""));
}

TEST(LastHopCall, JudgeFromTheDialplansReport) {
    Config cfg;
    Record r = fax_record();
    Evidence e;
    // fixtures/lasthop/fax lh-fax-ok: FAXSTATUS=SUCCESS FAXERROR=HANGUP FAXPAGES=2.
    e.result = fax_result("SUCCESS", "HANGUP", "2");
    EXPECT_EQ(judge(cfg, r, e, 2000).verdict, Verdict::delivered);
    // lh-fax-cut: FAILED, "The call dropped prematurely", 0 pages; archived Completed.
    e.result = fax_result("FAILED", "The call dropped prematurely", "0");
    e.archived = "Completed";
    auto j = judge(cfg, r, e, 2000);
    EXPECT_EQ(j.verdict, Verdict::failed);
    EXPECT_EQ(j.reason, "the call dropped prematurely");
    EXPECT_EQ(failure_text(cfg, r, j.reason),
              "Cannot deliver fax to 600700801: the call dropped prematurely.");

    // Voice: lh-play-cut keeps PLAYBACKSTATUS=SUCCESS but never got past Playback.
    r.service = 'V';
    Result v;
    v.service = 'V';
    v.playback = "SUCCESS";
    v.played = false;
    e.result = v;
    j = judge(cfg, r, e, 2000);
    EXPECT_EQ(j.verdict, Verdict::failed);
    EXPECT_EQ(j.reason, "the message was not heard to the end");
    v.played = true;
    e.result = v;
    EXPECT_EQ(judge(cfg, r, e, 2000).verdict, Verdict::delivered);
    // lh-play-missing: FAILED, and the dialplan continued (played would be set).
    v.playback = "FAILED";
    e.result = v;
    EXPECT_EQ(judge(cfg, r, e, 2000).verdict, Verdict::failed);
}

TEST(LastHopCall, JudgeFromTheArchivedCallFile) {
    Config cfg;
    Record r = fax_record();
    Evidence e;
    e.pending = true;
    EXPECT_EQ(judge(cfg, r, e, 2000).verdict, Verdict::waiting);
    e.pending = false;
    e.archived = "Expired"; // fixtures/lasthop/callfiles: busy, no answer, no channel
    auto j = judge(cfg, r, e, 2000);
    EXPECT_EQ(j.verdict, Verdict::failed);
    EXPECT_EQ(j.reason, "nobody answered the call");
    e.archived = "Failed";
    EXPECT_EQ(judge(cfg, r, e, 2000).verdict, Verdict::failed);
    // Completed = answered: the report comes at the end of the call; none after the grace.
    e.archived = "Completed";
    e.archived_at = 2000;
    EXPECT_EQ(judge(cfg, r, e, 2000 + result_grace).verdict, Verdict::waiting);
    EXPECT_EQ(judge(cfg, r, e, 2001 + result_grace).verdict, Verdict::failed);
    // Gone without an archive: Asterisk's own retries are waited for first.
    e.archived.reset();
    EXPECT_EQ(judge(cfg, r, e, 2000).verdict, Verdict::waiting);
    EXPECT_EQ(judge(cfg, r, e, 1000 + 11 * 640 + result_grace + 1).verdict, Verdict::failed);
}

TEST(LastHopCall, DecideResendGiveUpAndReceipts) {
    Config cfg;
    cfg.fax.max_attempts = 3;
    cfg.fax.give_up = 86400;
    cfg.fax.retry_time = 600;
    Record r = fax_record();
    Judgement failed{Verdict::failed, "the call dropped prematurely"};
    auto s = decide(cfg, r, failed, 2000);
    EXPECT_EQ(s.next, Next::resend);
    EXPECT_EQ(s.due, 2000 + 600);
    r.attempt = 2;
    s = decide(cfg, r, failed, 2000);
    EXPECT_EQ(s.next, Next::resend);
    EXPECT_EQ(s.due, 2000 + 1200); // a growing pause
    r.attempt = 3;
    s = decide(cfg, r, failed, 2000);
    EXPECT_EQ(s.next, Next::give_up);
    EXPECT_TRUE(s.tell);
    EXPECT_EQ(s.reason, "the call dropped prematurely");
    // Out of time before out of attempts.
    r.attempt = 1;
    EXPECT_EQ(decide(cfg, r, failed, r.first + 86400).next, Next::give_up);
    // Receipts: srr=1, or always; never silences both.
    Judgement ok{Verdict::delivered, ""};
    EXPECT_FALSE(decide(cfg, r, ok, 2000).tell);
    r.receipt = true;
    EXPECT_TRUE(decide(cfg, r, ok, 2000).tell);
    cfg.delivery.receipts = Receipts::never;
    EXPECT_FALSE(decide(cfg, r, ok, 2000).tell);
    EXPECT_FALSE(decide(cfg, r, failed, r.first + 86400).tell);
    r.receipt = false;
    cfg.delivery.receipts = Receipts::always;
    EXPECT_TRUE(decide(cfg, r, ok, 2000).tell);
    EXPECT_EQ(decide(cfg, r, {Verdict::waiting, ""}, 2000).next, Next::wait);
    // Quiet hours move a resend to their end.
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    cfg.delivery.quiet_hours = "00:00-06:00";
    s = decide(cfg, r, failed, 3600); // 01:00 UTC on 1970-01-01
    EXPECT_EQ(s.next, Next::resend);
    EXPECT_EQ(s.due, 6 * 3600);
}

TEST(LastHopCall, HandOverOverAgi) {
    test::TempDir t;
    Config cfg;
    cfg.general.spool_dir = t.path;
    // What res_agi sends from the h extension, then the replies to the GET VARIABLEs in order.
    std::string asterisk = "agi_request: sms-callresult\nagi_channel: DAHDI/1-1\nagi_extension: "
                           "h\nagi_arg_1: fax\n\n"
                           "200 result=1 (m1.stem)\n"
                           "200 result=1 (2)\n"
                           "200 result=1 (FAILED)\n"
                           "200 result=1 (The call dropped prematurely)\n"
                           "200 result=1 (0)\n"
                           "200 result=1\n";
    std::FILE* in = ::fmemopen(asterisk.data(), asterisk.size(), "r");
    std::FILE* out = std::tmpfile();
    EXPECT_EQ(hand_over(cfg, "fax", in, out, 4242), 0);
    std::fclose(in);
    std::rewind(out);
    std::string said(4096, '\0');
    said.resize(std::fread(said.data(), 1, said.size(), out));
    std::fclose(out);
    EXPECT_EQ(said.substr(0, said.find("VERBOSE")),
              "GET VARIABLE SMS_ID\nGET VARIABLE SMS_ATTEMPT\nGET VARIABLE FAXSTATUS\n"
              "GET VARIABLE FAXERROR\nGET VARIABLE FAXPAGES\n");
    auto res = parse_result(slurp(results_dir(cfg) + "/m1.stem.2"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->faxstatus, "FAILED");
    EXPECT_EQ(res->faxerror, "The call dropped prematurely");
    EXPECT_EQ(res->time, 4242);

    // A malformed identity is refused before any file is named after it.
    std::string bad = "agi_arg_1: voice\n\n200 result=1 (../../etc)\n";
    in = ::fmemopen(bad.data(), bad.size(), "r");
    out = std::tmpfile();
    EXPECT_THROW(hand_over(cfg, "voice", in, out, 1), Error);
    std::fclose(in);
    std::fclose(out);
    // No SMS_ID (sms2fax by hand): nothing recorded.
    std::string none = "agi_arg_1: fax\n\n200 result=0\n";
    in = ::fmemopen(none.data(), none.size(), "r");
    out = std::tmpfile();
    EXPECT_EQ(hand_over(cfg, "fax", in, out, 1), 0);
    std::fclose(in);
    std::fclose(out);
    EXPECT_EQ(fs::list_regular(results_dir(cfg)).size(), 1u);
    EXPECT_THROW(hand_over(cfg, "sms", stdin, stdout, 1), Error);
}

TEST(LastHopCall, SettleResendThenGiveUp) {
    test::TempDir t;
    Config cfg;
    cfg.general.spool_dir = t.path;
    cfg.fax.max_attempts = 2;
    std::string tiff = t.path + "/fax/m.tiff";
    stdfs::create_directories(t.path + "/fax");
    fs::write_atomic(t.path + "/fax", "m.tiff", "II*\0fake");
    Record r = fax_record();
    r.stem = "m";
    r.file = tiff;
    for (auto& f : plan_first(cfg, r, 1000))
        ASSERT_TRUE(fs::commit(f));
    ASSERT_TRUE(fs::exists(t.path + "/outgoing/m.fax.call"));
    journal::Journal j(t.path + "/sms/.sms-suite/journal");
    std::vector<std::string> told, reports;
    Hooks h;
    h.tell = [&](const Record&, const std::string& text, const std::string& stem,
                 std::string&) -> std::vector<fs::PlannedFile> {
        told.push_back(text);
        fs::PlannedFile f;
        f.dir = t.path + "/notices";
        f.name = stem;
        f.content = text;
        return {f};
    };
    h.report = [&](const Record& rec, Next, const std::string& d) {
        reports.push_back(fmt::format("{}: {}", rec.attempt, d));
    };
    // The call is still queued: nothing to settle.
    EXPECT_EQ(settle(cfg, j, h, 1100), 0);
    // Asterisk took it and archived it Expired (nobody answered).
    stdfs::create_directories(t.path + "/outgoing_done");
    stdfs::rename(t.path + "/outgoing/m.fax.call", t.path + "/outgoing_done/m.fax.call");
    {
        std::FILE* f = std::fopen((t.path + "/outgoing_done/m.fax.call").c_str(), "a");
        std::fputs("StartRetry: 4596 1 (1735)\nStatus: Expired\n", f);
        std::fclose(f);
    }
    EXPECT_EQ(settle(cfg, j, h, 1200), 1);
    EXPECT_FALSE(fs::exists(t.path + "/outgoing_done/m.fax.call"));
    ASSERT_TRUE(fs::exists(t.path + "/outgoing/m.fax.2.call"));
    auto rec = parse_record(slurp(calls_dir(cfg) + "/m"), "m");
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->attempt, 2);
    EXPECT_EQ(rec->last_error, "nobody answered the call");
    EXPECT_NE(slurp(t.path + "/outgoing/m.fax.2.call").find("SetVar: SMS_ATTEMPT=2\n"),
              std::string::npos);
    EXPECT_TRUE(told.empty());
    // Attempt 2 answered and cut: the last one; the TIFF goes to the dead letters with its why.
    stdfs::remove(t.path + "/outgoing/m.fax.2.call");
    fs::make_dirs(results_dir(cfg));
    fs::write_atomic(results_dir(cfg), "m.2",
                     render(fax_result("FAILED", "The call dropped prematurely", "0")));
    EXPECT_EQ(settle(cfg, j, h, 1300), 1);
    EXPECT_FALSE(fs::exists(calls_dir(cfg) + "/m"));
    EXPECT_FALSE(fs::exists(tiff));
    EXPECT_TRUE(fs::exists(t.path + "/sms/morx/failed/m.tiff"));
    EXPECT_NE(slurp(t.path + "/sms/morx/failed/m.tiff.why").find("dropped prematurely"),
              std::string::npos);
    ASSERT_EQ(told.size(), 1u);
    EXPECT_EQ(told[0], "Cannot deliver fax to 600700801: the call dropped prematurely.");
    EXPECT_TRUE(fs::exists(t.path + "/notices/m.lh2.failed"));
    EXPECT_FALSE(fs::exists(results_dir(cfg) + "/m.2"));
    EXPECT_EQ(reports.size(), 2u);
    // Nothing left to settle, nothing told twice.
    EXPECT_EQ(settle(cfg, j, h, 1400), 0);
    EXPECT_EQ(told.size(), 1u);
}

TEST(LastHopCall, SettleDeliveredWithReceipt) {
    test::TempDir t;
    Config cfg;
    cfg.general.spool_dir = t.path;
    stdfs::create_directories(t.path + "/voice");
    fs::write_atomic(t.path + "/voice", "v.wav", "RIFF");
    Record r = fax_record();
    r.stem = "v";
    r.service = 'V';
    r.file = t.path + "/voice/v.wav";
    r.receipt = true;
    for (auto& f : plan_first(cfg, r, 1000))
        ASSERT_TRUE(fs::commit(f));
    stdfs::remove(t.path + "/outgoing/v.voice.call");
    Result res;
    res.service = 'V';
    res.played = true;
    res.playback = "SUCCESS";
    res.time = 1050;
    fs::make_dirs(results_dir(cfg));
    fs::write_atomic(results_dir(cfg), "v.1", render(res));
    journal::Journal j(t.path + "/sms/.sms-suite/journal");
    std::vector<std::string> told;
    Hooks h;
    h.tell = [&](const Record&, const std::string& text, const std::string&,
                 std::string&) -> std::vector<fs::PlannedFile> {
        told.push_back(text);
        return {};
    };
    EXPECT_EQ(settle(cfg, j, h, 1100), 1);
    ASSERT_EQ(told.size(), 1u);
    EXPECT_EQ(told[0].rfind("Delivered to 600700801 at ", 0), 0u) << told[0];
    EXPECT_FALSE(fs::exists(calls_dir(cfg) + "/v"));
    EXPECT_FALSE(fs::exists(t.path + "/voice/v.wav"));
    // A late archive of the settled call is swept.
    stdfs::create_directories(t.path + "/outgoing_done");
    fs::write_atomic(t.path + "/outgoing_done", "v.voice.call", "Status: Completed\n");
    fs::write_atomic(t.path + "/outgoing_done", "other.call", "Status: Completed\n");
    EXPECT_EQ(settle(cfg, j, h, 1200), 0);
    EXPECT_FALSE(fs::exists(t.path + "/outgoing_done/v.voice.call"));
    EXPECT_TRUE(fs::exists(t.path + "/outgoing_done/other.call"));
}

// A result counts only for a call that was placed: not while the call file waits in
// outgoing/, not when reported before the attempt's call could start.
TEST(LastHopCall, ResultOfACallNotPlacedDoesNotCount) {
    Config cfg;
    Record r = fax_record(); // first 1000
    Evidence e;
    e.result = fax_result("SUCCESS", "", "2");
    e.result->time = 1500;
    e.pending = true;
    EXPECT_FALSE(counts(r, e));
    EXPECT_EQ(judge(cfg, r, e, 2000).verdict, Verdict::waiting);
    e.pending = false;
    EXPECT_TRUE(counts(r, e));
    e.result->time = 999; // before the attempt was queued: a stale report of an earlier message
    EXPECT_FALSE(counts(r, e));
    EXPECT_NE(judge(cfg, r, e, 2000).verdict, Verdict::delivered);
}

// The case: a stale SUCCESS beside a call file still waiting in outgoing/. Nothing is
// settled, the TIFF and the call stay, the result is logged and kept aside; the call's own
// report, written after it, then settles it and the call file is gone.
TEST(LastHopCall, StaleResultBesideAWaitingCallIsKeptAsideNotCounted) {
    test::TempDir t;
    Config cfg;
    cfg.general.spool_dir = t.path;
    stdfs::create_directories(t.path + "/fax");
    fs::write_atomic(t.path + "/fax", "s.tiff", "II*");
    Record r = fax_record();
    r.stem = "s";
    r.file = t.path + "/fax/s.tiff";
    for (auto& f : plan_first(cfg, r, 1000))
        ASSERT_TRUE(fs::commit(f));
    const std::string call = t.path + "/outgoing/s.fax.call";
    ASSERT_TRUE(fs::exists(call));
    Result stale = fax_result("SUCCESS", "", "2");
    stale.time = 900;
    fs::make_dirs(results_dir(cfg));
    fs::write_atomic(results_dir(cfg), "s.1", render(stale));
    journal::Journal j(t.path + "/sms/.sms-suite/journal");
    Hooks h;
    h.tell = [&](const Record&, const std::string&, const std::string&,
                 std::string&) -> std::vector<fs::PlannedFile> { return {}; };
    EXPECT_EQ(settle(cfg, j, h, 1100), 0);
    EXPECT_TRUE(fs::exists(call));
    EXPECT_TRUE(fs::exists(r.file));
    EXPECT_TRUE(fs::exists(calls_dir(cfg) + "/s"));
    EXPECT_FALSE(fs::exists(results_dir(cfg) + "/s.1"));
    EXPECT_TRUE(fs::exists(results_dir(cfg) + "/s.1.ignored-1100")); // kept
    // Asterisk places the call (the file leaves outgoing/); its report settles it.
    stdfs::remove(call);
    Result real = fax_result("SUCCESS", "HANGUP", "2");
    real.time = 1150;
    fs::write_atomic(results_dir(cfg), "s.1", render(real));
    EXPECT_EQ(settle(cfg, j, h, 1200), 1);
    EXPECT_FALSE(fs::exists(calls_dir(cfg) + "/s"));
    EXPECT_FALSE(fs::exists(r.file));
}

// A FAXERROR with a line feed (Asterisk sends it raw inside "(...)") is recorded, escaped in
// the result file's line and read back whole; one of 100 kB is recorded whole and cut in the
// VERBOSE line for the console.
TEST(LastHopCall, HandOverOfAFaxErrorWithALineFeedOrHuge) {
    test::TempDir t;
    Config cfg;
    cfg.general.spool_dir = t.path;
    const std::string huge(100 * 1024, 'E');
    for (const std::string& error : {std::string("The call\ndropped (twice)"), huge}) {
        std::string asterisk = "agi_request: sms-callresult\nagi_arg_1: fax\n\n"
                               "200 result=1 (m2)\n"
                               "200 result=1 (1)\n"
                               "200 result=1 (FAILED)\n"
                               "200 result=1 (" +
                               error +
                               ")\n"
                               "200 result=1 (0)\n"
                               "200 result=1\n";
        std::FILE* in = ::fmemopen(asterisk.data(), asterisk.size(), "r");
        std::FILE* out = std::tmpfile();
        EXPECT_EQ(hand_over(cfg, "fax", in, out, 4242), 0);
        std::fclose(in);
        std::rewind(out);
        std::string said(300 * 1024, '\0');
        said.resize(std::fread(said.data(), 1, said.size(), out));
        std::fclose(out);
        const std::string text = slurp(results_dir(cfg) + "/m2.1");
        EXPECT_EQ(text.find("faxerror=The call\\x0adropped"), error == huge ? std::string::npos
                                                                            : text.find("fax"
                                                                                        "error="));
        auto res = parse_result(text);
        ASSERT_TRUE(res);
        EXPECT_EQ(res->faxerror, error);
        EXPECT_EQ(res->faxpages, "0");
        auto v = said.find("VERBOSE");
        ASSERT_NE(v, std::string::npos);
        EXPECT_LT(said.size() - v, 1024u) << "VERBOSE carries the value whole";
        EXPECT_EQ(said.substr(v).find('\n'), said.size() - v - 1); // one line
        ::unlink((results_dir(cfg) + "/m2.1").c_str());
    }
}

// Fuzzes app_sms's log parser (lasthop reads /var/log/asterisk/sms, written by Asterisk with
// raw low bytes of any text): records stay inside the data, in order, and parse again the same.
#include "asterisk/smslog.hpp"
#include "fuzz.hpp"

using namespace sms;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto s = fuzz::as_text(data, size);
    auto records = smslog::parse(s, 1000, 7);
    std::uint64_t last = 0;
    for (const auto& r : records) {
        fuzz::require(r.offset >= 1000 && r.offset < 1000 + size, "record offset outside data");
        fuzz::require(r.offset >= last, "records out of order");
        last = r.offset;
        fuzz::require(r.status == 'Y' || r.status == 'N' || r.status == '?', "bad status");
        fuzz::require(!r.mr || *r.mr < 256, "mr is one byte");
        fuzz::require(r.time.size() == 19, "time is YYYY-MM-DDTHH:MM:SS");
        fuzz::require(r.text.size() <= size, "text longer than the data");
    }
    // The cursor line round-trips whatever bytes its tail holds.
    smslog::Cursor c{1, 2, size, std::string(s.substr(0, 32))};
    auto back = smslog::parse_cursor(smslog::format_cursor(c));
    fuzz::require(back && back->tail == c.tail && back->pos == size, "cursor round trip");
    return 0;
}

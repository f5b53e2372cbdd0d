// Private to the journal (journal*.cpp): what staging and recovery share.
#pragma once

#include <string>
#include <vector>

namespace sms::journal {

// The names in folder `dir` ("." and ".." aside); none when it cannot be read.
std::vector<std::string> entries(const std::string& dir);

} // namespace sms::journal

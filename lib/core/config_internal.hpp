// Private to the configuration reader (config*.cpp): the table of keys and how a value is refused.
#pragma once

#include "core/config.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sms::config_keys {

// A bad value: the reader adds file, line and key.
struct BadValue {
    std::string why;
};

using Setter = std::function<void(Config&, std::string_view)>;

struct Key {
    std::string_view section;
    std::string_view name;
    Setter set;
};

// Every key of the file, with its parser and range.
const std::vector<Key>& keys();

} // namespace sms::config_keys

namespace sms {
using config_keys::BadValue;
using config_keys::keys;
} // namespace sms

#include "core/labels.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "common/labels.h"

namespace pulse {

namespace {

constexpr std::array<std::string_view, kMethodCount> kMethodNames{
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "OTHER"};

static_assert(common::kStatusClassLabels.size() == kStatusClassCount);

}  // namespace

std::string_view method_label(Method m) {
    return kMethodNames[static_cast<std::size_t>(m)];
}

std::string_view status_class_label(std::size_t index) {
    return common::kStatusClassLabels.at(index);
}

std::string status_label(unsigned status, bool exact) {
    if (!exact || status < 100 || status > 599) {
        return std::string(status_class_label(status_class_index(status)));
    }
    return std::to_string(status);
}

std::string location_label(LocationKind kind, std::string_view name) {
    std::string_view prefix;
    switch (kind) {
        case LocationKind::prefix:
            prefix = "";
            break;
        case LocationKind::exact:
            prefix = "= ";
            break;
        case LocationKind::no_regex:
            prefix = "^~ ";
            break;
        case LocationKind::regex:
            prefix = "~ ";
            break;
        case LocationKind::regex_caseless:
            prefix = "~* ";
            break;
        case LocationKind::named:
            prefix = "";
            break;  // the name keeps its "@"
    }
    std::string label(prefix);
    label.append(name);
    return label;
}

std::string encode_key(std::span<const std::string_view> values) {
    constexpr std::size_t kMaxValue = 0xffff;
    std::size_t size = 0;
    for (auto v : values) size += 2 + std::min(v.size(), kMaxValue);
    std::string key;
    key.reserve(size);
    for (auto v : values) {
        if (v.size() > kMaxValue) v = v.substr(0, kMaxValue);
        key.push_back(static_cast<char>(v.size() >> 8));
        key.push_back(static_cast<char>(v.size() & 0xff));
        key.append(v);
    }
    return key;
}

std::vector<std::string_view> decode_key(std::string_view key) {
    std::vector<std::string_view> values;
    while (!key.empty()) {
        if (key.size() < 2) throw std::invalid_argument("series key: truncated length");
        std::size_t len =
            (static_cast<unsigned char>(key[0]) << 8) | static_cast<unsigned char>(key[1]);
        key.remove_prefix(2);
        if (key.size() < len) throw std::invalid_argument("series key: truncated value");
        values.push_back(key.substr(0, len));
        key.remove_prefix(len);
    }
    return values;
}

}  // namespace pulse

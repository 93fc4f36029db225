// Trimming the white space around a header value, a list item or a CSV field.
#pragma once

#include <string_view>

namespace pulse::common {

// `s` without the characters of `space` at either end; by default HTTP's optional white
// space (spaces and tabs).
constexpr std::string_view trim(std::string_view s, std::string_view space = " \t") {
    const std::size_t first = s.find_first_not_of(space);
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(space) - first + 1);
}

}  // namespace pulse::common

// Durations as operators write them on the command line: "1s", "500ms", "2m", "1.5s".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pulse::sidecar {

// Seconds, or an error message. A bare number is seconds; units: ms, s, m, h.
// Negative, zero-length or non-finite values are errors.
std::optional<double> parse_duration(std::string_view text, std::string *error = nullptr);

}  // namespace pulse::sidecar

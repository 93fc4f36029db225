// Text from elsewhere (an error, a body) made fit for one log line.
#pragma once

#include <string>

namespace pulse::sidecar {

// `s` with its line breaks as spaces.
inline std::string one_line(std::string s) {
    for (char &c : s) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return s;
}

}  // namespace pulse::sidecar

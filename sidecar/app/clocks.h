// The two clocks the sidecar reads, in seconds: the wall clock for what it tells others
// (timestamps in /signals, the custom metrics API, scrape times), the steady one for ages.
#pragma once

#include <chrono>

namespace pulse::sidecar {

inline double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

inline double steady_now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace pulse::sidecar

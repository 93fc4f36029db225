// Client addresses as the HTTP front reports them ("127.0.0.1", "::1", "::ffff:10.0.0.7").
#pragma once

#include <string_view>

namespace pulse::sidecar {

// 127.0.0.0/8, ::1, or IPv4 loopback mapped into IPv6.
constexpr bool is_loopback_address(std::string_view address) {
    return address.starts_with("127.") || address == "::1" || address.starts_with("::ffff:127.");
}

}  // namespace pulse::sidecar

#include "http_message.h"

#include "common/ascii_case.h"
#include "common/percent_encoding.h"

namespace pulse::sidecar {

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
    std::size_t q = target.find('?');
    if (q == std::string_view::npos) return {target, {}};
    return {target.substr(0, q), target.substr(q + 1)};
}

std::optional<std::string> HttpRequest::header(std::string_view name) const {
    for (const auto &[k, v] : headers) {
        if (common::iequals(k, name)) return v;
    }
    return std::nullopt;
}

std::optional<std::string> HttpRequest::param(std::string_view name) const {
    std::string_view q = query;
    while (!q.empty()) {
        std::size_t amp = q.find('&');
        std::string_view item = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        std::size_t eq = item.find('=');
        if (common::percent_decode(item.substr(0, eq), common::Plus::space) == name) {
            return eq == std::string_view::npos
                       ? std::string()
                       : common::percent_decode(item.substr(eq + 1), common::Plus::space);
        }
    }
    return std::nullopt;
}

}  // namespace pulse::sidecar

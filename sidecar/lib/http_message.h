// What the sidecar's HTTP front hands to a handler and takes back: plain values with no
// network or library types, so the handlers and their unit tests need no server.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pulse::sidecar {

struct HttpRequest {
    std::string method;
    std::string path;    // as sent (not percent-decoded), without the query
    std::string query;   // as sent, without the "?"
    std::string remote;  // the peer's address: "127.0.0.1", "::1", "::ffff:10.0.0.7"
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    // With TLS: the client certificate's subject, present only when the handshake
    // verified it against the client CA.
    std::optional<std::string> client_subject;

    // The first header of that name (case-insensitive).
    std::optional<std::string> header(std::string_view name) const;
    // The value of query parameter `name`, percent-decoded ("+" is a space, a malformed
    // escape stays as it is).
    std::optional<std::string> param(std::string_view name) const;
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

// A request target split at the first "?": {path, query}.
std::pair<std::string_view, std::string_view> split_target(std::string_view target);

}  // namespace pulse::sidecar

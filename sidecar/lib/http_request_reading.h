// How the sidecar's HTTP front reads a request out of Beast's parser: the parser's
// limits, the head's sizes held against HttpLimits, and the HttpRequest a handler gets.
// Templates over Beast's message types with no sockets, so the server
// (sidecar/app/http_server.cpp) and the request fuzz target
// (tests/fuzz/http_request_fuzz.cpp) read a request through the same lines.
#pragma once

#include <boost/beast/core/string.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "http_limits.h"
#include "http_message.h"

namespace pulse::sidecar {

inline std::string_view beast_view(boost::beast::string_view s) {
    return {s.data(), s.size()};
}

// Beast's parser stops at one size for the line and the fields together; status_for_head
// then tells which limit a head broke.
template <class Parser>
void limit_request_parser(Parser &parser, const HttpLimits &limits) {
    parser.header_limit(static_cast<std::uint32_t>(parser_head_limit(limits)));
    parser.body_limit(limits.max_body_bytes);
}

// The head's request line and header fields in bytes, CRLFs included, as
// status_for_head counts them.
template <class Message>
std::pair<std::size_t, std::size_t> head_sizes(const Message &message) {
    std::size_t line = message.method_string().size() + 1 + message.target().size() + 9;
    std::size_t fields = 0;
    for (const auto &field : message) {
        fields += field.name_string().size() + 2 + field.value().size() + 2;
    }
    return {line, fields};
}

// The request a handler gets (without the peer's address and certificate, which the
// connection knows); the body is moved out of the message.
template <class Message>
HttpRequest request_from(Message &message) {
    HttpRequest request;
    request.method = std::string(beast_view(message.method_string()));
    auto [path, query] = split_target(beast_view(message.target()));
    request.path = std::string(path);
    request.query = std::string(query);
    for (const auto &field : message) {
        request.headers.emplace_back(std::string(beast_view(field.name_string())),
                                     std::string(beast_view(field.value())));
    }
    request.body = std::move(message.body());
    return request;
}

}  // namespace pulse::sidecar

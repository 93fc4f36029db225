// An HTTP answer's Content-Encoding undone with zlib: gzip (x-gzip), deflate, identity.
// Pure logic, no network.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pulse::sidecar {

struct DecodeError {
    bool too_big = false;  // the decoded body would pass the limit
    std::string message;   // one line
};

// Decodes `body` in place as the Content-Encoding header value says (codings listed in the
// order they were applied, so undone from the last). At most `max_size` decoded bytes.
// gzip is inflated with windowBits 16 + MAX_WBITS (several gzip members one after the
// other are one body); deflate is the zlib format, or raw deflate as some servers send it.
// A corrupt or truncated stream, or an encoding other than these, is an error.
std::optional<DecodeError> decode_content(std::string_view content_encoding, std::string &body,
                                          std::size_t max_size);

}  // namespace pulse::sidecar
